"""Real recordings replayed along a known speed curve: a moving tempo whose beats are known.

A span is (start_s, end_s, speed) of the input; speed > 1 plays faster. The replay resamples (the
pitch moves with the speed, as on a turntable), so the time map is exact by construction: FFmpeg's
atempo with its factor changed at run time put clicks 29-90 ms early, more with every change.
"""

from __future__ import annotations

import numpy as np

Span = tuple[float, float, float]


def _breaks(spans: list[Span]) -> tuple[np.ndarray, np.ndarray]:
    """The map's corners: input times and where they land in the output."""
    inputs = np.array([spans[0][0]] + [end for _, end, _ in spans])
    outputs = np.concatenate([[0.0], np.cumsum([(end - start) / speed for start, end, speed in spans])])
    return inputs, outputs


def warp_time(spans: list[Span], t: np.ndarray) -> np.ndarray:
    """Where input times land in the replayed output (NaN outside the spans)."""
    inputs, outputs = _breaks(spans)
    t = np.asarray(t, dtype=np.float64)
    return np.where((t >= inputs[0]) & (t < inputs[-1]), np.interp(t, inputs, outputs), np.nan)


def warp_samples(samples: np.ndarray, rate: int, spans: list[Span]) -> np.ndarray:
    """``samples`` replayed at each span's speed (linear interpolation between samples)."""
    inputs, outputs = _breaks(spans)
    played = np.arange(int(outputs[-1] * rate)) / rate
    return np.interp(np.interp(played, outputs, inputs) * rate, np.arange(len(samples)), samples).astype(np.float32)
