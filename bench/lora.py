"""LoRA training bench: seconds per step, peak memory and minutes for each family's default training.

    .venv/bin/python bench/lora.py [--json] [--size tiny|real] [--device cpu|cuda] [--family F] [--steps N]

``--size tiny`` (default): the platform's own path on the tiny random models of both families, on the
committed genuine capture clip: face crops and masks, encoding once, then LoRA steps through
``personalize.lora.trainer.train_lora`` (checkpoints every 4 steps, as the tiny defaults do).

``--size real``: random weights at the real sizes (SD 1.5's UNet; Wan 2.1 1.3B's transformer), the
real training loop on random cached latents and text embeddings of the default shapes (SD 1.5:
512 px, batch 4; Wan: 480 px stills and 17-frame clips, half the steps each), with each family's
GPU defaults (bf16 autocast, fused AdamW). Reported: seconds per step after warm-up, peak GiB, and
minutes for the default number of steps beside the issue's targets (2 min sd15, 4 min Wan on one
H100/H200; the ratio is minutes / target). Encoding and validation renders are not included there.
Real size on a CPU needs ``--allow-cpu`` (minutes a step for Wan).

On the 2-core development machine shared by several people, CPU timings are noisy; torch runs with
one intra-op thread (``--threads``), which on a busy 2-core box is several times faster than two.
With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from personalize.lora.config import TrainConfig, default_config  # noqa: E402
from personalize.lora.families import FAMILIES, SD15, WAN, ModelSource  # noqa: E402
from personalize.lora.trainer import Cache, train_lora  # noqa: E402

TARGET_MIN = {SD15: 2.0, WAN: 4.0}
SHORT = {SD15: "sd15", WAN: "wan"}


def _peak_gib(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (process peak RSS)


def _timed_train(pipe: Any, source: ModelSource, cache: Cache, config: TrainConfig, warmup: int) -> float:
    """Seconds per step over the steps after ``warmup`` (the first steps pay for allocation and autotuning)."""
    stamps: list[float] = []

    def on_step(step: int, loss: float, s_per_step: float) -> None:
        if source.device.startswith("cuda"):
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as work:
        train_lora(pipe, source, cache, config, work_dir=Path(work), on_step=on_step)
    measured = stamps[warmup:]
    return (measured[-1] - measured[0]) / max(1, len(measured) - 1)


# ------------------------------------------------------------------------------------------ tiny
def bench_tiny(family: str, steps: int) -> dict[str, float]:
    from charcha.testing.fixtures import load_clip
    from personalize.lora.data import FrameRun, prepare_dataset
    from personalize.lora.families import load_pipeline
    from personalize.lora.trainer import encode_dataset

    clip = load_clip("genuine_a")

    def jpeg(i: int) -> bytes:
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(clip.frames[i].image).save(buffer, format="JPEG", quality=90)
        return buffer.getvalue()

    stills = [(i, jpeg(i)) for i in (8, 30, 55, 80, 105, 130)]
    runs = [FrameRun(action="turn_right", frames=[(i, jpeg(i)) for i in range(20, 37)])]
    source = ModelSource(family=family, base="tiny")
    config = default_config(source).replace(steps=steps)
    t0 = time.perf_counter()
    pipe = load_pipeline(source, kind="image")
    t1 = time.perf_counter()
    dataset = prepare_dataset(stills, runs, trigger="zovkel", resolution=config.resolution,
                              run_frames=config.run_frames, flip=config.flip, jitter=config.jitter)
    t2 = time.perf_counter()
    cache = encode_dataset(pipe, source, dataset)
    t3 = time.perf_counter()
    s_per_step = _timed_train(pipe, source, cache, config, warmup=2)
    return {"load_s": round(t1 - t0, 3), "prepare_s": round(t2 - t1, 3), "encode_s": round(t3 - t2, 3),
            "step_s": round(s_per_step, 4), "default_steps": default_config(source).steps,
            "default_train_s": round(s_per_step * default_config(source).steps, 2)}


# ------------------------------------------------------------------------------------------ real
def _real_denoiser(family: str) -> Any:
    from diffusers import UNet2DConditionModel, WanTransformer3DModel

    if family == SD15:
        # UNet2DConditionModel's default config is SD 1.5's UNet (860 M parameters).
        return UNet2DConditionModel(sample_size=64, cross_attention_dim=768)
    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128,
                                 in_channels=16, out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960,
                                 num_layers=30, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6)


def _real_cache(family: str, config: TrainConfig) -> Cache:
    """Random latents and text embeddings of the default shapes, as the encoder would have cached them."""
    side = config.resolution // 8
    gen = torch.Generator().manual_seed(0)
    samples: Sequence[tuple[tuple[int, ...], str]]
    if family == SD15:
        samples = [((1, 4, side, side), "still")] * 24
        texts = torch.randn((2, 77, 768), generator=gen)
    else:
        frames = 1 + (config.run_frames - 1) // 4
        samples = [((1, 16, 1, side, side), "still")] * 12 + [((1, 16, frames, side, side), "clip")] * 3
        texts = torch.randn((2, 512, 4096), generator=gen)
    mean = [torch.randn(shape, generator=gen) for shape, _ in samples]
    std = [torch.full(shape, 0.05) for shape, _ in samples]
    weight = [torch.ones((1, 1, *shape[2:])) for shape, _ in samples]
    return Cache(family=family, mean=mean, std=std, weight=weight, text_index=[0] * len(samples),
                 kind=[k for _, k in samples], texts=texts, captions=["a photo of zovkel person", ""], empty_index=1)


def bench_real(family: str, device: str, steps: int, *, smoke: dict[str, int] | None = None) -> dict[str, float]:
    """``smoke`` (batch_size, resolution) shrinks the data, not the model: a CPU check of this code path."""
    from diffusers import DDPMScheduler

    source = ModelSource(family=family, base="/bench/random-weights", device=device,
                         dtype="bfloat16" if device.startswith("cuda") else "float32")
    defaults = default_config(source)
    config = defaults.replace(steps=steps, checkpoint_every=steps + 1,
                              precision=source.dtype if source.dtype == "bfloat16" else "float32",
                              fused_optimizer=device.startswith("cuda"), **(smoke or {}))
    model = _real_denoiser(family).to(device=device, dtype=source.torch_dtype)
    scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    vae_config = SimpleNamespace(scaling_factor=0.18215, latents_mean=[0.0] * 16, latents_std=[1.0] * 16)
    pipe = SimpleNamespace(unet=model if family == SD15 else None, transformer=model if family == WAN else None,
                           scheduler=scheduler, vae=SimpleNamespace(config=vae_config))
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    s_per_step = _timed_train(pipe, source, _real_cache(family, config), config, warmup=min(3, steps // 2))
    minutes = s_per_step * defaults.steps / 60
    return {"step_s": round(s_per_step, 4), "peak_gib": round(_peak_gib(device), 2),
            "default_steps": defaults.steps, "default_train_min": round(minutes, 2),
            "target_min": TARGET_MIN[family], "ratio_to_target": round(minutes / TARGET_MIN[family], 3),
            "batch_size": config.batch_size, "resolution_px": config.resolution, "rank": config.rank,
            "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--size", choices=("tiny", "real"), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--family", choices=FAMILIES, action="append")
    parser.add_argument("--steps", type=int, default=None, help="steps timed (default: tiny 12, real 20)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads on a CPU")
    parser.add_argument("--allow-cpu", action="store_true", help="let --size real run on a CPU (very slow)")
    parser.add_argument("--smoke", action="store_true",
                        help="real-size models on small data (batch 1, 128 px): checks the path, not the speed")
    args = parser.parse_args()
    if args.size == "real" and not args.device.startswith("cuda") and not args.allow_cpu:
        parser.error("--size real needs --device cuda (or --allow-cpu to wait for it on a CPU)")
    if not args.device.startswith("cuda"):
        torch.set_num_threads(args.threads)
    families = args.family or list(FAMILIES)
    # Import the pipelines before timing, so load_s measures building models, not importing diffusers.
    import diffusers.pipelines  # noqa: F401
    from diffusers import AnimateDiffPipeline, StableDiffusionPipeline, WanPipeline  # noqa: F401
    figures: dict[str, Any] = {"size": args.size, "device": args.device, "torch": torch.__version__}
    if args.device.startswith("cuda"):
        figures["gpu"] = torch.cuda.get_device_name(0)
    else:
        figures["cpu_threads"] = torch.get_num_threads()
    for family in families:
        if args.size == "tiny":
            result = bench_tiny(family, args.steps or 12)
        else:
            smoke = {"batch_size": 1, "resolution": 128} if args.smoke else None
            result = bench_real(family, args.device, args.steps or 20, smoke=smoke)
        for key, value in result.items():
            figures[f"{SHORT[family]}_{key}"] = value
        if not args.json:
            print(f"{family}: " + ", ".join(f"{k} {v}" for k, v in result.items()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
