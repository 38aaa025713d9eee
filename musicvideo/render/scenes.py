"""Storyboard rows + song analysis -> the renderers' SceneSpecs and assembly's caption lines.

Takes plain values (anything with the storyboard scene's attributes: the engine's
``musicvideo.storyboard.Scene`` or the Django row), so the render job and the tests share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from musicvideo.render.assemble import CaptionLine
from musicvideo.render.base import SceneSpec, WordTiming, strip_trigger


class SceneLike(Protocol):
    index: int
    start_s: float
    end_s: float
    section: str
    mood: str
    valence: float
    arousal: float
    lyric: str
    prompt: str


class WordLike(Protocol):
    text: str
    start_s: float
    end_s: float


def _inside(times: Sequence[float], start: float, end: float) -> tuple[float, ...]:
    return tuple(float(t) for t in times if start - 1e-6 <= t < end - 1e-6)


def scene_specs(rows: Sequence[SceneLike], *, beats_s: Sequence[float], downbeats_s: Sequence[float],
                words: Sequence[WordLike] = (), trigger: str | None = None,
                prompts: dict[int, str] | None = None) -> list[SceneSpec]:
    """One SceneSpec per storyboard scene; prompts become plain words (the trigger taken out).

    ``energy`` is filled in by assembly from the song's loudness; 0.5 here.
    """
    out: list[SceneSpec] = []
    previous_section: str | None = None
    for row in sorted(rows, key=lambda r: r.index):
        prompt = (prompts or {}).get(row.index, row.prompt)
        sung = tuple(WordTiming(w.text, float(w.start_s), float(w.end_s)) for w in words
                     if w.end_s > row.start_s and w.start_s < row.end_s)
        out.append(SceneSpec(
            index=row.index, start_s=float(row.start_s), end_s=float(row.end_s),
            beats_s=_inside(beats_s, row.start_s, row.end_s), downbeats_s=_inside(downbeats_s, row.start_s, row.end_s),
            section=row.section, mood=row.mood, valence=float(row.valence), arousal=float(row.arousal), energy=0.5,
            lyric=row.lyric, prompt=strip_trigger(prompt, trigger), words=sung,
            section_start=previous_section is not None and row.section != previous_section))
        previous_section = row.section
    return out


def caption_lines(words: Sequence[WordLike], lines: Sequence[tuple[int, int]]) -> list[CaptionLine]:
    """Caption lines from word timings and (first word, word count) per lyric line."""
    out: list[CaptionLine] = []
    for first, n in lines:
        chunk = tuple(WordTiming(w.text, float(w.start_s), float(w.end_s)) for w in words[first:first + n])
        if chunk:
            out.append(CaptionLine(start_s=chunk[0].start_s, end_s=chunk[-1].end_s, words=chunk))
    return out
