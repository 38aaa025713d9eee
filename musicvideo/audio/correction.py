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

from musicvideo.audio.analysis import Analysis

TempoLevel = Literal["found", "double", "half"]
TEMPO_LEVELS: tuple[TempoLevel, ...] = ("found", "double", "half")


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
    after a slipped beat stay re-aligned. At double or half the level the bars count
    ``beats_per_bar`` of the new beats from the first bar start found. Section boundaries move to
    the nearest new bar start: sections are cut on bars.
    """
    if not 0 <= bar_shift < beats_per_bar:
        raise ValueError(f"bar_shift must be 0..{beats_per_bar - 1}")
    beats = np.asarray(found.beats_s, dtype=np.float64)
    if beats.size < 2 or not found.downbeats_s:
        return found
    starts = np.unique(np.abs(beats[None, :] - np.asarray(found.downbeats_s)[:, None]).argmin(axis=1))
    scale = 1.0
    if tempo == "double":
        beats = np.insert(beats, np.arange(1, beats.size), (beats[1:] + beats[:-1]) / 2)
        # A bar found was two bars: each is cut in two.
        ends = np.append(2 * starts[1:], beats.size)
        starts = np.concatenate([np.arange(2 * a, b, beats_per_bar) for a, b in zip(starts, ends, strict=True)])
        scale = 2.0
    elif tempo == "half":
        # The beats of the first bar's parity, so that the first bar found keeps its start.
        beats = beats[starts[0] % 2::2]
        starts = np.arange(starts[0] // 2, beats.size, beats_per_bar)
        scale = 0.5
    starts = starts + bar_shift
    if bar_shift and starts[0] - beats_per_bar >= 0:
        starts = np.insert(starts, 0, starts[0] - beats_per_bar)
    downbeats = beats[starts[starts < beats.size]]
    return Rhythm(tempo_bpm=round(found.tempo_bpm * scale, 2), beats_s=[round(float(b), 3) for b in beats],
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


def corrected_analysis(analysis: Analysis, *, bar_shift: int, tempo: TempoLevel) -> Analysis:
    """``analysis`` with ``correct_rhythm`` applied to its tempo, beats, bars and sections."""
    data = analysis.to_dict()
    rhythm = correct_rhythm(Rhythm(tempo_bpm=analysis.tempo_bpm, beats_s=data["beats_s"],
                                   downbeats_s=data["downbeats_s"], sections=data["sections"]),
                            beats_per_bar=analysis.beats_per_bar, bar_shift=bar_shift, tempo=tempo)
    data.update(tempo_bpm=rhythm.tempo_bpm, beats_s=rhythm.beats_s, downbeats_s=rhythm.downbeats_s,
                sections=rhythm.sections)
    return Analysis.from_dict(data)
