"""The features' rows of a real recording do not depend on its level or on a noise floor under it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediakit.audio import decode_audio
from musicvideo.audio.features import ANALYSIS_SR, compute_features
from musicvideo.testing.noise import NoiseKind, noise_floor_signal

MUSIC = Path(__file__).resolve().parents[2] / "fixtures" / "music"
EXCERPTS = ["asc-time-to-strike-60s.ogg", "wesnoth-northerners-30s.ogg"]


@pytest.fixture(scope="module", params=EXCERPTS)
def excerpt(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    samples = decode_audio(MUSIC / request.param, sample_rate=ANALYSIS_SR)
    return samples, compute_features(samples).mfcc[1:]


@pytest.mark.parametrize("noise", ["hiss", "hum", "rumble"])
def test_a_noise_floor_under_the_music_leaves_its_timbre(excerpt: tuple[np.ndarray, np.ndarray],
                                                         noise: NoiseKind) -> None:
    # With an absolute log-mel floor, -70 dBFS of hiss under the orchestral excerpt moved its
    # timbre rows by 0.135 of their standard deviation on average (quiet high bands filled with
    # the hiss), enough to move section boundaries; the song-relative floor leaves 0.005.
    samples, timbre = excerpt
    noisy = compute_features(samples + noise_floor_signal(noise, samples.size, ANALYSIS_SR)).mfcc[1:]
    spread = timbre.std(axis=1, keepdims=True)
    assert float(np.mean(np.abs(noisy - timbre) / spread)) < 0.02


@pytest.mark.parametrize("gain", [0.1, 3.0])
def test_the_timbre_rows_are_the_same_at_any_level(excerpt: tuple[np.ndarray, np.ndarray], gain: float) -> None:
    samples, timbre = excerpt
    copy = compute_features((samples * gain).astype(np.float32)).mfcc[1:]
    np.testing.assert_allclose(copy, timbre, atol=1e-3)
