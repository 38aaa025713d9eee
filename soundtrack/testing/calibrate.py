"""Measure how loud each General MIDI program of the presets sounds in a soundfont.

    .venv/bin/python -m soundtrack.testing.calibrate [SOUNDFONT]

Prints the table that presets.PROGRAM_LOUDNESS_DB holds: the RMS level (dBFS) of a fixed phrase
played at velocity 90 by each program (and a fixed groove by the drum kit). The composer sets
each part's channel volume from it, so a vibraphone melody is not buried under a saw-lead pad.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import mido
import numpy as np

from soundtrack.engine.presets import PRESETS
from soundtrack.engine.synth import fluidsynth_render, read_stereo

DRUMS = -1   # the key used for the drum kit in the table


def _phrase(program: int) -> mido.MidiFile:
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    if program == DRUMS:
        for i in range(16):
            for note, vel in ((36 if i % 2 == 0 else 38, 100), (42, 70)):
                track.append(mido.Message("note_on", channel=9, note=note, velocity=vel, time=0))
            track.append(mido.Message("note_off", channel=9, note=42, velocity=0, time=240))
        return mid
    track.append(mido.Message("program_change", channel=0, program=program, time=0))
    for chord in ((48, 52, 55, 60), (53, 57, 60, 65)):
        for note in chord:
            track.append(mido.Message("note_on", channel=0, note=note, velocity=90, time=0))
        for k, note in enumerate(chord):
            track.append(mido.Message("note_off", channel=0, note=note, velocity=0, time=960 if k == 0 else 0))
    for note in (72, 74, 76, 79, 76, 74, 72, 67):
        track.append(mido.Message("note_on", channel=0, note=note, velocity=90, time=0))
        track.append(mido.Message("note_off", channel=0, note=note, velocity=0, time=240))
    return mid


def measure(soundfont: str) -> dict[int, float]:
    used = {p for preset in PRESETS.values() for role in preset.programs.values() for options in role.values()
            for p in options}
    programs = [*sorted(used), DRUMS]
    table: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for program in programs:
            midi = Path(tmp) / "p.mid"
            _phrase(program).save(str(midi))
            audio, _ = read_stereo(fluidsynth_render(midi, Path(tmp) / "p.wav", soundfont=soundfont))
            table[program] = round(20 * float(np.log10(np.sqrt(np.mean(np.square(audio))) + 1e-12)), 1)
    return table


if __name__ == "__main__":
    print(measure(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/sounds/sf2/FluidR3_GM.sf2"))
