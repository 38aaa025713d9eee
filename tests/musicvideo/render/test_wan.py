from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from musicvideo.render.base import renderer_for
from musicvideo.render.diffusion import WAN
from musicvideo.render.wan import TINY_OPTIONS, WanOptions, WanRenderer, wan_length
from tests.musicvideo.render.diffusion_material import SETTINGS, mean_abs, person, render, same, scene, tiny_env


@pytest.fixture(scope="module")
def renderer() -> WanRenderer:
    built = renderer_for("wan", env=tiny_env(WAN))
    assert isinstance(built, WanRenderer)
    return built


def test_clips_are_wan_lengths_and_cut_on_beats() -> None:
    real = WanOptions()
    assert wan_length(150, 30, real) == 81                  # 5 s at 16 fps, capped at one clip
    assert wan_length(30, 30, real) == 17                   # 1 s: 16 frames -> 17 (4k + 1)
    assert wan_length(45, 30, real) == 25                   # 1.5 s: 24 -> 25
    assert all((wan_length(n, 30, real) - 1) % 4 == 0 for n in range(1, 200))
    s = scene(beats=16, period_s=0.5)                       # 8 s of beats on every 6th frame at 12 fps
    pieces = WanRenderer(tiny_env(WAN), options=real).pieces(s, 12, 96)
    assert pieces == [(0, 60), (60, 36)]                    # <= 5 s a clip, the cut on the beat at 5 s
    assert TINY_OPTIONS.clip_frames == 9


@pytest.mark.parametrize("n_frames", [1, 7, 20])
def test_exactly_n_frames_of_the_render_size(renderer: WanRenderer, n_frames: int) -> None:
    frames = render(renderer, n_frames=n_frames, person=person(WAN, None))
    assert len(frames) == n_frames
    assert all(f.shape == (SETTINGS.height, SETTINGS.width, 3) and f.dtype == np.uint8 for f in frames)


def test_deterministic_and_the_lora_changes_the_frames(renderer: WanRenderer) -> None:
    base = render(renderer, n_frames=12, person=person(WAN, None))
    assert same(base, render(renderer, n_frames=12, person=person(WAN, None)))
    other_seed = render(renderer, n_frames=12, person=person(WAN, None), settings=replace(SETTINGS, seed=9))
    assert mean_abs(base[0], other_seed[0]) > 0.5
    with_lora = render(renderer, n_frames=12, person=person(WAN, 1))
    assert np.mean([mean_abs(a, b) for a, b in zip(base, with_lora, strict=True)]) > 0.5
    assert same(base, render(renderer, n_frames=12, person=person(WAN, None)))
