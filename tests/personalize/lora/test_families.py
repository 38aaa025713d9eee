"""ModelSource and load_pipeline: both families' tiny pipelines, their kinds, clear errors for missing weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from personalize.lora.config import check_device, cpu_estimate_s, default_config
from personalize.lora.errors import LoraError
from personalize.lora.families import (
    FAMILIES,
    SD15,
    WAN,
    ModelSource,
    denoiser,
    load_pipeline,
    lora_target_modules,
)


@pytest.mark.parametrize(("family", "kind", "cls"), [
    (SD15, "image", "StableDiffusionPipeline"), (SD15, "video", "AnimateDiffPipeline"),
    (WAN, "image", "WanPipeline"), (WAN, "video", "WanPipeline")])
def test_tiny_pipelines_of_each_family(family: str, kind: str, cls: str) -> None:
    pipe = load_pipeline(ModelSource(family=family, base="tiny"), kind=kind)  # type: ignore[arg-type]
    assert type(pipe).__name__ == cls
    targets = lora_target_modules(denoiser(pipe))
    assert targets and all(t.rsplit(".", 1)[-1] in ("to_q", "to_k", "to_v", "0") for t in targets)


def test_the_seed_decides_the_tiny_weights() -> None:
    source = ModelSource(family=SD15, base="tiny")
    a, b = (load_pipeline(source, kind="image", seed=1).unet for _ in range(2))
    c = load_pipeline(source, kind="image", seed=2).unet
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(), strict=True))
    # Building models does not move the caller's RNG.
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    load_pipeline(source, kind="image")
    assert torch.equal(torch.rand(1), expected)


def test_image_and_video_share_the_sd15_base_so_one_adapter_fits_both() -> None:
    source = ModelSource(family=SD15, base="tiny")
    image, video = load_pipeline(source, kind="image"), load_pipeline(source, kind="video")
    spatial = dict(image.unet.named_parameters())
    motion = dict(video.unet.named_parameters())
    shared = [n for n in spatial if n in motion]
    assert len(shared) == len(spatial)
    assert all(torch.equal(spatial[n], motion[n]) for n in shared)


@pytest.mark.parametrize("family", FAMILIES)
def test_missing_weights_are_a_clear_error_and_nothing_downloads(family: str, tmp_path: Path) -> None:
    source = ModelSource(family=family, base=str(tmp_path / "no-weights-here"), motion_adapter=str(tmp_path / "nope"))
    with pytest.raises(LoraError) as err:
        load_pipeline(source, kind="image")
    assert err.value.code == "weights_missing" and "not on this machine" in err.value.message


def test_sources_are_validated() -> None:
    with pytest.raises(LoraError, match="Unknown model family"):
        ModelSource(family="sdxl", base="tiny")
    with pytest.raises(LoraError, match="Unknown dtype"):
        ModelSource(family=SD15, base="tiny", dtype="int8")


def test_a_real_model_on_a_cpu_is_refused_with_an_estimate() -> None:
    for family in FAMILIES:
        source = ModelSource(family=family, base="/models/real", device="cpu")
        config = default_config(source)
        with pytest.raises(LoraError) as err:
            check_device(source, config)
        assert err.value.code == "cpu_training_refused"
        hours = cpu_estimate_s(source, config) / 3600
        assert hours > 1 and f"{hours:.0f} hours" in err.value.message
        check_device(ModelSource(family=family, base="/models/real", device="cuda"), config)
    check_device(ModelSource(family=SD15, base="tiny"), default_config(ModelSource(family=SD15, base="tiny")))


def test_config_is_checked() -> None:
    config = default_config(ModelSource(family=WAN, base="tiny"))
    with pytest.raises(LoraError, match="4k\\+1"):
        config.replace(run_frames=6)
    with pytest.raises(LoraError, match="Unknown training settings"):
        config.replace(steps_per_epoch=3)


@pytest.mark.parametrize("family", FAMILIES)
def test_real_weights_load_from_a_local_folder(family: str, tmp_path: Path) -> None:
    """The real-weights path (from_pretrained, local files only), on a tiny model saved in diffusers format."""
    tiny = ModelSource(family=family, base="tiny")
    load_pipeline(tiny, kind="image").save_pretrained(tmp_path / "base")
    motion = None
    if family == SD15:
        motion = tmp_path / "motion"
        load_pipeline(tiny, kind="video").motion_adapter.save_pretrained(motion)
    source = ModelSource(family=family, base=str(tmp_path / "base"), motion_adapter=str(motion) if motion else None)
    for kind in ("image", "video"):
        pipe = load_pipeline(source, kind=kind)  # type: ignore[arg-type]
        reference = load_pipeline(tiny, kind=kind)  # type: ignore[arg-type]
        loaded, built = dict(denoiser(pipe).state_dict()), denoiser(reference).state_dict()
        assert loaded.keys() == built.keys()
        assert all(torch.equal(loaded[k], v) for k, v in built.items())
    if family == SD15:
        with pytest.raises(LoraError) as err:
            load_pipeline(ModelSource(family=family, base=str(tmp_path / "base")), kind="video")
        assert err.value.code == "motion_adapter_missing"
