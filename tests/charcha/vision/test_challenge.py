from __future__ import annotations

import itertools
import random

import pytest

from charcha.vision import ACTIONS, LivenessInputError, challenge_duration_s, generate_steps
from mediakit.errors import EncoreError


def test_steps_are_random_distinct_actions_in_increasing_windows() -> None:
    seen_orders = set()
    for seed in range(200):
        steps = generate_steps(random.Random(seed))
        assert len(steps) == 4
        actions = [s.action for s in steps]
        assert len(set(actions)) == 4
        assert set(actions) <= set(ACTIONS)
        for a, b in itertools.pairwise(steps):
            assert a.end_s < b.start_s  # a gap between windows
        for s in steps:
            assert 1.7 - 1e-6 <= s.end_s - s.start_s <= 2.2 + 1e-6
        assert 0.8 <= steps[0].start_s <= 1.2  # the lead-in in which the neutral face is learnt
        assert 8.5 <= challenge_duration_s(steps) <= 11.5
        seen_orders.add(tuple(actions))
    # Random order and choice: 200 draws of 4 of 7 actions give many different sequences.
    assert len(seen_orders) > 150
    # Every action is drawn sometimes, at every position.
    for position in range(4):
        assert {o[position] for o in seen_orders} == set(ACTIONS)


def test_same_seed_same_challenge() -> None:
    assert generate_steps(random.Random(42)) == generate_steps(random.Random(42))
    assert generate_steps(random.Random(42)) != generate_steps(random.Random(43))


def test_long_challenges_never_repeat_an_action_immediately() -> None:
    for seed in range(50):
        actions = [s.action for s in generate_steps(random.Random(seed), n_steps=12)]
        assert all(a != b for a, b in itertools.pairwise(actions))


def test_too_short_or_unknown_actions_are_refused() -> None:
    with pytest.raises(EncoreError) as short:
        generate_steps(random.Random(0), n_steps=3)
    assert short.value.code == "challenge_too_short"
    with pytest.raises(LivenessInputError) as unknown:
        generate_steps(random.Random(0), actions=("wink", "blink"))
    assert unknown.value.code == "action_unknown"
