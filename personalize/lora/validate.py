"""After training: render with the saved adapter, and score how much the renders look like the person.

The identity score compares face embeddings (charcha's dlib backend by default) of the renders with
those of the capture: ``spread`` is the mean distance of the capture's own frames from their centre,
``distance`` the mean distance of the rendered faces from that centre, and ``score = spread /
distance`` capped at 1. So 1.0 means the renders sit as close to the person as the person's own
frames do; 0.5 means twice as far. With tiny random models no face is rendered: the score is then
``None`` with zero faces counted, which is the honest answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from personalize.lora.config import TrainConfig
from personalize.lora.families import WAN, ModelSource, apply_adapter, remove_adapter

STILL_PROMPTS = (
    "a portrait photo of {t} person, soft light",
    "{t} person smiling, close-up photo",
    "a photo of {t} person outdoors",
    "{t} person looking at the camera, studio photo",
)
CLIP_PROMPT = "a video of {t} person turning their head and smiling"


@dataclass(frozen=True)
class Render:
    kind: str                      # "still" or "clip"
    prompt: str
    frames: list[np.ndarray]       # RGB uint8; one for a still


@dataclass(frozen=True)
class IdentityReport:
    score: float | None
    distance: float | None
    spread: float | None
    faces: int
    images: int
    backend: str


def _to_uint8(frames: Any) -> list[np.ndarray]:
    array = np.asarray(frames)
    return [np.clip(f * 255.0 + 0.5, 0, 255).astype(np.uint8) for f in array]


@torch.no_grad()
def render_validation(image_pipe: Any, video_pipe: Any | None, source: ModelSource, adapter_path: Path,
                      config: TrainConfig, *, trigger: str, seed: int = 0) -> list[Render]:
    """Stills from ``image_pipe`` and, when ``config.validation_frames``, one clip from ``video_pipe``.

    Both pipelines get the adapter from its saved file (what users will load) and lose it again
    afterwards, so cached pipelines stay clean for the next job.
    """
    size = config.resolution
    renders: list[Render] = []
    apply_adapter(image_pipe, adapter_path)
    try:
        for n in range(config.validation_stills):
            prompt = STILL_PROMPTS[n % len(STILL_PROMPTS)].format(t=trigger)
            generator = torch.Generator().manual_seed(seed + n)
            if source.family == WAN:
                out = image_pipe(prompt=prompt, num_frames=1, height=size, width=size, generator=generator,
                                 num_inference_steps=config.validation_steps, output_type="np").frames[0]
            else:
                out = image_pipe(prompt=prompt, height=size, width=size, generator=generator,
                                 num_inference_steps=config.validation_steps, output_type="np").images
            renders.append(Render(kind="still", prompt=prompt, frames=_to_uint8(out)[:1]))
    finally:
        remove_adapter(image_pipe)
    if config.validation_frames and video_pipe is not None:
        prompt = CLIP_PROMPT.format(t=trigger)
        apply_adapter(video_pipe, adapter_path)
        try:
            out = video_pipe(prompt=prompt, num_frames=config.validation_frames, height=size, width=size,
                             generator=torch.Generator().manual_seed(seed + 100),
                             num_inference_steps=config.validation_steps, output_type="np").frames[0]
        finally:
            remove_adapter(video_pipe)
        renders.append(Render(kind="clip", prompt=prompt, frames=_to_uint8(out)))
    return renders


def _largest_face(detector: Any, image: np.ndarray) -> Any | None:
    boxes = detector.detect(np.ascontiguousarray(image))
    return max(boxes, key=lambda b: b.width * b.height) if boxes else None


def _embeddings(images: Sequence[np.ndarray], backend: Any, detector: Any) -> list[np.ndarray]:
    items = [(im, box) for im in images if (box := _largest_face(detector, im)) is not None]
    return [e for e in backend.embed_many(items) if e is not None]


def identity_report(capture: Sequence[np.ndarray], generated: Sequence[np.ndarray], *, backend: Any,
                    detector: Any | None = None) -> IdentityReport:
    """Score ``generated`` faces against the ``capture`` frames' faces (see the module docstring)."""
    from charcha.vision.faces import FaceCounter

    own = detector is None
    detector = detector or FaceCounter(full_range=True, min_confidence=0.5)
    try:
        reference = _embeddings(capture, backend, detector)
        rendered = _embeddings(generated, backend, detector)
    finally:
        if own:
            detector.close()
    name = str(getattr(backend, "name", "unknown"))
    if not reference:
        return IdentityReport(score=None, distance=None, spread=None, faces=len(rendered), images=len(generated),
                              backend=name)
    centre = np.mean(np.stack(reference), axis=0)
    spread = float(np.mean([backend.distance(e, centre) for e in reference]))
    if not rendered:
        return IdentityReport(score=None, distance=None, spread=round(spread, 4), faces=0, images=len(generated),
                              backend=name)
    distance = float(np.mean([backend.distance(e, centre) for e in rendered]))
    # A capture of near-identical frames has a tiny spread; floor it so the ratio stays meaningful.
    score = min(1.0, max(spread, 0.05) / max(distance, 1e-6))
    return IdentityReport(score=round(score, 4), distance=round(distance, 4), spread=round(spread, 4),
                          faces=len(rendered), images=len(generated), backend=name)
