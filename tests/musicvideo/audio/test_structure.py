"""Sections against the synthetic songs' known boundaries, names and repetitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from musicvideo.audio.features import ANALYSIS_SR, compute_features
from musicvideo.audio.rhythm import analyze_rhythm
from musicvideo.audio.structure import Section, analyze_structure
from musicvideo.testing.synthetic import make_song, pop_song
from tests.musicvideo.audio.util import at_16k

NAMES = ["intro", "verse", "chorus", "verse", "chorus", "bridge", "chorus", "outro"]


def sections_of(tempo: float, lead_in: float, vocals: bool) -> tuple[list[Section], np.ndarray, float]:
    song = make_song(pop_song(tempo_bpm=tempo, lead_in_s=lead_in, vocals=vocals))
    samples = at_16k(song)
    duration = len(samples) / ANALYSIS_SR
    features = compute_features(samples)
    rhythm = analyze_rhythm(features, duration_s=duration)
    return analyze_structure(features, rhythm.downbeats_s, duration_s=duration), song.section_starts_s, 60.0 / tempo


@pytest.mark.parametrize(("tempo", "lead_in", "vocals"), [(90.0, 0.37, False), (120.0, 0.0, True),
                                                          (140.0, 1.1, True)])
def test_boundaries_within_one_beat_and_parts_named(tempo: float, lead_in: float, vocals: bool) -> None:
    sections, truth, beat = sections_of(tempo, lead_in, vocals)
    assert [s.name for s in sections] == NAMES
    # The first section starts with the song; every later boundary is within a beat of the truth.
    assert sections[0].start_s == 0.0
    errors = np.abs(np.array([s.start_s for s in sections[1:]]) - truth[1:])
    assert errors.max() <= beat
    # Same material, same letter: verses share one, choruses another, intro and outro a third.
    labels = [s.label for s in sections]
    assert labels == ["A", "B", "C", "B", "C", "D", "C", "A"]
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(sections))


def test_too_few_bars_is_one_section() -> None:
    rng = np.random.default_rng(1)
    samples = (0.05 * rng.standard_normal(ANALYSIS_SR * 3)).astype(np.float32)
    sections = analyze_structure(compute_features(samples), np.array([0.0, 2.0]), duration_s=3.0)
    assert sections == [Section(start_s=0.0, end_s=3.0, label="A", name="verse")]
