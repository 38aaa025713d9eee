"""A 2.5-D face puppet: makes a real photograph turn, nod, blink, open its mouth and smile.

Test and benchmark material only (the verifier never imports this module). A plain perspective
warp of a photo does not look like a head turn to FaceMesh; moving the photo's own 478 FaceMesh
landmarks in 3-D and warping the photo piecewise-affinely onto the moved landmarks does, so the
genuine attempts of the attack suite are built this way (see DEPENDENCIES.md).

Conventions (the same as the verifier's signals): images are RGB, unmirrored, as a webcam sees
the user. ``yaw_deg > 0`` is a turn to the *user's own left*, which moves the nose towards the
image's right edge (+x); ``pitch_deg > 0`` is looking up (the nose moves towards -y).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, replace

import cv2
import numpy as np

from charcha.vision.landmarks import (
    FACE_OVAL,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LOWER_INNER_LIP,
    MOUTH_CORNERS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    FaceMeshRunner,
)


@dataclass(frozen=True)
class FaceState:
    """What the puppet's face does in one frame (head pose in degrees, expressions 0..1)."""

    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    mouth_open: float = 0.0
    smile: float = 0.0
    blink: float = 0.0

    def quantized(self) -> FaceState:
        # Renders are cached by state; 1 degree / 0.1 steps are below what FaceMesh resolves.
        return FaceState(
            yaw_deg=round(self.yaw_deg),
            pitch_deg=round(self.pitch_deg),
            mouth_open=round(self.mouth_open, 1),
            smile=round(self.smile, 1),
            blink=round(self.blink, 1),
        )


NEUTRAL = FaceState()


def photo_landmarks(photo: np.ndarray) -> np.ndarray:
    """FaceMesh's 478 landmarks of a still photo, in pixels: (478, 3) x, y, z (z in x's scale)."""
    with FaceMeshRunner(static=True) as runner:
        found = runner.landmarks(photo)
    if found is None:
        raise ValueError("FaceMesh found no face in the photo")
    return found


class FacePuppet:
    """Renders a photo's face in a given :class:`FaceState` into a fixed "canonical" camera view.

    The canonical view is ``view_size`` pixels, with the face's width a fixed fraction of the
    view's width; per-frame camera jitter (shift, scale, roll) is applied afterwards by the clip
    builder, so renders can be cached by state.
    """

    def __init__(
        self,
        photo: np.ndarray,
        *,
        view_size: tuple[int, int] = (368, 276),
        face_width_frac: float = 0.27,
        face_height_frac: float | None = None,
        base_yaw_deg: float = 0.0,
        pose_scale: float = 1.0,
        landmarks: np.ndarray | None = None,
        cache_size: int = 256,
    ) -> None:
        from scipy.spatial import Delaunay

        if photo.ndim == 2:
            photo = np.stack([photo] * 3, axis=-1)
        self.photo = np.ascontiguousarray(photo[:, :, :3], dtype=np.uint8)
        self.view_size = view_size
        # Added to every state's yaw: turns a photo taken in three-quarter view towards the camera.
        self.base_yaw_deg = base_yaw_deg
        # Scales every commanded turn and nod: a photo in three-quarter view has little of the
        # face's far side to show, so large moves from it leave what the warp can render.
        self.pose_scale = pose_scale
        lm = photo_landmarks(self.photo) if landmarks is None else landmarks.astype(np.float64)
        self.landmarks = lm
        h, w = self.photo.shape[:2]

        center = lm[FACE_OVAL, :2].mean(axis=0)
        face_width = float(np.ptp(lm[FACE_OVAL, 0]))
        self.iod = float(np.linalg.norm(lm[468, :2] - lm[473, :2]))
        # Photo -> canonical view: the face sits a little above the view's centre, as in a selfie.
        # A face in profile is narrow: such photos are scaled by the face's height instead.
        if face_height_frac is None:
            scale = face_width_frac * view_size[0] / face_width
        else:
            scale = face_height_frac * view_size[0] / float(np.ptp(lm[FACE_OVAL, 1]))
        self._to_view = np.array(
            [[scale, 0.0, view_size[0] / 2 - scale * center[0]],
             [0.0, scale, view_size[1] * 0.47 - scale * center[1]]]
        )

        # The head turns about a pivot behind the face (roughly the centre of the skull).
        z_face = float(np.median(lm[:468, 2]))
        self.pivot = np.array([center[0], center[1], z_face + 0.55 * face_width])

        # Control points beyond the face: a ring that moves with the head (hair, ears), a looser
        # ring that moves half as much, and the photo's border extended outwards, which stays put.
        oval = lm[FACE_OVAL]
        rings = []
        for factor, follow in ((1.3, 1.0), (1.75, 0.5)):
            pts = np.empty_like(oval)
            pts[:, :2] = center + (oval[:, :2] - center) * factor
            pts[:, 2] = self.pivot[2] - 0.2 * face_width
            rings.append((pts, follow))
        self._ring_points = np.concatenate([r[0] for r in rings])
        self._ring_follow = np.concatenate([np.full(len(r[0]), r[1]) for r in rings])
        margin = 0.6 * max(w, h)
        border = []
        for fx in np.linspace(0, 1, 7):
            for fy in np.linspace(0, 1, 7):
                if fx in (0.0, 1.0) or fy in (0.0, 1.0):
                    border.append([-margin + fx * (w + 2 * margin), -margin + fy * (h + 2 * margin)])
        self._border = np.array(border)

        src2d = np.concatenate([lm[:, :2], self._ring_points[:, :2], self._border])
        self._src2d = src2d
        self._triangles = Delaunay(src2d).simplices.astype(np.int32)
        self._n_lm = len(lm)
        self._n_ring = len(self._ring_points)

        self._closed_eyes = self._paint_closed_eyes()
        self._cache: OrderedDict[FaceState, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    # -- geometry ---------------------------------------------------------------------------------

    def moved_landmarks(self, state: FaceState) -> np.ndarray:
        """The 478 landmarks (photo pixels, 3-D) after the expression and the head rotation."""
        pts = self._expression(self.landmarks.copy(), state)
        return self._rotate(pts, *self._pose(state))

    def _pose(self, state: FaceState) -> tuple[float, float]:
        return state.yaw_deg * self.pose_scale + self.base_yaw_deg, state.pitch_deg * self.pose_scale

    def _expression(self, pts: np.ndarray, state: FaceState) -> np.ndarray:
        iod = self.iod
        if state.mouth_open > 0:
            # The jaw drops: lower lip and chin move down fully, cheeks beside the mouth partly.
            upper = pts[13, 1]
            drop = state.mouth_open * 0.34 * iod
            below = np.clip((pts[:, 1] - upper) / (0.12 * iod), 0.0, 1.0)
            lateral = np.clip(1.35 - np.abs(pts[:, 0] - pts[13, 0]) / (1.1 * iod), 0.0, 1.0)
            weight = below * lateral
            weight[LOWER_INNER_LIP] = 1.0
            pts[:, 1] += weight * drop
            # Opening the jaw narrows the mouth slightly.
            cx = pts[13, 0]
            pts[MOUTH_CORNERS, 0] = cx + (pts[MOUTH_CORNERS, 0] - cx) * (1 - 0.06 * state.mouth_open)
        if state.smile > 0:
            corners = pts[MOUTH_CORNERS, :2]
            mouth_w = float(np.linalg.norm(corners[0] - corners[1]))
            mid = corners.mean(axis=0)
            for corner in corners:
                d = np.linalg.norm(pts[:, :2] - corner, axis=1)
                weight = np.exp(-((d / (0.42 * mouth_w)) ** 2))
                outward = np.sign(corner[0] - mid[0])
                pts[:, 0] += weight * outward * state.smile * 0.16 * mouth_w
                pts[:, 1] -= weight * state.smile * 0.10 * mouth_w
        if state.blink > 0:
            for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
                lower_y = np.interp(pts[upper, 0], *_sorted_xy(pts[lower, :2]))
                closed_y = lower_y - 0.15 * (lower_y - pts[upper, 1])
                pts[upper, 1] += state.blink * (closed_y - pts[upper, 1])
                iris = np.arange(468, 473) if upper is RIGHT_EYE_UPPER else np.arange(473, 478)
                pts[iris, 1] += state.blink * 0.4 * (pts[lower, 1].mean() - pts[iris, 1])
        return pts

    def _rotate(self, pts: np.ndarray, yaw_deg: float, pitch_deg: float) -> np.ndarray:
        rot = _rotation(yaw_deg, pitch_deg)
        return (pts - self.pivot) @ rot.T + self.pivot

    # -- rendering --------------------------------------------------------------------------------

    def render(self, state: FaceState) -> np.ndarray:
        """The canonical-view RGB image of the face in ``state`` (cached by quantized state)."""
        key = state.quantized()
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        image = self._render(key)
        self._cache[key] = image
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return image

    def _render(self, state: FaceState) -> np.ndarray:
        lm = self.moved_landmarks(state)
        ring = self._ring_points.copy()
        for follow in (1.0, 0.5):
            sel = self._ring_follow == follow
            yaw, pitch = self._pose(state)
            ring[sel] = self._rotate(ring[sel], follow * yaw, follow * pitch)
        dst_photo = np.concatenate([lm[:, :2], ring[:, :2], self._border])
        depth = np.concatenate([lm[:, 2], ring[:, 2], np.full(len(self._border), 1e6)])
        dst = dst_photo @ self._to_view[:, :2].T + self._to_view[:, 2]

        source: np.ndarray = self.photo
        if state.blink > 0:
            alpha = min(1.0, state.blink * 1.25)
            source = cv2.addWeighted(self.photo, 1 - alpha, self._closed_eyes, alpha, 0)
        image = _piecewise_affine(source, self._src2d, dst, self._triangles, depth, self.view_size)
        if state.mouth_open > 0.05:
            closed = self.moved_landmarks(replace(state, mouth_open=0.0))
            self._paint_mouth(image, closed, lm, state.mouth_open)
        return image

    def _paint_mouth(self, image: np.ndarray, closed: np.ndarray, opened: np.ndarray, amount: float) -> None:
        # Between the upper teeth and the dropped lower lip one sees the dark mouth cavity, not
        # stretched lip texture: paint the gap between the lower lip's rest and open positions.
        edge = LOWER_INNER_LIP
        gap = np.concatenate([closed[edge, :2], opened[edge[::-1], :2]])
        poly = gap @ self._to_view[:, :2].T + self._to_view[:, 2]
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], (255,), lineType=cv2.LINE_AA, shift=4)
        soft = cv2.GaussianBlur(mask, (3, 3), 0)
        alpha = (soft.astype(np.float32) / 255.0 * min(1.0, amount * 1.6))[:, :, None]
        cavity = np.array([70, 28, 30], np.float32)
        image[:] = (image * (1 - alpha) + cavity * alpha).astype(np.uint8)

    def _paint_closed_eyes(self) -> np.ndarray:
        # A closed eye shows eyelid skin: inpaint the eye opening from the surrounding skin and
        # draw the lash line where the lids meet.
        mask = np.zeros(self.photo.shape[:2], np.uint8)
        for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
            contour = np.concatenate([self.landmarks[upper, :2], self.landmarks[lower[::-1], :2]])
            cv2.fillPoly(mask, [np.round(contour).astype(np.int32)], (255,))
        radius = max(2, round(self.iod * 0.06))
        grown = cv2.dilate(mask, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
        closed: np.ndarray = cv2.inpaint(self.photo, grown, radius * 2, cv2.INPAINT_TELEA)
        for lower in (RIGHT_EYE_LOWER, LEFT_EYE_LOWER):
            line = np.round(self.landmarks[lower, :2]).astype(np.int32)
            cv2.polylines(closed, [line], False, (60, 40, 35), max(1, round(self.iod * 0.03)), cv2.LINE_AA)
        return closed


def _sorted_xy(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(points[:, 0])
    return points[order, 0], points[order, 1]


def _rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    # Image axes: x right, y down, z away from the camera (FaceMesh: smaller z is nearer).
    # Yaw > 0 moves a near point (z < 0) towards +x; pitch > 0 moves it towards -y.
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    yaw = np.array([[math.cos(y), 0.0, -math.sin(y)], [0.0, 1.0, 0.0], [math.sin(y), 0.0, math.cos(y)]])
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(p), math.sin(p)], [0.0, -math.sin(p), math.cos(p)]])
    return pitch @ yaw


def _piecewise_affine(
    source: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    triangles: np.ndarray,
    depth: np.ndarray,
    size: tuple[int, int],
) -> np.ndarray:
    """Warp ``source`` so that each triangle of ``src`` points lands on the same triangle of ``dst``.

    Triangles are rasterised far-to-near into an id image, so the near side of a turned head
    hides the far side, then each output pixel maps back through its triangle's affine map.
    """
    width, height = size
    s = src[triangles]  # (T, 3, 2)
    d = dst[triangles]
    # Each triangle's affine map dst -> src, solved in closed form (batched 3x3 inverses through
    # LAPACK cost more than the whole rasterisation).
    e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-6
    safe_det = np.where(ok, det, 1.0)
    # Inverse of the 2x2 matrix [e1 e2] (columns), applied to (p - d0).
    inv = np.stack([np.stack([e2[:, 1], -e2[:, 0]], axis=1), np.stack([-e1[:, 1], e1[:, 0]], axis=1)], axis=1)
    inv /= safe_det[:, None, None]
    f1, f2 = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
    lin = np.stack([f1, f2], axis=2) @ inv  # (T, 2, 2): src = s0 + lin @ (p - d0)
    offset = s[:, 0] - np.einsum("tij,tj->ti", lin, d[:, 0])
    affine = np.concatenate([lin, offset[:, :, None]], axis=2)  # (T, 2, 3)

    ids = np.full((height, width), -1, np.int32)
    order = np.argsort(-depth[triangles].mean(axis=1))
    bbox_ok = (d[:, :, 0].max(axis=1) >= 0) & (d[:, :, 0].min(axis=1) < width)
    bbox_ok &= (d[:, :, 1].max(axis=1) >= 0) & (d[:, :, 1].min(axis=1) < height)
    fixed = np.round(d * 16).astype(np.int32)
    for t in order:
        if ok[t] and bbox_ok[t]:
            cv2.fillConvexPoly(ids, fixed[t], (int(t),), lineType=cv2.LINE_8, shift=4)

    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    safe = np.where(ids >= 0, ids, 0)
    a = affine[safe].astype(np.float32)  # (H, W, 2, 3)
    map_x = a[..., 0, 0] * xs + a[..., 0, 1] * ys + a[..., 0, 2]
    map_y = a[..., 1, 0] * xs + a[..., 1, 1] * ys + a[..., 1, 2]
    out = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out
