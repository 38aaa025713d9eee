"""The ``animatediff`` renderer (sd15 family): one AnimateDiff clip per stretch of a scene, with the LoRA.

A scene is cut on its beats into pieces no longer than one clip (16 frames at AnimateDiff's native
8 fps: 2 s, a bar at 120 BPM); each piece is one clip with the person's LoRA in the UNet, generated
at the native rate and retimed (blended in between) to exactly the frames the piece needs. Pieces
of one scene share the prompt and follow the lyric words sung over them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from musicvideo.render.base import (
    Person,
    RenderEnv,
    RenderSettings,
    SceneAudio,
    SceneSpec,
    check_frame,
    prompt_for_person,
    register_renderer,
)
from musicvideo.render.diffusion import (
    NEGATIVE_PROMPT,
    SD15,
    AdapterSlot,
    ModelCache,
    cpu_generator,
    fit_frame,
    load_cached,
    retime,
    seed_for,
    segments_on_beats,
    tensor_frames,
)


@dataclass(frozen=True)
class ClipOptions:
    width: int = 512
    height: int = 288
    steps: int = 25
    guidance: float = 7.5
    clip_frames: int = 16            # the most frames one clip holds
    native_fps: float = 8.0          # the rate the motion model was trained at
    min_frames: int = 8


TINY_OPTIONS = ClipOptions(width=64, height=40, steps=2, clip_frames=8, min_frames=4)


def clip_length(count: int, fps: int, options: ClipOptions) -> int:
    """Frames to generate for a piece of ``count`` output frames."""
    wanted = math.ceil(count / fps * options.native_fps)
    return int(min(max(wanted, options.min_frames), options.clip_frames))


def piece_prompt(scene: SceneSpec, base: str, first: int, count: int, fps: int) -> str:
    start, end = scene.start_s + first / fps, scene.start_s + (first + count) / fps
    words = " ".join(w.text for w in scene.words if w.end_s > start and w.start_s < end)
    return f"{base}, {words}" if words else base


class AnimateDiffRenderer:
    """``AnimateDiffRenderer(env)``; or with an already-loaded AnimateDiffPipeline: ``(env, pipeline=p)``."""

    name = "animatediff"

    def __init__(self, env: RenderEnv, *, pipeline: Any | None = None, models: ModelCache | None = None,
                 options: ClipOptions | None = None) -> None:
        self.env = env
        self._pipe = pipeline
        self._models = models
        self.options = options or (TINY_OPTIONS if env.weights.get(SD15) == "tiny" else ClipOptions())

    @property
    def pipe(self) -> Any:
        if self._pipe is None:
            self._pipe = load_cached(self._models, self.env, SD15, "video")
        return self._pipe

    def pieces(self, scene: SceneSpec, fps: int, n_frames: int) -> list[tuple[int, int]]:
        longest = int(self.options.clip_frames / self.options.native_fps * fps)
        return segments_on_beats(scene, fps, n_frames, longest)

    def render_scene(self, scene: SceneSpec, *, person: Person, settings: RenderSettings, n_frames: int,
                     audio: SceneAudio | None) -> Iterator[np.ndarray]:
        yield from render_clips(self, scene, person=person, settings=settings, n_frames=n_frames, family=SD15,
                                frames_for=lambda count: clip_length(count, settings.fps, self.options))


def render_clips(renderer: Any, scene: SceneSpec, *, person: Person, settings: RenderSettings, n_frames: int,
                 family: str, frames_for: Any) -> Iterator[np.ndarray]:
    """One clip per beat-cut piece of the scene with the person's LoRA in, retimed to the piece's
    frames. Shared by the clip renderers (AnimateDiff, Wan); ``frames_for(count)`` is the clip length
    the model generates for a piece of ``count`` output frames."""
    if n_frames <= 0:
        return
    import torch

    opts, pipe = renderer.options, renderer.pipe
    base = prompt_for_person(scene.prompt, person.trigger)
    with AdapterSlot(pipe, person, family=family), torch.inference_mode():
        for i, (first, count) in enumerate(renderer.pieces(scene, settings.fps, n_frames)):
            out = pipe(prompt=piece_prompt(scene, base, first, count, settings.fps),
                       negative_prompt=NEGATIVE_PROMPT, num_frames=frames_for(count),
                       width=opts.width, height=opts.height, num_inference_steps=opts.steps,
                       guidance_scale=opts.guidance, generator=cpu_generator(seed_for(settings, scene, f"clip{i}")),
                       output_type="np")
            clip = [fit_frame(f, settings) for f in tensor_frames(out.frames)]
            for frame in retime(clip, count):
                yield check_frame(frame, settings, renderer=renderer.name)


register_renderer("animatediff", AnimateDiffRenderer)
