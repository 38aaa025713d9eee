"""What the diffusion renderers (keyframes, animatediff, wan) share: models, adapters, seeds, frames.

- Models load once per worker process: a renderer takes a ``ModelCache`` (the job passes
  ``ctx.models``; anything with ``get(key, loader)``), or uses this module's process-wide one, or is
  handed an already-loaded pipeline.
- The person's LoRA goes into the shared pipeline for one render and out again afterwards
  (``AdapterSlot``), so the next job on the worker gets the base model untouched.
- With ``RenderEnv.compile`` ("on"; off by default) the denoiser is compiled once per process with
  LoRA hot-swap: each render's adapter replaces the last one's weights in place, so no adapter
  recompiles it. Measured on an H200 (bench/results/gpu_h200_*.json): SD 1.5's UNet alone at
  512 px, batch 2: 0.053 s a step eager, 0.038 s compiled (1.40x), 80 s to compile, 0.10 s a
  hot-swap, one graph for any number of adapters. But the keyframes renderer's own steps gain only
  1.03-1.14x (guided 0.0271 -> 0.0262-0.0237 s: at its size the GPU waits on launches, not maths),
  which moves its projected 3-minute video from 3.35 to 3.29 GPU minutes for 150 s of compiling at
  every worker start; the AnimateDiff and Wan paths were not measured compiled. Hence off by default.

No Django here.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from musicvideo.render.base import Person, RenderEnv, RenderError, RenderSettings, SceneSpec

SD15 = "sd15-animatediff"
WAN = "wan2.1-1.3b"
# RenderEnv.weights key of the AnimateDiff motion adapter (a local folder), beside the SD 1.5 base.
SD15_MOTION = "sd15-animatediff-motion"
NEGATIVE_PROMPT = "blurry, lowres, deformed, disfigured, extra limbs, watermark, text"


class ModelCache(Protocol):
    def get(self, key: str, loader: Callable[[], Any]) -> Any: ...


class ProcessModels:
    """A per-process cache: ``loader()`` runs once per key in this process."""

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}

    def get(self, key: str, loader: Callable[[], Any]) -> Any:
        if key not in self._models:
            self._models[key] = loader()
        return self._models[key]


PROCESS_MODELS = ProcessModels()


def model_source(env: RenderEnv, family: str) -> Any:
    """The ``personalize.lora.families.ModelSource`` for this worker's weights of ``family``."""
    from personalize.lora.families import ModelSource

    base = env.weights.get(family) or ""
    if not base:
        raise RenderError(f"No base weights are configured for {family} on this worker.", code="renderer_unavailable")
    dtype = "bfloat16" if env.device.startswith("cuda") else "float32"
    motion = env.weights.get(SD15_MOTION) if family == SD15 else None
    return ModelSource(family=family, base=base, motion_adapter=motion or None, device=env.device, dtype=dtype)


# Hot-swapped LoRAs are padded to this rank (the trainer's defaults are 16 and 32); the padding
# costs compute, so it is no larger than the adapters need.
HOTSWAP_MAX_RANK = 64


def compile_wanted(env: RenderEnv) -> bool:
    """"auto" compiles on a GPU only (on a CPU the compile takes minutes and gains nothing measured)."""
    return env.compile == "on" or (env.compile == "auto" and env.device.startswith("cuda"))


def prepare_hotswap(pipe: Any, *, backend: str) -> Any:
    """Make a freshly loaded pipeline ready for compiled renders with hot-swapped adapters.

    ``enable_lora_hotswap`` must come before the first adapter is loaded; the compile itself waits
    for the first adapter (``AdapterSlot``), since hot-swap replaces an adapter that is there.
    """
    pipe.enable_lora_hotswap(target_rank=HOTSWAP_MAX_RANK)
    pipe._encore_compile = {"backend": backend, "compiled": False}
    return pipe


def load_cached(models: ModelCache | None, env: RenderEnv, family: str, kind: str) -> Any:
    """The family's pipeline for ``kind`` ("image" | "video"), loaded once per process."""
    from personalize.lora.families import load_pipeline

    source = model_source(env, family)
    compiled = compile_wanted(env)
    key = (f"render:{family}:{kind}:{source.base}:{source.motion_adapter}:{source.device}:{source.dtype}"
           f":{env.compile_backend if compiled else 'eager'}")

    def load() -> Any:
        pipe = load_pipeline(source, kind=kind)  # type: ignore[arg-type]
        return prepare_hotswap(pipe, backend=env.compile_backend) if compiled else pipe

    return (models or PROCESS_MODELS).get(key, load)


def _adapter_rank(path: Path) -> int:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        # A safetensors handle is not iterable: keys() is its API.
        return max((f.get_slice(k).get_shape()[0] for k in f.keys() if "lora_A" in k), default=0)  # noqa: SIM118


class AdapterSlot:
    """Puts the person's LoRA into a shared pipeline for one render and takes it out afterwards."""

    def __init__(self, pipe: Any, person: Person, *, family: str) -> None:
        self.pipe = pipe
        self.path: Path | None = person.adapter_path
        if self.path is not None and person.family not in (None, family):
            raise RenderError(f"The adapter was trained for {person.family}; this renderer needs {family}.",
                              code="renderer_unavailable")

    def __enter__(self) -> AdapterSlot:
        if self.path is None:
            return self
        from personalize.lora.families import apply_adapter

        state = getattr(self.pipe, "_encore_compile", None)
        if state is None:
            apply_adapter(self.pipe, self.path)
            return self
        if _adapter_rank(self.path) > HOTSWAP_MAX_RANK:
            raise RenderError(f"The adapter's rank is above {HOTSWAP_MAX_RANK}, which compiled renders take.",
                              code="adapter_incompatible")
        if not state["compiled"]:
            apply_adapter(self.pipe, self.path)
            from personalize.lora.families import denoiser

            # In place (nn.Module.compile), so the pipeline keeps calling the same module.
            denoiser(self.pipe).compile(backend=state["backend"])
            state["compiled"] = True
        else:
            from personalize.lora.errors import LoraError
            from personalize.lora.families import ADAPTER_NAME

            try:
                self.pipe.load_lora_weights(str(self.path), adapter_name=ADAPTER_NAME, hotswap=True)
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                raise LoraError("The adapter file does not fit this model family.",
                                code="adapter_incompatible") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        if self.path is None:
            return
        if getattr(self.pipe, "_encore_compile", None) is None:
            from personalize.lora.families import remove_adapter

            remove_adapter(self.pipe)
            return
        # Compiled: the adapter stays in its place for the next hot-swap, but its weights are
        # zeroed in place now, so the person's weights do not outlive their render in this
        # process (withdrawal erases them) and the graph stays valid (same tensors).
        import torch

        from personalize.lora.families import denoiser

        with torch.no_grad():
            for name, param in denoiser(self.pipe).named_parameters():
                if "lora_" in name:
                    param.zero_()


def seed_for(settings: RenderSettings, scene: SceneSpec, purpose: str) -> int:
    """A stable 63-bit seed from the render seed, the scene and what the numbers are for."""
    digest = hashlib.sha256(f"{settings.seed}:{scene.index}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def cpu_generator(seed: int) -> Any:
    import torch

    return torch.Generator(device="cpu").manual_seed(seed)


def noise(shape: Sequence[int], seed: int, *, device: str, dtype: Any) -> Any:
    """Gaussian noise drawn on the CPU (the same numbers on every device), moved to ``device``."""
    import torch

    return torch.randn(tuple(shape), generator=cpu_generator(seed), dtype=torch.float32).to(device=device, dtype=dtype)


def slerp(a: Any, b: Any, t: float) -> Any:
    """Spherical interpolation of two tensors (keeps a Gaussian latent's norm; lerp would shrink it)."""
    import torch

    fa, fb = a.float().flatten(), b.float().flatten()
    cos = torch.clamp(torch.dot(fa, fb) / (fa.norm() * fb.norm() + 1e-12), -1.0, 1.0)
    omega = float(torch.arccos(cos))
    if omega < 1e-4:
        mixed = (1 - t) * a.float() + t * b.float()
    else:
        mixed = (math.sin((1 - t) * omega) * a.float() + math.sin(t * omega) * b.float()) / math.sin(omega)
    return mixed.to(a.dtype)


def fit_frame(image: np.ndarray, settings: RenderSettings) -> np.ndarray:
    """An RGB picture (float 0..1 or uint8) -> uint8 at the render size, scaled to cover and centre-cropped."""
    import cv2

    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    h, w = image.shape[:2]
    scale = max(settings.width / w, settings.height / h)
    new_w, new_h = max(settings.width, int(round(w * scale))), max(settings.height, int(round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    x0, y0 = (new_w - settings.width) // 2, (new_h - settings.height) // 2
    return np.ascontiguousarray(resized[y0:y0 + settings.height, x0:x0 + settings.width])


def retime(frames: Sequence[np.ndarray], n_out: int) -> Iterator[np.ndarray]:
    """Stretch or squeeze a clip to exactly ``n_out`` frames; in-between frames are blended."""
    if n_out <= 0:
        return
    if not frames:
        raise RenderError("The model returned no frames.", code="render_failed")
    last = len(frames) - 1
    for k in range(n_out):
        position = k * last / (n_out - 1) if n_out > 1 else 0.0
        i = int(math.floor(position))
        t = position - i
        if t < 1e-6 or i >= last:
            yield frames[min(i, last)]
        else:
            mixed = (1 - t) * frames[i].astype(np.float32) + t * frames[i + 1].astype(np.float32)
            yield (mixed + 0.5).astype(np.uint8)


def beat_frames(scene: SceneSpec, fps: int, n_frames: int) -> list[int]:
    """Frame indices (within the scene) of the scene's beats, in order, without duplicates."""
    out: list[int] = []
    for beat in scene.beats_s:
        k = int(round((beat - scene.start_s) * fps))
        if 0 <= k < n_frames and (not out or k > out[-1]):
            out.append(k)
    return out


def segments_on_beats(scene: SceneSpec, fps: int, n_frames: int, max_frames: int) -> list[tuple[int, int]]:
    """Split a scene into (first frame, count) pieces of at most ``max_frames``, cutting on beats.

    Each piece becomes one generated clip: a cut inside a scene lands on one of its beats, and when
    a stretch between beats is longer than a clip, it is split evenly.
    """
    stops = [b for b in beat_frames(scene, fps, n_frames) if b > 0] + [n_frames]
    pieces: list[tuple[int, int]] = []
    start = 0
    while start < n_frames:
        reachable = [b for b in stops if start < b <= start + max_frames]
        if reachable:
            end = reachable[-1]                    # the furthest beat one clip reaches
        else:
            following = next(b for b in stops if b > start)
            parts = math.ceil((following - start) / max_frames)
            end = start + math.ceil((following - start) / parts)   # no beat in reach: split evenly
        pieces.append((start, end - start))
        start = end
    return pieces


def tensor_frames(video: Any) -> list[np.ndarray]:
    """A pipeline's ``output_type="np"`` video (frames, H, W, 3) floats -> list of uint8 RGB frames."""
    array = np.asarray(video)
    if array.ndim == 5:
        array = array[0]
    return [(np.clip(f, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8) for f in array]
