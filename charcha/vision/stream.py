"""What the per-batch analysis keeps of each frame, and its compact byte form.

A challenge's frames arrive in batches while the person is still doing it. Each batch is analysed
on its own (:meth:`LivenessVerifier.analyse_batch`, any worker, any order) into one
:class:`FrameObservation` per frame; after the last batch only :meth:`LivenessVerifier.decide` is
left, which reads nothing but these observations (and, rarely, two frames' images).

The byte form is an ``.npz`` archive of plain numeric arrays, read back with ``allow_pickle=False``:
no Python object is ever unpickled from storage. Landmarks are float32 (float16 loses up to a
quarter pixel at 640 px, as much as a blink moves an eyelid at that size); the appearance patch is
float16 (a correlation of unit-norm patches needs no more). About 8 KB a frame.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from charcha.vision.types import LivenessInputError

N_LANDMARKS = 478
PATCH_SIDE = 32
_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class FrameObservation:
    """One frame as the analysis saw it (no image)."""

    index: int  # position of the frame in the whole challenge (0-based)
    t_s: float  # capture time, seconds after issue
    width: int  # frame size in pixels, as analysed
    height: int
    # Every face found by the face counters (large and small-face search merged), (M, 5) float32:
    # x, y, width, height (pixels, top-left corner), score.
    faces: np.ndarray
    small_searched: bool  # whether the small-face search ran on this frame (it is strided)
    landmarks: np.ndarray | None  # (478, 3) float32 FaceMesh landmarks in pixels, None: no mesh
    main_face: int  # index into ``faces`` of the box around the meshed face, -1 when none
    sharpness: float  # variance of the Laplacian over the face (0 without a face)
    patch: np.ndarray | None  # (32, 32) float16 aligned grey face patch, zero-mean, unit-norm
    light: np.ndarray | None  # (K, 3) float32 mean linear colour of the light regions
    embedding: np.ndarray | None  # identity embedding (float32), only for some frames

    def to_bytes(self) -> bytes:
        return FrameObservation.list_to_bytes([self])

    @staticmethod
    def from_bytes(data: bytes) -> FrameObservation:
        items = FrameObservation.list_from_bytes(data)
        if len(items) != 1:
            raise LivenessInputError("Stored frame observation is unreadable.", code="observations_invalid")
        return items[0]

    @staticmethod
    def list_to_bytes(observations: Sequence[FrameObservation]) -> bytes:
        n = len(observations)
        k = next((o.light.shape[0] for o in observations if o.light is not None), 0)
        d = next((o.embedding.shape[0] for o in observations if o.embedding is not None), 0)
        landmarks = np.zeros((n, N_LANDMARKS, 3), np.float32)
        patches = np.zeros((n, PATCH_SIDE, PATCH_SIDE), np.float16)
        light = np.zeros((n, k, 3), np.float32)
        # Only some frames carry an embedding: stored for those rows only (flags say which).
        embeddings = np.zeros((sum(o.embedding is not None for o in observations), d), np.float32)
        flags = np.zeros((n, 5), np.bool_)  # landmarks, patch, light, embedding, small_searched
        for i, o in enumerate(observations):
            if o.landmarks is not None:
                landmarks[i], flags[i, 0] = o.landmarks, True
            if o.patch is not None:
                patches[i], flags[i, 1] = o.patch, True
            if o.light is not None:
                light[i], flags[i, 2] = o.light, True
            if o.embedding is not None:
                embeddings[int(flags[:i, 3].sum())], flags[i, 3] = o.embedding, True
            flags[i, 4] = o.small_searched
        counts = np.array([len(o.faces) for o in observations], np.int32)
        faces = np.concatenate([o.faces.reshape(-1, 5) for o in observations]) if n else np.zeros((0, 5))
        buf = io.BytesIO()
        np.savez(
            buf,
            version=np.array([_FORMAT_VERSION], np.int32),
            index=np.array([o.index for o in observations], np.int64),
            t_s=np.array([o.t_s for o in observations], np.float64),
            size=np.array([(o.width, o.height) for o in observations], np.int32).reshape(n, 2),
            face_counts=counts,
            faces=faces.astype(np.float32),
            main_face=np.array([o.main_face for o in observations], np.int32),
            sharpness=np.array([o.sharpness for o in observations], np.float32),
            flags=flags,
            landmarks=landmarks,
            patches=patches,
            light=light,
            embeddings=embeddings,
        )
        return buf.getvalue()

    @staticmethod
    def list_from_bytes(data: bytes) -> list[FrameObservation]:
        try:
            z = np.load(io.BytesIO(data), allow_pickle=False)
            if int(z["version"][0]) != _FORMAT_VERSION:
                raise ValueError("unknown version")
            index, t_s, size, counts, faces = z["index"], z["t_s"], z["size"], z["face_counts"], z["faces"]
            main, sharp, flags = z["main_face"], z["sharpness"], z["flags"]
            landmarks, patches, light, embeddings = z["landmarks"], z["patches"], z["light"], z["embeddings"]
        except (ValueError, KeyError, OSError, EOFError, IndexError, zipfile.BadZipFile) as exc:
            raise LivenessInputError("Stored frame observations are unreadable.", code="observations_invalid") from exc
        starts = np.concatenate([[0], np.cumsum(counts)])
        rows = np.cumsum(flags[:, 3]) - 1 if len(flags) else np.zeros(0, np.int64)
        return [
            FrameObservation(
                index=int(index[i]),
                t_s=float(t_s[i]),
                width=int(size[i, 0]),
                height=int(size[i, 1]),
                faces=faces[starts[i] : starts[i + 1]],
                small_searched=bool(flags[i, 4]),
                landmarks=landmarks[i] if flags[i, 0] else None,
                main_face=int(main[i]),
                sharpness=float(sharp[i]),
                patch=patches[i] if flags[i, 1] else None,
                light=light[i] if flags[i, 2] else None,
                embedding=embeddings[rows[i]] if flags[i, 3] else None,
            )
            for i in range(len(index))
        ]
