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
    # Random order and choice: 384 sequences hold a blink and an expression; 200 draws give 144.
    assert len(seen_orders) > 120
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


@pytest.mark.parametrize("n_steps", [4, 5, 7, 12])
def test_every_challenge_holds_a_blink_and_an_expression(n_steps: int) -> None:
    """Re-rolling challenges never finds one without a blink or without a smile or open mouth."""
    others: set[str] = set()
    for seed in range(500):
        actions = [s.action for s in generate_steps(random.Random(seed), n_steps=n_steps)]
        assert len(actions) == n_steps
        assert "blink" in actions
        assert {"smile", "open_mouth"} & set(actions)
        others |= set(actions) - {"blink", "smile", "open_mouth"}
    # The rest stays random: every head move turns up.
    assert others == {"turn_left", "turn_right", "look_up", "look_down"}


def test_the_blink_and_the_expression_come_at_any_position() -> None:
    blink_at, expression_at = set(), set()
    for seed in range(300):
        actions = [s.action for s in generate_steps(random.Random(seed))]
        blink_at.add(actions.index("blink"))
        expression_at |= {i for i, a in enumerate(actions) if a in ("smile", "open_mouth")}
    assert blink_at == expression_at == {0, 1, 2, 3}


def test_a_pool_without_a_blink_or_an_expression_is_refused() -> None:
    for actions in (("turn_left", "turn_right", "smile", "open_mouth"), ("blink", "turn_left", "look_up", "look_down")):
        with pytest.raises(LivenessInputError) as err:
            generate_steps(random.Random(0), actions=actions)
        assert err.value.code == "action_unknown"
    steps = generate_steps(random.Random(0), actions=("blink", "smile", "turn_left", "look_up"))
    assert sorted(s.action for s in steps) == ["blink", "look_up", "smile", "turn_left"]
