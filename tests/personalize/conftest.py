"""Fixtures for the personalize tests: a passed consent holding the committed genuine capture.

The consent is made through charcha's own services: the genuine clip's frames go in as JPEGs on
their capture times and a passing verdict is applied (the vision engine itself is tested in
tests/charcha; here it would only add half a minute). The frames are a real face (skimage's
astronaut, animated by tools/make_liveness_clips.py), so face detection, crops and the identity
score run on real material.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from django.contrib.auth.models import User
from django.utils import timezone
from PIL import Image

from charcha.models import Challenge, ConsentRecord
from charcha.services import challenge_finish, challenge_frames_add, challenge_verdict_apply
from charcha.testing.fixtures import Clip, load_clip, steps_to_json
from charcha.vision import StepResult, Verdict
from tests.charcha.conftest import issue

# Training stills the verdict keeps (spread over the head turns and expressions of the clip).
KEEP = (8, 30, 55, 80, 105, 130)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> Iterator[None]:
    # On a shared 2-core machine two intra-op threads spin against other processes and run tiny
    # models 10x slower; one thread is also what the worker tests pin (equal results need equal threads).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def genuine() -> Clip:
    return load_clip("genuine_a")


def jpegs(clip: Clip, quality: int = 90) -> list[bytes]:
    out = []
    for frame in clip.frames:
        buffer = io.BytesIO()
        Image.fromarray(frame.image).save(buffer, format="JPEG", quality=quality)
        out.append(buffer.getvalue())
    return out


def make_consent(user: User, clip: Clip, settings: Any) -> ConsentRecord:
    """A passed consent of ``user`` whose kept frames are the clip's (stills + runs, notice v2)."""
    settings.CHARCHA_TEST_FIXED_STEPS = steps_to_json(clip.steps)
    issued = issue(user, timezone.now())
    challenge = issued.challenge
    times = [round(f.t_s * 1000) for f in clip.frames]
    # Each user's capture encodes differently: charcha refuses bytes replayed from another challenge.
    frames = jpegs(clip, quality=85 + user.pk % 10)
    for seq, start in enumerate(range(0, len(times), 15)):
        chunk = times[start:start + 15]
        challenge = challenge_frames_add(user=user, challenge_id=challenge.pk, nonce=issued.nonce, seq=seq,
                                         capture_ms=chunk, frames=frames[start:start + 15],
                                         now=challenge.issued_at + timedelta(milliseconds=chunk[-1] + 80))
    challenge = challenge_finish(user=user, challenge_id=challenge.pk, nonce=issued.nonce,
                                 now=challenge.issued_at + timedelta(seconds=20))
    steps = tuple(StepResult(action=s["action"], seen=True, seen_at_s=(s["start_s"] + s["end_s"]) / 2,
                             peak_signal=1.5) for s in challenge.steps)
    verdict = Verdict(passed=True, reason="passed", message="Thank you.", steps=steps, training_frame_indices=KEEP,
                      embedding=np.linspace(-1, 1, 128, dtype=np.float32), frame_count=challenge.frame_count)
    challenge = challenge_verdict_apply(challenge=challenge, verdict=verdict,
                                        now=challenge.issued_at + timedelta(seconds=21))
    assert challenge.state == Challenge.State.PASSED
    settings.CHARCHA_TEST_FIXED_STEPS = None
    return ConsentRecord.objects.get(challenge=challenge)


@pytest.fixture
def consent(user: User, genuine: Clip, settings: Any) -> ConsentRecord:
    return make_consent(user, genuine, settings)


@pytest.fixture
def media_root(settings: Any) -> Path:
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def tiny_settings(settings: Any) -> Any:
    """The platform on tiny models, with a short training (the defaults' shape, fewer steps)."""
    settings.PERSONALIZE_MODELS = "tiny"
    settings.PERSONALIZE_DEVICE = "cpu"
    settings.PERSONALIZE_DTYPE = "float32"
    settings.PERSONALIZE_TRAIN_OVERRIDES = '{"steps": 4, "checkpoint_every": 2}'
    return settings
