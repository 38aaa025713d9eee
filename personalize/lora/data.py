"""Training material from a consent's pictures: face-centred crops, person masks, captions.

Input is what the consent holds: single stills (the challenge's chosen training frames) and
short runs of consecutive frames (the person turning, blinking, smiling). Output is a list of
``Sample``: pixels at the family's resolution, a per-pixel loss weight (the person counts fully,
the background only a little, so the adapter learns the face and not the room) and a caption with
the adapter's trigger token.

Augmentation is light and decided here, once, from a seed: a mirrored copy and a slightly
shifted, scaled and brightened copy of each still. The trainer encodes every sample once and then
trains many steps on the cached tensors, so augmentation costs nothing per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from mediakit.progress import ProgressFn, null_progress
from personalize.lora.errors import LoraError

# Side of the square crop, in face-box sizes: head, hair and a little shoulder.
CROP_FACE_RATIO = 2.2
MIN_STILLS_WITH_FACE = 2

CLIP_PHRASES = {
    "turn_left": "turning their head to the left",
    "turn_right": "turning their head to the right",
    "look_up": "looking up",
    "look_down": "looking down",
    "blink": "blinking",
    "open_mouth": "opening their mouth",
    "smile": "smiling",
}
STILL_CAPTIONS = (
    "a photo of {t} person",
    "a close-up portrait photo of {t} person",
    "{t} person, face, looking at the camera",
)


@dataclass(frozen=True)
class FrameRun:
    """Consecutive frames of the challenge and the move they show."""

    action: str
    frames: Sequence[tuple[int, bytes]]


@dataclass(frozen=True)
class Sample:
    pixels: np.ndarray     # (F, S, S, 3) uint8; F == 1 for a still
    weight: np.ndarray     # (F, S, S) float32 in [background_weight, 1]
    caption: str
    kind: str              # "still" or "clip"
    origin: str            # for people reading logs: which frames, which augmentation


@dataclass(frozen=True)
class Dataset:
    samples: list[Sample]
    stills_used: int
    stills_without_face: int
    clips_used: int
    capture_images: list[np.ndarray]   # the decoded stills, for the identity score

    def summary(self) -> dict[str, int]:
        return {"samples": len(self.samples), "stills": self.stills_used,
                "stills_without_face": self.stills_without_face, "clips": self.clips_used}


@dataclass(frozen=True)
class Box:
    cx: float
    cy: float
    side: float


def decode_jpeg(index: int, data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise LoraError(f"Picture {index} of the consent could not be read.", code="frame_unreadable")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class FacePrep:
    """mediapipe's full-range face detector and selfie segmentation (both ship in the 0.10.21 wheel)."""

    def __init__(self) -> None:
        import mediapipe as mp

        from charcha.vision.faces import FaceCounter

        self._faces = FaceCounter(full_range=True, min_confidence=0.5)
        self._segmenter: Any = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def face(self, image: np.ndarray) -> Box | None:
        boxes = self._faces.detect(np.ascontiguousarray(image))
        if not boxes:
            return None
        best = max(boxes, key=lambda b: b.width * b.height)
        return Box(cx=best.x + best.width / 2, cy=best.y + best.height / 2,
                   side=max(best.width, best.height) * CROP_FACE_RATIO)

    def person_mask(self, crop: np.ndarray) -> np.ndarray:
        result = self._segmenter.process(np.ascontiguousarray(crop))
        mask = getattr(result, "segmentation_mask", None)
        if mask is None:
            return np.zeros(crop.shape[:2], np.float32)
        return np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)

    def close(self) -> None:
        self._faces.close()
        self._segmenter.close()


def _fit(box: Box, width: int, height: int) -> tuple[int, int, int]:
    """The square (x0, y0, side) of ``box`` moved, and shrunk if needed, to lie inside the picture."""
    side = int(round(min(box.side, width, height)))
    x0 = int(round(min(max(box.cx - side / 2, 0), width - side)))
    y0 = int(round(min(max(box.cy - side / 2, 0), height - side)))
    return x0, y0, side


def _face_ellipse(size: int, side_px: int, face_side: float) -> np.ndarray:
    """Where the face is inside a face-centred crop (the fallback when segmentation finds nobody)."""
    mask = np.zeros((size, size), np.float32)
    radius = max(2, int(size * face_side / CROP_FACE_RATIO / side_px / 2))
    cv2.ellipse(mask, (size // 2, size // 2), (radius, int(radius * 1.3)), 0, 0, 360, (1.0,), -1)
    return mask


def _crop(image: np.ndarray, square: tuple[int, int, int], size: int) -> np.ndarray:
    x0, y0, side = square
    crop = image[y0:y0 + side, x0:x0 + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interp)


def _weight(prep: FacePrep, crop: np.ndarray, box: Box, side_px: int, background: float) -> np.ndarray:
    person = prep.person_mask(crop)
    person = np.maximum(person, _face_ellipse(crop.shape[0], side_px, box.side))
    return (background + (1.0 - background) * person).astype(np.float32)


def _jittered(box: Box, rng: np.random.Generator) -> Box:
    scale = float(rng.uniform(0.92, 1.08))
    return Box(cx=box.cx + float(rng.uniform(-0.04, 0.04)) * box.side,
               cy=box.cy + float(rng.uniform(-0.04, 0.04)) * box.side, side=box.side * scale)


def prepare_dataset(
    stills: Sequence[tuple[int, bytes]],
    runs: Sequence[FrameRun],
    *,
    trigger: str,
    resolution: int,
    run_frames: int,
    flip: bool = True,
    jitter: int = 1,
    background_weight: float = 0.2,
    seed: int = 0,
    progress: ProgressFn = null_progress,
    prep: FacePrep | None = None,
) -> Dataset:
    """Crops, masks and captions for every usable still and clip. Refuses when too few faces are found."""
    rng = np.random.default_rng(seed)
    own_prep = prep is None
    prep = prep or FacePrep()
    samples: list[Sample] = []
    capture: list[np.ndarray] = []
    missing = 0
    try:
        for n, (index, data) in enumerate(stills):
            image = decode_jpeg(index, data)
            box = prep.face(image)
            progress("prepare", 0.5 * (n + 1) / max(1, len(stills)), f"Finding your face in picture {n + 1}")
            if box is None:
                missing += 1
                continue
            capture.append(image)
            caption = STILL_CAPTIONS[len(capture) % len(STILL_CAPTIONS)].format(t=trigger)
            variants: list[tuple[Box, float, bool, str]] = [(box, 1.0, False, "")]
            if flip:
                variants.append((box, 1.0, True, " mirrored"))
            for j in range(jitter):
                variants.append((_jittered(box, rng), float(rng.uniform(0.93, 1.07)), False, f" jitter {j + 1}"))
            for vbox, gain, mirror, label in variants:
                square = _fit(vbox, image.shape[1], image.shape[0])
                crop = _crop(image, square, resolution)
                weight = _weight(prep, crop, vbox, square[2], background_weight)
                if gain != 1.0:
                    crop = np.clip(crop.astype(np.float32) * gain, 0, 255).astype(np.uint8)
                if mirror:
                    crop, weight = crop[:, ::-1].copy(), weight[:, ::-1].copy()
                samples.append(Sample(pixels=crop[None], weight=weight[None], caption=caption, kind="still",
                                      origin=f"frame {index}{label}"))
        if len(capture) < MIN_STILLS_WITH_FACE:
            raise LoraError(f"A face was found in only {len(capture)} of the consent's {len(stills)} pictures; "
                            f"training needs at least {MIN_STILLS_WITH_FACE}.", code="too_few_faces")
        clips = 0
        if run_frames:
            for n, run in enumerate(runs):
                progress("prepare", 0.5 + 0.5 * (n + 1) / max(1, len(runs)), f"Preparing clip {n + 1}")
                sample = _clip_sample(prep, run, trigger=trigger, resolution=resolution, run_frames=run_frames,
                                      background_weight=background_weight)
                if sample is not None:
                    samples.append(sample)
                    clips += 1
    finally:
        if own_prep:
            prep.close()
    return Dataset(samples=samples, stills_used=len(capture), stills_without_face=missing, clips_used=clips,
                   capture_images=capture)


def _clip_sample(prep: FacePrep, run: FrameRun, *, trigger: str, resolution: int, run_frames: int,
                 background_weight: float) -> Sample | None:
    """One clip of ``run_frames`` consecutive frames from the middle of the run, with ONE crop box.

    A single box for the whole clip keeps the head's motion in the picture; re-centring every frame
    would erase the very turn the clip is there to teach.
    """
    if len(run.frames) < run_frames:
        return None
    start = (len(run.frames) - run_frames) // 2
    chosen = list(run.frames[start:start + run_frames])
    images = [decode_jpeg(index, data) for index, data in chosen]
    boxes = [b for b in (prep.face(im) for im in images) if b is not None]
    if len(boxes) < max(1, run_frames // 2):
        return None
    box = Box(cx=float(np.median([b.cx for b in boxes])), cy=float(np.median([b.cy for b in boxes])),
              side=float(max(b.side for b in boxes)))
    height, width = images[0].shape[:2]
    square = _fit(box, width, height)
    crops = np.stack([_crop(im, square, resolution) for im in images])
    weights = np.stack([_weight(prep, c, box, square[2], background_weight) for c in crops])
    phrase = CLIP_PHRASES.get(run.action, "moving their head")
    return Sample(pixels=crops, weight=weights, caption=f"a video of {trigger} person {phrase}", kind="clip",
                  origin=f"frames {chosen[0][0]}-{chosen[-1][0]} ({run.action})")
