from __future__ import annotations

import numpy as np
import pytest

from soundtrack.engine.alignment import fit_beat_grid, lay_bars, search_tempo_phase
from soundtrack.engine.metrics import beat_match, cut_offsets

from .conftest import Clip


def test_search_recovers_tempo_and_phase_of_a_clean_grid() -> None:
    visual = 0.237 + np.arange(80) * (60 / 97.3)
    tempo, phase, _ = search_tempo_phase(visual, np.ones(visual.size), np.zeros(0), tempo_range=(60, 180),
                                         prior_bpm=110)
    assert tempo == pytest.approx(97.3, abs=0.01)
    assert phase == pytest.approx(0.237, abs=0.002)


def test_search_ignores_a_few_stray_events() -> None:
    rng = np.random.default_rng(0)
    grid = 0.1 + np.arange(40) * 0.5
    visual = np.sort(np.concatenate([grid + rng.normal(0, 0.01, grid.size), rng.uniform(0, 20, 8)]))
    tempo, phase, _ = search_tempo_phase(visual, np.ones(visual.size), np.zeros(0), tempo_range=(60, 180),
                                         prior_bpm=100)
    assert tempo == pytest.approx(120.0, abs=0.2)
    assert min(phase % 0.5, 0.5 - phase % 0.5) == pytest.approx(0.1, abs=0.01)


def test_no_visual_beats_gives_the_mood_tempo() -> None:
    assert search_tempo_phase(np.zeros(0), np.zeros(0), np.zeros(0), tempo_range=(60, 180), prior_bpm=72.0) \
        == (72.0, 0.0, 0.0)


@pytest.mark.parametrize(("n", "cuts", "bars", "sections"), [
    (16, [], [0, 4, 8, 12], [0]),
    # The first section ends at the cut on beat 7: its three odd beats become a pickup.
    (20, [7, 13], [0, 3, 7, 11, 13, 17], [0, 7, 13]),
    # A lone beat before a cut joins the previous bar (a 5/4 bar) rather than being a bar of one.
    (20, [4, 13], [0, 4, 8, 13, 17], [0, 4, 13]),
    (10, [2], [0, 2, 6], [0, 2]),
])
def test_bars_restart_at_every_cut(n: int, cuts: list[int], bars: list[int], sections: list[int]) -> None:
    assert lay_bars(n, cuts) == (bars, sections)


def test_cuts_too_close_together_are_not_sections() -> None:
    grid = fit_beat_grid(0.5 + np.arange(30) * 0.5, np.ones(30), np.array([5.5, 6.0]), duration_s=16.0,
                         tempo_range=(60, 180), prior_bpm=120)
    assert grid.cut_beats == (10, -1)
    assert grid.section_starts == (0, 10)


@pytest.mark.parametrize("name", ["grid_clip", "fast_clip", "slow_clip"])
def test_music_beats_land_on_visual_beats_and_cuts_on_downbeats(name: str, request: pytest.FixtureRequest) -> None:
    clip: Clip = request.getfixturevalue(name)
    a, v = clip.analysis, clip.video
    grid = fit_beat_grid(a.visual_beats_s, a.beat_strengths, a.cuts_s, duration_s=a.duration_s,
                         tempo_range=(55, 190), prior_bpm=110)
    assert grid.tempo_bpm == pytest.approx(60 / v.beat_period_s, rel=0.003)
    m = beat_match(v.visual_beats_s, grid.beat_times(), start_s=0.25, end_s=v.duration_s - 0.25)
    assert m.f_measure >= 0.8, m
    assert np.all(cut_offsets(v.cuts_s, grid.downbeat_times()) <= 0.1)
