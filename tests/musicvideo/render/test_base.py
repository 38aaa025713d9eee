"""The Renderer protocol's helpers: choosing a renderer, trigger tokens, frame checks, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicvideo.render.base import (
    Person,
    RenderEnv,
    RenderError,
    RenderSettings,
    choose_renderer,
    frames_for_scene,
    prompt_for_person,
    renderer_for,
    renderer_ready,
    strip_trigger,
)
from musicvideo.render.compositor import Compositor
from tests.musicvideo.render import material

FRAMES = (np.zeros((8, 8, 3), np.uint8),)


def test_auto_takes_the_compositor_without_an_adapter_weights_or_gpu() -> None:
    gpu = RenderEnv(device="cuda", weights={"sd15-animatediff": "/w/sd15", "wan2.1-1.3b": "/w/wan"})
    assert choose_renderer("auto", env=RenderEnv(), person=Person(frames=FRAMES)) == "compositor"
    # Weights and a GPU but no adapter of that family: still the compositor.
    assert choose_renderer("auto", env=gpu, person=Person(frames=FRAMES)) == "compositor"
    # An adapter and weights but no GPU: the compositor.
    adapter = Person(frames=FRAMES, adapter_path=Path("/a.safetensors"), trigger="sks person", family="wan2.1-1.3b")
    assert choose_renderer("auto", env=RenderEnv(weights=gpu.weights), person=adapter) == "compositor"
    assert not renderer_ready("wan", env=RenderEnv(weights=gpu.weights), person=adapter)


def test_an_unknown_renderer_is_refused() -> None:
    with pytest.raises(RenderError) as err:
        renderer_for("magic")
    assert err.value.code == "renderer_unknown"


def test_the_compositor_is_built_by_name() -> None:
    assert isinstance(renderer_for("compositor"), Compositor)


@pytest.mark.parametrize(("prompt", "trigger", "plain", "full"), [
    ("sks person, dancing on a rooftop", "sks person", "dancing on a rooftop", "sks person, dancing on a rooftop"),
    ("dancing  on a rooftop ", "sks person", "dancing on a rooftop", "sks person, dancing on a rooftop"),
    ("a rooftop where SKS PERSON dances", "sks person", "a rooftop where dances", "sks person, a rooftop where dances"),
    ("dancing", None, "dancing", "dancing"),
    ("", "sks person", "", "sks person"),
])
def test_trigger_tokens_come_out_of_plain_words_and_go_in_once(prompt: str, trigger: str | None, plain: str,
                                                               full: str) -> None:
    assert strip_trigger(prompt, trigger) == plain
    assert prompt_for_person(prompt, trigger) == full


def test_scene_frames_start_on_the_rounded_beat_frame() -> None:
    assert frames_for_scene(0.0, 2.0, 30) == (0, 60)
    assert frames_for_scene(2.0, 4.017, 30) == (60, 61)      # 4.017 s -> frame 121 (round)
    assert frames_for_scene(1.49, 1.51, 30) == (45, 0)


def test_the_compositor_refuses_without_a_person() -> None:
    compositor = Compositor()
    scene = material.scenes_on_bars(material.song())[0]
    settings = RenderSettings(width=64, height=36)
    with pytest.raises(RenderError) as err:
        next(iter(compositor.render_scene(scene, person=Person(), settings=settings, n_frames=3, audio=None)))
    assert err.value.code == "person_no_frames"
    blank = Person(frames=tuple(np.full((120, 160, 3), v, np.uint8) for v in (40, 90, 140)))
    with pytest.raises(RenderError) as err:
        next(iter(compositor.render_scene(scene, person=blank, settings=settings, n_frames=3, audio=None)))
    assert err.value.code == "person_not_found"


def test_each_mood_has_its_own_palette() -> None:
    """The same scene rendered in each mood: four clearly different pictures, warm ones warm."""
    compositor = Compositor()
    base = material.scenes_on_bars(material.song())[0]
    settings = RenderSettings(width=320, height=180, style="cinematic")
    means = {}
    for mood in ("euphoric", "serene", "melancholy", "tense"):
        scene = type(base)(**{**base.__dict__, "mood": mood, "index": 0})
        frame = next(iter(compositor.render_scene(scene, person=material.person(), settings=settings, n_frames=1,
                                                  audio=None))).copy()
        means[mood] = frame[..., :3].reshape(-1, 3).mean(axis=0)
    names = list(means)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(means[a] - means[b]).max() > 12, (a, b, means[a], means[b])
    # Warm moods are warmer than cold ones (red minus blue).
    assert means["euphoric"][0] - means["euphoric"][2] > means["melancholy"][0] - means["melancholy"][2] + 40
