"""Capture-time rules against the server clock (pure)."""

from __future__ import annotations

import pytest

from charcha.timing import CaptureTimeError, TimingRules, check_capture_times

RULES = TimingRules(max_lag_ms=4000, clock_slack_ms=250, min_interval_ms=20, max_frames_per_batch=5,
                    max_frames_total=8)


def check(times: list[int], received: int, previous: int | None = None, so_far: int = 0,
          expires: int = 180_000) -> None:
    check_capture_times(capture_ms=times, received_ms=received, previous_ms=previous, expires_ms=expires,
                        frames_so_far=so_far, rules=RULES)


def test_honest_batches_pass() -> None:
    check([0, 67, 133], received=180)
    check([1000, 1067], received=2100, previous=933)
    check([3000], received=6990)            # 3.99 s on the way: a short outage
    check([400], received=200)              # 200 ms ahead of receipt: inside the clock slack


@pytest.mark.parametrize(("times", "received", "previous", "so_far", "expires", "code"), [
    ([], 100, None, 0, 180_000, "batch_empty"),
    ([0, 1, 2, 3, 4, 5], 100, None, 0, 180_000, "batch_too_large"),
    ([0, 67], 200, None, 7, 180_000, "too_many_frames"),
    ([0, 67.5], 200, None, 0, 180_000, "capture_times_invalid"),
    ([True], 200, None, 0, 180_000, "capture_times_invalid"),
    ([-1], 200, None, 0, 180_000, "capture_before_issue"),
    ([100, 100], 200, None, 0, 180_000, "capture_not_monotonic"),
    ([50], 200, 50, 0, 180_000, "capture_not_monotonic"),
    ([100, 110], 200, None, 0, 180_000, "capture_too_dense"),
    ([451], 200, None, 0, 180_000, "capture_after_receipt"),
    ([1000], 5001, None, 0, 180_000, "capture_too_late"),
    ([1000], 1100, None, 0, 900, "capture_after_expiry"),
])
def test_implausible_times_are_refused(times: list[int], received: int, previous: int | None, so_far: int,
                                       expires: int, code: str) -> None:
    with pytest.raises(CaptureTimeError) as err:
        check(times, received, previous, so_far, expires)  # type: ignore[arg-type]
    assert err.value.code == code
