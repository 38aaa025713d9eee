"""The whole server path with the real vision engine on the committed clips of a real photograph.

Frames go in as JPEGs through the frame service (on the clip's own capture times), the verify job
runs the engine, and the pass or failure is applied: consent, encrypted training frames and
embedding, or nothing kept at all.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.utils import timezone
from PIL import Image

from charcha.errors import ChallengeError
from charcha.keys import user_data_key
from charcha.models import CaptureFrame, Challenge, ConsentRecord, IdentityTemplate, UserDataKey
from charcha.services import (
    challenge_finish,
    challenge_frames_add,
    consent_embedding,
    consent_verify,
    consent_withdraw,
    frame_bytes_for_training,
)
from charcha.testing.fixtures import FIXTURES_DIR, Clip, load_clip, steps_to_json
from jobs.models import Job
from jobs.services import job_run_now
from tests.charcha.conftest import issue, tables_holding
from tests.conftest import stored_files

# Regenerated clips can be tried from another folder before they are committed.
CLIPS = Path(os.environ.get("ENCORE_CHARCHA_CLIPS", str(FIXTURES_DIR)))


@pytest.fixture(scope="module")
def genuine() -> Clip:
    return load_clip("genuine_a", CLIPS)


@pytest.fixture(scope="module")
def still_photo() -> Clip:
    return load_clip("still_photo_a", CLIPS)


def as_jpegs(clip: Clip) -> list[bytes]:
    out = []
    for frame in clip.frames:
        buffer = io.BytesIO()
        Image.fromarray(frame.image).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def streamed(user: User, clip: Clip, settings: object) -> tuple[Challenge, str]:
    """Issue the clip's steps and send its frames in 1-second batches, each arriving 80 ms after."""
    settings.CHARCHA_TEST_FIXED_STEPS = steps_to_json(clip.steps)  # type: ignore[attr-defined]
    issued = issue(user, timezone.now())
    times = [round(f.t_s * 1000) for f in clip.frames]
    jpegs = as_jpegs(clip)
    challenge = issued.challenge
    for seq, start in enumerate(range(0, len(times), 15)):
        chunk: Sequence[int] = times[start:start + 15]
        challenge = challenge_frames_add(user=user, challenge_id=challenge.pk, nonce=issued.nonce, seq=seq,
                                         capture_ms=chunk, frames=jpegs[start:start + 15],
                                         now=challenge.issued_at + timedelta(milliseconds=chunk[-1] + 80))
    return challenge, issued.nonce


@pytest.mark.django_db
def test_a_genuine_attempt_passes_and_only_encrypted_training_data_is_kept(user: User, genuine: Clip,
                                                                           settings: object, media_root: Path) -> None:
    challenge, nonce = streamed(user, genuine, settings)
    assert challenge.frame_count == len(genuine.frames)
    challenge = challenge_finish(user=user, challenge_id=challenge.pk, nonce=nonce,
                                 now=challenge.issued_at + timedelta(seconds=20))
    assert challenge.job is not None
    job = job_run_now(job_id=challenge.job.pk)
    assert (job.status, job.result) == (Job.Status.SUCCEEDED, {"state": "passed", "reason": "passed"})
    challenge.refresh_from_db()
    assert challenge.state == Challenge.State.PASSED
    consent = ConsentRecord.objects.get(challenge=challenge)
    kept = list(CaptureFrame.objects.filter(challenge=challenge).order_by("index"))
    assert len(kept) >= 5
    runs = consent.evidence["training_runs"]
    assert len(runs) >= 2 and all(run["last"] - run["first"] == 16 for run in runs)
    run_indices = {i for run in runs for i in range(run["first"], run["last"] + 1)}
    stills = [t["index"] for t in consent.evidence["training_frames"]]
    assert [f.index for f in kept] == sorted(set(stills) | run_indices)
    assert [i for i, _ in frame_bytes_for_training(consent=consent)] == stills
    kept = [f for f in kept if f.index in set(stills)]
    assert all(step["seen_at_s"] is not None for step in consent.challenge_steps)
    assert sorted(stored_files(media_root)) == sorted(CaptureFrame.objects.filter(challenge=challenge)
                                                      .values_list("path", flat=True))
    for frame, (index, jpeg_bytes) in zip(kept, frame_bytes_for_training(consent=consent), strict=True):
        stored = (media_root / frame.path).read_bytes()
        assert frame.index == index
        assert jpeg_bytes.startswith(b"\xff\xd8") and not stored.startswith(b"\xff\xd8")
        assert jpeg_bytes[100:200] not in stored
    embedding = consent_embedding(consent=consent)
    assert embedding is not None and embedding.shape == (128,)
    assert embedding.dtype == np.float32 and bool(np.all(np.isfinite(embedding)))
    assert hashlib.sha256(embedding.tobytes()).hexdigest() == consent.evidence["embedding_sha256"]
    assert consent_verify(consent=consent).ok
    # Encrypted at rest: neither the embedding nor any kept picture is readable in any table.
    assert tables_holding(embedding.tobytes()) == []
    assert tables_holding(frame_bytes_for_training(consent=consent)[0][1][-256:]) == []
    wrapped = bytes(UserDataKey.objects.get(user=user).wrapped_key)
    sealed = bytes(IdentityTemplate.objects.get(user=user).ciphertext)

    consent_withdraw(consent=consent, by=user)
    assert stored_files(media_root) == []
    assert CaptureFrame.objects.filter(challenge__user=user).count() == 0
    assert IdentityTemplate.objects.filter(user=user).count() == 0
    assert UserDataKey.objects.filter(user=user).count() == 0
    assert user_data_key(user_id=user.pk, create=False) is None
    assert tables_holding(wrapped) == [] and tables_holding(sealed) == []
    assert consent_verify(consent=ConsentRecord.objects.get(pk=consent.pk)).ok


@pytest.mark.django_db
def test_a_still_photo_fails_and_nothing_is_kept(user: User, still_photo: Clip, settings: object,
                                                 media_root: Path) -> None:
    challenge, nonce = streamed(user, still_photo, settings)
    challenge = challenge_finish(user=user, challenge_id=challenge.pk, nonce=nonce,
                                 now=challenge.issued_at + timedelta(seconds=20))
    assert challenge.job is not None
    job_run_now(job_id=challenge.job.pk)
    challenge.refresh_from_db()
    assert (challenge.state, challenge.reason) == (Challenge.State.FAILED, still_photo.expected_reason)
    assert ConsentRecord.objects.count() == 0
    assert CaptureFrame.objects.count() == 0
    assert stored_files(media_root) == []


@pytest.mark.django_db(transaction=True)
def test_a_genuine_challenge_completed_twice_at_once_passes_once(user: User, genuine: Clip, settings: object) -> None:
    challenge, nonce = streamed(user, genuine, settings)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def complete() -> None:
        try:
            barrier.wait()
            # The winner's verify job runs on commit, in this thread, with the real engine.
            challenge_finish(user=user, challenge_id=challenge.pk, nonce=nonce,
                             now=challenge.issued_at + timedelta(seconds=20))
            outcomes.append("finished")
        except ChallengeError as exc:
            outcomes.append(exc.code)
        except OperationalError:
            outcomes.append("database_busy")
        finally:
            connection.close()

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes)[0] in ("challenge_not_open", "database_busy")
    assert outcomes.count("finished") == 1
    challenge.refresh_from_db()
    assert challenge.state == Challenge.State.PASSED
    assert ConsentRecord.objects.filter(user=user).count() == 1
    assert Job.objects.filter(kind=Job.Kind.VERIFY).count() == 1
