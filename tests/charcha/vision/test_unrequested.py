"""Moves nobody asked for fail the attempt; spontaneous blinks and the way back to neutral do not."""

from __future__ import annotations

import random
from collections.abc import Callable

from charcha.testing.attacks import (
    SIZE,
    Attempt,
    CameraStyle,
    FrameSpec,
    Wobble,
    capture_times,
    face_state,
    natural_blinks,
    plan_performance,
    render,
)
from charcha.testing.head3d import Motion
from charcha.vision import ChallengeStep, LivenessVerifier, Verdict
from charcha.vision.challenge import challenge_duration_s
from charcha.vision.types import MESSAGES

AttemptFn = Callable[[str, int], Attempt]
VerdictFn = Callable[[str, int], Verdict]

# Both expressions asked for, so a talking face meets them in their windows.
STEPS = [ChallengeStep("open_mouth", 1.0, 3.0), ChallengeStep("smile", 3.4, 5.4),
         ChallengeStep("blink", 5.8, 7.7), ChallengeStep("turn_left", 8.1, 10.0)]


def _performed(seed: int, extra: Callable[[random.Random], list[Motion]]) -> Attempt:
    """Person A doing every step in its window, plus the ``extra`` moves."""
    rng = random.Random(f"unrequested:{seed}")
    duration = challenge_duration_s(STEPS)
    moves = plan_performance(STEPS, rng) + natural_blinks(rng, duration) + extra(rng)
    drift = Wobble.make(rng, [2.0, 1.5])
    specs = [FrameSpec(t=t, state=face_state(t, moves, drift)) for t in capture_times(rng, duration)]
    return Attempt("genuine", seed, list(STEPS), render(specs, CameraStyle.make(rng, SIZE), seed))


def _talking(rng: random.Random) -> list[Motion]:
    # Speech: the jaw opens and closes four to five times a second, through the whole recording.
    moves, t = [], 0.3
    while t < challenge_duration_s(STEPS):
        moves.append(Motion("open_mouth", t, 0.06, rng.uniform(0.04, 0.1), 0.07, rng.uniform(0.6, 1.0)))
        t += rng.uniform(0.2, 0.3)
    return moves


def test_a_talking_face_that_meets_every_step_fails(verifier: LivenessVerifier) -> None:
    for seed in range(2):
        a = _performed(seed, _talking)
        v = verifier.verify(a.frames, a.steps)
        assert v.reason == "unrequested_action", v.detail
        assert v.detail.startswith("open_mouth at ")
        assert v.message.startswith("We saw you open your mouth when no prompt asked for it.")
        assert v.training_frame_indices == ()
        assert v.embedding is None


def test_a_head_turn_in_another_prompt_fails(verifier: LivenessVerifier) -> None:
    a = _performed(0, lambda rng: [Motion("turn_right", 6.7, 0.2, 0.4, 0.2, 25.0)])  # while "blink" shows
    v = verifier.verify(a.frames, a.steps)
    assert v.reason == "unrequested_action", v.detail
    assert v.detail.startswith("turn_right at 6.")
    assert "turn your head to your right" in v.message
    assert all(s.seen for s in v.steps)  # every asked move was there: only the extra one failed


def test_blinks_anywhere_and_a_smile_held_past_its_prompt_pass(verifier: LivenessVerifier) -> None:
    blinks = [Motion("blink", t, 0.05, 0.08, 0.07, 1.0) for t in (0.5, 3.1, 7.8, 9.5)]
    held = [Motion("smile", 4.7, 0.2, 0.9, 0.3, 0.8)]  # still smiling 0.7 s after the prompt closed
    a = _performed(1, lambda rng: blinks + held)
    v = verifier.verify(a.frames, a.steps)
    assert v.passed, v.detail
    assert v.message == MESSAGES["passed"]


def test_genuine_attempts_show_no_unrequested_move(verdict: VerdictFn) -> None:
    for seed in range(6):
        v = verdict("genuine", seed)
        assert v.reason == "passed", v.detail
