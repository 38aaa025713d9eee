"""A recording's noise floor around the music: the hiss, rumble or hum that a tape, a record or a
room leaves before and after a song, where a digital file would have silence."""

from __future__ import annotations

from typing import Literal

import numpy as np

NoiseKind = Literal["hiss", "rumble", "hum"]
# Levels in dBFS (RMS): a cassette's or an old master's hiss, a turntable's rumble, mains hum.
NOISE_DBFS: dict[NoiseKind, float] = {"hiss": -70.0, "rumble": -66.0, "hum": -62.0}


def noise_floor_signal(kind: NoiseKind, n: int, rate: int, *, seed: int = 7) -> np.ndarray:
    """``n`` samples of steady noise at ``NOISE_DBFS[kind]``."""
    rng = np.random.default_rng(seed)
    if kind == "hiss":                     # white noise
        floor = rng.standard_normal(n)
    elif kind == "rumble":                 # brown noise (integrated white) less its 50 ms moving average
        width = int(0.05 * rate) | 1
        walk = np.cumsum(rng.standard_normal(n + 2 * width))
        # Cut where the moving average is whole: no drift, and no step at either end.
        floor = (walk - np.convolve(walk, np.ones(width) / width, mode="same"))[width:width + n]
    else:                                  # 50 Hz mains hum and two harmonics
        t = np.arange(n) / rate
        floor = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3))
    rms = float(np.sqrt(np.mean(np.square(floor)))) if n else 1.0
    return (np.asarray(floor) / rms * 10 ** (NOISE_DBFS[kind] / 20)).astype(np.float32)


def with_noise_floor(samples: np.ndarray, rate: int, lead_s: float, tail_s: float, kind: NoiseKind, *,
                     seed: int = 7) -> np.ndarray:
    """Mono ``samples`` with ``lead_s`` of noise before them and ``tail_s`` after, the noise also
    under the music (a recording's floor does not stop when the music starts)."""
    n_lead, n_tail = round(lead_s * rate), round(tail_s * rate)
    out = noise_floor_signal(kind, n_lead + samples.size + n_tail, rate, seed=seed)
    out[n_lead:n_lead + samples.size] += samples
    return out
