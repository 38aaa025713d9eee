"""Shared helpers for the engine tests."""

from __future__ import annotations

import librosa
import numpy as np

from musicvideo.audio.features import ANALYSIS_SR
from musicvideo.testing.synthetic import SyntheticSong


def at_16k(song: SyntheticSong) -> np.ndarray:
    """The song at the analysis rate, as analyze_file would decode it."""
    return np.asarray(librosa.resample(song.samples, orig_sr=song.sample_rate, target_sr=ANALYSIS_SR),
                      dtype=np.float32)
