"""LoRA training on cached latents, with atomic checkpoints and exact resume.

Steps:
1. ``encode_dataset``: every sample through the VAE and every caption through the text encoder,
   once (the VAE's mean and spread are kept, so each step still draws a fresh latent).
2. ``train_lora``: peft LoRA on the denoiser's attention projections; AdamW (fused on a GPU); bf16
   autocast on a GPU with the LoRA weights kept in float32; a loss weighted towards the person.
   Every ``checkpoint_every`` steps the LoRA weights, optimizer, LR scheduler, all RNG states,
   the step and the loss history are written to ``work_dir`` atomically (temporary file, fsync,
   rename). A run that finds a checkpoint resumes from it and, on a CPU, ends with exactly the
   adapter an uninterrupted run would have produced: every random draw comes from one
   ``torch.Generator`` whose state is in the checkpoint, and nothing else is random.
3. ``save_adapter``: the diffusers LoRA file (``save_lora_weights`` of the family's pipeline), with
   the peft config in its metadata so ``load_lora_weights`` rebuilds the same rank and alpha.

Checkpoints and the cache hold the person's likeness: they go through a ``Vault`` (the service
passes one that encrypts with the user's key), so a killed worker leaves nothing readable behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from mediakit.progress import ProgressFn, null_progress
from personalize.lora.config import TrainConfig
from personalize.lora.data import Dataset
from personalize.lora.errors import LoraError
from personalize.lora.families import ADAPTER_NAME, SD15, WAN, ModelSource, denoiser, lora_target_modules

CACHE_FILE = "cache.bin"
CHECKPOINT_FILE = "checkpoint.bin"
ADAPTER_FILE = "adapter.safetensors"
# Wan's text length at inference (WanPipeline.__call__'s default): train on what rendering will see.
WAN_MAX_SEQUENCE = 512
# Flow-matching timestep shift for training Wan (the value its authors use at 480p).
WAN_TRAIN_SHIFT = 3.0


class Vault(Protocol):
    def seal(self, data: bytes, *, name: str) -> bytes: ...

    def open(self, blob: bytes, *, name: str) -> bytes: ...


class PlainVault:
    """No encryption (benchmarks and engine tests; the platform always passes the user's key)."""

    def seal(self, data: bytes, *, name: str) -> bytes:
        return data

    def open(self, blob: bytes, *, name: str) -> bytes:
        return blob


StepFn = Callable[[int, float, float], None]  # (step, loss, seconds per step; 0 where not measured)


def _noop_step(step: int, loss: float, s_per_step: float) -> None:
    return None


@dataclass
class Cache:
    family: str
    mean: list[torch.Tensor]        # per sample: (1, C, h, w) sd15 or (1, C, f, h, w) Wan, float32, CPU
    std: list[torch.Tensor]
    weight: list[torch.Tensor]      # per sample: (1, 1, h, w) or (1, 1, f, h, w)
    text_index: list[int]
    kind: list[str]
    texts: torch.Tensor             # (captions, tokens, dim), float32, CPU
    captions: list[str]
    empty_index: int
    summary: dict[str, int] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save(self.__dict__, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Cache:
        return cls(**torch.load(io.BytesIO(data), weights_only=True))


@dataclass(frozen=True)
class TrainResult:
    steps: int
    losses: list[float]
    resumed_from: int
    seconds: float
    s_per_step: float
    lora: dict[str, torch.Tensor]
    target_modules: list[str]


# ------------------------------------------------------------------------------------------ files
def atomic_write(path: Path, data: bytes) -> None:
    """Write-then-rename, with fsyncs: a kill at any moment leaves the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read(path: Path, vault: Vault) -> bytes | None:
    if not path.exists():
        return None
    return vault.open(path.read_bytes(), name=path.name)


# ------------------------------------------------------------------------------------------ encode
def _latent_frames_weight(weight: np.ndarray, frames: int, height: int, width: int) -> torch.Tensor:
    """Per-pixel weights at latent size. Wan's VAE keeps frame 0 and packs each next 4 frames into one."""
    import cv2

    groups = [weight[:1]] + [weight[1 + 4 * i: 5 + 4 * i] for i in range((len(weight) - 1) // 4)]
    groups = groups[:frames]
    small = [cv2.resize(g.mean(axis=0), (width, height), interpolation=cv2.INTER_AREA) for g in groups]
    return torch.from_numpy(np.stack(small)).float()


@torch.no_grad()
def _encode_text(pipe: Any, family: str, captions: list[str], device: str) -> torch.Tensor:
    if family == WAN:
        embeds, _ = pipe.encode_prompt(prompt=captions, do_classifier_free_guidance=False,
                                       max_sequence_length=WAN_MAX_SEQUENCE, device=device)
    else:
        embeds, _ = pipe.encode_prompt(captions, device, 1, False)
    return embeds.float().cpu()


@torch.no_grad()
def encode_dataset(pipe: Any, source: ModelSource, dataset: Dataset, *, progress: ProgressFn = null_progress) -> Cache:
    """Every sample's latent distribution and every caption's embedding, computed once."""
    vae = pipe.vae
    device = source.device
    captions = sorted({s.caption for s in dataset.samples})
    all_captions = [*captions, ""]
    texts = _encode_text(pipe, source.family, all_captions, device)
    mean, std, weight, text_index, kind = [], [], [], [], []
    for n, sample in enumerate(dataset.samples):
        pixels = torch.from_numpy(sample.pixels).float().div(127.5).sub(1.0)          # (F, S, S, 3)
        # Wan's VAE takes (1, 3, F, S, S); SD's takes (1, 3, S, S).
        x = pixels.permute(3, 0, 1, 2).unsqueeze(0) if source.family == WAN else pixels[0].permute(2, 0, 1)[None]
        dist = vae.encode(x.to(device=device, dtype=vae.dtype)).latent_dist
        m, s = dist.mean.float().cpu(), dist.std.float().cpu()
        mean.append(m)
        std.append(s)
        if source.family == WAN:
            w = _latent_frames_weight(sample.weight, m.shape[2], m.shape[3], m.shape[4])
            weight.append(w[None, None])
        else:
            w = _latent_frames_weight(sample.weight, 1, m.shape[2], m.shape[3])
            weight.append(w[None])
        text_index.append(captions.index(sample.caption))
        kind.append(sample.kind)
        progress("encode", (n + 1) / len(dataset.samples), f"Encoding sample {n + 1} of {len(dataset.samples)}")
    return Cache(family=source.family, mean=mean, std=std, weight=weight, text_index=text_index, kind=kind,
                 texts=texts, captions=all_captions, empty_index=len(all_captions) - 1,
                 summary=dataset.summary())


# ------------------------------------------------------------------------------------------ train
@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def attach_lora(model: Any, config: TrainConfig) -> list[str]:
    """Add a fresh LoRA (deterministic from the seed) to the denoiser; only its weights train."""
    from peft import LoraConfig

    if ADAPTER_NAME in (getattr(model, "peft_config", None) or {}):
        model.delete_adapters(ADAPTER_NAME)  # left over by a run that died in this process
    targets = lora_target_modules(model)
    lora_config = LoraConfig(r=config.rank, lora_alpha=config.alpha, init_lora_weights="gaussian",
                             target_modules=targets, lora_dropout=0.0)
    with _seeded(config.seed):
        model.add_adapter(lora_config, adapter_name=ADAPTER_NAME)
    model.set_adapter(ADAPTER_NAME)
    model.requires_grad_(False)
    for name, param in model.named_parameters():
        if ".lora_A." in name or ".lora_B." in name:
            # LoRA weights stay float32 under bf16 autocast: tiny updates vanish in bf16.
            param.data = param.data.float()
            param.requires_grad_(True)
    return targets


def lora_parameters(model: Any) -> list[tuple[str, torch.nn.Parameter]]:
    return sorted((n, p) for n, p in model.named_parameters() if p.requires_grad)


def detach_lora(model: Any) -> None:
    """Remove the training LoRA so a cached model serves the next job as loaded."""
    model.requires_grad_(False)
    model.eval()
    if ADAPTER_NAME in (getattr(model, "peft_config", None) or {}):
        model.delete_adapters(ADAPTER_NAME)


def _rng_states(generator: torch.Generator) -> dict[str, Any]:
    states: dict[str, Any] = {"generator": generator.get_state(), "torch": torch.get_rng_state(),
                              "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _restore_rng(states: dict[str, Any], generator: torch.Generator) -> None:
    generator.set_state(states["generator"])
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def fingerprint(cache: Cache, config: TrainConfig, source: ModelSource) -> str:
    """What a checkpoint must match to be resumed: the data, the settings and the model."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"config": config.to_json(), "family": source.family, "base": source.base},
                             sort_keys=True).encode())
    for tensor in (*cache.mean, *cache.weight, cache.texts):
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def _batch(cache: Cache, config: TrainConfig, generator: torch.Generator, scaling: float,
           wan_stats: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Latents, weights and text embeddings of one batch: all draws from ``generator``, in a fixed order."""
    clips = [i for i, k in enumerate(cache.kind) if k == "clip"]
    stills = [i for i, k in enumerate(cache.kind) if k == "still"]
    use_clips = bool(clips) and float(torch.rand((), generator=generator)) < config.run_share
    pool = clips if use_clips else stills
    # Clips of different lengths do not stack: a clip batch is one clip.
    size = 1 if use_clips else config.batch_size
    picks = [pool[int(i)] for i in torch.randint(len(pool), (size,), generator=generator)]
    drop = torch.rand((size,), generator=generator) < config.caption_dropout
    latents = []
    for i in picks:
        eps = torch.randn(cache.mean[i].shape, generator=generator)
        latents.append(cache.mean[i] + cache.std[i] * eps)
    x0 = torch.cat(latents)
    x0 = (x0 - wan_stats[0]) / wan_stats[1] if wan_stats is not None else x0 * scaling
    weight = torch.cat([cache.weight[i] for i in picks])
    text = torch.stack([cache.texts[cache.empty_index if d else cache.text_index[i]]
                        for i, d in zip(picks, drop.tolist(), strict=True)])
    return x0, weight, text


def _wan_stats(vae: Any) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
    return mean, std


def _weighted_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    dims = tuple(range(1, pred.ndim))
    err = (pred.float() - target.float()) ** 2 * weight
    return (err.sum(dim=dims) / (weight.expand_as(err).sum(dim=dims) + 1e-8)).mean()


def _step_loss(pipe: Any, source: ModelSource, model: Any, noise_scheduler: Any, x0: torch.Tensor,
               weight: torch.Tensor, text: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    device = source.device
    noise = torch.randn(x0.shape, generator=generator)
    dtype = source.torch_dtype
    if source.family == WAN:
        # Flow matching: x_t = (1 - s) x0 + s noise, the model predicts noise - x0. Sigmas from a
        # logit-normal, shifted towards noise as at inference.
        u = torch.sigmoid(torch.randn((x0.shape[0],), generator=generator))
        sigma = WAN_TRAIN_SHIFT * u / (1 + (WAN_TRAIN_SHIFT - 1) * u)
        s = sigma.view(-1, 1, 1, 1, 1)
        noisy = (1 - s) * x0 + s * noise
        target = noise - x0
        pred = model(hidden_states=noisy.to(device, dtype), timestep=(sigma * 1000).to(device),
                     encoder_hidden_states=text.to(device, dtype), return_dict=False)[0]
    else:
        steps = noise_scheduler.config.num_train_timesteps
        t = torch.randint(0, steps, (x0.shape[0],), generator=generator)
        noisy = noise_scheduler.add_noise(x0, noise, t)
        if noise_scheduler.config.prediction_type == "v_prediction":
            target = noise_scheduler.get_velocity(x0, noise, t)
        else:
            target = noise
        pred = model(noisy.to(device, dtype), t.to(device), encoder_hidden_states=text.to(device, dtype),
                     return_dict=False)[0]
    return _weighted_mse(pred, target.to(device), weight.to(device))


def train_lora(
    pipe: Any,
    source: ModelSource,
    cache: Cache,
    config: TrainConfig,
    *,
    work_dir: Path,
    vault: Vault | None = None,
    progress: ProgressFn = null_progress,
    on_step: StepFn = _noop_step,
) -> TrainResult:
    """Train (or resume) and return the LoRA weights. ``progress`` may raise to cancel; it propagates."""
    from diffusers import DDPMScheduler

    vault = vault or PlainVault()
    work_dir.mkdir(parents=True, exist_ok=True)
    model = denoiser(pipe)
    targets = attach_lora(model, config)
    try:
        params = lora_parameters(model)
        cuda = source.device.startswith("cuda")
        optimizer = torch.optim.AdamW([p for _, p in params], lr=config.learning_rate, betas=(0.9, 0.999),
                                      weight_decay=1e-2, eps=1e-8, fused=bool(config.fused_optimizer and cuda))
        warmup = max(0, config.warmup_steps)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / (warmup + 1)))
        generator = torch.Generator().manual_seed(config.seed)
        noise_scheduler = None if source.family == WAN else DDPMScheduler.from_config(pipe.scheduler.config)
        scaling = float(getattr(pipe.vae.config, "scaling_factor", 1.0) or 1.0)
        wan_stats = _wan_stats(pipe.vae) if source.family == WAN else None
        key = fingerprint(cache, config, source)
        losses: list[float] = []
        start = 0
        raw = _read(work_dir / CHECKPOINT_FILE, vault)
        if raw is not None:
            # Not weights_only: the RNG states are numpy/python objects. The file is our own, and the
            # platform's vault authenticates it (AES-GCM) before it gets here.
            state = torch.load(io.BytesIO(raw), weights_only=False)
            if state["fingerprint"] == key:
                with torch.no_grad():
                    for name, param in params:
                        param.copy_(state["lora"][name])
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
                _restore_rng(state["rng"], generator)
                losses = list(state["losses"])
                start = int(state["step"])
        # The checkpoint's own losses are the record up to it: a worker killed after the checkpoint
        # but before its loss curve was written would otherwise leave those steps out of the curve.
        for done, value in enumerate(losses[:start], start=1):
            on_step(done, value, 0.0)
        resumed_from = start
        model.train()
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda and config.precision == "bfloat16" \
            else nullcontext()
        began = time.monotonic()
        s_per_step = 0.0
        for step in range(start + 1, config.steps + 1):
            x0, weight, text = _batch(cache, config, generator, scaling, wan_stats)
            with autocast:
                loss = _step_loss(pipe, source, model, noise_scheduler, x0, weight, text, generator)
            if not torch.isfinite(loss):
                raise LoraError(f"Training diverged at step {step} (the loss is not a number).", code="training_diverged")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in params], config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            s_per_step = (time.monotonic() - began) / (step - start)
            if step % config.checkpoint_every == 0 and step < config.steps:
                _checkpoint(work_dir, vault, step=step, params=params, optimizer=optimizer, scheduler=scheduler,
                            generator=generator, losses=losses, key=key)
            on_step(step, losses[-1], s_per_step)
            left = (config.steps - step) * s_per_step
            progress("train", step / config.steps,
                     f"Step {step} of {config.steps} · loss {losses[-1]:.4f} · about {left:.0f} s left")
        from peft.utils import get_peft_model_state_dict

        peft_state = {k: v.detach().float().cpu().clone()
                      for k, v in get_peft_model_state_dict(model, adapter_name=ADAPTER_NAME).items()}
        return TrainResult(steps=config.steps, losses=losses, resumed_from=resumed_from,
                           seconds=time.monotonic() - began, s_per_step=s_per_step, lora=peft_state,
                           target_modules=targets)
    finally:
        detach_lora(model)
        if source.device.startswith("cuda"):
            # The optimizer's moments and the activations go back to the pool: a gpu worker renders next.
            torch.cuda.empty_cache()


def _checkpoint(work_dir: Path, vault: Vault, *, step: int, params: list[tuple[str, torch.nn.Parameter]],
                optimizer: torch.optim.Optimizer, scheduler: Any, generator: torch.Generator,
                losses: list[float], key: str) -> None:
    state = {"step": step, "lora": {n: p.detach().cpu().clone() for n, p in params},
             "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "rng": _rng_states(generator), "losses": list(losses), "fingerprint": key}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write(work_dir / CHECKPOINT_FILE, vault.seal(buffer.getvalue(), name=CHECKPOINT_FILE))


def load_or_encode_cache(work_dir: Path, vault: Vault, build: Callable[[], Cache]) -> Cache:
    """The encoded dataset of this job: from ``work_dir`` after a restart, else built and saved once."""
    work_dir.mkdir(parents=True, exist_ok=True)
    raw = _read(work_dir / CACHE_FILE, vault)
    if raw is not None:
        return Cache.from_bytes(raw)
    cache = build()
    atomic_write(work_dir / CACHE_FILE, vault.seal(cache.to_bytes(), name=CACHE_FILE))
    return cache


# ------------------------------------------------------------------------------------------ save
def lora_metadata(config: TrainConfig, targets: list[str]) -> dict[str, Any]:
    """The peft config stored in the file, so a loader rebuilds rank, alpha and targets exactly."""
    from peft import LoraConfig

    meta: dict[str, Any] = LoraConfig(r=config.rank, lora_alpha=config.alpha, target_modules=targets,
                                      lora_dropout=0.0, init_lora_weights="gaussian").to_dict()
    return meta


def save_adapter(source: ModelSource, result: TrainResult, config: TrainConfig, out_dir: Path) -> Path:
    """Write the diffusers LoRA file for the family's pipeline; returns its path."""
    from diffusers import StableDiffusionPipeline, WanPipeline

    out_dir.mkdir(parents=True, exist_ok=True)
    meta = lora_metadata(config, result.target_modules)
    if source.family == SD15:
        StableDiffusionPipeline.save_lora_weights(out_dir, unet_lora_layers=result.lora, weight_name=ADAPTER_FILE,
                                                  unet_lora_adapter_metadata=meta)
    else:
        WanPipeline.save_lora_weights(out_dir, transformer_lora_layers=result.lora, weight_name=ADAPTER_FILE,
                                      transformer_lora_adapter_metadata=meta)
    path = out_dir / ADAPTER_FILE
    canonical_safetensors(path)
    return path


def canonical_safetensors(path: Path) -> None:
    """Rewrite a safetensors header in a fixed order, so equal weights always give equal bytes.

    safetensors writes its ``__metadata__`` map in an order that changes from process to process
    (a Rust hash map), which would make a resumed run's file differ from an uninterrupted one's in
    a few header bytes. Only the header is rewritten; the tensor bytes are untouched.
    """
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    ordered: dict[str, Any] = {}
    if "__metadata__" in header:
        ordered["__metadata__"] = dict(sorted(header.pop("__metadata__").items()))
    ordered.update(sorted(header.items(), key=lambda item: (item[1]["data_offsets"][0], item[0])))
    text = json.dumps(ordered, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # tensor data stays 8-byte aligned
    atomic_write(path, len(text).to_bytes(8, "little") + text + raw[8 + size:])
