"""Training settings: per family and per device, and what a real model would cost on a CPU."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from personalize.lora.errors import LoraError
from personalize.lora.families import SD15, WAN, ModelSource


@dataclass(frozen=True)
class TrainConfig:
    rank: int
    alpha: int
    learning_rate: float
    steps: int
    batch_size: int
    resolution: int            # square face-centred crops, pixels
    precision: str             # "float32" or "bfloat16" (autocast on a GPU; base weights in this dtype)
    run_frames: int            # frames per training clip (Wan: 4k+1); 0 = stills only
    run_share: float           # share of steps that train on clips rather than stills
    checkpoint_every: int
    caption_dropout: float = 0.1
    background_weight: float = 0.2   # loss weight of pixels outside the person
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    fused_optimizer: bool = False
    validation_steps: int = 25       # denoising steps of each validation render
    validation_stills: int = 3
    validation_frames: int = 0       # frames of the validation clip (0: no clip)
    flip: bool = True                # mirrored copies of each still
    jitter: int = 1                  # extra randomly shifted/scaled/brightened copies of each still
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise LoraError(f"Unknown training settings: {', '.join(sorted(unknown))}.", code="config_invalid")
        out = dataclasses.replace(self, **changes)
        out.validate()
        return out

    def validate(self) -> None:
        problems = []
        if not 1 <= self.rank <= 256:
            problems.append("rank must be between 1 and 256")
        if not 0 < self.learning_rate < 1:
            problems.append("learning rate must be between 0 and 1")
        if not 1 <= self.steps <= 20_000:
            problems.append("steps must be between 1 and 20000")
        if not 1 <= self.batch_size <= 64:
            problems.append("batch size must be between 1 and 64")
        if self.resolution % 16 or not 16 <= self.resolution <= 1024:
            problems.append("resolution must be a multiple of 16 between 16 and 1024")
        if self.run_frames and (self.run_frames - 1) % 4:
            problems.append("clip frames must be 4k+1 (Wan's VAE packs 4 frames per latent after the first)")
        if self.checkpoint_every < 1:
            problems.append("checkpoint interval must be at least 1 step")
        if self.precision not in ("float32", "bfloat16"):
            problems.append("precision must be float32 or bfloat16")
        if problems:
            raise LoraError("Invalid training settings: " + "; ".join(problems) + ".", code="config_invalid")


# GPU defaults, sized for the target of a default training ready within ~2 min (sd15) and
# ~4 min (Wan) of one H100/H200: measured there at 0.22 s a step (SD1.5 UNet LoRA r16, batch 4) and
# 0.32-0.35 s a step (Wan 1.3B LoRA r32, one 480 px frame or 17 frames), bf16, without compile.
_GPU = {
    SD15: TrainConfig(rank=16, alpha=16, learning_rate=1e-4, steps=400, batch_size=4, resolution=512,
                      precision="bfloat16", run_frames=0, run_share=0.0, checkpoint_every=100,
                      fused_optimizer=True, validation_steps=25, validation_stills=4, validation_frames=16),
    WAN: TrainConfig(rank=32, alpha=32, learning_rate=1e-4, steps=500, batch_size=1, resolution=480,
                     precision="bfloat16", run_frames=17, run_share=0.5, checkpoint_every=100,
                     fused_optimizer=True, validation_steps=30, validation_stills=3, validation_frames=33),
}
# Tiny models on a CPU: seconds, for tests, CI and the demo.
_TINY = {
    SD15: TrainConfig(rank=4, alpha=4, learning_rate=1e-3, steps=12, batch_size=2, resolution=32,
                      precision="float32", run_frames=0, run_share=0.0, checkpoint_every=4,
                      validation_steps=2, validation_stills=2, validation_frames=4, jitter=0),
    WAN: TrainConfig(rank=4, alpha=4, learning_rate=1e-3, steps=12, batch_size=1, resolution=32,
                     precision="float32", run_frames=5, run_share=0.5, checkpoint_every=4,
                     validation_steps=2, validation_stills=2, validation_frames=5, jitter=0),
}
# Seconds a default step takes at real size on this project's 2-core CPU: SD1.5 measured (~8 s at
# batch 1, DEPENDENCIES.md); Wan 1.3B scaled from it by its ~1.6x parameters and longer token sequence.
_CPU_S_PER_SAMPLE = {SD15: 8.0, WAN: 25.0}


def default_config(source: ModelSource) -> TrainConfig:
    if source.is_tiny:
        return _TINY[source.family]
    return _GPU[source.family]


def cpu_estimate_s(source: ModelSource, config: TrainConfig) -> float:
    """Roughly how long a real-size training would take on a CPU (what the refusal tells people)."""
    per_sample = _CPU_S_PER_SAMPLE[source.family]
    return config.steps * per_sample * max(1, config.batch_size) * (config.resolution / 512) ** 2


def check_device(source: ModelSource, config: TrainConfig) -> None:
    """Real models train only on a GPU; on a CPU they are refused with an estimate instead."""
    if source.is_tiny or source.device.startswith("cuda"):
        return
    hours = cpu_estimate_s(source, config) / 3600
    raise LoraError(
        f"Training {source.family} at real size on a CPU is refused: it would take roughly {hours:.0f} hours "
        f"({config.steps} steps). Run it on a GPU worker (the gpu queue), where it takes minutes.",
        code="cpu_training_refused", http_status=409)
