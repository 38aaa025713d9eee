"""Engine-level checks of the capture times a client claims (the server also checks arrival times).

A webcam page sampling at a fixed rate produces strictly increasing times with a steady cadence,
an occasional dropped frame, and no long holes. Frames re-timed to squeeze a recording into the
challenge's windows show up as a cadence faster than the page captures, as a local burst of
frames, as duplicated or decreasing times, or as holes where frames were cut out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from charcha.vision.types import ChallengeStep


@dataclass(frozen=True)
class CadenceRules:
    capture_fps: float | None = 15.0  # the rate the page captures at; None accepts any steady rate
    max_gap_s: float = 0.5  # longer holes mean frames were removed (or the camera stalled)
    min_interval_s: float = 1 / 120  # no webcam page delivers frames faster than this
    burst_fraction: float = 0.35  # an interval below this fraction of the cadence is a burst
    cadence_tolerance: tuple[float, float] = (0.6, 1.6)  # median interval vs 1 / capture_fps
    start_slack_s: float = 0.5  # frames may not claim to precede the challenge by more than this
    neutral_lead_s: float = 0.3  # frames must start this long before the first window (baseline)


@dataclass(frozen=True)
class CadenceProblem:
    reason: str  # "timing_invalid" or "too_few_frames"
    detail: str


def check_cadence(times: Sequence[float] | np.ndarray, steps: Sequence[ChallengeStep], rules: CadenceRules) -> CadenceProblem | None:
    """None when the times are plausible for a live capture of this challenge, else the problem."""
    t = np.asarray(times, dtype=np.float64)
    first_start = min(s.start_s for s in steps)
    last_end = max(s.end_s for s in steps)
    if len(t) < 2:
        return CadenceProblem("too_few_frames", f"{len(t)} frame(s)")
    if not np.all(np.isfinite(t)):
        return CadenceProblem("timing_invalid", "a capture time is not a finite number")
    dt = np.diff(t)
    if np.any(dt <= 0):
        i = int(np.argmax(dt <= 0))
        return CadenceProblem("timing_invalid", f"capture times not strictly increasing at frame {i + 1}")
    if t[0] < -rules.start_slack_s:
        return CadenceProblem("timing_invalid", f"first frame claims {t[0]:.2f} s, before the challenge began")
    if float(dt.min()) < rules.min_interval_s:
        return CadenceProblem("timing_invalid", f"two frames {dt.min() * 1000:.1f} ms apart")
    median = float(np.median(dt))
    if rules.capture_fps is not None:
        nominal = 1.0 / rules.capture_fps
        low, high = rules.cadence_tolerance
        if median < low * nominal:
            return CadenceProblem(
                "timing_invalid", f"median interval {median * 1000:.0f} ms, the page captures every {nominal * 1000:.0f} ms"
            )
        if median > high * nominal:  # a slow camera or connection, not a forgery
            return CadenceProblem(
                "too_few_frames", f"median interval {median * 1000:.0f} ms, the page captures every {nominal * 1000:.0f} ms"
            )
    if float(dt.min()) < rules.burst_fraction * median:
        return CadenceProblem("timing_invalid", f"a burst: {dt.min() * 1000:.1f} ms against a {median * 1000:.0f} ms cadence")
    if float(dt.max()) > rules.max_gap_s:
        i = int(np.argmax(dt))
        return CadenceProblem("timing_invalid", f"a {dt.max():.2f} s hole after {t[i]:.2f} s")
    fps = rules.capture_fps or 1.0 / median
    if len(t) > math.ceil(3 * fps * (t[-1] - t[0]) + 5):
        return CadenceProblem("timing_invalid", f"{len(t)} frames in {t[-1] - t[0]:.1f} s")
    if t[0] > first_start - rules.neutral_lead_s:
        return CadenceProblem("too_few_frames", f"capture began at {t[0]:.2f} s, the first prompt at {first_start:.2f} s")
    if t[-1] < last_end - 0.2:
        return CadenceProblem("too_few_frames", f"capture ended at {t[-1]:.2f} s, the last prompt at {last_end:.2f} s")
    return None
