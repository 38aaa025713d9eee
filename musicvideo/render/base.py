"""The Renderer protocol: one storyboard scene + the person + settings in, RGB frames out.

Every renderer (the CPU ``compositor``; the diffusion renderers ``keyframes``, ``animatediff``
and ``wan``) implements one method and streams its frames, because a 3-minute 720p video
(5,400 frames, 14 GB as raw RGB) does not fit in memory::

    class Renderer(Protocol):
        name: str
        def render_scene(self, scene: SceneSpec, *, person: Person, settings: RenderSettings,
                         n_frames: int, audio: SceneAudio | None) -> Iterator[np.ndarray]: ...

Contract a renderer keeps (``assemble.py`` checks it and refuses anything else):

- it yields exactly ``n_frames`` frames, each ``(settings.height, settings.width, 3)`` uint8 RGB, or
  ``(height, width, 4)`` RGBA whose alpha is ignored (skia's layout: the compositor saves a copy);
- it may reuse one buffer for all its frames: the consumer draws on a frame and copies it before
  asking for the next one;
- frame ``k`` of a scene is shown at ``scene.start_s + k / settings.fps`` seconds of the song
  (assembly chose ``n_frames`` so that the scene's first frame is ``round(start_s * fps)``);
- ``scene.prompt`` is plain words (no trigger token): a renderer that conditions on a LoRA puts
  the adapter's token in with :func:`prompt_for_person`;
- it is deterministic for a given ``settings.seed`` and scene index;
- it loads models once per process (its own cache), never per scene.

Assembly, not the renderer, does cuts, the AI label, captions, audio, encoding and provenance.

Choosing a renderer: :func:`renderer_for` builds one by name; ``"auto"`` (:func:`choose_renderer`)
takes the best diffusion family for which the person has an adapter, base weights are configured
and a CUDA device is there, and otherwise the compositor. Renderer modules are imported only when
chosen, so choosing never imports torch. A renderer module registers itself on import::

    # musicvideo/render/wan.py
    register_renderer("wan", WanRenderer)       # WanRenderer(env: RenderEnv) -> Renderer

This module imports no Django and nothing heavy; the dataclasses are the stable interface
between the render job (``musicvideo.render_services``) and the renderers.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from mediakit.errors import EncoreError


class RenderError(EncoreError):
    code = "render_failed"


@dataclass(frozen=True)
class WordTiming:
    """One sung word, absolute song time in seconds."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SceneSpec:
    """One storyboard scene, as a renderer sees it. All times are absolute song seconds."""

    index: int
    start_s: float
    end_s: float
    beats_s: tuple[float, ...]          # beat times inside [start_s, end_s)
    downbeats_s: tuple[float, ...]      # downbeat times inside [start_s, end_s)
    section: str                        # intro | verse | chorus | bridge | outro ...
    mood: str                           # euphoric | serene | melancholy | tense
    valence: float                      # -1 (sad) .. 1 (happy)
    arousal: float                      # -1 (calm) .. 1 (excited)
    energy: float                       # 0..1, loudness of the scene relative to the song
    lyric: str                          # the lyric line sung over the scene ("" if instrumental)
    prompt: str                         # plain words, no trigger token (see prompt_for_person)
    words: tuple[WordTiming, ...] = ()  # sung words overlapping the scene
    section_start: bool = False         # the scene opens a new section (a bigger transition)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Person:
    """Who appears in the video: consented capture frames and/or a trained adapter."""

    frames: tuple[np.ndarray, ...] = ()     # RGB uint8 frames from a passed live challenge (compositor)
    adapter_path: Path | None = None        # LoRA safetensors (diffusion renderers)
    trigger: str | None = None              # the adapter's token, e.g. "sks person"
    family: str | None = None               # adapter family: "sd15-animatediff" | "wan2.1-1.3b"


@dataclass(frozen=True)
class RenderSettings:
    width: int = 1280
    height: int = 720
    fps: int = 30
    seed: int = 0
    style: str = "cinematic"            # a key of musicvideo.storyboard.STYLE_PRESETS


@dataclass(frozen=True)
class SceneAudio:
    """The scene's slice of the song, for audio-reactive renderers."""

    samples: np.ndarray                 # float32 mono, the scene's stretch of the song
    sample_rate: int
    frame_energy: np.ndarray            # (n_frames,) loudness per video frame, 0..1 relative to the song
    frame_onset: np.ndarray             # (n_frames,) onset strength per video frame, 0..1


@dataclass(frozen=True)
class RenderEnv:
    """What this worker process has: a device and base weights per family (from settings)."""

    device: str = "cpu"                                  # "cpu" | "cuda" | "cuda:0" ...
    weights: Mapping[str, str] = field(default_factory=dict)  # family -> local path or hub id
    compile: str = "off"             # "off" | "on" | "auto" (on a GPU): torch.compile with LoRA hot-swap
    compile_backend: str = "inductor"  # torch.compile backend ("eager" traces without code generation)


@runtime_checkable
class Renderer(Protocol):
    name: str

    def render_scene(self, scene: SceneSpec, *, person: Person, settings: RenderSettings, n_frames: int,
                     audio: SceneAudio | None) -> Iterator[np.ndarray]: ...


RendererFactory = Callable[[RenderEnv], Renderer]

# name -> (module that registers it, weights family or None for weight-free renderers)
BUILTIN_RENDERERS: dict[str, tuple[str, str | None]] = {
    "compositor": ("musicvideo.render.compositor", None),
    "keyframes": ("musicvideo.render.keyframes", "sd15-animatediff"),
    "animatediff": ("musicvideo.render.animatediff", "sd15-animatediff"),
    "wan": ("musicvideo.render.wan", "wan2.1-1.3b"),
}
# "auto" prefers motion models over keyframes, and Wan (better motion) over AnimateDiff.
AUTO_ORDER = ("wan", "animatediff", "keyframes")
RENDERER_NAMES = ("auto", *BUILTIN_RENDERERS)

_REGISTRY: dict[str, RendererFactory] = {}


def register_renderer(name: str, factory: RendererFactory) -> None:
    """Called by a renderer module at import; re-registering (a reload) replaces the factory."""
    _REGISTRY[name] = factory


def renderer_installed(name: str) -> bool:
    """Is the renderer's module in this installation? Does not import it."""
    entry = BUILTIN_RENDERERS.get(name)
    if entry is None:
        return name in _REGISTRY
    try:
        return importlib.util.find_spec(entry[0]) is not None
    except ModuleNotFoundError:
        return False


def renderer_family(name: str) -> str | None:
    entry = BUILTIN_RENDERERS.get(name)
    return entry[1] if entry else None


def renderer_ready(name: str, *, env: RenderEnv, person: Person) -> bool:
    """Can ``name`` render this person here? Weight-free renderers need consent frames; diffusion
    renderers need the person's adapter of their family, base weights and a CUDA device."""
    if not renderer_installed(name):
        return False
    family = renderer_family(name)
    if family is None:
        return bool(person.frames)
    return (person.adapter_path is not None and person.family == family and bool(env.weights.get(family))
            and env.device.startswith("cuda"))


def choose_renderer(requested: str, *, env: RenderEnv, person: Person) -> str:
    """Resolve ``auto`` to a renderer name; check that an explicit name is known."""
    if requested == "auto":
        for name in AUTO_ORDER:
            if renderer_ready(name, env=env, person=person):
                return name
        return "compositor"
    if requested not in BUILTIN_RENDERERS and requested not in _REGISTRY:
        raise RenderError(f"Unknown renderer '{requested}'. Choose one of: {', '.join(RENDERER_NAMES)}.",
                          code="renderer_unknown")
    return requested


def renderer_for(name: str, *, env: RenderEnv | None = None, person: Person | None = None) -> Renderer:
    """Build the renderer called ``name`` (``auto`` resolved with ``person``) for this process."""
    env = env or RenderEnv()
    name = choose_renderer(name, env=env, person=person or Person())
    if name not in _REGISTRY:
        module = BUILTIN_RENDERERS[name][0] if name in BUILTIN_RENDERERS else None
        if module is None or not renderer_installed(name):
            raise RenderError(f"The '{name}' renderer is not installed here.", code="renderer_unavailable")
        importlib.import_module(module)
        if name not in _REGISTRY:
            raise RenderError(f"The '{name}' renderer module did not register itself.", code="renderer_unavailable")
    return _REGISTRY[name](env)


def strip_trigger(prompt: str, trigger: str | None) -> str:
    """A storyboard prompt back to plain words: the trigger token and its comma removed."""
    text = " ".join(prompt.split())
    if trigger:
        text = re.sub(rf"\s*{re.escape(trigger)}\s*,?\s*", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split()).strip(" ,")


def prompt_for_person(prompt: str, trigger: str | None) -> str:
    """Plain words -> the prompt a LoRA-conditioned model gets: the trigger token first, once."""
    plain = strip_trigger(prompt, trigger)
    if not trigger:
        return plain
    return f"{trigger}, {plain}" if plain else trigger


def frames_for_scene(start_s: float, end_s: float, fps: int) -> tuple[int, int]:
    """First frame index and frame count of a scene: cuts land on ``round(t * fps)``."""
    first = int(round(start_s * fps))
    last = int(round(end_s * fps))
    return first, max(last - first, 0)


def check_frame(frame: np.ndarray, settings: RenderSettings, *, renderer: str) -> np.ndarray:
    """Refuse a frame of the wrong size or type instead of encoding garbage."""
    if (frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[:2] != (settings.height, settings.width)
            or frame.shape[2] not in (3, 4) or not frame.flags.c_contiguous):
        raise RenderError(f"The '{renderer}' renderer produced a {frame.dtype} frame of shape {frame.shape}; "
                          f"expected contiguous uint8 {(settings.height, settings.width, 3)} (or 4 channels).",
                          code="render_bad_frame")
    return frame
