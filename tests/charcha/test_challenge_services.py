"""Challenge issuance, frame intake and the protocol's refusals, through the services on a fixed clock."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from charcha.crypto import decrypt_blob
from charcha.errors import ChallengeError
from charcha.keys import user_data_key
from charcha.models import CaptureFrame, Challenge, ChallengeLockout, UserDataKey
from charcha.notices import notice_current
from charcha.services import (
    ACTIONS,
    challenge_cancel,
    challenge_finish,
    challenge_frames_add,
    challenge_issue,
    challenge_verdict_apply,
)
from tests.charcha.conftest import at, cadence, failing_verdict, issue, jpeg, stream
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def snapshot(challenge: Challenge, media: Path) -> tuple[object, ...]:
    """Everything a refused request must leave untouched."""
    challenge.refresh_from_db()
    return (challenge.state, challenge.frame_count, challenge.batch_count, challenge.last_capture_ms,
            CaptureFrame.objects.count(), stored_files(media))


def test_issue_draws_random_server_steps_with_nonce_and_3_minute_expiry(user: User) -> None:
    now = timezone.now()
    issued = issue(user, now)
    challenge = issued.challenge
    assert challenge.state == Challenge.State.OPEN
    assert challenge.steps_source == Challenge.StepsSource.RANDOM
    assert len(challenge.steps) >= 4
    actions = [s["action"] for s in challenge.steps]
    assert set(actions) <= set(ACTIONS)
    assert len(set(actions)) == len(actions)
    starts = [s["start_s"] for s in challenge.steps]
    assert all(s["start_s"] < s["end_s"] for s in challenge.steps)
    assert starts == sorted(starts)
    assert challenge.issued_at == now
    assert challenge.expires_at == now + timedelta(seconds=180)
    # Only the nonce's hash is stored.
    assert len(issued.nonce) >= 40
    assert challenge.nonce_sha256 == hashlib.sha256(issued.nonce.encode()).hexdigest()
    assert issued.nonce not in str(Challenge.objects.filter(pk=challenge.pk).values().get())
    assert challenge.notice_sha256 == notice_current().sha256


def test_issued_steps_differ_between_challenges(user: User) -> None:
    now = timezone.now()
    sequences = set()
    for i in range(12):
        issued = issue(user, now + timedelta(seconds=i))
        challenge = issued.challenge
        sequences.add(tuple((s["action"], s["start_s"]) for s in challenge.steps))
        # Given up before any step was shown: not an attempt (a superseded one would count).
        challenge_cancel(user=user, challenge_id=challenge.pk, nonce=issued.nonce, now=at(challenge, 100))
    assert len(sequences) == 12


def test_issue_refuses_a_notice_other_than_the_published_text(user: User) -> None:
    with pytest.raises(ChallengeError) as err:
        challenge_issue(user=user, notice_version=notice_current().version, notice_sha256="0" * 64)
    assert err.value.code == "notice_mismatch"
    with pytest.raises(ChallengeError) as err:
        challenge_issue(user=user, notice_version=99, notice_sha256=notice_current().sha256)
    assert err.value.code == "notice_unknown"
    assert Challenge.objects.count() == 0


def test_a_new_challenge_supersedes_the_open_one_and_deletes_its_frames(user: User, media_root: Path) -> None:
    now = timezone.now()
    first = issue(user, now)
    stream(user, first, cadence(5))
    assert len(stored_files(media_root)) == 5
    second = issue(user, now + timedelta(seconds=2))
    first.challenge.refresh_from_db()
    # A failed attempt, not a free re-roll: it counts towards the lockout.
    assert (first.challenge.state, first.challenge.reason) == (Challenge.State.FAILED, "superseded")
    assert CaptureFrame.objects.count() == 0
    assert stored_files(media_root) == []
    with pytest.raises(ChallengeError) as err:
        challenge_frames_add(user=user, challenge_id=first.challenge.pk, nonce=first.nonce, seq=1,
                             capture_ms=[2500], frames=[jpeg(99)], now=at(first.challenge, 2600))
    assert (err.value.code, err.value.http_status) == ("challenge_superseded", 409)
    assert Challenge.objects.filter(user=user, state=Challenge.State.OPEN).get().pk == second.challenge.pk


def test_frames_are_stored_encrypted_with_the_users_key(user: User, media_root: Path) -> None:
    issued = issue(user, timezone.now())
    originals = [jpeg(i) for i in range(4)]
    challenge = stream(user, issued, cadence(4), originals)
    assert (challenge.frame_count, challenge.batch_count, challenge.last_capture_ms) == (4, 1, 201)
    rows = list(CaptureFrame.objects.filter(challenge=challenge).order_by("index"))
    assert [r.capture_ms for r in rows] == [0, 67, 134, 201]
    assert [r.sha256 for r in rows] == [hashlib.sha256(o).hexdigest() for o in originals]
    key = user_data_key(user_id=user.pk, create=False)
    assert key is not None
    for row, original in zip(rows, originals, strict=True):
        stored = (media_root / row.path).read_bytes()
        assert not stored.startswith(b"\xff\xd8")
        assert original[:64] not in stored
        assert decrypt_blob(key, stored, context=f"frame:{user.pk}:{challenge.pk}:{row.index}") == original
    # The wrapped key in the database is not the key itself.
    assert bytes(UserDataKey.objects.get(user=user).wrapped_key).find(key) == -1


def test_frames_with_the_nonce_of_another_challenge_are_refused(user: User, media_root: Path) -> None:
    now = timezone.now()
    old = issue(user, now)
    new = issue(user, now + timedelta(seconds=1))
    before = snapshot(new.challenge, media_root)
    with pytest.raises(ChallengeError) as err:
        challenge_frames_add(user=user, challenge_id=new.challenge.pk, nonce=old.nonce, seq=0, capture_ms=[0],
                             frames=[jpeg(1)], now=at(new.challenge, 50))
    assert (err.value.code, err.value.http_status) == ("nonce_mismatch", 403)
    with pytest.raises(ChallengeError) as err:
        challenge_finish(user=user, challenge_id=new.challenge.pk, nonce=old.nonce, now=at(new.challenge, 60))
    assert err.value.code == "nonce_mismatch"
    assert snapshot(new.challenge, media_root) == before


def test_another_users_challenge_is_not_found(user: User, other_user: User) -> None:
    issued = issue(user, timezone.now())
    with pytest.raises(ChallengeError) as err:
        challenge_frames_add(user=other_user, challenge_id=issued.challenge.pk, nonce=issued.nonce, seq=0,
                             capture_ms=[0], frames=[jpeg(1)], now=at(issued.challenge, 50))
    assert (err.value.code, err.value.http_status) == ("challenge_not_found", 404)


def test_frames_replayed_from_another_challenge_are_refused(user: User, media_root: Path) -> None:
    now = timezone.now()
    old = issue(user, now)
    frames = [jpeg(i) for i in range(3)]
    stream(user, old, cadence(3), frames)
    new = issue(user, now + timedelta(seconds=5))
    before = snapshot(new.challenge, media_root)
    with pytest.raises(ChallengeError) as err:
        challenge_frames_add(user=user, challenge_id=new.challenge.pk, nonce=new.nonce, seq=0,
                             capture_ms=[0, 67], frames=[jpeg(50), frames[1]], now=at(new.challenge, 120))
    assert (err.value.code, err.value.http_status) == ("frame_replayed", 409)
    assert snapshot(new.challenge, media_root) == before


@pytest.mark.parametrize(("times", "received_ms", "code"), [
    ([0, 67, 60], 200, "capture_not_monotonic"),
    ([0, 67, 67], 200, "capture_not_monotonic"),
    ([-40, 30], 200, "capture_before_issue"),
    ([0, 67, 900], 500, "capture_after_receipt"),
    # Claimed to be taken 5 s before they arrived: held back or re-timed into an earlier window.
    ([1000, 1067], 6100, "capture_too_late"),
    ([0, 5, 10], 200, "capture_too_dense"),
    ([], 200, "batch_empty"),
])
def test_tampered_capture_times_are_refused_and_change_nothing(user: User, media_root: Path, times: list[int],
                                                               received_ms: int, code: str) -> None:
    issued = issue(user, timezone.now())
    stream(user, issued, [0, 67])  # an accepted first batch: monotonic across batches matters too
    times = [t + 134 if t >= 0 else t for t in times]
    before = snapshot(issued.challenge, media_root)
    with pytest.raises(ChallengeError) as err:
        challenge_frames_add(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce, seq=1, capture_ms=times,
                             frames=[jpeg(1000 + i) for i in range(len(times))],
                             now=at(issued.challenge, received_ms + 134))
    assert err.value.code == code
    assert snapshot(issued.challenge, media_root) == before


def test_a_batch_must_continue_after_the_previous_batchs_last_frame(user: User, media_root: Path) -> None:
    issued = issue(user, timezone.now())
    stream(user, issued, [0, 67, 134])
    before = snapshot(issued.challenge, media_root)
    with pytest.raises(ChallengeError) as err:
        challenge_frames_add(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce, seq=1,
                             capture_ms=[100, 200], frames=[jpeg(7), jpeg(8)], now=at(issued.challenge, 260))
    assert err.value.code == "capture_not_monotonic"
    assert snapshot(issued.challenge, media_root) == before


def test_a_retried_batch_is_stored_once_and_batches_must_come_in_order(user: User, media_root: Path) -> None:
    issued = issue(user, timezone.now())
    frames = [jpeg(1), jpeg(2)]
    args: dict[str, Any] = {"user": user, "challenge_id": issued.challenge.pk, "nonce": issued.nonce}
    challenge_frames_add(**args, seq=0, capture_ms=[0, 67], frames=frames, now=at(issued.challenge, 100))
    again = challenge_frames_add(**args, seq=0, capture_ms=[0, 67], frames=frames, now=at(issued.challenge, 400))
    assert (again.frame_count, again.batch_count) == (2, 1)
    assert len(stored_files(media_root)) == 2
    with pytest.raises(ChallengeError) as err:
        challenge_frames_add(**args, seq=2, capture_ms=[200], frames=[jpeg(3)], now=at(issued.challenge, 250))
    assert (err.value.code, err.value.http_status) == ("batch_out_of_order", 409)


@pytest.mark.parametrize(("data", "code"), [
    (b"GIF89a not a jpeg", "frame_not_jpeg"),
    (b"\xff\xd8\xff but not really a jpeg", "frame_not_jpeg"),
    (jpeg(1, size=(32, 32)), "frame_size_invalid"),
])
def test_frames_that_are_not_usable_jpegs_are_refused(user: User, media_root: Path, data: bytes, code: str) -> None:
    issued = issue(user, timezone.now())
    before = snapshot(issued.challenge, media_root)
    with pytest.raises(ChallengeError) as err:
        challenge_frames_add(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce, seq=0, capture_ms=[0],
                             frames=[data], now=at(issued.challenge, 50))
    assert err.value.code == code
    assert snapshot(issued.challenge, media_root) == before


def test_a_challenge_expires_3_minutes_after_issue(user: User, media_root: Path) -> None:
    issued = issue(user, timezone.now())
    stream(user, issued, cadence(3))
    with pytest.raises(ChallengeError) as err:
        challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                         now=at(issued.challenge, 180_000))
    assert (err.value.code, err.value.http_status) == ("challenge_expired", 410)
    issued.challenge.refresh_from_db()
    assert (issued.challenge.state, issued.challenge.reason) == (Challenge.State.EXPIRED, "expired")
    assert CaptureFrame.objects.count() == 0
    assert stored_files(media_root) == []


def test_a_challenge_finishes_once(user: User, django_capture_on_commit_callbacks: object) -> None:
    issued = issue(user, timezone.now())
    stream(user, issued, cadence(3))
    finished = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                now=at(issued.challenge, 300))
    assert finished.state == Challenge.State.VERIFYING
    assert finished.job is not None
    assert finished.job.params == {"challenge_id": str(issued.challenge.pk)}
    assert (finished.job.task_name, finished.job.queue) == ("charcha.verify_challenge", "cpu")
    for call in (
        lambda: challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 400)),
        lambda: challenge_frames_add(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce, seq=1,
                                     capture_ms=[500], frames=[jpeg(9)], now=at(issued.challenge, 550)),
    ):
        with pytest.raises(ChallengeError) as err:
            call()
        assert (err.value.code, err.value.http_status) == ("challenge_not_open", 409)


def fail_once(user: User, when: datetime) -> Challenge:
    issued = issue(user, when)
    stream(user, issued, cadence(2), seed=int(when.timestamp() * 1000) % 1_000_000)
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 300))
    return challenge_verdict_apply(challenge=challenge, verdict=failing_verdict(challenge),
                                   now=at(issued.challenge, 400))


def test_five_failures_within_3_minutes_lock_out_for_30_minutes(user: User, media_root: Path) -> None:
    start = timezone.now()
    for i in range(5):
        failed = fail_once(user, start + timedelta(seconds=30 * i))
        assert (failed.state, failed.reason) == (Challenge.State.FAILED, "action_missed")
    fifth_failure = start + timedelta(seconds=120, milliseconds=400)
    lock = ChallengeLockout.objects.get(user=user)
    assert (lock.locked_until, lock.failures) == (fifth_failure + timedelta(minutes=30), 5)
    with pytest.raises(ChallengeError) as err:
        issue(user, fifth_failure + timedelta(minutes=29, seconds=59))
    assert (err.value.code, err.value.http_status) == ("locked_out", 423)
    assert issue(user, fifth_failure + timedelta(minutes=30, seconds=1)).challenge.state == Challenge.State.OPEN
    # Frames of failed challenges are never kept.
    assert CaptureFrame.objects.filter(challenge__state=Challenge.State.FAILED).count() == 0
    assert stored_files(media_root) == []


def test_failures_spread_over_more_than_3_minutes_do_not_lock(user: User) -> None:
    start = timezone.now()
    for i in range(6):
        fail_once(user, start + timedelta(seconds=50 * i))  # never 5 inside one 3-minute window
    assert not ChallengeLockout.objects.filter(user=user).exists()
    assert issue(user, start + timedelta(seconds=301)).challenge.state == Challenge.State.OPEN


def test_four_failures_do_not_lock(user: User) -> None:
    start = timezone.now()
    for i in range(4):
        fail_once(user, start + timedelta(seconds=10 * i))
    assert not ChallengeLockout.objects.filter(user=user).exists()


FIXED = [{"action": "look_up", "start_s": 1.0, "end_s": 3.0}, {"action": "blink", "start_s": 3.5, "end_s": 5.5},
         {"action": "turn_left", "start_s": 6.0, "end_s": 8.0}, {"action": "smile", "start_s": 8.5, "end_s": 10.5}]


def test_fixed_test_steps_are_honoured_under_the_test_runner(user: User, settings: object) -> None:
    settings.CHARCHA_TEST_FIXED_STEPS = FIXED  # type: ignore[attr-defined]
    challenge = issue(user, timezone.now()).challenge
    assert challenge.steps == FIXED
    assert challenge.steps_source == Challenge.StepsSource.FIXED


def test_fixed_test_steps_are_ignored_outside_debug_and_tests(user: User, settings: object,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    settings.CHARCHA_TEST_FIXED_STEPS = FIXED  # type: ignore[attr-defined]
    settings.DEBUG = False  # type: ignore[attr-defined]
    monkeypatch.delattr(mail, "outbox")  # what a production process looks like
    challenge = issue(user, timezone.now()).challenge
    assert challenge.steps_source == Challenge.StepsSource.RANDOM
    assert challenge.steps != FIXED


def _jpeg_of_size(width: int, height: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(width)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)).save(out, format="JPEG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("size", "side", "decoded"),
    [
        ((640, 480), 320, (320, 240)),   # captured size -> the size the engine is measured at
        ((1280, 960), 320, (320, 240)),
        ((1280, 720), 320, (320, 180)),
        ((500, 375), 320, (500, 375)),   # half would be under 320: kept as captured
        ((320, 240), 320, (320, 240)),
        ((640, 480), 0, (640, 480)),     # 0: as captured
    ],
)
def test_frames_are_decoded_for_verification_at_about_the_verify_side(
    size: tuple[int, int], side: int, decoded: tuple[int, int]
) -> None:
    from charcha.services import _decode_all

    [image] = _decode_all([_jpeg_of_size(*size)], side=side)
    assert image is not None
    assert (image.shape[1], image.shape[0], image.shape[2]) == (*decoded, 3)


def test_an_undecodable_frame_decodes_to_none() -> None:
    from charcha.services import _decode_all

    assert _decode_all([b"\xff\xd8\xff\xe0 not really a jpeg", _jpeg_of_size(64, 64)], side=320)[0] is None
