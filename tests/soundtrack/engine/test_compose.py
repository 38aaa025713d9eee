from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from soundtrack.engine.compose import CRASH, DRUM_CHANNEL, Composition, Harmony, compose
from soundtrack.engine.errors import SoundtrackError
from soundtrack.engine.presets import PRESETS, mode_for, resolve_genre, tempo_prior

from .conftest import Clip


def notes(c: Composition) -> list[tuple[str, float, float, int, int]]:
    return [(p.role, n.start, n.duration, n.pitch, n.velocity) for p in c.parts for n in p.notes]


def test_same_seed_same_music_other_seed_other_music(grid_clip: Clip) -> None:
    a = compose(grid_clip.analysis, seed=3)
    b = compose(grid_clip.analysis, seed=3)
    c = compose(grid_clip.analysis, seed=4)
    assert notes(a) == notes(b)
    assert notes(a) != notes(c)
    # A new take keeps the alignment: tempo and phase come from the video, not from the seed.
    assert (a.grid.tempo_bpm, a.grid.phase_s) == (c.grid.tempo_bpm, c.grid.phase_s)


def test_multitrack_arrangement_for_a_lively_video(grid_clip: Clip) -> None:
    c = compose(grid_clip.analysis, genre="pop", seed=0)
    assert [p.role for p in c.parts] == ["pad", "chords", "bass", "melody", "drums"]
    assert [p.channel for p in c.parts] == [0, 1, 2, 3, DRUM_CHANNEL]
    assert c.genre == "pop"
    quadrant = {"bright and lively": "bright", "warm and calm": "warm", "dark and driving": "dark",
                "sombre and still": "sombre"}[grid_clip.analysis.mood.label]
    assert all(p.program in PRESETS["pop"].programs[p.role][quadrant] for p in c.parts if not p.is_drums)
    assert c.bar_chords[-1] == Harmony(c.tonic, c.mode, False).chord(0).name   # it ends on the tonic


def test_sections_start_at_cuts(grid_clip: Clip) -> None:
    c = compose(grid_clip.analysis, seed=0)
    cut_sections = [s for s in c.sections if s.at_cut]
    starts = c.grid.time_of(np.array([s.start_beat for s in cut_sections]))
    assert np.allclose(starts, grid_clip.video.cuts_s, atol=0.1)
    assert [s.start_beat for s in c.sections] == list(c.grid.section_starts)


def test_energy_controls_density(grid_clip: Clip) -> None:
    calm = compose(grid_clip.analysis, genre="pop", energy=1, seed=0)
    busy = compose(grid_clip.analysis, genre="pop", energy=5, seed=0)
    assert max(calm.bar_levels) < min(busy.bar_levels)
    assert len(notes(calm)) < len(notes(busy))


def test_density_follows_motion(grid_clip: Clip, still_clip: Clip) -> None:
    moving = compose(grid_clip.analysis, genre="pop", seed=0)
    still = compose(still_clip.analysis, genre="pop", seed=0)
    assert min(moving.bar_levels) >= 2
    assert still.bar_levels == [0] * len(still.bar_levels)


def test_still_video_gets_a_calm_score(still_clip: Clip) -> None:
    c = compose(still_clip.analysis, seed=0)
    assert c.genre == "cinematic"                         # sombre/still mood -> cinematic
    assert 60 <= c.grid.tempo_bpm <= 90
    assert c.grid.phase_s == 0.0
    assert "drums" not in [p.role for p in c.parts]
    assert {p.role for p in c.parts} == {"pad", "chords", "bass"}


def test_ending_dynamics_follow_the_mood(grid_clip: Clip, still_clip: Clip) -> None:
    def final_strokes(c: Composition) -> list[int]:
        drums = next(p for p in c.parts if p.role == "drums")
        last_bar = c.grid.bar_starts[len(c.bar_chords) - 1]          # where the final chord starts
        return [n.pitch for n in drums.notes if n.start == last_bar]

    # A lively video driven by drums ends on a crash; a still, sombre one never does, even in a genre
    # that has drums: its last chord rings out.
    assert CRASH in final_strokes(compose(grid_clip.analysis, genre="pop", seed=0))
    assert still_clip.analysis.mood.arousal < 0
    for genre in ("pop", "rock", "electronic"):
        c = compose(still_clip.analysis, genre=genre, seed=0)
        drums = [p for p in c.parts if p.role == "drums"]
        assert not drums or CRASH not in final_strokes(c)


def test_genre_instruments_and_tempo_prior() -> None:
    electronic = resolve_genre("electronic", 0.5, 0.5)
    assert electronic.drums == "four_on_floor"
    assert tempo_prior(electronic, arousal=1.0, energy=5) == 132.0
    assert tempo_prior(PRESETS["ambient"], arousal=-1.0, energy=1) == 60.0
    assert resolve_genre("auto", -0.5, -0.5).name == "cinematic"
    with pytest.raises(SoundtrackError) as err:
        resolve_genre("polka", 0, 0)
    assert err.value.code == "bad_option"


@pytest.mark.parametrize(("valence", "arousal", "mode"), [
    (0.8, -0.6, "lydian"), (0.8, 0.5, "ionian"), (0.2, 0.6, "mixolydian"), (0.2, 0.0, "ionian"),
    (-0.2, 0.0, "dorian"), (-0.6, 0.0, "aeolian"), (-0.6, 0.8, "phrygian"),
])
def test_mode_follows_valence(valence: float, arousal: float, mode: str) -> None:
    assert mode_for(valence, arousal) == mode


def test_harmony_spells_diatonic_chords() -> None:
    c_major = Harmony(0, "ionian", sevenths=False)
    assert [c_major.chord(d).name for d in range(7)] == ["C", "Dm", "Em", "F", "G", "Am", "Bdim"]
    a_minor = Harmony(9, "aeolian", sevenths=True)
    assert a_minor.chord(0).pitch_classes == (9, 0, 4, 7)


def test_bad_energy(grid_clip: Clip) -> None:
    with pytest.raises(SoundtrackError) as err:
        compose(grid_clip.analysis, energy=9)
    assert err.value.code == "bad_option"


def test_strong_offbeat_visual_hits_get_an_accent(grid_clip: Clip) -> None:
    # Four extra impacts half a beat after grid beats: no groove note sits there, so each gets a kick.
    a = grid_clip.analysis
    grid = compose(a, genre="pop", seed=0).grid
    extra = grid.time_of(np.array([2.5, 4.5, 8.5, 12.5]))
    order = np.argsort(np.concatenate([a.visual_beats_s, extra]))
    busier = dataclasses.replace(a, visual_beats_s=np.concatenate([a.visual_beats_s, extra])[order],
                                 beat_strengths=np.concatenate([a.beat_strengths, np.ones(4)])[order])
    c = compose(busier, genre="pop", seed=0)
    assert (c.grid.tempo_bpm, c.grid.phase_s) == (grid.tempo_bpm, grid.phase_s)
    drums = next(p for p in c.parts if p.is_drums)
    kicks = {n.start for n in drums.notes if n.pitch == 36}
    assert {2.5, 4.5, 8.5, 12.5} <= kicks


def test_the_groove_leans_into_the_strong_visual_beats(grid_clip: Clip, monkeypatch: pytest.MonkeyPatch) -> None:
    from soundtrack.engine import compose as compose_module

    accented = compose(grid_clip.analysis, genre="pop", seed=0)
    monkeypatch.setattr(compose_module, "ACCENT_BOOST", 0)
    plain = compose(grid_clip.analysis, genre="pop", seed=0)
    monkeypatch.setattr(compose_module, "_accents", lambda *args, **kwargs: None)
    groove = {round(n.start * 4) for n in next(p for p in compose(grid_clip.analysis, genre="pop", seed=0).parts
                                               if p.is_drums).notes if n.pitch in compose_module.STROKES}
    a = grid_clip.analysis
    grid = accented.grid
    slots = {}
    for t, s in zip(a.visual_beats_s, a.beat_strengths, strict=True):
        slot = round(float(grid.beat_at(t)) * 2) / 2
        # Strong, on a slot (the window), not in the final chord, and where the groove strikes
        # already (elsewhere the accent is a stroke of its own).
        if s >= compose_module.ACCENT_MIN_STRENGTH and slot < accented.end_beat - 0.5 \
                and abs(float(grid.time_of(slot)) - t) <= compose_module.ACCENT_WINDOW_S and round(slot * 4) in groove:
            slots[round(slot * 4)] = s
    louder = 0
    for before, after in zip(next(p for p in plain.parts if p.is_drums).notes,
                             next(p for p in accented.parts if p.is_drums).notes, strict=True):
        assert (before.start, before.pitch, before.duration) == (after.start, after.pitch, after.duration)
        quarter = round(before.start * 4)
        if before.pitch in compose_module.STROKES and quarter in slots:
            assert after.velocity == min(127, before.velocity + round(16 * slots[quarter]))
            louder += after.velocity > before.velocity
        else:
            assert after.velocity == before.velocity
    # 12 of the clip's 16 visual beats fall on the groove's kick or snare; the other four get a kick
    # of their own or fall in the final chord.
    assert (louder, len(slots), len(a.visual_beats_s)) == (12, 12, 16)
