"""Drawing a challenge: random actions with random windows (the server stores and issues them)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from charcha.vision.types import ACTIONS, ChallengeStep, LivenessInputError

MIN_STEPS = 4
# Every challenge asks for a blink and at least one expression: a photo, however it is moved, can
# do neither, and an attacker re-rolling challenges cannot find one made of head moves only.
REQUIRED_ACTION = "blink"
EXPRESSIONS: tuple[str, ...] = ("smile", "open_mouth")


def generate_steps(
    rng: random.Random,
    *,
    n_steps: int = 4,
    actions: Sequence[str] = ACTIONS,
    lead_in_s: tuple[float, float] = (0.8, 1.2),
    window_s: tuple[float, float] = (1.7, 2.2),
    gap_s: tuple[float, float] = (0.3, 0.6),
) -> list[ChallengeStep]:
    """``n_steps`` actions in random order with random window lengths and gaps between them.

    Every challenge holds a ``blink`` and at least one of :data:`EXPRESSIONS`; the other steps are
    drawn at random. Up to ``len(actions)`` steps no action repeats; beyond that no action follows
    itself. The
    lead-in before the first window is when the verifier learns the user's neutral face. With the
    defaults a 4-step challenge lasts about 10 s.
    """
    if n_steps < MIN_STEPS:
        raise LivenessInputError(f"A challenge needs at least {MIN_STEPS} steps.", code="challenge_too_short")
    unknown = [a for a in actions if a not in ACTIONS]
    if unknown or len(set(actions)) < 2:
        raise LivenessInputError("Challenge actions must be at least two of the known actions.", code="action_unknown")
    pool = list(dict.fromkeys(actions))
    expressions = [a for a in pool if a in EXPRESSIONS]
    if REQUIRED_ACTION not in pool or not expressions:
        raise LivenessInputError(
            "Challenge actions must include a blink and a smile or an open mouth.", code="action_unknown"
        )
    if n_steps <= len(pool):
        required = [REQUIRED_ACTION, rng.choice(expressions)]
        chosen = required + rng.sample([a for a in pool if a not in required], n_steps - 2)
        rng.shuffle(chosen)
    else:
        # No action follows itself; redraw the (rare) sequence that lacks a blink or an expression.
        while True:
            chosen = []
            for _ in range(n_steps):
                chosen.append(rng.choice([a for a in pool if not chosen or a != chosen[-1]]))
            if REQUIRED_ACTION in chosen and any(a in EXPRESSIONS for a in chosen):
                break

    steps = []
    t = rng.uniform(*lead_in_s)
    for i, action in enumerate(chosen):
        if i:
            t += rng.uniform(*gap_s)
        length = rng.uniform(*window_s)
        steps.append(ChallengeStep(action=action, start_s=round(t, 3), end_s=round(t + length, 3)))
        t += length
    return steps


def challenge_duration_s(steps: Sequence[ChallengeStep], *, tail_s: float = 0.3) -> float:
    """How long the camera should keep recording: until just after the last window closes."""
    return max(s.end_s for s in steps) + tail_s
