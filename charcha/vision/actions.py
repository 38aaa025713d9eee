"""From per-frame signals to "was each action performed inside its window, in order?"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from charcha.vision.signals import Signals
from charcha.vision.types import ChallengeStep, StepResult


@dataclass(frozen=True)
class Thresholds:
    """Detection thresholds, tuned on the generated genuine and attack clips (see bench/liveness.py).

    Units: turns and nods in eye distances of nose parallax across the face plane (and at least
    ``flat_parallax`` times the sine of the face plane's tilt), eye closure as a
    fraction of the neutral eye opening, mouth opening in eye distances of added lip gap, smile as
    relative mouth widening (plus half the corner lift in eye distances).
    """

    turn: float = 0.10
    nod: float = 0.08
    # Parallax a turn or nod must exceed per unit sin(tilt of the face plane); see _pose_threshold.
    flat_parallax: float = 0.3
    blink: float = 0.45
    open_mouth: float = 0.08
    smile: float = 0.15
    # Frames in a row the signal must stay above its threshold: one frame of a tracking glitch must
    # not count; a blink at 15 fps can last a single frame.
    min_run: int = 2
    min_run_blink: int = 1
    # Unrequested actions: a move (not a blink: people blink anyway) seen as strongly as an asked
    # one (``unrequested`` times its threshold for ``unrequested_min_run`` frames in a row) outside
    # every window that asked for it fails the attempt. A window is widened by
    # ``unrequested_before_s`` (capture and reveal clocks differ a little) and
    # ``unrequested_after_s`` (the return to neutral, a hold that outlasts the prompt). Measured
    # outside the widened windows: at most 0.48 on 12 genuine puppet attempts, 0.35 on two rendered
    # 3-D heads. A talking face must open its mouth as wide as an asked open mouth to meet that
    # step: its asked openings peaked at 1.2-2.8, its first unasked one at 1.3-1.7.
    unrequested: float = 1.0
    unrequested_min_run: int = 2
    unrequested_before_s: float = 0.2
    unrequested_after_s: float = 1.0


def action_signal(action: str, signals: Signals, thresholds: Thresholds) -> np.ndarray:
    """The action's signal in units of its threshold (>= 1 means performed)."""
    match action:
        case "turn_left":
            return signals.yaw / _pose_threshold(thresholds.turn, signals, thresholds)
        case "turn_right":
            return -signals.yaw / _pose_threshold(thresholds.turn, signals, thresholds)
        case "look_up":
            return signals.pitch / _pose_threshold(thresholds.nod, signals, thresholds)
        case "look_down":
            return -signals.pitch / _pose_threshold(thresholds.nod, signals, thresholds)
        case "blink":
            return signals.eye_closure / thresholds.blink
        case "open_mouth":
            return signals.mouth_open / thresholds.open_mouth
        case "smile":
            return signals.smile / thresholds.smile
    raise ValueError(action)


def _pose_threshold(base: float, signals: Signals, thresholds: Thresholds) -> np.ndarray:
    # A flat photo tilted by t reads as up to ~0.23 sin(t) eye distances of nose parallax
    # (FaceMesh puts a little 3-D into a foreshortened face); a head turned by t shows ~0.5-0.8
    # sin(t). So the more the face plane is tilted, the more parallax a turn or nod must show.
    return np.maximum(base, thresholds.flat_parallax * np.sin(np.radians(signals.plane_tilt_deg)))


def _runs(active: np.ndarray, min_run: int) -> list[tuple[int, int]]:
    """[start, end) index ranges where ``active`` holds for at least ``min_run`` frames in a row."""
    runs = []
    start = None
    for i, on in enumerate(np.append(active, False)):
        if on and start is None:
            start = i
        elif not on and start is not None:
            if i - start >= min_run:
                runs.append((start, i))
            start = None
    return runs


@dataclass(frozen=True)
class ActionOutcome:
    steps: tuple[StepResult, ...]
    reason: str  # "passed", "action_missed" or "wrong_order"
    first_missed: int | None  # index of the first step not seen in its window
    too_late: bool  # the first missed action was seen, but after its window closed
    evidence: tuple[int | None, ...]  # per step: index (into the face frames) of the proving frame


def judge_actions(
    signals: Signals, times: np.ndarray, steps: Sequence[ChallengeStep], thresholds: Thresholds
) -> ActionOutcome:
    """Each step's action must be seen inside its own window; otherwise say why, order first.

    ``times`` are the capture times of the frames the signals belong to.
    """
    results = []
    evidence: list[int | None] = []
    # Onset times of each action anywhere after the first prompt, for the order analysis.
    first_prompt = min(s.start_s for s in steps)
    events: dict[str, list[float]] = {}
    for step in steps:
        if step.action in events:
            continue
        strength = action_signal(step.action, signals, thresholds)
        min_run = thresholds.min_run_blink if step.action == "blink" else thresholds.min_run
        events[step.action] = [
            float(times[a]) for a, _ in _runs(strength >= 1.0, min_run) if times[a] >= first_prompt
        ]

    for step in steps:
        strength = action_signal(step.action, signals, thresholds)
        inside = (times >= step.start_s) & (times <= step.end_s)
        min_run = thresholds.min_run_blink if step.action == "blink" else thresholds.min_run
        window = np.flatnonzero(inside)
        peak = float(np.nanmax(strength[window])) if len(window) else 0.0
        seen_at = None
        proof = None
        if len(window):
            runs = _runs(strength[window] >= 1.0, min_run)
            if runs:
                proof = int(window[runs[0][0]])
                seen_at = float(times[proof])
        results.append(StepResult(action=step.action, seen=seen_at is not None, seen_at_s=seen_at, peak_signal=peak))
        evidence.append(proof)

    missed = [i for i, r in enumerate(results) if not r.seen]
    if not missed:
        return ActionOutcome(tuple(results), "passed", None, False, tuple(evidence))

    # Were the moves that did happen at least done in the issued sequence? Walk the onsets in time
    # order and match the issued actions greedily. Moves done in sequence but outside their windows
    # (too late) are "missed"; moves done in another sequence are "wrong order". Actions never
    # seen at all do not count against the order.
    issued = [s.action for s in steps if events[s.action]]
    onsets = sorted((t, a) for a, times_ in events.items() for t in times_)
    matched = 0
    for _, action in onsets:
        if matched < len(issued) and action == issued[matched]:
            matched += 1
    first = missed[0]
    late = any(t > steps[first].end_s for t in events[steps[first].action])
    reason = "action_missed" if matched == len(issued) else "wrong_order"
    return ActionOutcome(tuple(results), reason, first, late, tuple(evidence))


# A blink is human and not a move: never counted as unrequested.
UNREQUESTED_ACTIONS: tuple[str, ...] = ("turn_left", "turn_right", "look_up", "look_down", "open_mouth", "smile")


@dataclass(frozen=True)
class Unrequested:
    action: str
    at_s: float  # capture time of the first frame of the run
    strength: float  # peak of the run in units of the action's threshold


def find_unrequested(
    signals: Signals, times: np.ndarray, steps: Sequence[ChallengeStep], thresholds: Thresholds, *, since_s: float
) -> Unrequested | None:
    """The first strong move, from ``since_s`` on, outside every (widened) window that asked for it.

    ``since_s`` is where the neutral baseline's frames end: moves before it are part of the
    baseline's own spread, not of the challenge.
    """
    found: list[Unrequested] = []
    for action in UNREQUESTED_ACTIONS:
        allowed = np.zeros(len(times), dtype=bool)
        for step in steps:
            if step.action == action:
                allowed |= (times >= step.start_s - thresholds.unrequested_before_s) & (
                    times <= step.end_s + thresholds.unrequested_after_s
                )
        strength = np.nan_to_num(action_signal(action, signals, thresholds), nan=0.0)
        strong = (strength >= thresholds.unrequested) & ~allowed & (times >= since_s)
        for a, b in _runs(strong, thresholds.unrequested_min_run):
            found.append(Unrequested(action, float(times[a]), float(strength[a:b].max())))
            break
    return min(found, key=lambda u: u.at_s) if found else None
