"""Compiled renders with LoRA hot-swap: is ``torch.compile`` worth it when every job brings its own adapter?

    .venv/bin/python bench/lora_hotswap.py [--json]                          # tiny SD 1.5 UNet, CPU
    .venv/bin/python bench/lora_hotswap.py --size real --device cuda --json  # SD 1.5's UNet, GPU

A render worker keeps one pipeline per process and loads the fan's adapter for each job
(``personalize.lora.families.apply_adapter``; ``remove_adapter`` after). Compiling the denoiser
pays only if a new adapter does not trigger a recompile: diffusers' ``enable_lora_hotswap`` pads
the LoRA weights to a fixed rank and turns the scales into tensors, and ``load_lora_weights(...,
hotswap=True)`` then replaces the weights in place. This bench measures, on the denoiser of one
guided step (batch 2, 512 px latents for real size):

- eager: seconds a step with adapter A in, and seconds to swap to adapter B the way the worker
  does today (delete, load, set);
- compiled: seconds of the first call (the compile), seconds a step after it, seconds to hot-swap
  to B, the first call after the swap (a recompile would show here) and the number of graphs
  dynamo compiled in all;
- correctness: the largest difference between compiled-with-B and eager-with-B outputs, relative
  to the output's scale, and the difference A vs B (a swap that changes nothing would be a bug).

The break-even count of steps (compile seconds / seconds saved a step) says how many steps of a
worker's life the compile needs to pay for itself. On a CPU the tiny model only checks the code
path; its seconds mean nothing for a GPU. With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

ADAPTER = "zovkel"


def _pipeline(size: str, device: str) -> Any:
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel

    from personalize.lora import tiny

    parts = tiny.sd15_components()
    if size == "real":
        # UNet2DConditionModel's default config is SD 1.5's UNet; only the denoiser is timed, so the
        # tiny text encoder and VAE stay.
        with torch.device(device):
            parts["unet"] = UNet2DConditionModel(sample_size=64, cross_attention_dim=parts["text_encoder"].config.hidden_size)
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    pipe: Any = StableDiffusionPipeline(**parts, safety_checker=None, feature_extractor=None,
                                        requires_safety_checker=False)
    return pipe.to(device=device, dtype=dtype)


def _write_adapter(pipe: Any, out_dir: Path, *, seed: int, rank: int) -> Path:
    """A random rank-``rank`` LoRA on the UNet's attention projections, saved as training saves it."""
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig, get_peft_model_state_dict

    from personalize.lora.families import lora_target_modules

    unet = pipe.unet
    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=lora_target_modules(unet), lora_dropout=0.0,
                        init_lora_weights="gaussian")
    unet.add_adapter(config, adapter_name="writer")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in unet.named_parameters():
            if "lora_" in name:
                param.copy_((torch.randn(param.shape, generator=generator) * 0.02).to(param))
    state = get_peft_model_state_dict(unet, adapter_name="writer")
    unet.delete_adapters(["writer"])
    StableDiffusionPipeline.save_lora_weights(out_dir, unet_lora_layers=state, weight_name="adapter.safetensors",
                                              unet_lora_adapter_metadata=config.to_dict())
    return out_dir / "adapter.safetensors"


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(fn: Callable[[], Any], device: str) -> tuple[float, Any]:
    _sync(device)
    t0 = time.perf_counter()
    out = fn()
    _sync(device)
    return time.perf_counter() - t0, out


def measure(size: str, device: str, steps: int, rank: int) -> dict[str, Any]:
    import torch._dynamo

    pipe = _pipeline(size, device)
    unet = pipe.unet
    dtype = unet.dtype
    side = unet.config.sample_size
    gen = torch.Generator().manual_seed(1)
    latents = torch.randn((2, 4, side, side), generator=gen).to(device=device, dtype=dtype)
    text = torch.randn((2, 77, unet.config.cross_attention_dim), generator=gen).to(device=device, dtype=dtype)
    timestep = torch.tensor([500], device=device)

    with tempfile.TemporaryDirectory() as work:
        path_a = _write_adapter(pipe, Path(work) / "a", seed=1, rank=rank)
        path_b = _write_adapter(pipe, Path(work) / "b", seed=2, rank=rank)

        def step(model: Any) -> torch.Tensor:
            with torch.inference_mode():
                return model(latents, timestep, encoder_hidden_states=text).sample.float()

        def steady(model: Any) -> float:
            step(model)
            total, _ = _timed(lambda: [step(model) for _ in range(steps)], device)
            return total / steps

        # Eager, as the worker does it today.
        pipe.load_lora_weights(str(path_a), adapter_name=ADAPTER)
        pipe.set_adapters([ADAPTER], adapter_weights=[1.0])
        eager_step = steady(pipe.unet)
        out_a = step(pipe.unet)

        def swap_eager() -> None:
            pipe.delete_adapters([ADAPTER])
            pipe.load_lora_weights(str(path_b), adapter_name=ADAPTER)
            pipe.set_adapters([ADAPTER], adapter_weights=[1.0])

        swap_eager_s, _ = _timed(swap_eager, device)
        out_b = step(pipe.unet)
        pipe.delete_adapters([ADAPTER])

        # Compiled, with hot-swap.
        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
        pipe.enable_lora_hotswap(target_rank=rank)
        pipe.load_lora_weights(str(path_a), adapter_name=ADAPTER)
        compiled = torch.compile(pipe.unet)
        compile_s, _ = _timed(lambda: step(compiled), device)
        compiled_step = steady(compiled)
        swap_hot_s, _ = _timed(lambda: pipe.load_lora_weights(str(path_b), adapter_name=ADAPTER, hotswap=True),
                               device)
        after_swap_s, out_b_compiled = _timed(lambda: step(compiled), device)
        graphs = int(torch._dynamo.utils.counters["stats"]["unique_graphs"])

    scale = float(out_b.abs().mean())
    saved = eager_step - compiled_step
    return {
        "size": size, "device": device, "torch": torch.__version__, "rank": rank, "steps_timed": steps,
        "eager_step_s": round(eager_step, 4), "eager_swap_s": round(swap_eager_s, 4),
        "compile_first_call_s": round(compile_s, 2), "compiled_step_s": round(compiled_step, 4),
        "compiled_speedup_x": round(eager_step / compiled_step, 3) if compiled_step > 0 else None,
        "hotswap_s": round(swap_hot_s, 4), "first_call_after_hotswap_s": round(after_swap_s, 4),
        "after_swap_to_steady_ratio": round(after_swap_s / compiled_step, 2) if compiled_step > 0 else None,
        "dynamo_unique_graphs": graphs,
        "compiled_vs_eager_b_rel_diff": round(float((out_b_compiled - out_b).abs().max()) / scale, 5),
        "adapter_a_vs_b_rel_diff": round(float((out_a - out_b).abs().max()) / scale, 5),
        "break_even_steps": round(compile_s / saved) if saved > 0 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=("tiny", "real"), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=None, help="steps timed (default: tiny 5, real 20)")
    parser.add_argument("--rank", type=int, default=16, help="the platform's SD 1.5 default rank")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.size == "real" and not args.device.startswith("cuda"):
        parser.error("--size real needs --device cuda")
    figures = measure(args.size, args.device, args.steps or (20 if args.size == "real" else 5), args.rank)
    if args.device.startswith("cuda"):
        figures["gpu"] = torch.cuda.get_device_name(0)
    if not args.json:
        for key, value in figures.items():
            print(f"{key}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
