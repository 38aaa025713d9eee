"""The light-challenge material: challenges are planned light first, every generator has the same
shape and is a function of its seed, and a few attempts go through the real verifier."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

import numpy as np
import pytest

from charcha.testing import attacks as A
from charcha.vision import LivenessVerifier
from charcha.vision.light import light_safety_problems
from charcha.vision.types import ChallengeStep, LightSegment

SHORT_STEPS = [ChallengeStep("blink", 2.2, 3.0)]
SHORT_LIGHT = [LightSegment((33, 163, 163), 0.4, 1.1), LightSegment((225, 113, 113), 1.1, 1.9)]


def test_a_challenge_has_its_light_phase_before_its_steps() -> None:
    for seed in range(20):
        steps, light = A.plan_challenge(random.Random(seed))
        assert 5 <= len(light) <= 6
        assert all(a.end_s == b.start_s for a, b in itertools.pairwise(light))  # back to back
        assert steps[0].start_s >= light[-1].end_s + 0.4
        assert "blink" in {s.action for s in steps}
        assert {"smile", "open_mouth"} & {s.action for s in steps}
        assert light_safety_problems(light) == []


def test_the_easiest_challenge_has_no_more_head_moves_than_any_draw() -> None:
    steps, _ = A.easiest_challenge(random.Random(2), tries=12)
    moves = sum(s.action in ("turn_left", "turn_right", "look_up", "look_down") for s in steps)
    again = random.Random(2)
    draws = [A.plan_challenge(again)[0] for _ in range(12)]
    assert moves == min(sum(s.action in ("turn_left", "turn_right", "look_up", "look_down") for s in d) for d in draws)


@pytest.mark.parametrize("kind", ["genuine", *A.LIGHT_ATTACKS])
def test_every_generator_is_seeded_and_makes_a_webcam_clip(kind: str) -> None:
    fn = A.genuine_head if kind == "genuine" else A.LIGHT_ATTACKS[kind]
    first = fn(A.photo("astronaut"), SHORT_STEPS, SHORT_LIGHT, 8.0, random.Random(11))
    again = fn(A.photo("astronaut"), SHORT_STEPS, SHORT_LIGHT, 8.0, random.Random(11))
    times = np.array([f.t_s for f in first])
    assert len(first) >= 22 and np.all(np.diff(times) > 0) and times[-1] >= 2.9
    assert all(f.image.shape == (240, 320, 3) and f.image.dtype == np.uint8 for f in first)
    assert [f.t_s for f in first] == [f.t_s for f in again]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))


@pytest.fixture(scope="module")
def verifier() -> Iterator[LivenessVerifier]:
    v = LivenessVerifier(identity_backend="dlib")
    yield v
    v.close()


@pytest.mark.parametrize(
    ("kind", "seed", "reasons"),
    [
        ("genuine", 1, {"passed"}),
        ("injected_tint", 1, {"light_flat"}),
        ("flat_photo", 2, {"light_flat", "light_mismatch", "action_missed", "no_face"}),
    ],
)
def test_real_attempts_through_the_real_verifier(verifier: LivenessVerifier, kind: str, seed: int, reasons: set[str]) -> None:
    rng = random.Random(f"test:{kind}:{seed}")
    steps, light = A.plan_challenge(rng)
    fn = A.genuine_head if kind == "genuine" else A.LIGHT_ATTACKS[kind]
    frames = fn(A.photo("astronaut"), steps, light, 15.0, rng)
    verdict = verifier.verify(frames, steps, light=light)
    assert verdict.reason in reasons, verdict.detail
    assert verdict.passed == (kind == "genuine")
