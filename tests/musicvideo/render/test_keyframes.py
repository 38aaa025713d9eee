from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from musicvideo.render.base import RenderError, renderer_for
from musicvideo.render.diffusion import SD15, ProcessModels
from musicvideo.render.keyframes import (
    TINY_OPTIONS,
    KeyframesRenderer,
    keyframe_indices,
    plan_cost,
    tween_indices,
)
from personalize.lora.families import ModelSource, load_pipeline
from tests.musicvideo.render.diffusion_material import SETTINGS, mean_abs, person, render, same, scene, tiny_env


@pytest.fixture(scope="module")
def renderer() -> KeyframesRenderer:
    built = renderer_for("keyframes", env=tiny_env(SD15))
    assert isinstance(built, KeyframesRenderer)
    return built


def test_keyframes_land_on_every_fourth_beat_and_the_scene_ends() -> None:
    s = scene(beats=8)                                   # beats on frames 0, 6, ..., 42 at 12 fps
    assert keyframe_indices(s, 12, 48, beats_per_keyframe=4) == [0, 24, 47]
    assert keyframe_indices(s, 12, 48, beats_per_keyframe=2) == [0, 12, 24, 36, 47]
    # A tween every 10 frames, but none within 5 frames of the next keyframe.
    assert tween_indices([0, 24, 47], 10) == [10, 34]
    assert tween_indices([0, 24, 47], 0) == []
    cost = plan_cost([0, 24, 47], 48, replace(TINY_OPTIONS, steps=20, continuity=0.5, tween_every=10,
                                              tween_strength=0.25))
    assert cost == {"guided_steps": 20 + 2 * 10, "plain_steps": 2 * 5, "vae_decodes": 48, "keyframes": 3}


@pytest.mark.parametrize("n_frames", [1, 7, 24])
def test_exactly_n_frames_of_the_render_size(renderer: KeyframesRenderer, n_frames: int) -> None:
    frames = render(renderer, n_frames=n_frames, person=person(SD15, None))
    assert len(frames) == n_frames
    assert all(f.shape == (SETTINGS.height, SETTINGS.width, 3) and f.dtype == np.uint8 for f in frames)
    assert render(renderer, n_frames=0, person=person(SD15, None)) == []


def test_deterministic_for_a_seed(renderer: KeyframesRenderer) -> None:
    first = render(renderer, n_frames=24, person=person(SD15, None))
    assert same(first, render(renderer, n_frames=24, person=person(SD15, None)))
    other = render(renderer, n_frames=24, person=person(SD15, None), settings=replace(SETTINGS, seed=6))
    assert mean_abs(first[0], other[0]) > 1.0


def test_the_lora_changes_the_frames_and_leaves_the_pipeline_as_it_was(renderer: KeyframesRenderer) -> None:
    base = render(renderer, n_frames=12, person=person(SD15, None))
    with_lora = render(renderer, n_frames=12, person=person(SD15, 1))
    other_lora = render(renderer, n_frames=12, person=person(SD15, 2))
    assert min(mean_abs(a, b) for a, b in zip(base, with_lora, strict=True)) > 2.0
    assert mean_abs(with_lora[0], other_lora[0]) > 2.0
    assert same(base, render(renderer, n_frames=12, person=person(SD15, None)))


def test_frames_between_keyframes_are_interpolated(renderer: KeyframesRenderer) -> None:
    frames = render(renderer, n_frames=24, person=person(SD15, 1), scene_spec=scene(beats=8))
    keys = keyframe_indices(scene(beats=8), 12, 24, TINY_OPTIONS.beats_per_keyframe)   # [0, 23]
    assert keys == [0, 23]
    step = np.mean([mean_abs(a, b) for a, b in itertools.pairwise(frames)])
    assert 0 < step < mean_abs(frames[0], frames[23])      # small steps, not a cut per frame


def test_an_already_loaded_pipeline_and_a_shared_cache(renderer: KeyframesRenderer) -> None:
    pipe = load_pipeline(ModelSource(family=SD15, base="tiny"), kind="image")
    given = KeyframesRenderer(tiny_env(SD15), pipeline=pipe)
    assert same(render(given, n_frames=6, person=person(SD15, None)),
                render(renderer, n_frames=6, person=person(SD15, None)))

    calls: list[str] = []
    cache = ProcessModels()

    def counting_get(key: str, loader: Any) -> Any:
        calls.append(key)
        return ProcessModels.get(cache, key, loader)

    class Counting:
        get = staticmethod(counting_get)

    for _ in range(2):
        r = KeyframesRenderer(tiny_env(SD15), models=Counting())
        render(r, n_frames=2, person=person(SD15, None))
    assert len(calls) == 2 and len(cache._models) == 1      # asked twice, loaded once


def test_an_adapter_of_the_other_family_is_refused(renderer: KeyframesRenderer) -> None:
    wrong = replace(person(SD15, 1), family="wan2.1-1.3b")
    with pytest.raises(RenderError):
        render(renderer, n_frames=2, person=wrong)
