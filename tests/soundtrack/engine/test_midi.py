from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from soundtrack.engine.compose import compose
from soundtrack.engine.midi import TICKS_PER_BEAT, write_midi

from .conftest import Clip, RealClip


def test_midi_holds_the_plan(grid_clip: Clip, tmp_path: Path) -> None:
    c = compose(grid_clip.analysis, genre="pop", seed=0)
    mid = mido.MidiFile(str(write_midi(c, tmp_path / "a.mid")))
    assert mid.type == 1
    assert mid.ticks_per_beat == TICKS_PER_BEAT
    assert len(mid.tracks) == 1 + len(c.parts)
    meta = list(mid.tracks[0])
    tempo = next(m for m in meta if m.type == "set_tempo").tempo
    assert tempo == round(60e6 / c.grid.tempo_bpm)
    # Bars bend at cuts: the file says so with time signatures, and marks each section.
    signatures = [m.numerator for m in meta if m.type == "time_signature"]
    assert signatures[0] == c.grid.bar_lengths()[0]
    markers = [m.text for m in meta if m.type == "marker"]
    assert markers == [s.role + (" (cut)" if s.at_cut else "") for s in c.sections]
    programs = [next(m.program for m in t if m.type == "program_change") for t in mid.tracks[1:-1]]
    assert programs == [p.program for p in c.parts if not p.is_drums]
    assert {m.channel for m in mid.tracks[-1] if m.type == "note_on"} == {9}


def test_every_note_sounds_where_the_bent_grid_puts_it(real_motion_clip: RealClip, tmp_path: Path) -> None:
    # Played by mido, which follows the file's tempo changes, each drum stroke falls at the time the
    # composer planned on the bent grid: the tempo map in the file is the grid.
    c = compose(real_motion_clip.analysis, genre="pop", seed=0)
    assert len(set(np.round(c.grid.seconds_per_beat(), 4))) > 1           # the grid did bend
    planned = sorted({round(float(c.grid.time_of(n.start)), 3) for p in c.parts if p.is_drums for n in p.notes})
    played = []
    now = 0.0
    for msg in mido.MidiFile(str(write_midi(c, tmp_path / "a.mid", roles={"drums"}))):
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            played.append(round(now, 3))
    assert len(sorted(set(played))) == len(planned)
    np.testing.assert_allclose(sorted(set(played)), planned, atol=0.002)


def test_first_beat_is_at_the_grid_phase(grid_clip: Clip, tmp_path: Path) -> None:
    c = compose(grid_clip.analysis, genre="pop", seed=0)
    mid = mido.MidiFile(str(write_midi(c, tmp_path / "a.mid")))
    first_on = None
    for track in mid.tracks[1:]:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type == "note_on":
                first_on = now if first_on is None else min(first_on, now)
                break
    seconds = mido.tick2second(first_on, TICKS_PER_BEAT, round(60e6 / c.grid.tempo_bpm))
    assert seconds == pytest.approx(float(c.grid.time_of(0)), abs=0.001)


def test_same_seed_same_bytes(grid_clip: Clip, tmp_path: Path) -> None:
    a = write_midi(compose(grid_clip.analysis, seed=1), tmp_path / "a.mid").read_bytes()
    b = write_midi(compose(grid_clip.analysis, seed=1), tmp_path / "b.mid").read_bytes()
    c = write_midi(compose(grid_clip.analysis, seed=2), tmp_path / "c.mid").read_bytes()
    assert a == b
    assert a != c


def test_notes_are_paired_and_never_overlap_themselves(grid_clip: Clip, tmp_path: Path) -> None:
    mid = mido.MidiFile(str(write_midi(compose(grid_clip.analysis, seed=0, energy=5), tmp_path / "a.mid")))
    for track in mid.tracks[1:]:
        sounding: set[tuple[int, int]] = set()
        for msg in track:
            if msg.type == "note_on" and msg.velocity > 0:
                assert (msg.channel, msg.note) not in sounding
                sounding.add((msg.channel, msg.note))
            elif msg.type == "note_off":
                sounding.discard((msg.channel, msg.note))
        assert sounding == set()
