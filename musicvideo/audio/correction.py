"""The user's word on the beat: where the bars start and which level of the metre is the beat.

Where the tracker cannot be sure (a bar vote that ties, a tempo whose half or double scores almost
as well: ``unclear_bar`` in rhythm.py, and the level flips measured in bench/song_robustness.py), the
person who knows the song can say so, as DJ and editing software let them ("set the one", "x2",
"/2"). A correction is applied to the beats as the tracker found them, never to an earlier
correction, so choosing the same correction twice gives the same beats, and "as found" undoes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

TempoLevel = Literal["found", "double", "half", "3/2", "2/3"]
# How many beats of the chosen level fall in the time of one beat found: the levels a tracker
# confuses (2:1 and 3:2, rhythm.LEVEL_ALTERNATIVES).
TEMPO_FACTORS: dict[TempoLevel, float] = {"found": 1.0, "double": 2.0, "half": 0.5, "3/2": 1.5, "2/3": 2.0 / 3.0}
TEMPO_LEVELS: tuple[TempoLevel, ...] = tuple(TEMPO_FACTORS)
# What each level is called where people choose it (the song page, the model's choices).
TEMPO_LABELS: dict[TempoLevel, str] = {"found": "as found", "double": "twice as fast", "half": "half as fast",
                                       "3/2": "one and a half times as fast", "2/3": "two thirds as fast"}


@dataclass(frozen=True)
class Rhythm:
    """What a correction changes: the tempo, the beats, the bar starts and the sections cut on them."""

    tempo_bpm: float
    beats_s: list[float]
    downbeats_s: list[float]
    sections: list[dict[str, Any]]


def correct_rhythm(found: Rhythm, *, beats_per_bar: int, bar_shift: int, tempo: TempoLevel) -> Rhythm:
    """``found`` with its beats at another level and its bars starting ``bar_shift`` beats later.

    At the level found, every bar start moves by ``bar_shift`` beats, so bars the tracker re-aligned
    after a slipped beat stay re-aligned. At another level the new beats are read off the beats
    found (between two of them, in proportion), one of them on the first bar start found, and the
    bars count ``beats_per_bar`` of them from there. Section boundaries move to the nearest new bar
    start: sections are cut on bars.
    """
    if not 0 <= bar_shift < beats_per_bar:
        raise ValueError(f"bar_shift must be 0..{beats_per_bar - 1}")
    beats = np.asarray(found.beats_s, dtype=np.float64)
    if beats.size < 2 or not found.downbeats_s:
        return found
    starts = np.unique(np.abs(beats[None, :] - np.asarray(found.downbeats_s)[:, None]).argmin(axis=1))
    factor = TEMPO_FACTORS[tempo]
    if tempo == "found":
        starts = starts + bar_shift
        if bar_shift and starts[0] - beats_per_bar >= 0:
            starts = np.insert(starts, 0, starts[0] - beats_per_bar)
    else:
        # Positions on the beats found (0 = the first beat), a new beat every 1 / factor of them.
        step, first = 1.0 / factor, int(starts[0])
        before = int(np.floor(first / step + 1e-9))
        positions = first + np.arange(-before, int(np.floor((beats.size - 1 - first) / step + 1e-9)) + 1) * step
        beats = np.interp(positions, np.arange(beats.size), beats)
        starts = np.arange((before + bar_shift) % beats_per_bar, beats.size, beats_per_bar)
    downbeats = beats[starts[starts < beats.size]]
    return Rhythm(tempo_bpm=round(found.tempo_bpm * factor, 2), beats_s=[round(float(b), 3) for b in beats],
                  downbeats_s=[round(float(b), 3) for b in downbeats],
                  sections=_on_bars(found.sections, downbeats))


def _on_bars(sections: list[dict[str, Any]], downbeats: np.ndarray) -> list[dict[str, Any]]:
    """Each section after the first starts at the bar start nearest its own; none is left empty."""
    if len(sections) < 2 or downbeats.size == 0:
        return [dict(s) for s in sections]
    out = [dict(sections[0])]
    for section in sections[1:]:
        start = round(float(downbeats[int(np.argmin(np.abs(downbeats - section["start_s"])))]), 3)
        if start <= out[-1]["start_s"] or start >= section["end_s"]:
            # Moved onto the previous section's start or past its own end: the two merge.
            out[-1]["end_s"] = section["end_s"]
            continue
        out[-1]["end_s"] = start
        out.append({**section, "start_s": start})
    return out

