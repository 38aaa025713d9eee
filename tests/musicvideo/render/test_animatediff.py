from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from musicvideo.render.animatediff import TINY_OPTIONS, AnimateDiffRenderer, ClipOptions, clip_length
from musicvideo.render.base import renderer_for
from musicvideo.render.diffusion import SD15, beat_frames, segments_on_beats
from tests.musicvideo.render.diffusion_material import SETTINGS, mean_abs, person, render, same, scene, tiny_env


@pytest.fixture(scope="module")
def renderer() -> AnimateDiffRenderer:
    built = renderer_for("animatediff", env=tiny_env(SD15))
    assert isinstance(built, AnimateDiffRenderer)
    return built


def test_scenes_are_cut_into_clips_on_their_beats() -> None:
    s = scene(beats=8)                                        # beats on frames 0, 6, ..., 42
    assert beat_frames(s, 12, 48) == [0, 6, 12, 18, 24, 30, 36, 42]
    # 16 frames at 8 fps is 2 s = 24 output frames at 12 fps: one clip per two seconds, cut on beats.
    real = AnimateDiffRenderer(tiny_env(SD15), options=ClipOptions())
    assert real.pieces(s, 12, 48) == [(0, 24), (24, 24)]
    assert real.pieces(s, 12, 47) == [(0, 24), (24, 23)]
    # No beat within reach: the stretch is split evenly.
    assert segments_on_beats(scene(beats=1), 12, 30, max_frames=12) == [(0, 10), (10, 10), (20, 10)]
    assert clip_length(24, 12, ClipOptions()) == 16 and clip_length(6, 12, ClipOptions()) == 8
    assert clip_length(30, 12, TINY_OPTIONS) == 8


@pytest.mark.parametrize("n_frames", [1, 5, 20])
def test_exactly_n_frames_of_the_render_size(renderer: AnimateDiffRenderer, n_frames: int) -> None:
    frames = render(renderer, n_frames=n_frames, person=person(SD15, None))
    assert len(frames) == n_frames
    assert all(f.shape == (SETTINGS.height, SETTINGS.width, 3) and f.dtype == np.uint8 for f in frames)


def test_deterministic_and_the_lora_changes_the_frames(renderer: AnimateDiffRenderer) -> None:
    base = render(renderer, n_frames=10, person=person(SD15, None))
    assert same(base, render(renderer, n_frames=10, person=person(SD15, None)))
    other_seed = render(renderer, n_frames=10, person=person(SD15, None), settings=replace(SETTINGS, seed=9))
    assert mean_abs(base[0], other_seed[0]) > 1.0
    with_lora = render(renderer, n_frames=10, person=person(SD15, 1))
    assert min(mean_abs(a, b) for a, b in zip(base, with_lora, strict=True)) > 2.0
    # The adapter is out again: the next render without it is the base model's.
    assert same(base, render(renderer, n_frames=10, person=person(SD15, None)))


def test_a_clip_moves(renderer: AnimateDiffRenderer) -> None:
    frames = render(renderer, n_frames=6, person=person(SD15, 1))      # one clip of 4 generated frames
    assert all(mean_abs(a, b) > 0 for a, b in itertools.pairwise(frames))
