"""Sections against the synthetic songs' known boundaries, names and repetitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from musicvideo.audio.features import ANALYSIS_SR, compute_features
from musicvideo.audio.rhythm import analyze_rhythm
from musicvideo.audio.structure import Section, _on_phrase_grid, _pick_peaks, analyze_structure
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


def phrase_novelty(plateau: tuple[float, float]) -> np.ndarray:
    """Novelty of 32 bars: strong boundaries at bars 3, 7 and 11 (phrase grid 3 mod 4), and a
    transition over bars 18 and 19 whose two bars score ``plateau``."""
    novelty = np.full(32, 0.1)
    novelty[[3, 7, 11]] = [1.0, 0.8, 0.9]
    novelty[[18, 19]] = plateau
    return novelty


@pytest.mark.parametrize("plateau", [(0.50, 0.49), (0.49, 0.50), (0.500, 0.476)])
def test_a_boundary_between_two_nearly_equal_bars_goes_on_the_phrase_grid(plateau: tuple[float, float]) -> None:
    # Which of the two bars peaks is decided by a hair (a few samples of leading silence, a
    # re-encode): either way the section starts on bar 19, in step with the song's other parts.
    novelty = phrase_novelty(plateau)
    assert _pick_peaks(novelty, radius=3) == [3, 7, 11, 18 if plateau[0] > plateau[1] else 19]
    assert _on_phrase_grid(novelty, _pick_peaks(novelty, radius=3)) == [3, 7, 11, 19]


def test_a_clearly_stronger_bar_off_the_phrase_grid_keeps_its_boundary() -> None:
    novelty = phrase_novelty((0.50, 0.47))        # 6 % lower on the grid: not a tie
    assert _on_phrase_grid(novelty, _pick_peaks(novelty, radius=3)) == [3, 7, 11, 18]


def test_a_boundary_is_not_moved_next_to_another() -> None:
    novelty = phrase_novelty((0.50, 0.49))
    novelty[20] = 0.45                            # a boundary two bars on stays apart from bar 19's
    peaks = [3, 7, 11, 18, 20]
    assert _on_phrase_grid(novelty, peaks) == peaks
