"""Shared material for the diffusion renderer tests: a scene with known beats, tiny weights, LoRAs."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from musicvideo.render.base import Person, RenderEnv, RenderSettings, SceneSpec, WordTiming
from musicvideo.testing.adapters import random_adapter

# 12 fps keeps clips short; beats every 0.5 s (120 BPM) land on frames 0, 6, 12, 18 of the scene.
SETTINGS = RenderSettings(width=96, height=54, fps=12, seed=5)
TRIGGER = "sks person"


def scene(index: int = 0, start_s: float = 2.0, beats: int = 4, period_s: float = 0.5) -> SceneSpec:
    beat_times = tuple(start_s + i * period_s for i in range(beats))
    return SceneSpec(index=index, start_s=start_s, end_s=start_s + beats * period_s, beats_s=beat_times,
                     downbeats_s=beat_times[::4], section="chorus", mood="euphoric", valence=0.6, arousal=0.5,
                     energy=0.8, lyric="lights all around", prompt="a person dancing under neon lights",
                     words=(WordTiming("lights", start_s + 0.1, start_s + 0.4),
                            WordTiming("around", start_s + 1.1, start_s + 1.6)))


def tiny_env(family: str) -> RenderEnv:
    return RenderEnv(device="cpu", weights={family: "tiny"})


@functools.cache
def adapter(family: str, seed: int) -> Path:
    import tempfile

    return random_adapter(family, Path(tempfile.mkdtemp(prefix="lora-")), seed=seed)


def person(family: str, seed: int | None) -> Person:
    """The trigger alone (no adapter), or the trigger and a random adapter of ``family``."""
    if seed is None:
        return Person(trigger=TRIGGER)
    return Person(adapter_path=adapter(family, seed), trigger=TRIGGER, family=family)


def render(renderer: Any, *, n_frames: int, person: Person, settings: RenderSettings = SETTINGS,
           scene_spec: SceneSpec | None = None) -> list[np.ndarray]:
    return list(renderer.render_scene(scene_spec or scene(), person=person, settings=settings, n_frames=n_frames,
                                      audio=None))


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
