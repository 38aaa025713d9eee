"""The committed clips: they load, and they get the verdicts they are committed for."""

from __future__ import annotations

import json

import pytest

from charcha.testing.fixtures import (
    FAKE_CAMERA_JSON,
    FIXTURES_DIR,
    MJPEG_FPS,
    fixed_steps_for_fake_camera,
    load_clip,
    read_mjpeg,
    sample_fake_camera,
)
from charcha.vision import LivenessVerifier
from charcha.vision.challenge import challenge_duration_s

# The whole committed set stays small enough for the repository.
MAX_TOTAL_BYTES = 6 * 1024 * 1024


def test_committed_clips_are_small() -> None:
    total = sum(p.stat().st_size for p in FIXTURES_DIR.iterdir() if p.is_file())
    assert total < MAX_TOTAL_BYTES


@pytest.mark.parametrize("name", ["genuine_a", "still_photo_a"])
def test_committed_attempts_get_their_verdict(verifier: LivenessVerifier, name: str) -> None:
    clip = load_clip(name)
    assert len(clip.frames) >= 140
    assert clip.frames[0].image.shape == (240, 320, 3)
    verdict = verifier.verify(clip.frames, clip.steps)
    assert verdict.reason == clip.expected_reason, verdict.detail
    assert verdict.passed == (clip.expected_reason == "passed")


def test_fake_camera_json_describes_the_genuine_clip() -> None:
    meta = json.loads((FIXTURES_DIR / FAKE_CAMERA_JSON).read_text())
    steps = fixed_steps_for_fake_camera()
    assert [s.action for s in steps] == [m["action"] for m in meta["moves"]]
    for step, move in zip(steps, meta["moves"], strict=True):
        assert step.start_s < move["onset_s"] < move["end_s"] < step.end_s
    frames = list(read_mjpeg(FIXTURES_DIR / meta["genuine_clip"]))
    assert frames[0].shape == (480, 640, 3)
    assert len(frames) / MJPEG_FPS == pytest.approx(meta["genuine_clip_s"], abs=0.1)
    assert meta["genuine_clip_s"] > challenge_duration_s(steps)


@pytest.mark.parametrize("offset_s", [0.0, 0.5])
def test_fake_camera_genuine_clip_passes_and_photo_clip_fails(verifier: LivenessVerifier, offset_s: float) -> None:
    """What the browser test will send: the page samples the fake camera at 15 fps, starting its
    challenge clock ``offset_s`` after Chromium opened the camera."""
    meta = json.loads((FIXTURES_DIR / FAKE_CAMERA_JSON).read_text())
    steps = fixed_steps_for_fake_camera()
    duration = challenge_duration_s(steps)
    genuine = sample_fake_camera(FIXTURES_DIR / meta["genuine_clip"], offset_s=offset_s, duration_s=duration)
    verdict = verifier.verify(genuine, steps)
    assert verdict.passed, verdict.detail
    photo = sample_fake_camera(FIXTURES_DIR / meta["photo_clip"], offset_s=offset_s, duration_s=duration)
    verdict = verifier.verify(photo, steps)
    assert verdict.reason == "action_missed", verdict.detail
