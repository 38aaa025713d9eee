"""Batches analysed as they arrive, the decision from the stored observations, and the protocol
around it: supersede and abandon count as failures, identity bound to the account's kept face."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from charcha.erasure import erasure_hook_register, erasure_hook_unregister
from charcha.errors import ChallengeError
from charcha.models import CaptureBatch, CaptureFrame, Challenge, ChallengeLockout, ConsentRecord, SecurityEvent
from charcha.services import (
    IssuedChallenge,
    challenge_cancel,
    challenge_cue,
    challenge_finish,
    challenge_verdict_apply,
    consent_withdraw,
    reference_embedding,
    retention_sweep,
)
from charcha.vision import CapturedFrame, ChallengeStep, StepResult, Verdict
from charcha.vision.stream import FrameObservation
from charcha.vision.types import LightSegment
from jobs.models import Job
from jobs.services import job_run_now
from tests.charcha.conftest import at, cadence, issue, passing_verdict, stream, tables_holding
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db

EMBEDDING = np.linspace(-1, 1, 128, dtype=np.float32)


class FakeVerifier:
    """Stands in for LivenessVerifier: records what the services hand it, answers a set verdict."""

    def __init__(self, reason: str = "passed") -> None:
        self.reason = reason
        self.batches: list[tuple[int, list[float]]] = []
        self.decided: dict[str, Any] = {}

    def analyse_batch(self, frames: Sequence[CapturedFrame], *, first_index: int) -> list[FrameObservation]:
        self.batches.append((first_index, [f.t_s for f in frames]))
        return [FrameObservation(index=first_index + i, t_s=f.t_s, width=f.image.shape[1], height=f.image.shape[0],
                                 faces=np.array([[10, 10, 50, 60, 0.9]], np.float32), small_searched=False,
                                 landmarks=np.full((478, 3), 7.25, np.float32), main_face=0, sharpness=3.0,
                                 patch=None, light=np.ones((6, 3), np.float32), embedding=EMBEDDING)
                for i, f in enumerate(frames)]

    def decide(self, observations: Sequence[FrameObservation], steps: Sequence[ChallengeStep], *,
               light: Sequence[LightSegment] = (), reference_embedding: np.ndarray | None = None,
               load_images: Callable[[Sequence[int]], list[np.ndarray]] | None = None) -> Verdict:
        self.decided = {"indices": [o.index for o in observations], "steps": list(steps), "light": list(light),
                        "reference": reference_embedding,
                        "images": load_images([0, 1]) if load_images is not None else None}
        passed = self.reason == "passed"
        results = tuple(StepResult(action=s.action, seen=passed, seen_at_s=s.start_s + 0.5 if passed else None,
                                   peak_signal=1.5) for s in steps)
        return Verdict(passed=passed, reason=self.reason, message="Thank you." if passed else "No.", steps=results,
                       training_frame_indices=(1, 2) if passed else (), embedding=EMBEDDING if passed else None,
                       frame_count=len(observations), detail="fake", identity_distance_max=0.71)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeVerifier:
    verifier = FakeVerifier()
    monkeypatch.setattr("charcha.services._shared_verifier", lambda: verifier)
    return verifier


def show_everything(user: User, issued: IssuedChallenge) -> None:
    """Poll the cue at each item's planned start + 40 ms, as a page polling often would."""
    challenge = issued.challenge
    times = [seg["start_s"] for seg in challenge.light] + [challenge.light[-1]["end_s"]] + \
        [s["start_s"] for s in challenge.steps]
    for t in times:
        challenge_cue(user=user, challenge_id=challenge.pk, nonce=issued.nonce,
                      now=at(challenge, round(t * 1000) + 40))


def streamed_and_analysed(user: User, capture: Any, n: int = 30, seed: int = 0) -> IssuedChallenge:
    issued = issue(user, timezone.now())
    show_everything(user, issued)
    with capture(execute=True):
        stream(user, issued, cadence(n), seed=seed)
    return issued


def test_each_batch_is_analysed_on_arrival_and_stored_encrypted(user: User, fake: FakeVerifier, media_root: Path,
                                                                django_capture_on_commit_callbacks: Any) -> None:
    issued = streamed_and_analysed(user, django_capture_on_commit_callbacks)
    batches = list(CaptureBatch.objects.filter(challenge=issued.challenge).order_by("seq"))
    assert [(b.seq, b.first_index, b.frame_count) for b in batches] == [(0, 0, 15), (1, 15, 15)]
    assert all(b.analysed_at is not None and b.obs_size > 0 and not b.unreadable for b in batches)
    assert [first for first, _ in fake.batches] == [0, 15]
    for batch in batches:
        stored = (media_root / batch.obs_path).read_bytes()
        # Encrypted: not the observation archive (a zip), and the landmarks' bytes are nowhere.
        assert not stored.startswith(b"PK") and np.float32(7.25).tobytes() * 3 not in stored
    assert tables_holding(EMBEDDING.tobytes()) == []


def test_finish_decides_inline_from_the_observations_and_the_revealed_windows(
        user: User, fake: FakeVerifier, media_root: Path, django_capture_on_commit_callbacks: Any) -> None:
    issued = streamed_and_analysed(user, django_capture_on_commit_callbacks)
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 2200))
    assert (challenge.state, challenge.job) == (Challenge.State.PASSED, None)
    assert fake.decided["indices"] == list(range(30))
    revealed = issued.challenge.steps
    reveal_s = [(round(s["start_s"] * 1000) + 40) / 1000 for s in revealed]
    assert [(s.action, s.start_s) for s in fake.decided["steps"]] == [
        (s["action"], t) for s, t in zip(revealed, reveal_s, strict=True)]
    assert [seg.rgb for seg in fake.decided["light"]] == [tuple(seg["rgb"]) for seg in issued.challenge.light]
    assert fake.decided["reference"] is None
    assert [im.shape for im in fake.decided["images"]] == [(120, 160, 3)] * 2
    timings = challenge.verdict["timings"]
    assert timings["inline"] is True and timings["decide_ms"] >= 0
    consent = ConsentRecord.objects.get(challenge=challenge)
    assert [s["start_s"] for s in consent.challenge_steps] == reveal_s
    assert consent.evidence["light"] == [{"rgb": list(s.rgb), "start_s": s.start_s, "end_s": s.end_s}
                                         for s in fake.decided["light"]]
    # Observations went with the frames that were not kept; only the kept frames' files remain.
    assert CaptureBatch.objects.count() == 0
    assert sorted(stored_files(media_root)) == sorted(CaptureFrame.objects.values_list("path", flat=True))


def test_a_batch_not_yet_analysed_is_left_to_the_verify_job(user: User, fake: FakeVerifier,
                                                            media_root: Path) -> None:
    issued = issue(user, timezone.now())
    show_everything(user, issued)
    stream(user, issued, cadence(20))          # on_commit never fires here: nothing analysed yet
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 2000))
    assert challenge.state == Challenge.State.VERIFYING and challenge.job is not None
    assert fake.batches == []
    job = job_run_now(job_id=challenge.job.pk)
    assert (job.status, job.result) == (Job.Status.SUCCEEDED, {"state": "passed", "reason": "passed"})
    assert [first for first, _ in fake.batches] == [0, 15]
    decided = Challenge.objects.get(pk=challenge.pk)
    assert (decided.state, decided.verdict["timings"]["inline"]) == (Challenge.State.PASSED, False)


def test_a_failed_decision_erases_frames_and_observations(user: User, fake: FakeVerifier, media_root: Path,
                                                          django_capture_on_commit_callbacks: Any) -> None:
    fake.reason = "light_flat"
    issued = streamed_and_analysed(user, django_capture_on_commit_callbacks)
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 2200))
    assert (challenge.state, challenge.reason) == (Challenge.State.FAILED, "light_flat")
    assert CaptureBatch.objects.count() == 0 and CaptureFrame.objects.count() == 0
    assert stored_files(media_root) == []


def test_an_orphaned_inline_decision_is_handed_to_a_job_by_the_sweep(user: User, fake: FakeVerifier,
                                                                     django_capture_on_commit_callbacks: Any) -> None:
    issued = streamed_and_analysed(user, django_capture_on_commit_callbacks)
    finished = issued.challenge.issued_at + timedelta(seconds=3)
    # The web process died between "verifying" and the decision.
    Challenge.objects.filter(pk=issued.challenge.pk).update(state=Challenge.State.VERIFYING, finished_at=finished)
    with django_capture_on_commit_callbacks(execute=True):
        result = retention_sweep(now=finished + timedelta(minutes=2))
    assert result["decisions_resumed"] == 1
    assert Challenge.objects.get(pk=issued.challenge.pk).state == Challenge.State.PASSED


# ---------------------------------------------------------------------------------------- protocol
def test_re_rolling_challenges_counts_towards_the_lockout(user: User) -> None:
    start = timezone.now()
    for i in range(5):
        issue(user, start + timedelta(seconds=10 * i))
    # The fifth issue superseded the fourth open one: four failures so far.
    assert Challenge.objects.filter(user=user, state=Challenge.State.FAILED, reason="superseded").count() == 4
    assert not ChallengeLockout.objects.filter(user=user).exists()
    with pytest.raises(ChallengeError) as err:
        issue(user, start + timedelta(seconds=50))
    assert (err.value.code, err.value.http_status) == ("locked_out", 423)
    # The fifth supersede was recorded and locked the account; no sixth challenge was opened.
    assert ChallengeLockout.objects.get(user=user).failures == 5
    assert not Challenge.objects.filter(user=user, state=Challenge.State.OPEN).exists()


def test_abandoning_after_a_step_was_shown_counts_before_it_does_not(user: User) -> None:
    early = issue(user, timezone.now())
    cancelled = challenge_cancel(user=user, challenge_id=early.challenge.pk, nonce=early.nonce,
                                 now=at(early.challenge, 1000))
    assert (cancelled.state, cancelled.reason) == (Challenge.State.CANCELLED, "cancelled")
    late = issue(user, timezone.now() + timedelta(seconds=5))
    first_step = round(late.challenge.steps[0]["start_s"] * 1000)
    challenge_cue(user=user, challenge_id=late.challenge.pk, nonce=late.nonce, now=at(late.challenge, first_step))
    abandoned = challenge_cancel(user=user, challenge_id=late.challenge.pk, nonce=late.nonce,
                                 now=at(late.challenge, first_step + 500))
    assert (abandoned.state, abandoned.reason) == (Challenge.State.FAILED, "abandoned")


def kept_face_after_an_interrupted_erasure(user: User, capture: Any) -> ConsentRecord:
    """A passed challenge, then a withdrawal whose erasure stopped half-way: the face is still kept."""
    issued = issue(user, timezone.now() - timedelta(minutes=10))
    with capture(execute=True):
        stream(user, issued, cadence(6))
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 900), verifier=FakeVerifier("internal_error"))
    Challenge.objects.filter(pk=challenge.pk).update(state=Challenge.State.VERIFYING)
    challenge_verdict_apply(challenge=challenge, verdict=passing_verdict(challenge, keep=(1, 2)))
    consent = ConsentRecord.objects.get(challenge=challenge)

    def broken(*, user: User, consent: ConsentRecord, reason: str) -> int:
        raise OSError("the object store is down")

    erasure_hook_register("test.broken", broken, order=1)
    try:
        with pytest.raises(OSError):
            consent_withdraw(consent=consent, by=user)
    finally:
        erasure_hook_unregister("test.broken")
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None and consent.erased_at is None
    return consent


def test_a_later_challenge_is_checked_against_the_kept_face_and_a_mismatch_is_logged(
        user: User, fake: FakeVerifier, admin_client: Client, django_capture_on_commit_callbacks: Any) -> None:
    consent = kept_face_after_an_interrupted_erasure(user, django_capture_on_commit_callbacks)
    kept = reference_embedding(user_id=user.pk)
    assert kept is not None and kept[1] == str(consent.pk)
    np.testing.assert_array_equal(kept[0], np.linspace(-1, 1, 128, dtype=np.float32))
    fake.reason = "identity_mismatch"
    issued = streamed_and_analysed(user, django_capture_on_commit_callbacks, seed=7)
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 2200))
    np.testing.assert_array_equal(fake.decided["reference"], kept[0])
    assert (challenge.state, challenge.reason) == (Challenge.State.FAILED, "identity_mismatch")
    event = SecurityEvent.objects.get()
    assert (event.kind, event.user_id, event.challenge_id) == ("identity_mismatch", user.pk, challenge.pk)
    assert event.detail == {"reference_consent": str(consent.pk), "distance": 0.71, "detail": "fake"}
    page = admin_client.get("/admin/charcha/securityevent/")
    assert page.status_code == 200
    assert "Face did not match the account&#x27;s verified face" in page.content.decode()
    assert str(challenge.pk)[:8] in page.content.decode()
    # What the person reads names the reason in words, never the distance.
    from charcha.selectors import challenge_status

    status = challenge_status(challenge=challenge)
    assert status["title"] == "This is not the face this account verified" and "0.71" not in str(status)


def test_no_reference_once_the_face_is_erased(user: User, django_capture_on_commit_callbacks: Any) -> None:
    consent = kept_face_after_an_interrupted_erasure(user, django_capture_on_commit_callbacks)
    retention_sweep()          # finishes the erasure
    consent.refresh_from_db()
    assert consent.erased_at is not None
    assert reference_embedding(user_id=user.pk) is None
