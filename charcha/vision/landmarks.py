"""FaceMesh (mediapipe 0.10.21, legacy ``mp.solutions``) and the landmark indices the engine uses.

Index names follow the *image* side of an unmirrored capture: the "right eye" list is the eye
on the image's left, which is the user's own right eye.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import numpy as np

# The face silhouette, in order around the face (clockwise in the image, from the forehead top).
FACE_OVAL = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
]
# Eyelids without the corners, from the outer corner to the inner one.
RIGHT_EYE_UPPER = [246, 161, 160, 159, 158, 157, 173]
RIGHT_EYE_LOWER = [7, 163, 144, 145, 153, 154, 155]
LEFT_EYE_UPPER = [466, 388, 387, 386, 385, 384, 398]
LEFT_EYE_LOWER = [249, 390, 373, 374, 380, 381, 382]
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (263, 362)
# Inner lip contour as a closed polygon: upper lip left to right, then lower lip back.
INNER_LIPS = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]
LOWER_INNER_LIP = [324, 318, 402, 317, 14, 87, 178, 88, 95]
MOUTH_CORNERS = [61, 291]
NOSE_TIP = 1
CHEEK_RIGHT, CHEEK_LEFT = 234, 454  # silhouette points at eye height, image-left and image-right
RIGHT_IRIS, LEFT_IRIS = 468, 473

# mediapipe's FACEMESH_LIPS, _LEFT_EYE, _RIGHT_EYE, _LEFT_EYEBROW, _RIGHT_EYEBROW and _NOSE point
# sets, written out so that importing this module does not import mediapipe.
LIPS = [0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191, 267, 269,
        270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415]
EYES = [7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246,
        249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466]
BROWS = [46, 52, 53, 55, 63, 65, 66, 70, 105, 107, 276, 282, 283, 285, 293, 295, 296, 300, 334, 336]
NOSE = [1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327, 344, 440]
IRISES = list(range(468, 478))
# Landmarks that expressions move (a blink, a smile, raised brows): never part of a rigid fit.
EXPRESSIVE = sorted(set(LIPS + EYES + BROWS + IRISES))


# A NormalizedLandmarkList serialises each landmark as a 17-byte record: field tag and length,
# then x, y, z as tagged little-endian floats. Reading the bytes with numpy is ~20x faster than
# touching 1,434 protobuf attributes from Python, which matters at 150 frames a challenge.
_RECORD = np.dtype([("tag", "u1"), ("len", "u1"), ("tx", "u1"), ("x", "<f4"), ("ty", "u1"), ("y", "<f4"),
                    ("tz", "u1"), ("z", "<f4")])


def _landmarks_array(landmark_list: Any) -> np.ndarray:
    raw = landmark_list.SerializeToString()
    if len(raw) % _RECORD.itemsize == 0:
        rec = np.frombuffer(raw, dtype=_RECORD)
        if (np.all(rec["tag"] == 0x0A) and np.all(rec["len"] == 15) and np.all(rec["tx"] == 0x0D)
                and np.all(rec["ty"] == 0x15) and np.all(rec["tz"] == 0x1D)):
            return np.stack([rec["x"], rec["y"], rec["z"]], axis=1).astype(np.float64)
    # Any other layout (e.g. visibility fields present): the slow, always-correct path.
    return np.array([(p.x, p.y, p.z) for p in landmark_list.landmark], dtype=np.float64)


class FaceMeshRunner:
    """One FaceMesh graph. ``static=False`` tracks across frames (faster); call :meth:`reset`
    between independent videos so no tracking state leaks from one challenge into the next."""

    def __init__(self, *, static: bool = False, min_detection_confidence: float = 0.5) -> None:
        import mediapipe as mp

        self._mesh: Any = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=0.5,
        )

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """(478, 3) landmarks in pixels (z in the x scale), or None when no face is found."""
        result = self._mesh.process(image)
        if not result.multi_face_landmarks:
            return None
        h, w = image.shape[:2]
        pts = _landmarks_array(result.multi_face_landmarks[0])
        pts *= (w, h, w)
        return pts

    def reset(self) -> None:
        self._mesh.reset()

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> FaceMeshRunner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

