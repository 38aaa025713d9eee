"""Write a Composition as a Standard MIDI File (type 1) with mido.

Tick 0 is the start of the video: the grid's phase becomes an offset in ticks, and a tempo change
at every beat whose length differs (the grid bent onto the picture) keeps each beat where the
composer put it, so a player or a DAW plays the beats on the picture's events. Bars of odd length
get their own time signature, and sections and cuts are marked, so the file reads well in a DAW.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

import mido

from soundtrack.engine.compose import Composition

TICKS_PER_BEAT = 960
_MAJOR_LIKE = {"ionian", "lydian", "mixolydian"}
_KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _key_signature(tonic: int, mode: str) -> str:
    # MIDI knows only major and minor: modal keys are written with their parallel major/minor tonic.
    name = _KEY_NAMES[tonic % 12]
    if mode in _MAJOR_LIKE:
        return name
    return {"Db": "C#", "Ab": "G#"}.get(name, name) + "m"


def write_midi(composition: Composition, path: str | os.PathLike[str], *,
               roles: Collection[str] | None = None) -> Path:
    """Write the whole score, or only the parts whose role is in ``roles``."""
    grid = composition.grid
    offset_beats = float(grid.time_of(0)) / grid.period_s     # the lead-in plays at the nominal tempo

    def tick(beat: float) -> int:
        return int(round((offset_beats + beat) * TICKS_PER_BEAT))

    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    meta: list[tuple[int, int, mido.MetaMessage]] = [
        (0, 0, mido.MetaMessage("track_name", name="Encore soundtrack")),
        (0, 0, mido.MetaMessage("set_tempo", tempo=int(round(mido.bpm2tempo(grid.tempo_bpm))))),
        (0, 0, mido.MetaMessage("key_signature", key=_key_signature(composition.tonic, composition.mode))),
    ]
    previous = None
    for start, length in zip(grid.bar_starts, grid.bar_lengths(), strict=True):
        if start >= composition.end_beat:
            break
        if length != previous:
            meta.append((tick(start), 1, mido.MetaMessage("time_signature", numerator=length, denominator=4)))
            previous = length
    for section in composition.sections:
        label = f"{section.role} (cut)" if section.at_cut else section.role
        meta.append((tick(section.start_beat), 2, mido.MetaMessage("marker", text=label)))
    # The tempo map: where the grid bends onto the picture, every beat gets its own length.
    lengths = grid.seconds_per_beat()
    if grid.warped_s:
        current = grid.period_s
        for beat, seconds in enumerate(lengths):
            if abs(seconds - current) > 1e-6:
                meta.append((tick(beat), 0, mido.MetaMessage("set_tempo", tempo=int(round(seconds * 1e6)))))
                current = float(seconds)
        # Before beat 0 and after the last mapped beat the nominal tempo plays.
        if abs(current - grid.period_s) > 1e-6:
            meta.append((tick(len(lengths)), 0, mido.MetaMessage("set_tempo",
                                                                 tempo=int(round(grid.period_s * 1e6)))))
    mid.tracks.append(_track(meta, tick(composition.end_beat)))

    for part in composition.parts:
        if roles is not None and part.role not in roles:
            continue
        events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = [
            (0, 0, mido.MetaMessage("track_name", name=f"{part.role}: {part.instrument}")),
        ]
        if not part.is_drums:
            events.append((0, 1, mido.Message("program_change", channel=part.channel, program=part.program)))
        events.append((0, 1, mido.Message("control_change", channel=part.channel, control=7, value=part.volume)))
        # The same note struck twice at one tick is one stroke at the louder velocity.
        strokes: dict[tuple[int, int], tuple[int, int]] = {}
        for note in part.notes:
            key = (note.pitch, tick(note.start))
            velocity, end = strokes.get(key, (0, 0))
            strokes[key] = (max(velocity, note.velocity), max(end, tick(note.start + note.duration)))
        ordered = sorted(strokes.items())
        for i, ((pitch, on), (velocity, end)) in enumerate(ordered):
            # A note ends where the next stroke of the same pitch begins: MIDI cannot overlap them.
            if i + 1 < len(ordered) and ordered[i + 1][0][0] == pitch:
                end = min(end, ordered[i + 1][0][1])
            end = max(end, on + 1)
            # Offs sort before ons at the same tick (priority 2 < 3), so a repeated note re-strikes.
            events.append((on, 3, mido.Message("note_on", channel=part.channel, note=pitch, velocity=velocity)))
            events.append((end, 2, mido.Message("note_off", channel=part.channel, note=pitch, velocity=0)))
        mid.tracks.append(_track(events, tick(composition.end_beat)))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(out))
    return out


def _track(events: list[tuple[int, int, mido.Message | mido.MetaMessage]], end_tick: int) -> mido.MidiTrack:
    track = mido.MidiTrack()
    now = 0
    for at, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=at - now))
        now = at
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
    return track
