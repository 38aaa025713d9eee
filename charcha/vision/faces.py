"""Counting faces with mediapipe's full-range face detector (FaceMesh can miss a second face)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FaceBox:
    x: float  # pixels, top-left corner
    y: float
    width: float
    height: float
    score: float

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px <= self.x + self.width and self.y <= py <= self.y + self.height

    def overlaps(self, other: FaceBox) -> bool:
        """The same face seen twice: one box's centre lies inside the other."""
        return self.contains(other.x + other.width / 2, other.y + other.height / 2) or other.contains(
            self.x + self.width / 2, self.y + self.height / 2
        )


def merge_boxes(first: list[FaceBox], second: list[FaceBox]) -> list[FaceBox]:
    """The faces of ``first`` plus those of ``second`` that are not already among them."""
    merged = list(first)
    for box in second:
        if not any(box.overlaps(m) for m in merged):
            merged.append(box)
    return merged


class FaceCounter:
    """mediapipe FaceDetection: ``full_range`` (model_selection=1, faces up to ~5 m away) or the
    short-range model (model_selection=0, faces within ~2 m)."""

    def __init__(self, *, full_range: bool = True, min_confidence: float = 0.5) -> None:
        import mediapipe as mp

        self._detector: Any = mp.solutions.face_detection.FaceDetection(
            model_selection=1 if full_range else 0, min_detection_confidence=min_confidence
        )

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        result = self._detector.process(image)
        if not result.detections:
            return []
        h, w = image.shape[:2]
        boxes = []
        for det in result.detections:
            box = det.location_data.relative_bounding_box
            boxes.append(FaceBox(box.xmin * w, box.ymin * h, box.width * w, box.height * h, float(det.score[0])))
        return boxes

    def close(self) -> None:
        self._detector.close()


class SmallFaceSearch:
    """Faces 20-60 px tall that the full-frame detectors miss (placeholder until measured)."""

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        return []

    def close(self) -> None:
        pass
