"""A textured 3-D head built from one photograph, lit by the screen and the room (test material).

Why: the light challenge asks the face to reflect the page's colours the way a solid, curved face
does. Genuine test attempts must therefore come from something with real 3-D shape and physical
shading, not from a warped photo (which is what the attacks are made of).

How:
- geometry: FaceMesh's 478 landmarks of the photo *with their depth*, joined by mediapipe's
  FACEMESH tesselation; the eye and mouth openings closed by strips between the lids and the lips;
  three rings of vertices beyond the face oval curve back to the skull's silhouette (hair, ears,
  neck) so a turned head foreshortens instead of tearing;
- texture: the photo itself (linear light), with the person's segmentation as alpha; the part of
  the photo the head covers is filled from its surroundings and stays behind as a static backdrop;
- shading per pixel, from normals interpolated across each triangle (Phong): Lambert + ambient for
  the room, Lambert + a little Blinn specular for the screen, a light just below the camera.
  Linear, so a frame under screen colour ``c`` is exactly ``A + c * B`` (:meth:`HeadRenderer.layers`);
- actions: yaw/pitch/roll rotate the mesh about a pivot inside the skull; blink, mouth open and
  smile are blend shapes on the landmark vertices (the eyelid vertices close over the eye).

Speed: per frame a painter's-order triangle raster (one cv2 call per visible triangle), then
per-pixel work only on the head's pixels, vectorised: ~5-8 ms for a 640x480 frame on one core.

Conventions as in :mod:`charcha.testing.synth`: RGB, unmirrored; ``yaw_deg > 0`` turns towards
the user's own left (the nose moves to +x in the image); ``pitch_deg > 0`` looks up.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import random
from dataclasses import dataclass

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

# Lid contours from corner to corner (corner, upper lid..., corner), for the strips that close the
# eye openings the tesselation leaves open; same for the inner lips.
_EYE_STRIPS = (
    ([33, *RIGHT_EYE_UPPER, 133], [33, *RIGHT_EYE_LOWER, 133]),
    ([263, *LEFT_EYE_UPPER, 362], [263, *LEFT_EYE_LOWER, 362]),
)
_MOUTH_UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
_MOUTH_LOWER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
# Beyond the face oval: where each ring lies between the oval (0) and the edge of the head's hair
# (1), and how far (0..1) it has curved back from the oval's depth towards the skull's silhouette.
_RINGS = ((0.25, 0.45), (0.6, 0.8), (1.0, 1.0))
_CAVITY_ALBEDO = np.array([0.045, 0.012, 0.012], np.float32)  # a mouth's inside, linear


# -- colour ----------------------------------------------------------------------------------------


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """sRGB values in 0..1 to linear light (IEC 61966-2-1)."""
    v = np.asarray(values, dtype=np.float32)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def screen_light(rgb: tuple[int, int, int] | np.ndarray) -> np.ndarray:
    """The linear light a screen showing sRGB colour ``rgb`` (0..255) emits, per channel 0..1."""
    return srgb_to_linear(np.asarray(rgb, dtype=np.float32) / 255.0)


_ENCODE_LEVELS = 4096
_ENCODE_LUT = np.round(
    255 * np.where(
        (x := np.linspace(0, 1, _ENCODE_LEVELS)) <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055
    )
).astype(np.uint8)


def encode_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light (clipped to 0..1) to sRGB uint8, through a table (``pow`` per pixel is slow)."""
    scaled = np.clip(linear * (_ENCODE_LEVELS - 1), 0, _ENCODE_LEVELS - 1).astype(np.uint16)
    out: np.ndarray = _ENCODE_LUT[scaled]
    return out


# -- the head's geometry and texture ----------------------------------------------------------------


@functools.cache
def tesselation_triangles() -> np.ndarray:
    """mediapipe's FACEMESH_TESSELATION as triangles (T, 3) over the 468 mesh landmarks.

    mediapipe publishes the tesselation as a set of edges; its triangles are the 3-cliques of
    that edge graph.
    """
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    neighbours: dict[int, set[int]] = {}
    for a, b in FACEMESH_TESSELATION:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    tris = set()
    for a, nb in neighbours.items():
        for b in nb:
            if b <= a:
                continue
            for c in nb & neighbours[b]:
                if c > b:
                    tris.add((a, b, c))
    return np.array(sorted(tris), dtype=np.int32)


def photo_landmarks(photo: np.ndarray) -> np.ndarray:
    """FaceMesh's 478 landmarks of a still photo in pixels, (478, 3) with depth in x's scale."""
    with FaceMeshRunner(static=True) as runner:
        found = runner.landmarks(photo)
    if found is None:
        raise ValueError("FaceMesh found no face in the photo")
    return found


def _person_mask(photo: np.ndarray) -> np.ndarray:
    """Selfie segmentation of the photo, float32 0..1 (the head's alpha: hair yes, wall no)."""
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        result = seg.process(photo)
    mask = np.clip(result.segmentation_mask.astype(np.float32), 0.0, 1.0)
    # Soften the edge a little: the segmentation is blocky at 256 px and hair is not hard-edged.
    return cv2.GaussianBlur(mask, (0, 0), 1.5)


def _fill_hole(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Fill ``hole`` (bool) from its surroundings by push-pull (mask-weighted pyramid averaging):
    smooth and cheap; only seen in the strips a turning head uncovers."""
    weight = (~hole).astype(np.float32)
    levels: list[tuple[np.ndarray, np.ndarray]] = [(image * weight[:, :, None], weight)]
    while min(levels[-1][1].shape) > 4:
        img, w = levels[-1]
        levels.append((np.asarray(cv2.pyrDown(img)), np.asarray(cv2.pyrDown(w))))
    img, w = levels[-1]
    filled = img / np.maximum(w, 1e-6)[:, :, None]
    for img, w in reversed(levels[:-1]):
        up = cv2.resize(filled, (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR)
        known = img / np.maximum(w, 1e-6)[:, :, None]
        a = np.clip(w * 4, 0, 1)[:, :, None]
        filled = known * a + up * (1 - a)
    out = image.copy()
    out[hole] = filled[hole]
    return out


def _head_reach(alpha: np.ndarray, center: np.ndarray, oval: np.ndarray) -> np.ndarray:
    """Per oval point, how far (in oval radii from the centre) the person reaches along that ray:
    where the hair ends, so that the outer ring takes all of it along when the head turns."""
    h, w = alpha.shape
    factors = np.arange(1.0, 2.45, 0.05)
    rays = center + (oval[:, None, :] - center) * factors[None, :, None]  # (P, F, 2)
    xi = np.clip(np.round(rays[..., 0]).astype(int), 0, w - 1)
    yi = np.clip(np.round(rays[..., 1]).astype(int), 0, h - 1)
    inside = alpha[yi, xi] > 0.3
    inside[:, 0] = True
    first_out = np.where(inside.all(axis=1), len(factors) - 1, np.argmin(inside, axis=1))
    return np.clip(factors[first_out] + 0.12, 1.3, 2.4)


def _rotation(yaw_deg: float, pitch_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    # Image axes: x right, y down, z away from the camera. Yaw > 0 moves a near point (z < 0)
    # towards +x; pitch > 0 moves it towards -y; roll turns the image clockwise.
    y, p, r = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    yaw = np.array([[math.cos(y), 0.0, -math.sin(y)], [0.0, 1.0, 0.0], [math.sin(y), 0.0, math.cos(y)]])
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(p), math.sin(p)], [0.0, -math.sin(p), math.cos(p)]])
    roll = np.array([[math.cos(r), -math.sin(r), 0.0], [math.sin(r), math.cos(r), 0.0], [0.0, 0.0, 1.0]])
    return roll @ pitch @ yaw


class HeadModel:
    """The mesh, texture and backdrop built once from a photo (seconds); render with a
    :class:`HeadRenderer`."""

    def __init__(self, photo: np.ndarray, *, landmarks: np.ndarray | None = None, albedo_scale: float = 1.0) -> None:
        from scipy import sparse

        if photo.ndim == 2:
            photo = np.stack([photo] * 3, axis=-1)
        self.photo = np.ascontiguousarray(photo[:, :, :3], dtype=np.uint8)
        lm = photo_landmarks(self.photo) if landmarks is None else np.asarray(landmarks, np.float64)
        self.landmarks = lm
        oval = lm[FACE_OVAL]
        self.center = oval[:, :2].mean(axis=0)
        self.face_width = float(np.ptp(oval[:, 0]))
        self.iod = float(np.linalg.norm(lm[468, :2] - lm[473, :2]))
        z_face = float(np.median(lm[:468, 2]))
        # The head turns about a pivot behind the face, roughly the centre of the skull.
        self.pivot = np.array([self.center[0], self.center[1], z_face + 0.55 * self.face_width])

        # -- vertices: landmarks, then the rings beyond the oval ---------------------------------
        alpha = _person_mask(self.photo)
        reach = _head_reach(alpha, self.center, oval[:, :2])
        # Below the chin the rings are neck and collar: they stay with the body, not the head.
        below = oval[:, 1] > self.center[1] + 0.3 * float(np.ptp(oval[:, 1]))
        reach[below] = 1.45
        rings, follow = [], [np.ones(len(lm))]
        for k, (step, back) in enumerate(_RINGS):
            ring = np.empty_like(oval)
            ring[:, :2] = self.center + (oval[:, :2] - self.center) * (1.0 + (reach - 1.0) * step)[:, None]
            ring[:, 2] = oval[:, 2] + back * (self.pivot[2] - oval[:, 2])
            rings.append(ring)
            follow.append(np.where(below, (0.75, 0.4, 0.0)[k], 1.0))
        self.vertices = np.concatenate([lm, *rings]).astype(np.float64)
        # How much each vertex moves with the head (1) or stays with the body (0).
        self.follow = np.concatenate(follow)[:, None]
        self.uv = self.vertices[:, :2].astype(np.float32)  # texture = photo pixels

        # -- triangles ---------------------------------------------------------------------------
        tris = [tesselation_triangles()]
        strips = [*_EYE_STRIPS, (_MOUTH_UPPER, _MOUTH_LOWER)]
        strip_tris = []
        for upper, lower in strips:
            strip_tris.append(_strip(upper, lower))
        n_eye = sum(len(t) for t in strip_tris[:2])
        tris += strip_tris
        ring_ids = [np.array(FACE_OVAL)] + [len(lm) + k * len(oval) + np.arange(len(oval)) for k in range(len(_RINGS))]
        for inner, outer in itertools.pairwise(ring_ids):
            tris.append(_strip([*inner.tolist(), int(inner[0])], [*outer.tolist(), int(outer[0])]))
        faces = np.concatenate(tris).astype(np.int32)
        n_tess = len(tris[0])
        # Orient every triangle outwards (away from the pivot): front faces then have a negative
        # signed area on screen, which is the back-face test.
        v = self.vertices
        normal = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
        outward = v[faces].mean(axis=1) - self.pivot
        flip = np.sum(normal * outward, axis=1) < 0
        # The eye and mouth strips lie almost flat in the photo: orient them to face the camera.
        flat = np.zeros(len(faces), bool)
        flat[n_tess : n_tess + sum(len(t) for t in strip_tris)] = True
        flip[flat] = normal[flat, 2] > 0
        faces[flip] = faces[flip][:, [0, 2, 1]]
        self.faces = faces
        self.cavity = np.zeros(len(faces), bool)
        self.cavity[n_tess + n_eye : n_tess + sum(len(t) for t in strip_tris)] = True
        incidence = sparse.csr_matrix(
            (np.ones(faces.size), (faces.ravel(), np.repeat(np.arange(len(faces)), 3))), shape=(len(v), len(faces))
        )
        self._incidence = incidence

        # -- blend shapes ------------------------------------------------------------------------
        self.blend_mouth, self.blend_smile, self.blend_blink = self._blend_shapes()

        # -- texture (linear albedo + alpha) and the backdrop --------------------------------------
        linear = srgb_to_linear(self.photo.astype(np.float32) / 255.0) * albedo_scale
        # Inside the face oval the face is opaque whatever the segmentation says.
        inner = np.zeros(alpha.shape, np.uint8)
        cv2.fillPoly(inner, [np.round(oval[:, :2]).astype(np.int32)], (1,))
        alpha = np.maximum(alpha, inner.astype(np.float32))
        self.texture = np.ascontiguousarray(np.dstack([linear, alpha]).astype(np.float32))
        closed = _closed_eyes(self.photo, lm)
        self.texture_closed = self.texture.copy()
        self.texture_closed[:, :, :3] = srgb_to_linear(closed.astype(np.float32) / 255.0) * albedo_scale
        hull = np.zeros(alpha.shape, np.uint8)
        outer = self.vertices[ring_ids[-1], :2]
        cv2.fillPoly(hull, [np.round(outer).astype(np.int32)], (1,))
        # Only inside the outer ring: a filled band outside it would show as a seam.
        hole = (hull > 0) & (alpha > 0.05)
        self.backdrop = _fill_hole(linear, hole).astype(np.float32)
        # How much of the screen's light reaches each backdrop pixel: the person's body is as near
        # as the face, the wall behind is far.
        body: np.ndarray = np.where(hole, 0.0, alpha).astype(np.float32)
        self.backdrop_near = cv2.GaussianBlur(body, (0, 0), 3.0)

    def _blend_shapes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vertex displacements (V, 3) of a fully open mouth, a full smile and closed eyes."""
        base = self.vertices
        iod = self.iod
        n = len(self.landmarks)
        pts = base[:n]
        mouth = np.zeros_like(base)
        upper = pts[13, 1]
        drop = 0.34 * iod
        below = np.clip((pts[:, 1] - upper) / (0.12 * iod), 0.0, 1.0)
        lateral = np.clip(1.35 - np.abs(pts[:, 0] - pts[13, 0]) / (1.1 * iod), 0.0, 1.0)
        weight = below * lateral
        # The lower lip drops most in its middle and stays near the corners (a U, not a slot).
        half = 0.5 * float(np.linalg.norm(pts[MOUTH_CORNERS[0], :2] - pts[MOUTH_CORNERS[1], :2]))
        u_shape = np.clip(1.0 - ((pts[:, 0] - pts[13, 0]) / half) ** 2, 0.15, 1.0)
        weight = np.minimum(weight, np.maximum(u_shape, below * (pts[:, 1] > pts[14, 1] + 0.15 * iod)))
        weight[LOWER_INNER_LIP] = u_shape[LOWER_INNER_LIP]
        mouth[:n, 1] = weight * drop
        mouth[:n, 2] = weight * 0.25 * drop  # the jaw swings down and a little back
        cx = pts[13, 0]
        mouth[MOUTH_CORNERS, 0] -= (pts[MOUTH_CORNERS, 0] - cx) * 0.06
        # The neck ring under the chin follows the jaw halfway.
        ring_below = np.flatnonzero(base[n:, 1] > pts[152, 1]) + n
        mouth[ring_below, 1] = 0.5 * drop * np.clip(1.0 - (base[ring_below, 1] - pts[152, 1]) / (1.0 * iod), 0, 1)

        smile = np.zeros_like(base)
        corners = pts[MOUTH_CORNERS, :2]
        mouth_w = float(np.linalg.norm(corners[0] - corners[1]))
        mid = corners.mean(axis=0)
        for corner in corners:
            d = np.linalg.norm(pts[:, :2] - corner, axis=1)
            w = np.exp(-((d / (0.42 * mouth_w)) ** 2))
            smile[:n, 0] += w * np.sign(corner[0] - mid[0]) * 0.16 * mouth_w
            smile[:n, 1] -= w * 0.10 * mouth_w
            smile[:n, 2] += w * 0.05 * mouth_w  # corners pull back into the cheeks

        blink = np.zeros_like(base)
        for up, low in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
            order = np.argsort(pts[low, 0])
            lower_y = np.interp(pts[up, 0], pts[low, 0][order], pts[low, 1][order])
            blink[up, 1] = 0.88 * (lower_y - pts[up, 1])
            iris = np.arange(468, 473) if up is RIGHT_EYE_UPPER else np.arange(473, 478)
            blink[iris, 1] = 0.4 * (pts[low, 1].mean() - pts[iris, 1])
        return mouth, smile, blink

    def vertex_normals(self, vertices: np.ndarray) -> np.ndarray:
        f = self.faces
        n = np.cross(vertices[f[:, 1]] - vertices[f[:, 0]], vertices[f[:, 2]] - vertices[f[:, 0]])
        vn = self._incidence @ n  # area-weighted sum over the triangles around each vertex
        return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-9)


def _strip(upper: list[int], lower: list[int]) -> np.ndarray:
    """Triangles filling the band between two vertex chains of the same length."""
    out = []
    for i in range(len(upper) - 1):
        a, b, c, d = upper[i], upper[i + 1], lower[i + 1], lower[i]
        if a != d:
            out.append((a, b, d))
        if b != c:
            out.append((b, c, d))
    return np.array(out, dtype=np.int32)


def _closed_eyes(photo: np.ndarray, lm: np.ndarray) -> np.ndarray:
    # A closed eye shows eyelid skin: inpaint the eye opening from the skin around it and draw
    # the lash line where the lids meet.
    mask = np.zeros(photo.shape[:2], np.uint8)
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        contour = np.concatenate([lm[upper, :2], lm[lower[::-1], :2]])
        cv2.fillPoly(mask, [np.round(contour).astype(np.int32)], (255,))
    iod = float(np.linalg.norm(lm[468, :2] - lm[473, :2]))
    radius = max(2, round(iod * 0.06))
    grown = cv2.dilate(mask, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    closed: np.ndarray = cv2.inpaint(photo, grown, radius * 2, cv2.INPAINT_TELEA)
    for lower in (RIGHT_EYE_LOWER, LEFT_EYE_LOWER):
        line = np.round(lm[lower, :2]).astype(np.int32)
        cv2.polylines(closed, [line], False, (60, 40, 35), max(1, round(iod * 0.03)), cv2.LINE_AA)
    return closed


_MODELS: dict[str, HeadModel] = {}


def head_model(photo: np.ndarray, *, albedo_scale: float = 1.0) -> HeadModel:
    """A :class:`HeadModel` per photo and albedo, cached in this process (building one runs
    FaceMesh and the segmentation: ~0.3 s)."""
    key = hashlib.sha1(np.ascontiguousarray(photo).tobytes()).hexdigest() + f":{albedo_scale:.3f}"
    if key not in _MODELS:
        _MODELS[key] = HeadModel(photo, albedo_scale=albedo_scale)
    return _MODELS[key]


# -- what the head does, how it is lit ---------------------------------------------------------------


@dataclass(frozen=True)
class HeadPose:
    """One frame of the head: rotation (degrees), expressions 0..1, and where it sits."""

    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    roll_deg: float = 0.0
    mouth_open: float = 0.0
    smile: float = 0.0
    blink: float = 0.0
    dx: float = 0.0  # shift in the frame, fractions of the frame's width
    dy: float = 0.0
    scale: float = 1.0  # nearer (> 1) or farther


@dataclass(frozen=True)
class Lighting:
    """The room's light and the screen's, in linear units on a white surface facing them."""

    ambient: float = 0.42  # from all around (walls, ceiling)
    room: float = 0.3  # from one direction (a lamp, a window)
    room_dir: tuple[float, float, float] = (-0.45, -0.55, -0.7)  # towards the room light
    room_rgb: tuple[float, float, float] = (1.0, 0.96, 0.9)
    screen: float = 0.4  # a full-white screen, on a surface facing it
    # A laptop's camera sits above its screen, so the screen lights the face a little from below.
    screen_dir: tuple[float, float, float] = (0.0, 0.25, -1.0)
    specular: float = 0.05
    shininess: float = 14.0
    backdrop_screen: float = 0.06  # the wall behind gets this fraction of the screen's light


def _unit(v: tuple[float, float, float]) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / float(np.linalg.norm(a))


class HeadRenderer:
    """Renders a :class:`HeadModel` into frames of one size, for one room and one framing."""

    def __init__(
        self,
        model: HeadModel,
        *,
        size: tuple[int, int] = (640, 480),
        face_width_frac: float = 0.3,
        lighting: Lighting | None = None,
        skin: tuple[float, float, float] = (1.0, 1.0, 1.0),
    ) -> None:
        self.model = model
        # Scales the head's albedo per channel: the same face with a darker or lighter skin.
        self.skin = tuple(float(v) for v in skin)
        self.size = size
        self.lighting = lighting or Lighting()
        w, h = size
        self.scale = face_width_frac * w / model.face_width
        # Photo -> frame: the face a little above the centre, as in a selfie.
        self.offset = np.array([w / 2 - self.scale * model.center[0], h * 0.47 - self.scale * model.center[1]])
        to_frame = np.array([[self.scale, 0, self.offset[0]], [0, self.scale, self.offset[1]]], np.float64)
        back = cv2.warpAffine(model.backdrop, to_frame, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        near = cv2.warpAffine(model.backdrop_near, to_frame, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        lt = self.lighting
        room_rgb = np.asarray(lt.room_rgb, np.float32)
        # The backdrop is lit like a surface half facing the room light.
        self.back_a = np.ascontiguousarray(back * (room_rgb * (lt.ambient + 0.5 * lt.room)), np.float32)
        screen_share = lt.backdrop_screen + (0.5 - lt.backdrop_screen) * near
        self.back_b = np.ascontiguousarray(back * (lt.screen * screen_share)[:, :, None], np.float32)
        # The encoded backdrop per screen colour: the screen shows few colours, and the backdrop
        # is most of the frame, so encoding it once per colour leaves only the head per frame.
        self._backdrops: dict[tuple[int, ...], tuple[list[np.ndarray], list[np.ndarray]]] = {}
        self._l_room = _unit(lt.room_dir)
        self._l_screen = _unit(lt.screen_dir)
        half = self._l_screen + np.array([0, 0, -1], np.float32)
        self._half = half / float(np.linalg.norm(half))
        self._room_rgb = room_rgb
        self._uv = np.ascontiguousarray(model.uv, np.float64)
        self._projected: tuple[HeadPose, np.ndarray, np.ndarray] | None = None

    # -- geometry ----------------------------------------------------------------------------------

    def project(self, pose: HeadPose) -> tuple[np.ndarray, np.ndarray]:
        """The mesh's vertices in frame pixels (V, 3; z in the same pixel scale) and their normals."""
        if self._projected is not None and self._projected[0] == pose:
            return self._projected[1], self._projected[2]
        m = self.model
        pts = m.vertices + pose.mouth_open * m.blend_mouth + pose.smile * m.blend_smile + pose.blink * m.blend_blink
        rot = _rotation(pose.yaw_deg, pose.pitch_deg, pose.roll_deg)
        centre = m.pivot[:2]
        w = self.size[0]
        moved = (pts - m.pivot) @ rot.T + m.pivot
        moved[:, :2] = (moved[:, :2] - centre) * pose.scale + centre + np.array([pose.dx, pose.dy]) * w / self.scale
        moved[:, 2] = (moved[:, 2] - m.pivot[2]) * pose.scale + m.pivot[2]
        # Vertices of the neck and collar stay (partly) with the body.
        moved = pts + m.follow * (moved - pts)
        normals = m.vertex_normals(moved)
        out = moved * self.scale
        out[:, :2] += self.offset
        self._projected = (pose, out, normals)  # render() then landmarks() of one pose: once
        return out, normals

    def landmarks(self, pose: HeadPose) -> np.ndarray:
        """Where the 478 FaceMesh landmarks are in the frame (pixels, x y z): the ground truth."""
        pts, _ = self.project(pose)
        return pts[: len(self.model.landmarks)]

    # -- rendering ---------------------------------------------------------------------------------

    def layers(self, pose: HeadPose) -> tuple[np.ndarray, np.ndarray]:
        """Linear images (H, W, 3) float32: A lit by the room alone, B by a full-white screen, so
        that the frame under a screen of linear colour ``c`` (see :func:`screen_light`) is A + c * B."""
        idx, alpha, albedo, room, screen = self._shade(pose)
        w, h = self.size
        keep = 1.0 - alpha
        a_planes, b_planes = [], []
        for ch in range(3):
            a = np.ascontiguousarray(self.back_a[:, :, ch]).ravel()
            b = np.ascontiguousarray(self.back_b[:, :, ch]).ravel()
            a[idx] = albedo[ch] * room * self._room_rgb[ch] + a[idx] * keep
            b[idx] = albedo[ch] * screen[0] + screen[1] + b[idx] * keep
            a_planes.append(a.reshape(h, w))
            b_planes.append(b.reshape(h, w))
        return cv2.merge(a_planes), cv2.merge(b_planes)

    def render(self, pose: HeadPose, screen_rgb: tuple[int, int, int] | np.ndarray = (255, 255, 255)) -> np.ndarray:
        """An sRGB uint8 frame (no camera yet) under a screen showing sRGB ``screen_rgb``.

        ``screen_rgb`` may be fractional (a colour halfway through a ramp)."""
        key = tuple(int(round(float(v) * 4)) for v in np.asarray(screen_rgb, np.float64).ravel()[:3])
        c = screen_light(np.array(key, np.float32) / 4.0)
        if key not in self._backdrops:
            if len(self._backdrops) > 64:
                self._backdrops.clear()
            lin = self.back_a + self.back_b * c
            encoded_planes = [np.ascontiguousarray(plane) for plane in cv2.split(encode_srgb(lin))]
            self._backdrops[key] = (encoded_planes, [np.ascontiguousarray(lin[:, :, ch]).ravel() for ch in range(3)])
        encoded, back_lin = self._backdrops[key]
        idx, alpha, albedo, room, screen = self._shade(pose)
        keep = 1.0 - alpha
        planes = []
        for ch in range(3):
            lin = albedo[ch] * (room * self._room_rgb[ch] + screen[0] * c[ch]) + screen[1] * c[ch] + back_lin[ch][idx] * keep
            plane = encoded[ch].copy()
            plane.ravel()[idx] = encode_srgb(lin)
            planes.append(plane)
        return cv2.merge(planes)

    def _shade(self, pose: HeadPose) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The head's pixels, as rows (all (K,), contiguous: per-pixel work on rows is several
        times faster than on (K, 3) arrays): flat indices, alpha, the albedo per channel
        premultiplied by alpha, the room's light, and the screen's light per unit of screen colour
        as (diffuse factor for the albedo, specular term premultiplied by alpha)."""
        m = self.model
        w, h = self.size
        pts, normals = self.project(pose)
        ids, tri_ok = _rasterize(pts, m.faces, (w, h))
        idx = np.flatnonzero(ids >= 0)
        tri = ids.ravel()[idx]
        # Each triangle's affine maps from frame (x, y) to its vertices' attributes (texture
        # coordinates, normal), gathered per pixel: normals interpolated per pixel (Phong).
        attrs = np.concatenate([self._uv, normals], axis=1)  # (V, 5)
        table = _affine_table(pts[:, :2], attrs, m.faces, tri_ok)  # (15, T)
        coef = table[:, tri]
        xs = (idx % w).astype(np.float32)
        ys = (idx // w).astype(np.float32)
        u, v, nx, ny, nz = (coef[3 * a] * xs + coef[3 * a + 1] * ys + coef[3 * a + 2] for a in range(5))
        inv = 1.0 / np.sqrt(np.maximum(nx * nx + ny * ny + nz * nz, 1e-12))
        nx *= inv
        ny *= inv
        nz *= inv

        texture = m.texture
        if pose.blink > 0.02:
            k = min(1.0, pose.blink * 1.3)
            texture = np.asarray(cv2.addWeighted(m.texture, 1.0 - k, m.texture_closed, k, 0.0))
        channels = _sample(texture, u, v)
        alpha = channels[3]
        albedo = [channels[ch] * (alpha * self.skin[ch]) for ch in range(3)]
        if pose.mouth_open > 0.02:
            cav = np.flatnonzero(m.cavity[tri])
            if len(cav):
                k = min(1.0, pose.mouth_open * 1.6)
                for ch in range(3):
                    albedo[ch][cav] = albedo[ch][cav] * (1 - k) + float(_CAVITY_ALBEDO[ch]) * k * alpha[cav]

        lt = self.lighting
        lr, ls, hh = self._l_room, self._l_screen, self._half
        room = lt.ambient + lt.room * np.maximum(nx * lr[0] + ny * lr[1] + nz * lr[2], 0.0)
        lambert = lt.screen * np.maximum(nx * ls[0] + ny * ls[1] + nz * ls[2], 0.0)
        spec = (lt.screen * lt.specular) * np.power(np.maximum(nx * hh[0] + ny * hh[1] + nz * hh[2], 0.0), lt.shininess)
        return idx, alpha, albedo, room, (lambert, spec * alpha)


def _rasterize(pts: np.ndarray, faces: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Triangle ids per pixel (-1: none), far to near so near triangles hide far ones; back faces
    culled. Also which triangles are usable (visible and not degenerate)."""
    w, h = size
    d = pts[faces]  # (T, 3, 3)
    e1, e2 = d[:, 1, :2] - d[:, 0, :2], d[:, 2, :2] - d[:, 0, :2]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    # Front faces have a negative signed area (their outward normal points towards the camera).
    ok = area < -1e-3
    ok &= (d[:, :, 0].max(axis=1) >= 0) & (d[:, :, 0].min(axis=1) < w)
    ok &= (d[:, :, 1].max(axis=1) >= 0) & (d[:, :, 1].min(axis=1) < h)
    ids = np.full((h, w), -1, np.int32)
    live = np.flatnonzero(ok)
    order = live[np.argsort(-d[live, :, 2].mean(axis=1))]
    fixed = np.round(d[:, :, :2] * 16).astype(np.int32)
    fill = cv2.fillConvexPoly
    for t in order.tolist():
        fill(ids, fixed[t], (t,), cv2.LINE_8, 4)
    return ids, ok


def _affine_table(xy: np.ndarray, attrs: np.ndarray, faces: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(3A, T) float32: attribute a of triangle t at frame point (x, y) is
    table[3a, t] * x + table[3a + 1, t] * y + table[3a + 2, t]."""
    d = xy[faces]  # (T, 3, 2)
    e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    det = np.where(ok & (np.abs(det) > 1e-9), det, 1.0)
    # Inverse of the 2x2 matrix with columns e1, e2.
    inv = np.stack([np.stack([e2[:, 1], -e2[:, 0]], axis=1), np.stack([-e1[:, 1], e1[:, 0]], axis=1)], axis=1)
    inv /= det[:, None, None]
    a = attrs[faces]  # (T, 3, A)
    f = np.stack([a[:, 1] - a[:, 0], a[:, 2] - a[:, 0]], axis=2)  # (T, A, 2)
    lin = f @ inv  # (T, A, 2)
    offset = a[:, 0] - np.einsum("tak,tk->ta", lin, d[:, 0])
    full = np.concatenate([lin, offset[:, :, None]], axis=2)  # (T, A, 3)
    return np.ascontiguousarray(full.reshape(len(faces), -1).T, dtype=np.float32)


def _sample(texture: np.ndarray, u: np.ndarray, v: np.ndarray) -> list[np.ndarray]:
    """Bilinear texture samples at pixel coordinates u, v (K,), one (K,) row per channel
    (cv2.remap on (rows, 1024) maps, since remap caps a map's side at 32767)."""
    k = len(u)
    if k == 0:
        return [np.zeros(0, np.float32) for _ in range(texture.shape[2])]
    cols = 1024
    rows = -(-k // cols)
    mx = np.zeros(rows * cols, np.float32)
    my = np.zeros(rows * cols, np.float32)
    mx[:k] = u
    my[:k] = v
    out = cv2.remap(texture, mx.reshape(rows, cols), my.reshape(rows, cols), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return [plane.ravel()[:k] for plane in cv2.split(out)]


# -- a person acting, and the camera that films them -------------------------------------------------


@dataclass(frozen=True)
class Motion:
    """One move: a smooth ramp in, a hold, a ramp out (times in seconds)."""

    action: str
    onset: float
    ramp_in: float
    hold: float
    ramp_out: float
    amplitude: float

    @property
    def end(self) -> float:
        return self.onset + self.ramp_in + self.hold + self.ramp_out

    def level(self, t: float) -> float:
        x = t - self.onset
        if x <= 0 or x >= self.ramp_in + self.hold + self.ramp_out:
            return 0.0
        if x < self.ramp_in:
            u = x / self.ramp_in
        elif x < self.ramp_in + self.hold:
            u = 1.0
        else:
            u = 1.0 - (x - self.ramp_in - self.hold) / self.ramp_out
        return 0.5 - 0.5 * math.cos(math.pi * u)


class HeadActor:
    """A person following cues: each revealed step is acted after a human reaction time, moves
    never overlap, blinks come by themselves (~15 a minute), and the head sways a little.

    Live use (the demo) calls :meth:`cue` when a step is revealed and :meth:`pose` per frame;
    the test generators cue every step of a challenge up front at its reveal time.
    """

    def __init__(
        self,
        rng: random.Random,
        *,
        duration_s: float = 60.0,
        reaction_s: tuple[float, float] = (0.25, 0.55),
        blink_rate_hz: float = 0.25,
        sway_deg: float = 1.5,
        sway_frac: float = 0.008,
    ) -> None:
        self.rng = rng
        self.reaction_s = reaction_s
        self.moves: list[Motion] = []
        t = rng.expovariate(blink_rate_hz)
        while t < duration_s:
            self.moves.append(Motion("blink", t, 0.05, rng.uniform(0.03, 0.1), 0.07, 1.0))
            t += 0.8 + rng.expovariate(blink_rate_hz)
        self._busy_until = -1.0
        # Sway: two slow sinusoids per channel (yaw, pitch, roll degrees; dx, dy frame widths).
        amps = [sway_deg, sway_deg * 0.8, sway_deg * 0.6, sway_frac, sway_frac]
        self._sway = [(a * rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.45), rng.uniform(0, 2 * math.pi))
                      for a in amps for _ in range(2)]

    def cue(self, action: str, reveal_s: float) -> Motion:
        """Schedule the move for a step revealed at ``reveal_s`` (seconds on the capture clock)."""
        rng = self.rng
        onset = max(reveal_s + rng.uniform(*self.reaction_s), self._busy_until + 0.1)
        if action == "blink":
            move = Motion(action, onset, rng.uniform(0.06, 0.1), rng.uniform(0.12, 0.25), rng.uniform(0.08, 0.14), 1.0)
        else:
            amplitude = {
                "turn_left": rng.uniform(20, 30),
                "turn_right": rng.uniform(20, 30),
                "look_up": rng.uniform(16, 22),
                "look_down": rng.uniform(18, 24),
                "open_mouth": rng.uniform(0.7, 1.0),
                "smile": rng.uniform(0.7, 1.0),
            }[action]
            move = Motion(action, onset, rng.uniform(0.15, 0.3), rng.uniform(0.4, 0.7), rng.uniform(0.15, 0.3), amplitude)
        self.moves.append(move)
        self._busy_until = move.end
        return move

    def pose(self, t: float) -> HeadPose:
        sway = [0.0] * 5
        for k, (a, f, p) in enumerate(self._sway):
            sway[k // 2] += a * math.sin(2 * math.pi * f * t + p)
        yaw, pitch, roll, dx, dy = sway
        mouth = smile = blink = 0.0
        for m in self.moves:
            lv = m.level(t)
            if lv <= 0:
                continue
            match m.action:
                case "turn_left":
                    yaw += lv * m.amplitude
                case "turn_right":
                    yaw -= lv * m.amplitude
                case "look_up":
                    pitch += lv * m.amplitude
                case "look_down":
                    pitch -= lv * m.amplitude
                case "open_mouth":
                    mouth = max(mouth, lv * m.amplitude)
                case "smile":
                    smile = max(smile, lv * m.amplitude)
                case "blink":
                    blink = max(blink, lv)
        return HeadPose(yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll, mouth_open=mouth, smile=smile, blink=blink, dx=dx, dy=dy)


_SRGB_TO_LINEAR_LUT = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)


@dataclass
class Camera:
    """A webcam: slow auto exposure and white balance (gains on the sensor's linear signal), a
    power-law tone curve, sensor noise, and the browser's JPEG.

    Auto exposure and white balance pull the frame's mean towards mid grey with time constants of
    about a second, partially (``*_strength``): they soften the light challenge without erasing
    it, as real webcams do. Frames come in sRGB-encoded (as :meth:`HeadRenderer.render` makes them).
    """

    noise_sigma: float = 2.0
    jpeg_quality: int = 85
    ae_strength: float = 0.5
    ae_tau_s: float = 1.2
    awb_strength: float = 0.3
    gamma: float = 2.2  # the camera's tone curve: encoded = linear ** (1 / gamma)
    seed: int = 0
    _gains: np.ndarray | None = None
    _last_t: float | None = None
    _bank: np.ndarray | None = None

    def capture(self, frame: np.ndarray, t: float) -> np.ndarray:
        lin: np.ndarray = _SRGB_TO_LINEAR_LUT[frame]
        small = cv2.resize(lin, (32, 24), interpolation=cv2.INTER_AREA).reshape(-1, 3).astype(np.float64)
        mean = small.mean(axis=0) + 1e-3
        level = float(mean.mean())
        # Exposure pulls the overall level towards 0.18 (mid grey), white balance each channel
        # towards the level, both only partly and with a lag.
        want = (0.18 / level) ** self.ae_strength * (level / mean) ** self.awb_strength
        if self._gains is None or self._last_t is None:
            self._gains = want
        else:
            dt = max(0.0, t - self._last_t)
            self._gains = self._gains + (want - self._gains) * (1.0 - math.exp(-dt / self.ae_tau_s))
        self._last_t = t
        g = self._gains
        exposed = lin * g.astype(np.float32)
        scaled = np.clip(exposed * (_ENCODE_LEVELS - 1), 0, _ENCODE_LEVELS - 1).astype(np.uint16)
        encoded = _power_lut(round(self.gamma, 2))[scaled]
        out = cv2.add(encoded, self._noise(frame.shape, t), dtype=cv2.CV_8U)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


    def _noise(self, shape: tuple[int, ...], t: float) -> np.ndarray:
        # Sensor noise from a bank of eight fields drawn once, each frame a random field rolled
        # by a random offset: drawing a fresh Gaussian field per frame cost more than rendering.
        if self._bank is None or self._bank.shape[1:] != shape:
            rng = np.random.default_rng(self.seed)
            self._bank = np.round(rng.normal(0.0, self.noise_sigma, (8, *shape))).astype(np.int16)
        pick = np.random.default_rng((self.seed, int(t * 1000)))
        field = self._bank[int(pick.integers(8))]
        return np.roll(field, (int(pick.integers(shape[0])), int(pick.integers(shape[1]))), axis=(0, 1))


@functools.cache
def _power_lut(gamma: float) -> np.ndarray:
    return np.round(255 * np.linspace(0, 1, _ENCODE_LEVELS) ** (1 / gamma)).astype(np.uint8)


def warp_texture(
    texture: np.ndarray, uv: np.ndarray, xyz: np.ndarray, faces: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a mesh whose vertices sit at ``xyz`` (frame pixels, z for depth order) with each
    vertex's texture at ``uv`` (texture pixels): a face pasted onto another face's landmarks, as
    face-swap tools do. Returns the image (H, W, C) and the covered pixels (H, W) bool. Faces are
    drawn in both windings (the caller's landmarks need not be oriented)."""
    w, h = size
    both = np.concatenate([faces, faces[:, [0, 2, 1]]])
    ids, ok = _rasterize(np.asarray(xyz, np.float64), both, size)
    idx = np.flatnonzero(ids >= 0)
    tri = ids.ravel()[idx]
    table = _affine_table(np.asarray(xyz, np.float64)[:, :2], np.asarray(uv, np.float64), both, ok)
    coef = table[:, tri]
    xs = (idx % w).astype(np.float32)
    ys = (idx // w).astype(np.float32)
    u = coef[0] * xs + coef[1] * ys + coef[2]
    v = coef[3] * xs + coef[4] * ys + coef[5]
    channels = _sample(texture.astype(np.float32), u, v)
    out = np.zeros((h * w, texture.shape[2]), np.float32)
    for ch, plane in enumerate(channels):
        out[idx, ch] = plane
    covered = np.zeros(h * w, bool)
    covered[idx] = True
    return out.reshape(h, w, -1), covered.reshape(h, w)
