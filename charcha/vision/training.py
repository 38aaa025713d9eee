"""Choosing the frames of a passed challenge that become LoRA training data: sharp and varied."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from charcha.vision.signals import Signals


def face_sharpness(image: np.ndarray, landmarks: np.ndarray) -> float:
    """Variance of the Laplacian over the face's bounding box (higher = sharper)."""
    x0, y0 = np.floor(landmarks[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(landmarks[:, :2].max(axis=0)).astype(int)
    h, w = image.shape[:2]
    crop = image[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
    if crop.size == 0:
        return 0.0
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    # Normalise for the face's size so a closer face does not win just by having more pixels.
    side = 128
    gray = cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def select_training_frames(
    candidates: Sequence[int],
    sharpness: np.ndarray,
    signals: Signals,
    *,
    count: int = 12,
    sharp_quantile: float = 0.3,
    blink_closure: float = 0.3,
    local_window: int = 3,
    local_ratio: float = 0.75,
) -> list[int]:
    """Pick up to ``count`` of ``candidates`` (positions into the signal arrays).

    Drops blurred frames (below the ``sharp_quantile`` of this challenge's sharpness) and frames
    with closed eyes, then greedily takes the frame farthest in pose and expression from those
    already taken (farthest-point sampling), starting from the sharpest frame. Returns positions
    in time order.
    """
    idx = np.asarray(candidates, dtype=np.int64)
    if len(idx) == 0:
        return []
    keep = signals.eye_closure[idx] < blink_closure
    if keep.sum() >= count:
        idx = idx[keep]
    cut = np.quantile(sharpness[idx], sharp_quantile)
    # Also against its own neighbours: a defocused or motion-blurred frame loses most of its
    # Laplacian energy next to sharp frames of the same pose, whatever the challenge's overall level.
    local = np.array([np.median(sharpness[max(0, p - local_window) : p + local_window + 1]) for p in idx])
    sharp = idx[(sharpness[idx] >= cut) & (sharpness[idx] >= local_ratio * local)]
    if len(sharp) >= count:
        idx = sharp
    # Pose and expression, scaled so one unit is roughly one clearly visible change.
    features = np.stack(
        [signals.yaw[idx] / 0.1, signals.pitch[idx] / 0.08, signals.mouth_open[idx] / 0.08, signals.smile[idx] / 0.15],
        axis=1,
    )
    features = np.nan_to_num(features)
    chosen = [int(np.argmax(sharpness[idx]))]
    nearest = np.linalg.norm(features - features[chosen[0]], axis=1)
    while len(chosen) < min(count, len(idx)):
        # Ties (many neutral frames) go to the sharper frame.
        score = nearest + 1e-3 * sharpness[idx] / (sharpness[idx].max() + 1e-9)
        score[chosen] = -1.0
        pick = int(np.argmax(score))
        chosen.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(features - features[pick], axis=1))
    return sorted(int(idx[c]) for c in chosen)
