"""Beats and downbeats against the synthetic songs' known grid (mir_eval, 70 ms window)."""

from __future__ import annotations

import librosa
import mir_eval
import numpy as np
import pytest

from musicvideo.audio.features import ANALYSIS_SR, compute_features
from musicvideo.audio.rhythm import TEMPOGRAM_BLOCK, analyze_rhythm, beat_period, estimate_tempo
from musicvideo.testing.synthetic import make_song, pop_song
from tests.musicvideo.audio.util import at_16k


@pytest.mark.parametrize(("tempo", "lead_in"), [(90.0, 0.37), (120.0, 0.0), (140.0, 1.1)])
def test_beats_and_downbeats_match_the_grid(tempo: float, lead_in: float) -> None:
    song = make_song(pop_song(tempo_bpm=tempo, repeats=1, vocals=False, lead_in_s=lead_in))
    samples = at_16k(song)
    rhythm = analyze_rhythm(compute_features(samples), duration_s=len(samples) / ANALYSIS_SR)
    # mir_eval's f_measure uses a +-70 ms window; trim_beats drops the first 5 s by convention,
    # so we score every beat ourselves as well with the same window.
    assert mir_eval.beat.f_measure(song.beats_s, rhythm.beats_s, f_measure_threshold=0.07) >= 0.95
    assert mir_eval.beat.f_measure(song.downbeats_s, rhythm.downbeats_s, f_measure_threshold=0.07) >= 0.95
    assert rhythm.tempo_bpm == pytest.approx(tempo, abs=1.0)
    assert rhythm.warnings == []
    assert rhythm.pulse_clarity > 5.0


def test_noise_has_no_clear_beat_and_gets_an_even_grid() -> None:
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(ANALYSIS_SR * 10)).astype(np.float32)
    rhythm = analyze_rhythm(compute_features(samples), duration_s=10.0)
    assert rhythm.warnings == ["no_clear_beat"]
    assert rhythm.tempo_bpm == 120.0
    assert rhythm.beats_s.tolist() == [round(0.5 * k, 3) for k in range(20)]
    assert rhythm.downbeats_s.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_beat_period_ignores_frame_quantisation() -> None:
    # Beats of a steady 120 BPM song, each rounded to the 16 ms frame grid.
    beats = np.round(np.arange(64) * 0.5 / 0.016) * 0.016
    assert 60.0 / beat_period(beats) == pytest.approx(120.0, abs=0.2)


@pytest.mark.parametrize("tempo", [90.0, 140.0])
def test_dbn_tracker_matches_the_grid(tempo: float) -> None:
    song = make_song(pop_song(tempo_bpm=tempo, repeats=1, vocals=False, lead_in_s=0.4))
    samples = at_16k(song)
    rhythm = analyze_rhythm(compute_features(samples), duration_s=len(samples) / ANALYSIS_SR, tracker="dbn")
    assert mir_eval.beat.f_measure(song.beats_s, rhythm.beats_s, f_measure_threshold=0.07) >= 0.95
    assert rhythm.tempo_bpm == pytest.approx(tempo, abs=1.0)


def test_block_wise_tempo_is_the_whole_song_tempogram_tempo() -> None:
    # Blocks must see exactly the windows of the whole-song tempogram: padding each block on its
    # own once turned a real track's 89 BPM into 134.
    song = make_song(pop_song(tempo_bpm=96.0, repeats=1, vocals=False))
    features = compute_features(at_16k(song))
    env = features.onset_env
    whole = librosa.feature.tempo(onset_envelope=env, sr=ANALYSIS_SR, hop_length=features.hop)[0]
    assert len(env) > 2 * TEMPOGRAM_BLOCK
    assert estimate_tempo(env, features.frame_rate, sample_rate=ANALYSIS_SR, hop=features.hop) == float(whole)
