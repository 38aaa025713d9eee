"""Tiny models of both families, built in code: train, save, load into fresh pipelines, resume exactly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors import safe_open

from charcha.testing.fixtures import Clip
from personalize.lora.config import TrainConfig, default_config
from personalize.lora.data import FrameRun, prepare_dataset
from personalize.lora.families import FAMILIES, SD15, WAN, ModelSource, apply_adapter, load_pipeline
from personalize.lora.trainer import CHECKPOINT_FILE, Cache, encode_dataset, save_adapter, train_lora
from tests.personalize.conftest import KEEP, jpegs

TRIGGER = "zovkel"


@dataclass
class Trained:
    source: ModelSource
    config: TrainConfig
    pipe: Any
    cache: Cache
    path: Path
    lora: dict[str, torch.Tensor]


@pytest.fixture(scope="module")
def material(genuine: Clip) -> tuple[list[tuple[int, bytes]], list[FrameRun]]:
    frames = jpegs(genuine)
    stills = [(i, frames[i]) for i in KEEP]
    runs = [FrameRun(action="turn_right", frames=[(i, frames[i]) for i in range(20, 37)])]
    return stills, runs


@pytest.fixture(scope="module", params=FAMILIES)
def trained(request: pytest.FixtureRequest, material: Any, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    source = ModelSource(family=request.param, base="tiny")
    config = default_config(source).replace(steps=6, checkpoint_every=2)
    pipe = load_pipeline(source, kind="image")
    dataset = prepare_dataset(*material, trigger=TRIGGER, resolution=config.resolution, run_frames=config.run_frames,
                              flip=config.flip, jitter=config.jitter, seed=config.seed)
    cache = encode_dataset(pipe, source, dataset)
    work = tmp_path_factory.mktemp(f"work-{request.param}")
    result = train_lora(pipe, source, cache, config, work_dir=work)
    path = save_adapter(source, result, config, work / "out")
    return Trained(source=source, config=config, pipe=pipe, cache=cache, path=path, lora=result.lora)


def _render(pipe: Any, family: str, *, frames: int = 1, video: bool = False) -> np.ndarray:
    kwargs: dict[str, Any] = {"prompt": f"a photo of {TRIGGER} person", "height": 32, "width": 32,
                              "num_inference_steps": 2, "output_type": "np",
                              "generator": torch.Generator().manual_seed(7)}
    out = pipe(num_frames=frames, **kwargs).frames if family == WAN or video else pipe(**kwargs).images
    return np.asarray(out)


def test_the_dataset_has_the_family_s_material(trained: Trained) -> None:
    summary = trained.cache.summary
    assert summary["stills"] == len(KEEP) and summary["stills_without_face"] == 0
    # Each still, its mirror image; the video family also trains on the run of consecutive frames.
    assert summary["clips"] == (1 if trained.source.family == WAN else 0)
    assert summary["samples"] == 2 * len(KEEP) + summary["clips"]
    assert trained.cache.captions[-1] == "" and all(TRIGGER in c for c in trained.cache.captions[:-1])


def test_the_file_is_a_diffusers_lora_with_its_config(trained: Trained) -> None:
    prefix = "unet." if trained.source.family == SD15 else "transformer."
    with safe_open(str(trained.path), framework="pt") as fh:
        keys = list(fh.keys())
        metadata = fh.metadata()
    assert keys and all(k.startswith(prefix) and (".lora_A." in k or ".lora_B." in k) for k in keys)
    assert all(any(p in k for p in ("to_q", "to_k", "to_v", "to_out.0")) for k in keys)
    config = json.loads(metadata["lora_adapter_metadata"])
    assert (config[f"{prefix}r"], config[f"{prefix}lora_alpha"]) == (trained.config.rank, trained.config.alpha)
    # Trained: B matrices moved away from their zero start.
    assert any(float(v.abs().max()) > 0 for k, v in trained.lora.items() if ".lora_B." in k)


def test_a_fresh_pipeline_changes_with_the_adapter_and_is_identical_without(trained: Trained) -> None:
    family = trained.source.family
    plain = _render(load_pipeline(trained.source, kind="image"), family)
    again = _render(load_pipeline(trained.source, kind="image"), family)
    assert np.array_equal(plain, again)
    # The training pipeline is clean again afterwards (a worker caches it for the next job).
    assert np.array_equal(_render(trained.pipe, family), plain)
    with_adapter = load_pipeline(trained.source, kind="image")
    apply_adapter(with_adapter, trained.path)
    changed = _render(with_adapter, family)
    assert changed.shape == plain.shape
    assert float(np.abs(changed - plain).max()) > 1e-4


def test_a_clip_renders_with_the_adapter(trained: Trained) -> None:
    family = trained.source.family
    frames = 5 if family == WAN else 4
    pipe = load_pipeline(trained.source, kind="video")
    assert type(pipe).__name__ == ("WanPipeline" if family == WAN else "AnimateDiffPipeline")
    plain = _render(pipe, family, frames=frames, video=True)
    apply_adapter(pipe, trained.path)
    clip = _render(pipe, family, frames=frames, video=True)
    assert clip.shape == (1, frames, 32, 32, 3)
    assert float(np.abs(clip - plain).max()) > 1e-5


def test_resume_after_an_interruption_gives_the_identical_adapter(trained: Trained, tmp_path: Path) -> None:
    class Killed(Exception):
        pass

    def dies_after_step_3(stage: str, fraction: float, message: str = "") -> None:
        if stage == "train" and fraction >= 3 / trained.config.steps:
            raise Killed

    work = tmp_path / "work"
    with pytest.raises(Killed):
        train_lora(trained.pipe, trained.source, trained.cache, trained.config, work_dir=work,
                   progress=dies_after_step_3)
    assert (work / CHECKPOINT_FILE).exists()
    assert not list(work.glob("*.tmp"))
    reported: list[tuple[int, float, float]] = []
    resumed = train_lora(trained.pipe, trained.source, trained.cache, trained.config, work_dir=work,
                         on_step=lambda step, loss, s: reported.append((step, loss, s)))
    assert resumed.resumed_from == 2  # the last checkpoint before the interruption
    # Every step's loss reaches the curve, the checkpoint's own steps too (unmeasured speed: 0).
    assert [step for step, _, _ in reported] == list(range(1, trained.config.steps + 1))
    assert [loss for _, loss, _ in reported] == resumed.losses
    assert [s for _, _, s in reported[:2]] == [0.0, 0.0] and all(s > 0 for _, _, s in reported[2:])
    assert resumed.lora.keys() == trained.lora.keys()
    assert all(torch.equal(resumed.lora[k], trained.lora[k]) for k in trained.lora)
    path = save_adapter(trained.source, resumed, trained.config, tmp_path / "out")
    assert path.read_bytes() == trained.path.read_bytes()


def test_a_checkpoint_of_other_settings_is_not_resumed(trained: Trained, tmp_path: Path) -> None:
    work = tmp_path / "work"
    other = trained.config.replace(steps=2, checkpoint_every=1, learning_rate=5e-3)
    train_lora(trained.pipe, trained.source, trained.cache, other, work_dir=work)
    result = train_lora(trained.pipe, trained.source, trained.cache, trained.config, work_dir=work)
    assert result.resumed_from == 0
    assert all(torch.equal(result.lora[k], trained.lora[k]) for k in trained.lora)
