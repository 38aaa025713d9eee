"""Rules for the capture times a browser claims for its frames, checked against the server clock.

All times are milliseconds since the challenge was issued. The browser measures its times from
the moment it received the challenge, which is after the server issued it, and its frames reach
the server after they were taken. An honest capture time therefore lies in
``[receipt - max_lag, receipt]``; anything outside that band was either rewritten or held back,
and either way cannot be trusted to show *when* a move happened. Pure Python, no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from charcha.errors import ChallengeError


class CaptureTimeError(ChallengeError):
    code = "capture_times_invalid"
    http_status = 400


@dataclass(frozen=True)
class TimingRules:
    # How long a frame may take from capture to the server (batching + network + a short outage).
    max_lag_ms: int = 4000
    # Slack for a capture time after its receipt time: clock granularity and rounding, no more.
    clock_slack_ms: int = 250
    # Frames closer than this are not from a camera (50 fps is above any webcam the page asks for).
    min_interval_ms: int = 20
    max_frames_per_batch: int = 40
    max_frames_total: int = 900


def check_capture_times(*, capture_ms: Sequence[int], received_ms: int, previous_ms: int | None,
                        expires_ms: int, frames_so_far: int, rules: TimingRules) -> None:
    """Raise :class:`CaptureTimeError` (with a stable code) unless the batch's times are plausible.

    ``previous_ms`` is the last accepted capture time of this challenge (None before the first
    batch); ``received_ms`` the server's receipt time of this batch; ``expires_ms`` the expiry.
    """
    if not capture_ms:
        raise CaptureTimeError("A batch must hold at least one frame.", code="batch_empty")
    if len(capture_ms) > rules.max_frames_per_batch:
        raise CaptureTimeError(f"A batch may hold at most {rules.max_frames_per_batch} frames.",
                               code="batch_too_large")
    if frames_so_far + len(capture_ms) > rules.max_frames_total:
        raise CaptureTimeError("This challenge has received as many frames as it accepts.",
                               code="too_many_frames")
    last = previous_ms
    for t in capture_ms:
        if isinstance(t, bool) or not isinstance(t, int):
            raise CaptureTimeError("Capture times must be whole milliseconds.", code="capture_times_invalid")
        if t < 0:
            raise CaptureTimeError("A frame claims to be taken before the challenge began.",
                                   code="capture_before_issue")
        if last is not None and t <= last:
            raise CaptureTimeError("Capture times must increase from frame to frame.",
                                   code="capture_not_monotonic")
        if last is not None and t - last < rules.min_interval_ms:
            raise CaptureTimeError("Frames arrive faster than a camera can take them.",
                                   code="capture_too_dense")
        if t > received_ms + rules.clock_slack_ms:
            raise CaptureTimeError("A frame claims to be taken after it reached us.",
                                   code="capture_after_receipt")
        if t > expires_ms:
            raise CaptureTimeError("A frame was taken after the challenge expired.", code="capture_after_expiry")
        if received_ms - t > rules.max_lag_ms:
            raise CaptureTimeError("Frames reached us too long after they were taken.", code="capture_too_late")
        last = t
