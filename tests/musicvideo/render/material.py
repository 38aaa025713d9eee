"""Shared material for the render tests: a short song with known beats and words, scenes cut on
its bars, captions from its words, and real consent-like frames of a person (the committed
liveness clip: a real photograph animated by the 2.5-D landmark warp)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mediakit.video import iter_frames
from musicvideo.render.assemble import CaptionLine
from musicvideo.render.base import Person, RenderSettings, SceneAudio, SceneSpec, WordTiming
from musicvideo.testing.synthetic import SyntheticSong
from tests.musicvideo import songs

CLIP = Path(__file__).resolve().parents[2] / "fixtures" / "charcha" / "genuine_a.mp4"
MOODS = {"intro": "serene", "verse": "melancholy", "chorus": "euphoric"}
SMALL = RenderSettings(width=320, height=180, fps=30, seed=3, style="neon")


@functools.cache
def person() -> Person:
    frames = tuple(np.ascontiguousarray(f.image) for f in iter_frames(CLIP))
    return Person(frames=frames[::6])


def song() -> SyntheticSong:
    return songs.short()


def song_wav() -> Path:
    return songs.short_wav()


def scenes_on_bars(s: SyntheticSong, bars_per_scene: int = 1) -> list[SceneSpec]:
    """Scenes cut on the song's true downbeats (every ``bars_per_scene`` bars), tiling the song."""
    beats = [float(b) for b in s.beats_s]
    downs = [float(d) for d in s.downbeats_s]
    cuts = [0.0, *downs[bars_per_scene::bars_per_scene]]
    cuts = [c for c in cuts if c < s.duration_s - 0.5] + [s.duration_s]
    starts = [float(t) for t in s.section_starts_s]
    out: list[SceneSpec] = []
    previous = None
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        section = s.section_names[max(int(np.searchsorted(starts, a + 1e-6)) - 1, 0)]
        out.append(SceneSpec(
            index=i, start_s=a, end_s=b, beats_s=tuple(t for t in beats if a - 1e-6 <= t < b - 1e-6),
            downbeats_s=tuple(t for t in downs if a - 1e-6 <= t < b - 1e-6), section=section,
            mood=MOODS.get(section, "serene"), valence=0.3, arousal=0.2, energy=0.5, lyric="", prompt="dancing",
            section_start=previous is not None and previous != section))
        previous = section
    return out


def captions(s: SyntheticSong) -> list[CaptionLine]:
    out, k = [], 0
    for line in s.lines:
        n = len(line.split())
        words = tuple(WordTiming(w.text, w.start_s, w.end_s) for w in s.words[k:k + n])
        k += n
        out.append(CaptionLine(words[0].start_s, words[-1].end_s, words))
    return out


class FlatRenderer:
    """A renderer that paints every frame one grey (RGB), so overlays can be measured exactly."""

    name = "flat"

    def __init__(self, value: int = 96, frames_delta: int = 0) -> None:
        self.value = value
        self.frames_delta = frames_delta

    def render_scene(self, scene: SceneSpec, *, person: Person, settings: RenderSettings, n_frames: int,
                     audio: SceneAudio | None) -> Iterator[np.ndarray]:
        frame = np.full((settings.height, settings.width, 3), self.value, np.uint8)
        for _ in range(n_frames + self.frames_delta):
            yield frame
