"""Compiled renders with LoRA hot-swap: one graph for every adapter, the same frames as eager.

The "eager" dynamo backend traces the UNet as a GPU worker's compile does, without generating code
(inductor takes minutes on this CPU); the graph count and the hot-swap are what is under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from musicvideo.render.base import RenderEnv
from musicvideo.render.diffusion import SD15, ProcessModels, compile_wanted
from musicvideo.render.keyframes import KeyframesRenderer
from musicvideo.testing.adapters import random_adapter
from personalize.lora.errors import LoraError
from tests.musicvideo.render.diffusion_material import mean_abs, person, render

# Hot-swap pads the LoRA to a fixed rank, which reorders the sums: frames match eager to within
# rounding (measured: 0.0005 of a grey level on average), far below what an adapter changes.
ROUNDING = 0.25


def _differ(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(mean_abs(x, y) for x, y in zip(a, b, strict=True))

N = 7


def _graphs() -> int:
    import torch._dynamo.utils

    return int(torch._dynamo.utils.counters["stats"]["unique_graphs"])


def _lora_params(renderer: KeyframesRenderer) -> list[torch.Tensor]:
    return [p for name, p in renderer.pipe.unet.named_parameters() if "lora_" in name]


def test_compile_wanted_follows_the_setting_and_the_device() -> None:
    assert compile_wanted(RenderEnv(device="cuda")) is False  # off unless asked for
    assert compile_wanted(RenderEnv(device="cuda", compile="auto")) is True
    assert compile_wanted(RenderEnv(device="cpu", compile="auto")) is False
    assert compile_wanted(RenderEnv(device="cpu", compile="on")) is True
    assert compile_wanted(RenderEnv(device="cuda:0", compile="off")) is False


def test_hot_swapped_adapters_share_one_graph_and_match_eager_frames() -> None:
    import torch._dynamo

    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    env = RenderEnv(device="cpu", weights={SD15: "tiny"}, compile="on", compile_backend="eager")
    compiled = KeyframesRenderer(env, models=ProcessModels())
    eager = KeyframesRenderer(RenderEnv(device="cpu", weights={SD15: "tiny"}, compile="off"), models=ProcessModels())

    first = render(compiled, n_frames=N, person=person(SD15, 1))
    graphs_after_first = _graphs()
    assert graphs_after_first >= 1
    # The person's weights do not stay in the worker after their render.
    assert _lora_params(compiled) and all(float(p.detach().abs().max()) == 0.0 for p in _lora_params(compiled))

    second = render(compiled, n_frames=N, person=person(SD15, 2))
    assert _graphs() == graphs_after_first  # the second adapter was swapped in without a recompile
    assert len(first) == len(second) == N
    assert _differ(first, second) > 20 * ROUNDING
    assert _differ(second, render(eager, n_frames=N, person=person(SD15, 2))) < ROUNDING
    assert _differ(first, render(eager, n_frames=N, person=person(SD15, 1))) < ROUNDING


def test_an_adapter_above_the_hotswap_rank_is_refused(tmp_path: Path) -> None:
    env = RenderEnv(device="cpu", weights={SD15: "tiny"}, compile="on", compile_backend="eager")
    renderer = KeyframesRenderer(env, models=ProcessModels())
    big = random_adapter(SD15, tmp_path, seed=3, rank=65)
    from musicvideo.render.base import Person, RenderError

    with pytest.raises((RenderError, LoraError)) as info:
        render(renderer, n_frames=N, person=Person(adapter_path=big, trigger="sks person", family=SD15))
    assert info.value.code == "adapter_incompatible"
