"""Real recordings replayed along a known speed curve: a moving tempo whose beats are known.

A span is (start_s, end_s, speed) of the input; speed > 1 plays faster. The replay resamples (the
pitch moves with the speed, as on a turntable), so the time map is exact by construction: FFmpeg's
atempo with its factor changed at run time put clicks 29-90 ms early, more with every change.
"""

from __future__ import annotations

import numpy as np

Span = tuple[float, float, float]


def warp_time(spans: list[Span], t: np.ndarray) -> np.ndarray:
    """Where input times land in the replayed output (NaN outside the spans)."""
    out = np.full(np.shape(t), np.nan)
    done = 0.0
    for start, end, speed in spans:
        inside = (t >= start) & (t < end)
        out[inside] = done + (t[inside] - start) / speed
        done += (end - start) / speed
    return out


def warp_samples(samples: np.ndarray, rate: int, spans: list[Span]) -> np.ndarray:
    """``samples`` replayed at each span's speed (linear interpolation between samples)."""
    inputs = np.array([spans[0][0]] + [end for _, end, _ in spans])
    outputs = np.concatenate([[0.0], np.cumsum([(end - start) / speed for start, end, speed in spans])])
    played = np.arange(int(outputs[-1] * rate)) / rate
    return np.interp(np.interp(played, outputs, inputs) * rate, np.arange(len(samples)), samples).astype(np.float32)
