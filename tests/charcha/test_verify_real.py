"""The whole server path with the real vision engine and a rendered head that follows the cues, live.

A textured 3-D head built from a real photograph (charcha.testing.head3d) sits in front of a
simulated page: it polls the cue service, is lit by each colour the server reveals and acts each
step only once it is revealed. Its frames go in as JPEG batches through the frame service, each
batch is analysed as it arrives (Celery eager, on commit), and finishing decides inline. A still
photo held to the same page fails. Pass: consent, encrypted training frames and embedding; fail:
nothing kept at all.
"""

from __future__ import annotations

import hashlib
import random
import threading
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection

from charcha.errors import ChallengeError
from charcha.keys import user_data_key
from charcha.models import CaptureBatch, CaptureFrame, Challenge, ConsentRecord, IdentityTemplate, UserDataKey
from charcha.services import (
    challenge_finish,
    consent_embedding,
    consent_verify,
    consent_withdraw,
    frame_bytes_for_training,
)
from charcha.testing.attacks import photo
from charcha.testing.live import LiveRun, SimulatedClock, attempt_live
from jobs.models import Job
from tests.charcha.conftest import tables_holding
from tests.conftest import stored_files

# Real commits, so each batch's analysis task runs (eagerly) when its frames are stored.
pytestmark = pytest.mark.django_db(transaction=True)


def live(user: User, seed: int, **kwargs: object) -> LiveRun:
    return attempt_live(user=user, clock=SimulatedClock(), rng=random.Random(seed), photo_rgb=photo("astronaut"),
                        **kwargs)  # type: ignore[arg-type]


def test_a_live_head_passes_and_only_encrypted_training_data_is_kept(user: User, media_root: Path) -> None:
    run = live(user, seed=3)
    challenge = Challenge.objects.get(pk=run.challenge.pk)
    assert (challenge.state, challenge.reason) == (Challenge.State.PASSED, "passed"), challenge.verdict
    # The head acted each step only after the cue revealed it, in the server's order.
    assert [action for _, action in run.prompts] == [s["action"] for s in challenge.steps]
    assert len(run.colours) == len(challenge.light) + 2     # neutral, each colour, neutral again
    assert challenge.job is None and challenge.verdict["timings"]["inline"] is True
    consent = ConsentRecord.objects.get(challenge=challenge)
    assert consent.evidence["light"] and len(consent.evidence["light"]) == len(challenge.light)
    assert all(step["seen_at_s"] is not None for step in consent.challenge_steps)
    # Windows as shown: each step's window starts at its recorded reveal.
    reveals = challenge.reveals_ms[-len(challenge.steps):]
    assert [round(s["start_s"] * 1000) for s in consent.challenge_steps] == reveals
    kept = list(CaptureFrame.objects.filter(challenge=challenge).order_by("index"))
    stills = [t["index"] for t in consent.evidence["training_frames"]]
    runs = consent.evidence["training_runs"]
    run_indices = {i for r in runs for i in range(r["first"], r["last"] + 1)}
    assert stills and [f.index for f in kept] == sorted(set(stills) | run_indices)
    assert CaptureBatch.objects.count() == 0         # the observations went with the other frames
    assert sorted(stored_files(media_root)) == sorted(f.path for f in kept)
    for frame, (index, jpeg_bytes) in zip([f for f in kept if f.index in set(stills)],
                                          frame_bytes_for_training(consent=consent), strict=True):
        stored = (media_root / frame.path).read_bytes()
        assert frame.index == index
        assert jpeg_bytes.startswith(b"\xff\xd8") and not stored.startswith(b"\xff\xd8")
    embedding = consent_embedding(consent=consent)
    assert embedding is not None and embedding.shape == (128,) and bool(np.all(np.isfinite(embedding)))
    assert hashlib.sha256(embedding.tobytes()).hexdigest() == consent.evidence["embedding_sha256"]
    assert consent_verify(consent=consent).ok
    assert tables_holding(embedding.tobytes()) == []
    wrapped = bytes(UserDataKey.objects.get(user=user).wrapped_key)
    sealed = bytes(IdentityTemplate.objects.get(user=user).ciphertext)

    consent_withdraw(consent=consent, by=user)
    assert stored_files(media_root) == []
    assert CaptureFrame.objects.filter(challenge__user=user).count() == 0
    assert IdentityTemplate.objects.filter(user=user).count() == 0
    assert user_data_key(user_id=user.pk, create=False) is None
    assert tables_holding(wrapped) == [] and tables_holding(sealed) == []


def test_a_still_photo_in_front_of_the_page_fails_and_nothing_is_kept(user: User, media_root: Path) -> None:
    run = live(user, seed=4, attack="still_photo")
    challenge = Challenge.objects.get(pk=run.challenge.pk)
    assert challenge.state == Challenge.State.FAILED
    assert challenge.reason in ("action_missed", "light_mismatch", "light_flat"), challenge.verdict
    assert ConsentRecord.objects.count() == 0
    assert CaptureFrame.objects.count() == 0 and CaptureBatch.objects.count() == 0
    assert stored_files(media_root) == []


def test_a_live_challenge_finished_twice_at_once_passes_once(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    finishes: list[dict[str, object]] = []

    def hold_back(**kwargs: object) -> Challenge:   # the driver's own finish is kept for the race below
        finishes.append(kwargs)
        return Challenge.objects.get(pk=str(kwargs["challenge_id"]))

    monkeypatch.setattr("charcha.testing.live.challenge_finish", hold_back)
    nonces: list[str] = []
    live(user, seed=5, on_issue=lambda issued: nonces.append(issued.nonce))
    kwargs = finishes[0]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def complete() -> None:
        try:
            barrier.wait()
            challenge_finish(user=user, challenge_id=kwargs["challenge_id"], nonce=nonces[0],
                             now=kwargs["now"])  # type: ignore[arg-type]
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
    challenge = Challenge.objects.get(pk=str(kwargs["challenge_id"]))
    assert challenge.state == Challenge.State.PASSED, challenge.verdict
    assert ConsentRecord.objects.filter(user=user).count() == 1
    assert Job.objects.filter(kind=Job.Kind.VERIFY).count() == 0     # decided inline, once
