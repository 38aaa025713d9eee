"""The two model families an adapter can belong to, and how their pipelines are loaded.

- ``sd15-animatediff``: a Stable Diffusion 1.5-family base; stills with ``StableDiffusionPipeline``
  (or ``StableDiffusionImg2ImgPipeline(**pipe.components)``), clips with ``AnimateDiffPipeline`` and
  a motion adapter. The LoRA sits on the UNet's attention projections and loads into both.
- ``wan2.1-1.3b``: Wan 2.1 T2V 1.3B with ``WanPipeline``; a still is a one-frame video. The LoRA
  sits on the transformer's attention projections.

Real weights load with ``from_pretrained(..., local_files_only=True)`` from a local folder or the
local Hugging Face cache: nothing downloads at run time, and missing weights are a clear
``LoraError`` (code ``weights_missing``). ``base="tiny"`` builds random-weight tiny models in code
(see ``tiny.py``) for tests, CI, the demo and benchmarks.

Renderers use it like this::

    source = ModelSource(family="wan2.1-1.3b", base="/models/Wan2.1-T2V-1.3B-Diffusers",
                         device="cuda", dtype="bfloat16")
    pipe = load_pipeline(source, kind="video")
    apply_adapter(pipe, adapter_path, scale=1.0)      # diffusers LoRA safetensors
    frames = pipe(prompt=f"{trigger} person dancing", num_frames=33, height=480, width=480).frames[0]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from personalize.lora.errors import LoraError

if TYPE_CHECKING:
    import torch

# A diffusers DiffusionPipeline. diffusers ships no type information, so its attributes (unet,
# transformer, save_pretrained...) are unknown to mypy; Any keeps callers free of ignores.
Pipeline = Any

SD15 = "sd15-animatediff"
WAN = "wan2.1-1.3b"
FAMILIES = (SD15, WAN)
TINY = "tiny"
DTYPES = ("float32", "bfloat16", "float16")
# Attention projections the LoRA is trained on (diffusers' Attention modules name them alike in both).
ATTENTION_PROJECTIONS = ("to_q", "to_k", "to_v", "to_out.0")
ADAPTER_NAME = "person"


@dataclass(frozen=True)
class ModelSource:
    """Where a family's weights are: ``base`` is a hub id or local path, or ``"tiny"``."""

    family: str
    base: str
    motion_adapter: str | None = None
    device: str = "cpu"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise LoraError(f"Unknown model family {self.family!r}; expected one of {', '.join(FAMILIES)}.",
                            code="family_unknown")
        if self.dtype not in DTYPES:
            raise LoraError(f"Unknown dtype {self.dtype!r}; expected one of {', '.join(DTYPES)}.",
                            code="dtype_unknown")
        if not self.base:
            raise LoraError(f"No base weights are configured for {self.family}.", code="weights_missing")

    @property
    def is_tiny(self) -> bool:
        return self.base == TINY

    @property
    def torch_dtype(self) -> torch.dtype:
        import torch

        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[self.dtype]

    @property
    def denoiser_name(self) -> str:
        """The pipeline component the LoRA is trained on and loaded into."""
        return "unet" if self.family == SD15 else "transformer"

    def describe(self) -> str:
        motion = f" + motion adapter {self.motion_adapter}" if self.motion_adapter else ""
        return f"{self.family} ({self.base}{motion}) on {self.device} in {self.dtype}"


def _weights_missing(source: ModelSource, what: str, where: str, exc: Exception) -> LoraError:
    return LoraError(
        f"The {what} weights for {source.family} are not on this machine ({where}). Nothing is downloaded "
        f"at run time: put them in a local folder or the Hugging Face cache first (README: Model weights).",
        code="weights_missing")


def _from_pretrained(source: ModelSource, cls: Any, where: str, what: str, **kwargs: Any) -> Any:
    try:
        return cls.from_pretrained(where, local_files_only=True, **kwargs)
    except (OSError, ValueError) as exc:
        # diffusers/huggingface_hub raise OSError subclasses (EntryNotFound, LocalEntryNotFound) or
        # ValueError for a folder without the expected files: either way the weights are not here.
        raise _weights_missing(source, what, where, exc) from exc


def _tiny_pipeline(source: ModelSource, kind: str, seed: int) -> Any:
    from diffusers import AnimateDiffPipeline, StableDiffusionPipeline, WanPipeline

    from personalize.lora import tiny

    if source.family == WAN:
        return WanPipeline(**tiny.wan_components(seed))
    components = tiny.sd15_components(seed)
    if kind == "video":
        return AnimateDiffPipeline(**components, motion_adapter=tiny.motion_adapter(seed))
    return StableDiffusionPipeline(**components, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)


def _real_pipeline(source: ModelSource, kind: str) -> Any:
    import torch
    from diffusers import (
        AnimateDiffPipeline,
        AutoencoderKLWan,
        DDIMScheduler,
        MotionAdapter,
        StableDiffusionPipeline,
        WanPipeline,
    )

    dtype = source.torch_dtype
    if source.family == WAN:
        # Wan's VAE stays in float32 (its authors' advice: bf16 decoding bands the picture).
        vae = _from_pretrained(source, AutoencoderKLWan, source.base, "Wan VAE", subfolder="vae",
                               dtype=torch.float32)
        return _from_pretrained(source, WanPipeline, source.base, "Wan 2.1", vae=vae, dtype=dtype)
    if kind == "video":
        if not source.motion_adapter:
            raise LoraError("No AnimateDiff motion adapter is configured for sd15-animatediff clips.",
                            code="motion_adapter_missing")
        adapter = _from_pretrained(source, MotionAdapter, source.motion_adapter, "AnimateDiff motion adapter",
                                   dtype=dtype)
        pipe = _from_pretrained(source, AnimateDiffPipeline, source.base, "Stable Diffusion 1.5",
                                motion_adapter=adapter, dtype=dtype)
        # The scheduler AnimateDiff's motion modules were trained with.
        pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config, clip_sample=False, beta_schedule="linear",
                                                   timestep_spacing="linspace", steps_offset=1)
        return pipe
    return _from_pretrained(source, StableDiffusionPipeline, source.base, "Stable Diffusion 1.5", dtype=dtype)


def load_pipeline(source: ModelSource, *, kind: Literal["image", "video"], seed: int = 0) -> Pipeline:
    """The family's pipeline for stills (``image``) or clips (``video``), on ``source.device``.

    sd15 image -> StableDiffusionPipeline, sd15 video -> AnimateDiffPipeline, Wan -> WanPipeline
    (for an image, ask it for ``num_frames=1``). ``seed`` only matters for ``base="tiny"``: it
    decides the random weights, so equal seeds give identical pipelines.
    """
    if kind not in ("image", "video"):
        raise LoraError(f"Unknown pipeline kind {kind!r}.", code="pipeline_kind_unknown")
    pipe = _tiny_pipeline(source, kind, seed) if source.is_tiny else _real_pipeline(source, kind)
    if source.is_tiny and source.dtype != "float32":
        pipe = pipe.to(dtype=source.torch_dtype)
    pipe = pipe.to(source.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def denoiser(pipe: Any) -> Any:
    """The UNet (sd15) or transformer (Wan) of a pipeline."""
    return pipe.transformer if hasattr(pipe, "transformer") and pipe.transformer is not None else pipe.unet


def lora_target_modules(model: Any) -> list[str]:
    """Full names of the attention projections of a UNet or Wan transformer.

    Full names rather than suffixes: an AnimateDiff ``UNetMotionModel`` keeps the UNet's names for its
    spatial layers but also has motion-module attention with the same suffixes, which the adapter
    must leave alone.
    """
    names = []
    for name, _ in model.named_modules():
        if any(name == s or name.endswith("." + s) for s in ATTENTION_PROJECTIONS) and ".lora_" not in name:
            names.append(name)
    if not names:
        raise LoraError("The model has no attention projections to train.", code="lora_targets_missing")
    return sorted(names)


def apply_adapter(pipe: Any, path: str | Path, *, scale: float = 1.0, adapter_name: str = ADAPTER_NAME) -> None:
    """Load a diffusers LoRA file into a pipeline of its family and set its strength."""
    try:
        pipe.load_lora_weights(str(path), adapter_name=adapter_name)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LoraError("The adapter file does not fit this model family.", code="adapter_incompatible") from exc
    pipe.set_adapters([adapter_name], adapter_weights=[scale])


def remove_adapter(pipe: Any, adapter_name: str = ADAPTER_NAME) -> None:
    """Take an adapter out again, so a cached pipeline serves the next job untouched."""
    pipe.delete_adapters([adapter_name])
