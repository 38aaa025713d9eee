"""The ``wan`` renderer (Wan 2.1 family): one Wan clip per stretch of a scene, with the LoRA.

Like ``animatediff``: the scene is cut on its beats into pieces no longer than one clip (81 frames
at Wan's 16 fps: about 5 s); each piece is one text-to-video clip with the person's LoRA in the
transformer, at Wan's frame counts (4k + 1), retimed to exactly the frames the piece needs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from musicvideo.render.animatediff import render_clips
from musicvideo.render.base import (
    Person,
    RenderEnv,
    RenderSettings,
    SceneAudio,
    SceneSpec,
    register_renderer,
)
from musicvideo.render.diffusion import (
    WAN,
    ModelCache,
    load_cached,
    segments_on_beats,
)


@dataclass(frozen=True)
class WanOptions:
    width: int = 832                 # Wan 2.1 1.3B's 480p training size
    height: int = 480
    steps: int = 50
    guidance: float = 5.0
    clip_frames: int = 81
    native_fps: float = 16.0
    min_frames: int = 17


TINY_OPTIONS = WanOptions(width=48, height=32, steps=2, clip_frames=9, min_frames=5)


def wan_length(count: int, fps: int, options: WanOptions) -> int:
    """Wan makes 4k + 1 frames: the shortest such count covering the piece at the native rate."""
    wanted = max(math.ceil(count / fps * options.native_fps), options.min_frames)
    return int(min(4 * math.ceil((wanted - 1) / 4) + 1, options.clip_frames))


class WanRenderer:
    """``WanRenderer(env)``; or with an already-loaded WanPipeline: ``WanRenderer(env, pipeline=p)``."""

    name = "wan"

    def __init__(self, env: RenderEnv, *, pipeline: Any | None = None, models: ModelCache | None = None,
                 options: WanOptions | None = None) -> None:
        self.env = env
        self._pipe = pipeline
        self._models = models
        self.options = options or (TINY_OPTIONS if env.weights.get(WAN) == "tiny" else WanOptions())

    @property
    def pipe(self) -> Any:
        if self._pipe is None:
            self._pipe = load_cached(self._models, self.env, WAN, "video")
        return self._pipe

    def pieces(self, scene: SceneSpec, fps: int, n_frames: int) -> list[tuple[int, int]]:
        longest = int((self.options.clip_frames - 1) / self.options.native_fps * fps)
        return segments_on_beats(scene, fps, n_frames, max(longest, 1))

    def render_scene(self, scene: SceneSpec, *, person: Person, settings: RenderSettings, n_frames: int,
                     audio: SceneAudio | None) -> Iterator[np.ndarray]:
        yield from render_clips(self, scene, person=person, settings=settings, n_frames=n_frames, family=WAN,
                                frames_for=lambda count: wan_length(count, settings.fps, self.options))


register_renderer("wan", WanRenderer)
