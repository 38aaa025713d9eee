"""Counting faces: mediapipe's face detectors on the whole frame (FaceMesh can miss a second face),
and on tiles for faces down to 20 px tall."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
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
    """Faces down to 20 px tall, which both mediapipe detectors miss on a whole frame.

    The short-range detector looks at 128x128 input: run on tiles of the frame (overlapping by a
    quarter, so a face cut by one tile's edge is whole in the next), a 20 px face reaches it at
    20 px or more instead of 4. Measured on 640x480 genuine attempts with a face of 20-40 px pasted in
    (212 frames each, people A and B; negatives include rendered 3-D heads; bench machine loaded,
    2 cores):

    | search                               | 20 px | 25 px | 30-40 px | false 2nd faces | ms/frame |
    |--------------------------------------|-------|-------|----------|-----------------|----------|
    | full-range, whole frame              | 0 %   | 0 %   | 0 %      | 0               | 7        |
    | short-range, whole frame             | 0 %   | 0 %   | 0 %      | 0               | 1        |
    | full-range, 128 px tiles, >= 0.6     | 89 %  | 77 %  | 95 %     | 2               | 380      |
    | short-range, 160 px tiles, >= 0.6    | 40 %  | 87 %  | 100 %    | 5               | 34       |
    | short-range, 128 px tiles, >= 0.6    | 85 %  | 98 %  | 100 %    | 0               | 46       |
    | short-range, 96 px tiles, >= 0.6     | 100 % | 100 % | 100 %    | 0               | 149      |
    | OpenCV Haar (alt2), minNeighbors 3   | 49 % of all sizes             | 0               | 340      |

    So: the short-range detector on tiles. On harder negatives (the committed 640x480 fake-camera
    clip, person B's dark coat, a suit collar) the tiles still scored 18 false faces at 0.5-0.70,
    of 20-114 px; so every tile hit is confirmed by a second look, the same detector on the hit's
    surroundings upscaled to 192 px (a face then fills a third or a quarter of the view; clothing
    and textures fall apart). OpenCV's Haar cascade as the second look confirmed only ~40 % of them.
    dlib's HOG needs 80 px windows (4x upsampling for 20 px: seconds a frame): not pursued.

    128 px tiles and one 3x look, centred and clipped at the frame's edge, let 4 of 100 small-face
    attacks through (APCER 0.04): person B at 20-23 px in a corner. Measured again (persons A and
    B, 20-40 px, four corners, two genuine clips, 320x240 and 640x480; share of frames found):

    | search                                         | B 20 px worst corner | B 20-40 px mean | false | ms/frame 320 / 640 |
    |------------------------------------------------|----------------------|-----------------|-------|--------------------|
    | 128 px tiles, 3x look clipped at the edge      | 0.00                 | 0.85            | 0     | 16 / 50            |
    | 96 px tiles, 3x look clipped at the edge       | 0.29                 | 0.98            | 0     | 26 / 98            |
    | 96 px tiles, 3x look padded at the edge        | 0.00                 | 0.79            | 0     | 25 / 90            |
    | 96 px tiles, 3x look shifted inside the frame  | 0.43                 | 0.99            | 0     | 24 / 93            |
    | 96 px tiles, 3x and 4x looks shifted inside    | 1.00                 | 1.00            | 0     | 27 / 95            |
    | 96 px tiles, no second look                    | 1.00                 | 1.00            | 16 in 52 frames | 26 / 98  |

    So: 96 px tiles; the second look stays square and whole, shifted inside the frame rather than
    cut by its edge (a cut view was stretched to a square, and padding drew edges no face has), at
    3x and 4x the hit's size, the better score counting. The verifier runs the search on every
    third frame; a second face needs two frames to count.
    """

    def __init__(self, *, tile: int = 96, overlap: int = 24, min_confidence: float = 0.5,
                 confirm_confidence: float = 0.7, confirm_scales: tuple[float, ...] = (3.0, 4.0)) -> None:
        self.tile, self.overlap = tile, overlap
        self.confirm_confidence = confirm_confidence
        self.confirm_scales = confirm_scales
        self._detector = FaceCounter(full_range=False, min_confidence=min_confidence)

    def tiles(self, width: int, height: int) -> list[tuple[int, int]]:
        """Top-left corners of the tiles covering a frame (the last row and column flush with its edge)."""

        def starts(size: int) -> list[int]:
            if size <= self.tile:
                return [0]
            out = list(range(0, size - self.tile + 1, self.tile - self.overlap))
            if out[-1] + self.tile < size:
                out.append(size - self.tile)
            return out

        return [(x, y) for y in starts(height) for x in starts(width)]

    def detect(self, image: np.ndarray, *, skip: FaceBox | None = None) -> list[FaceBox]:
        """Faces found in the tiles; tiles lying wholly inside ``skip`` (the user's own head) are
        not searched: no other face can be there."""
        h, w = image.shape[:2]
        found: list[FaceBox] = []
        for x, y in self.tiles(w, h):
            if skip is not None and skip.x <= x and skip.y <= y and x + self.tile <= skip.x + skip.width \
                    and y + self.tile <= skip.y + skip.height:
                continue
            tile = np.ascontiguousarray(image[y : y + self.tile, x : x + self.tile])
            boxes = [FaceBox(b.x + x, b.y + y, b.width, b.height, b.score) for b in self._detector.detect(tile)]
            found = merge_boxes(found, boxes)
        confirmed = []
        for box in found:
            score = self._confirm(image, box)
            if score >= self.confirm_confidence:
                confirmed.append(FaceBox(box.x, box.y, box.width, box.height, score))
        return confirmed

    def _confirm(self, image: np.ndarray, box: FaceBox) -> float:
        """The detector's best score for a face at the hit's centre, looking at square views of
        ``confirm_scales`` times its size upscaled to 192 px, each shifted inside the frame."""
        cx, cy = box.x + box.width / 2, box.y + box.height / 2
        h, w = image.shape[:2]
        best = 0.0
        for scale in self.confirm_scales:
            side = int(round(min(scale * max(box.width, box.height), w, h)))
            if side < 4:
                continue
            x0 = int(min(max(round(cx - side / 2), 0), w - side))
            y0 = int(min(max(round(cy - side / 2), 0), h - side))
            view = np.ascontiguousarray(cv2.resize(image[y0 : y0 + side, x0 : x0 + side], (192, 192),
                                                   interpolation=cv2.INTER_CUBIC))
            at = 192 / side
            scores = [b.score for b in self._detector.detect(view) if b.contains((cx - x0) * at, (cy - y0) * at)]
            best = max([best, *scores])
        return best

    def close(self) -> None:
        self._detector.close()
