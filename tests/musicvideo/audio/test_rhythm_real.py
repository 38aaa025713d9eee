"""Beats, bars and sections of real recordings hold when only the file around the music changes.

Nobody annotated these excerpts (tests/fixtures/music/README.md), so each is compared with itself:
silence added before or after the music, or a lower level, must move every beat, downbeat and
section boundary by exactly the silence added, or not at all.
"""

from __future__ import annotations

from pathlib import Path

import mir_eval
import numpy as np
import pytest

from mediakit.audio import decode_audio
from musicvideo.audio.analysis import Analysis, AnalysisOptions, analyze_samples
from musicvideo.audio.features import ANALYSIS_SR, compute_features
from musicvideo.audio.rhythm import active_span, analyze_rhythm

MUSIC = Path(__file__).resolve().parents[2] / "fixtures" / "music"
EXCERPTS = ["asc-time-to-strike-60s.ogg", "wesnoth-northerners-30s.ogg"]
NO_LYRICS = AnalysisOptions(transcribe=False)


def load(name: str) -> np.ndarray:
    return decode_audio(MUSIC / name, sample_rate=ANALYSIS_SR)


def padded(samples: np.ndarray, lead_s: float, tail_s: float) -> np.ndarray:
    return np.concatenate([np.zeros(int(round(lead_s * ANALYSIS_SR)), dtype=np.float32), samples,
                           np.zeros(int(round(tail_s * ANALYSIS_SR)), dtype=np.float32)])


def boundaries(analysis: Analysis) -> list[float]:
    return [s.start_s for s in analysis.sections[1:]]


@pytest.fixture(scope="module", params=EXCERPTS)
def excerpt(request: pytest.FixtureRequest) -> tuple[np.ndarray, Analysis]:
    samples = load(request.param)
    return samples, analyze_samples(samples, options=NO_LYRICS)


def test_the_excerpts_have_a_pulse_bars_and_sections(excerpt: tuple[np.ndarray, Analysis]) -> None:
    _, analysis = excerpt
    assert analysis.warnings == []
    assert 60 <= analysis.tempo_bpm <= 180
    assert len(analysis.downbeats_s) >= 8
    assert len(analysis.sections) >= 2


@pytest.mark.parametrize(("lead_s", "tail_s"), [(0.5, 0.0), (0.013, 0.0), (1.37, 0.4), (2.0, 2.0), (0.0, 1.1)])
def test_silence_around_the_music_moves_nothing_but_the_shift(excerpt: tuple[np.ndarray, Analysis],
                                                              lead_s: float, tail_s: float) -> None:
    samples, reference = excerpt
    shift = round(lead_s * ANALYSIS_SR) / ANALYSIS_SR
    moved = analyze_samples(padded(samples, lead_s, tail_s), options=NO_LYRICS)
    # Times are rounded to the millisecond on both sides: 1 ms is rounding, not movement.
    np.testing.assert_allclose(moved.beats_s, np.asarray(reference.beats_s) + shift, atol=0.0011)
    np.testing.assert_allclose(moved.downbeats_s, np.asarray(reference.downbeats_s) + shift, atol=0.0011)
    np.testing.assert_allclose(boundaries(moved), np.asarray(boundaries(reference)) + shift, atol=0.0011)
    assert [s.label for s in moved.sections] == [s.label for s in reference.sections]
    assert moved.tempo_bpm == reference.tempo_bpm
    # No beat in the silence: the first is where the music's first beat was, the last inside the music.
    assert moved.beats_s[0] >= shift
    assert moved.beats_s[-1] <= shift + len(samples) / ANALYSIS_SR
    assert moved.sections[0].start_s == 0.0
    assert moved.sections[-1].end_s == pytest.approx(moved.duration_s, abs=0.001)


def test_a_quieter_copy_has_the_same_beats_and_bars(excerpt: tuple[np.ndarray, Analysis]) -> None:
    samples, reference = excerpt
    quieter = analyze_samples((samples * 10 ** (-6 / 20)).astype(np.float32), options=NO_LYRICS)
    assert mir_eval.beat.f_measure(np.asarray(reference.beats_s), np.asarray(quieter.beats_s)) == 1.0
    assert mir_eval.beat.f_measure(np.asarray(reference.downbeats_s), np.asarray(quieter.downbeats_s)) == 1.0


def test_active_span_finds_the_music_inside_digital_silence() -> None:
    samples = load(EXCERPTS[0])
    first, stop = active_span(samples)
    assert active_span(padded(samples, 1.25, 0.5)) == (first + 20000, stop + 20000)
    assert active_span(np.zeros(1000, dtype=np.float32)) == (0, 0)


def test_both_trackers_follow_a_real_pulse() -> None:
    samples = load(EXCERPTS[0])
    first, stop = active_span(samples)
    features = compute_features(samples[first:stop], offset_s=first / ANALYSIS_SR)
    duration = len(samples) / ANALYSIS_SR
    dp = analyze_rhythm(features, duration_s=duration, tracker="dp")
    dbn = analyze_rhythm(features, duration_s=duration, tracker="dbn")
    # Two independent decoders of one onset curve agree on where this song's beats are.
    assert mir_eval.beat.f_measure(dp.beats_s, dbn.beats_s) >= 0.9
    assert dp.tempo_bpm == pytest.approx(dbn.tempo_bpm, rel=0.03)
