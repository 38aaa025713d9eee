"""Random LoRA adapters for the tiny models, saved exactly as training saves them (diffusers LoRA files).

A trained adapter changes a renderer's output because its B matrices are not zero; a random one
with non-zero B does the same in a second, which is what the renderer tests need.
"""

from __future__ import annotations

from pathlib import Path

import torch


def random_adapter(family: str, out_dir: Path, *, seed: int = 0, rank: int = 4, std: float = 0.3) -> Path:
    """Write ``out_dir/adapter.safetensors``: a rank-``rank`` LoRA on the tiny model's attention projections."""
    from diffusers import StableDiffusionPipeline, WanPipeline
    from peft import LoraConfig, get_peft_model_state_dict

    from personalize.lora.families import SD15, ModelSource, denoiser, load_pipeline, lora_target_modules

    pipe = load_pipeline(ModelSource(family=family, base="tiny"), kind="image")
    model = denoiser(pipe)
    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=lora_target_modules(model), lora_dropout=0.0,
                        init_lora_weights="gaussian")
    model.add_adapter(config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * std)
    state = get_peft_model_state_dict(model)
    out_dir.mkdir(parents=True, exist_ok=True)
    if family == SD15:
        StableDiffusionPipeline.save_lora_weights(out_dir, unet_lora_layers=state, weight_name="adapter.safetensors",
                                                  unet_lora_adapter_metadata=config.to_dict())
    else:
        WanPipeline.save_lora_weights(out_dir, transformer_lora_layers=state, weight_name="adapter.safetensors",
                                      transformer_lora_adapter_metadata=config.to_dict())
    return out_dir / "adapter.safetensors"
