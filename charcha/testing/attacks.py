"""Seeded genuine attempts and presentation attacks, built from real photographs (tests and bench).

Person A is ``skimage.data.astronaut()`` (Eileen Collins, public domain); person B, for the swap
and two-face attacks, is the photographer in ``skimage.data.camera()``. Both are brought to life
with the 2.5-D landmark warp of :mod:`charcha.testing.synth`. Every attempt is a function of
``(kind, seed)`` only, so any failure can be replayed.

Realism varied per seed: reaction time, ramp and hold of each move, its amplitude, slow head
drift, natural blinks, camera framing (face size, position, roll), hand-held camera shake,
exposure, sensor noise, JPEG compression (the browser uploads JPEG) and capture-time jitter with
the occasional dropped frame.

Needs scikit-image and scipy (development dependencies); the verifier never imports this module.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from charcha.testing.head3d import (
    Camera,
    HeadActor,
    HeadRenderer,
    Lighting,
    Motion,
    encode_srgb,
    head_model,
    screen_light,
    srgb_to_linear,
)
from charcha.testing.synth import FacePuppet, FaceState
from charcha.vision.challenge import challenge_duration_s, generate_steps
from charcha.vision.landmarks import FACE_OVAL
from charcha.vision.light import page_colour_at
from charcha.vision.types import CapturedFrame, ChallengeStep, LightSegment

FPS = 15.0
SIZE = (320, 240)

ATTACK_TYPES: tuple[str, ...] = (
    "still_photo",
    "photo_moved",
    "wrong_order",
    "too_late",
    "identity_swap",
    "two_faces",
    "no_face",
    "tampered_times",
)
# The reason the verifier should give. Wrong-order attempts whose misplaced move is a blink may
# read as "action_missed": a blink also happens naturally, so its timing proves little.
EXPECTED_REASON: dict[str, str] = {
    "genuine": "passed",
    "still_photo": "action_missed",
    "photo_moved": "action_missed",
    "wrong_order": "wrong_order",
    "too_late": "action_missed",
    "identity_swap": "identity_changed",
    "two_faces": "multiple_faces",
    "no_face": "no_face",
    "tampered_times": "timing_invalid",
}


# Where more than one reason is right. A photo tilted far enough loses the face (no_face) or
# stops looking like its owner (identity_changed); a misplaced blink can read as a missed one.
ACCEPTABLE_REASONS: dict[str, frozenset[str]] = {
    "photo_moved": frozenset({"action_missed", "no_face", "identity_changed"}),
    "wrong_order": frozenset({"wrong_order", "action_missed"}),
}


@dataclass(frozen=True)
class Attempt:
    kind: str
    seed: int
    steps: list[ChallengeStep]
    frames: list[CapturedFrame]
    variant: str = ""  # which flavour of the attack (for reports)

    @property
    def expected_reason(self) -> str:
        return EXPECTED_REASON[self.kind]

    @property
    def acceptable_reasons(self) -> frozenset[str]:
        return ACCEPTABLE_REASONS.get(self.kind, frozenset({self.expected_reason}))


# -- people ---------------------------------------------------------------------------------------


def _view_size(size: tuple[int, int]) -> tuple[int, int]:
    # The canonical render is a little larger than the output so camera shake never shows an edge.
    return (round(size[0] * 1.15), round(size[1] * 1.15))


@functools.cache
def person_a(size: tuple[int, int] = SIZE) -> FacePuppet:
    from skimage import data

    return FacePuppet(data.astronaut(), view_size=_view_size(size))


@functools.cache
def person_b(size: tuple[int, int] = SIZE, *, turned_to_camera: bool = True) -> FacePuppet:
    from skimage import data

    # The photographer's face is small in the 512 px original; FaceMesh needs it enlarged. He is
    # photographed in three-quarter view: when he performs moves he is first turned 20 degrees
    # towards the camera and his turns and nods are scaled to 60 %, so that he stays a visible,
    # detectable face (the point of the swap attack); as a bystander he is left as shot.
    photo = data.camera()[40:300, 100:360]
    photo = cv2.resize(photo, (520, 520), interpolation=cv2.INTER_CUBIC)
    return FacePuppet(
        np.stack([photo] * 3, axis=-1),
        view_size=_view_size(size),
        face_height_frac=0.24,
        base_yaw_deg=-20.0 if turned_to_camera else 0.0,
        pose_scale=0.6 if turned_to_camera else 1.0,
    )


# -- performance: what the face does over time ----------------------------------------------------


# The puppet's moves follow the same envelope as the 3-D head's (one definition: head3d's Motion).
def plan_move(action: str, earliest: float, rng: random.Random) -> Motion:
    if action == "blink":
        return Motion(action, earliest, rng.uniform(0.06, 0.1), rng.uniform(0.1, 0.25), rng.uniform(0.08, 0.14), 1.0)
    amplitude = {
        "turn_left": rng.uniform(20, 32),
        "turn_right": rng.uniform(20, 32),
        "look_up": rng.uniform(18, 26),
        "look_down": rng.uniform(20, 28),
        "open_mouth": rng.uniform(0.6, 1.0),
        "smile": rng.uniform(0.6, 1.0),
    }[action]
    return Motion(action, earliest, rng.uniform(0.15, 0.3), rng.uniform(0.35, 0.7), rng.uniform(0.15, 0.3), amplitude)


def plan_performance(
    steps: Sequence[ChallengeStep],
    rng: random.Random,
    *,
    actions: Sequence[str] | None = None,
    late: set[int] | None = None,
) -> list[Motion]:
    """One move per step, started a reaction time after its prompt (or after it closed, if late).

    ``actions`` overrides which action is done in each step's slot (the wrong-order attack).
    Moves never overlap: a move waits for the previous one to finish.
    """
    moves: list[Motion] = []
    previous_end = -1.0
    for i, step in enumerate(steps):
        action = actions[i] if actions is not None else step.action
        late_here = bool(late) and i in late  # type: ignore[operator]
        earliest = step.end_s + rng.uniform(0.05, 0.6) if late_here else step.start_s + rng.uniform(0.2, 0.55)
        move = plan_move(action, max(earliest, previous_end + 0.1), rng)
        moves.append(move)
        previous_end = move.end
    return moves


@dataclass(frozen=True)
class Wobble:
    """Smooth random motion: a sum of two slow sinusoids per channel."""

    amp: tuple[float, ...]
    freq: tuple[float, ...]
    phase: tuple[float, ...]

    @staticmethod
    def make(rng: random.Random, amps: Sequence[float], fmin: float = 0.1, fmax: float = 0.5) -> Wobble:
        amp, freq, phase = [], [], []
        for a in amps:
            for _ in range(2):
                amp.append(a * rng.uniform(0.3, 0.7))
                freq.append(rng.uniform(fmin, fmax))
                phase.append(rng.uniform(0, 2 * math.pi))
        return Wobble(tuple(amp), tuple(freq), tuple(phase))

    def at(self, t: float) -> list[float]:
        out = []
        for c in range(len(self.amp) // 2):
            v = 0.0
            for k in (2 * c, 2 * c + 1):
                v += self.amp[k] * math.sin(2 * math.pi * self.freq[k] * t + self.phase[k])
            out.append(v)
        return out


def natural_blinks(rng: random.Random, duration: float, rate_hz: float = 0.2) -> list[Motion]:
    blinks = []
    t = rng.expovariate(rate_hz)
    while t < duration:
        blinks.append(Motion("blink", t, 0.05, rng.uniform(0.03, 0.1), 0.07, 1.0))
        t += 0.6 + rng.expovariate(rate_hz)
    return blinks


def face_state(t: float, moves: Sequence[Motion], drift: Wobble) -> FaceState:
    yaw, pitch = drift.at(t)
    mouth = smile = blink = 0.0
    for m in moves:
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
    return FaceState(yaw_deg=yaw, pitch_deg=pitch, mouth_open=mouth, smile=smile, blink=blink)


# -- camera ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraStyle:
    size: tuple[int, int]
    face_scale: float
    offset: tuple[float, float]  # pixels in the output
    roll_deg: float
    shake: Wobble  # dx, dy (px), scale (fraction), roll (deg)
    gain: float
    bias: float
    noise_sigma: float
    jpeg_quality: int

    @staticmethod
    def make(rng: random.Random, size: tuple[int, int]) -> CameraStyle:
        k = size[0] / 320
        return CameraStyle(
            size=size,
            face_scale=rng.uniform(0.9, 1.15),
            offset=(rng.uniform(-18, 18) * k, rng.uniform(-10, 12) * k),
            roll_deg=rng.uniform(-6, 6),
            shake=Wobble.make(rng, [3 * k, 3 * k, 0.02, 1.5], 0.2, 1.0),
            gain=rng.uniform(0.8, 1.15),
            bias=rng.uniform(-15, 15),
            noise_sigma=rng.uniform(1.0, 3.5),
            jpeg_quality=rng.randint(70, 92),
        )

    def similarity(self, t: float, view: tuple[int, int]) -> np.ndarray:
        """2x3 map from the canonical view to the output frame at time t."""
        dx, dy, ds, dr = self.shake.at(t)
        w, h = self.size
        scale = w / view[0] * 1.15 * self.face_scale * (1 + ds)
        centre = (view[0] / 2, view[1] * 0.47)
        m = cv2.getRotationMatrix2D(centre, -(self.roll_deg + dr), scale)
        m[0, 2] += w / 2 + self.offset[0] + dx - centre[0]
        m[1, 2] += h * 0.47 + self.offset[1] + dy - centre[1]
        return m

    def finish(self, image: np.ndarray, t: float) -> np.ndarray:
        """Exposure, sensor noise and the browser's JPEG compression (OpenCV seeded by render())."""
        flicker = 1.0 + 0.015 * math.sin(2 * math.pi * 1.3 * t)
        exposed = cv2.addWeighted(image, self.gain * flicker, image, 0.0, self.bias)
        noise = np.empty(image.shape, np.int16)
        cv2.randn(noise, np.zeros(3), np.full(3, self.noise_sigma))
        out = cv2.add(exposed, noise, dtype=cv2.CV_8U)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        assert ok
        return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def capture_times(rng: random.Random, duration: float, fps: float = FPS) -> list[float]:
    """A browser sampling at ``fps``: timer jitter, and now and then a dropped frame."""
    times = []
    t = rng.uniform(0.0, 0.08)
    while t <= duration:
        times.append(round(t, 4))
        step = 1.0 / fps + rng.gauss(0.0, 0.004)
        if rng.random() < 0.03:
            step += 1.0 / fps
        t += min(max(step, 0.045), 0.2)
    return times


def plane_homography(view: tuple[int, int], yaw: float, pitch: float, roll: float, z: float = 1.0) -> np.ndarray:
    """3x3 map of a flat photo (the canonical view) rotated in 3-D in front of a pinhole camera.

    ``z`` < 1 brings the photo closer. The focal length is the view's width (a ~53 degree field
    of view, typical of a webcam).
    """
    w, h = view
    f = float(w)
    cx, cy = w / 2, h * 0.47
    a, b, c = (math.radians(v) for v in (yaw, pitch, roll))
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    r = rz @ rx @ ry
    k = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1]])
    to_plane = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 0]], dtype=np.float64)
    m = r[:, :2] @ to_plane[:2] + np.array([[0, 0, 0], [0, 0, 0], [0, 0, f * z]])
    return k @ m


# -- frame specs and rendering ----------------------------------------------------------------------


@dataclass
class FrameSpec:
    t: float
    person: str | None = "a"  # "a", "b" or None (nobody in the picture)
    state: FaceState = field(default_factory=FaceState)
    plane: tuple[float, float, float, float] | None = None  # flat photo: yaw, pitch, roll, z
    second_face: tuple[str, float, float, float] | None = None  # person, centre x, y (0..1), face height px
    shift: tuple[float, float] = (0.0, 0.0)  # extra shift of the user in the output, pixels
    occluded: bool = False
    shifted_out: bool = False


def _background(size: tuple[int, int]) -> np.ndarray:
    # An empty room: the wall to the right of the astronaut (flag, rocket, clouds), no face.
    from skimage import data

    wall = data.astronaut()[0:300, 330:512]
    return np.ascontiguousarray(cv2.resize(wall, size, interpolation=cv2.INTER_LINEAR))


_background_cached = functools.cache(_background)


def _face_crop(puppet: FacePuppet) -> tuple[np.ndarray, float]:
    """The puppet's neutral head and shoulders cropped square around the face, and the face's
    height as a fraction of the crop."""
    image = puppet.render(FaceState())
    lm = puppet.moved_landmarks(FaceState())[:, :2] @ puppet._to_view[:, :2].T + puppet._to_view[:, 2]
    x0, y0 = lm.min(axis=0)
    x1, y1 = lm.max(axis=0)
    face_h = y1 - y0
    cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2 + 0.1 * face_h, 1.8 * face_h
    h, w = image.shape[:2]
    a, b = int(max(cx - side / 2, 0)), int(max(cy - side / 2, 0))
    crop = image[b : min(int(b + side), h), a : min(int(a + side), w)]
    return crop, face_h / max(crop.shape[:2])


_face_crop_cached = functools.cache(
    lambda who, size: _face_crop(person_a(size) if who == "a" else person_b(size, turned_to_camera=False))
)


def _paste_face(frame: np.ndarray, crop: np.ndarray, face_frac: float, cx: float, cy: float, face_h: float) -> None:
    """Paste ``crop`` so that its face is ``face_h`` pixels tall and centred at (cx, cy) (0..1)."""
    h, w = frame.shape[:2]
    size = max(8, int(face_h / face_frac))
    patch = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    # A person (or a held-up photo) beside the user: the head with some surroundings.
    mask = np.zeros((size, size), np.float32)
    cv2.rectangle(mask, (int(size * 0.06), int(size * 0.04)), (int(size * 0.94), size), (1.0,), -1)
    soft = cv2.GaussianBlur(mask, (0, 0), size * 0.03)[:, :, None]
    x0, y0 = int(cx * w - size / 2), int(cy * h - size / 2)
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + size, w), min(y0 + size, h)
    if xa >= xb or ya >= yb:
        return
    sub = patch[ya - y0 : yb - y0, xa - x0 : xb - x0].astype(np.float32)
    m = soft[ya - y0 : yb - y0, xa - x0 : xb - x0]
    region = frame[ya:yb, xa:xb].astype(np.float32)
    frame[ya:yb, xa:xb] = (region * (1 - m) + sub * m).astype(np.uint8)


def render(specs: Sequence[FrameSpec], camera: CameraStyle, seed: int) -> list[CapturedFrame]:
    """Turn frame specs into captured frames (RGB, unmirrored, JPEG-compressed like an upload)."""
    cv2.setRNGSeed(seed)  # the sensor noise, so an attempt is a function of its seed
    size = camera.size
    frames = []
    for spec in specs:
        if spec.person is None:
            raw = _background_cached(size).copy()
        else:
            puppet = person_a(size) if spec.person == "a" else person_b(size)
            view = puppet.view_size
            canvas = puppet.render(spec.state)
            sim = np.vstack([camera.similarity(spec.t, view), [0, 0, 1]])
            sim[:2, 2] += spec.shift
            if spec.plane is not None:
                sim = sim @ plane_homography(view, *spec.plane)
            border = cv2.BORDER_CONSTANT if spec.shifted_out else cv2.BORDER_REPLICATE
            raw = cv2.warpPerspective(canvas, sim, size, flags=cv2.INTER_LINEAR, borderMode=border, borderValue=(128, 128, 128))
            if spec.shifted_out:
                raw = _background_cached(size).copy()
        if spec.occluded:
            # A hand or a sheet held over the face.
            h, w = raw.shape[:2]
            cv2.ellipse(raw, (int(w * 0.5 + camera.offset[0]), int(h * 0.45 + camera.offset[1])),
                        (int(w * 0.3), int(h * 0.48)), 0, 0, 360, (196, 150, 120), -1)
        if spec.second_face is not None:
            who, cx, cy, face_h = spec.second_face
            crop, frac = _face_crop_cached(who, size)
            _paste_face(raw, crop, frac, cx, cy, face_h)
        frames.append(CapturedFrame(t_s=spec.t, image=camera.finish(raw, spec.t)))
    return frames


# -- attempts ----------------------------------------------------------------------------------------


def _rng(kind: str, seed: int) -> random.Random:
    return random.Random(f"{kind}:{seed}")


def _live_specs(steps: Sequence[ChallengeStep], rng: random.Random, **plan: object) -> list[FrameSpec]:
    duration = challenge_duration_s(steps)
    moves = plan_performance(steps, rng, **plan)  # type: ignore[arg-type]
    moves += natural_blinks(rng, duration)
    drift = Wobble.make(rng, [2.0, 1.5])
    return [FrameSpec(t=t, state=face_state(t, moves, drift)) for t in capture_times(rng, duration)]


def performed_attempt(
    kind: str,
    steps: Sequence[ChallengeStep],
    seed: int,
    *,
    actions: Sequence[str] | None = None,
    late: set[int] | None = None,
    size: tuple[int, int] = SIZE,
) -> Attempt:
    """Person A performing ``steps`` live, optionally in another order (``actions``) or late."""
    rng = _rng(f"performed:{kind}", seed)
    specs = _live_specs(list(steps), rng, actions=actions, late=late)
    return Attempt(kind, seed, list(steps), render(specs, CameraStyle.make(rng, size), seed))


def genuine_attempt(seed: int, *, size: tuple[int, int] = SIZE, steps: Sequence[ChallengeStep] | None = None) -> Attempt:
    rng = _rng("genuine", seed)
    steps = list(steps) if steps is not None else generate_steps(rng)
    specs = _live_specs(steps, rng)
    return Attempt("genuine", seed, steps, render(specs, CameraStyle.make(rng, size), seed))


def _still_photo(steps: list[ChallengeStep], rng: random.Random, size: tuple[int, int]) -> tuple[list[FrameSpec], str]:
    # A printed photo or a phone showing one, held as still as a hand holds it.
    specs = [FrameSpec(t=t) for t in capture_times(rng, challenge_duration_s(steps))]
    return specs, "held"


def _photo_moved(steps: list[ChallengeStep], rng: random.Random, size: tuple[int, int]) -> tuple[list[FrameSpec], str]:
    """A flat photo turned, tilted, rotated and moved in time with the prompts."""
    duration = challenge_duration_s(steps)
    variant = rng.choice(["tilt", "tilt_and_roll", "tilt_and_move"])
    motions = []
    for step in steps:
        big = rng.uniform(25, 60) * rng.choice([-1, 1])
        if step.action in ("turn_left", "turn_right"):
            target = (big, rng.uniform(-8, 8), 0.0)
        elif step.action in ("look_up", "look_down"):
            target = (rng.uniform(-8, 8), big, 0.0)
        else:  # a photo cannot blink or smile; the attacker tries whatever distorts the face most
            target = (rng.uniform(-45, 45), rng.uniform(-55, 55), 0.0)
        onset = step.start_s + rng.uniform(0.2, 0.5)
        move = Motion(step.action, onset, rng.uniform(0.15, 0.35), rng.uniform(0.4, 0.9), rng.uniform(0.15, 0.35), 1.0)
        roll = rng.uniform(-35, 35) if variant != "tilt" else 0.0
        z = rng.uniform(0.75, 1.1) if variant == "tilt_and_move" else 1.0
        motions.append((move, target, roll, z))
    wobble = Wobble.make(rng, [4.0, 4.0, 5.0])
    specs = []
    for t in capture_times(rng, duration):
        yaw, pitch, roll = wobble.at(t)
        z = 1.0
        for move, target, move_roll, move_z in motions:
            lv = move.level(t)
            yaw += lv * target[0]
            pitch += lv * target[1]
            roll += lv * move_roll
            z += lv * (move_z - 1.0)
        specs.append(FrameSpec(t=t, plane=(yaw, pitch, roll, z)))
    return specs, variant


def _wrong_order(steps: list[ChallengeStep], rng: random.Random, size: tuple[int, int]) -> tuple[list[FrameSpec], str]:
    actions = [s.action for s in steps]
    order = actions[:]
    while order == actions:
        if rng.random() < 0.5:  # swap two neighbours, the most plausible mistake
            i = rng.randrange(len(order) - 1)
            order = actions[:]
            order[i], order[i + 1] = order[i + 1], order[i]
        else:
            rng.shuffle(order)
    return _live_specs(steps, rng, actions=order), "swap" if sum(a != b for a, b in zip(order, actions, strict=True)) == 2 else "shuffle"


def _too_late(steps: list[ChallengeStep], rng: random.Random, size: tuple[int, int]) -> tuple[list[FrameSpec], str]:
    # At least one late move is not a blink: people blink all the time, so a blink "done late"
    # is often also done in time by chance, and the attempt is then simply a live one.
    n = len(steps)
    moves = [i for i, s in enumerate(steps) if s.action != "blink"]
    late = {rng.choice(moves)} | set(rng.sample(range(n), rng.randint(0, n - 1)))
    return _live_specs(steps, rng, late=late), f"{len(late)}_late"


def _identity_swap(steps: list[ChallengeStep], rng: random.Random, size: tuple[int, int]) -> tuple[list[FrameSpec], str]:
    specs = _live_specs(steps, rng)
    if rng.random() < 0.5:
        # Someone else takes over for the rest of the challenge.
        cut = rng.uniform(0.3, 0.7) * specs[-1].t
        variant = "takeover"
        for s in specs:
            if s.t >= cut:
                s.person = "b"
    else:
        # An accomplice steps in for just one prompt (the move a photo of the victim cannot do).
        step = rng.choice(steps)
        variant = "one_step"
        for s in specs:
            if step.start_s - 0.2 <= s.t <= step.end_s + 0.2:
                s.person = "b"
    return specs, variant


def _two_faces(steps: list[ChallengeStep], rng: random.Random, size: tuple[int, int]) -> tuple[list[FrameSpec], str]:
    """Someone beside the user (another person, or a photo of the user held up), whole challenge
    or passing through for a moment. The user moves over to make room, as people do."""
    specs = _live_specs(steps, rng)
    who = rng.choice(["b", "a"])
    side = rng.choice([-1.0, 1.0])
    user_shift = (-side * rng.uniform(0.12, 0.18) * size[0], 0.0)
    cx = 0.5 + side * rng.uniform(0.27, 0.33)
    cy = rng.uniform(0.4, 0.55)
    face_h = rng.uniform(0.7, 1.0) * 0.42 * size[1]  # the user's face is ~0.42 of the frame's height
    if rng.random() < 0.5:
        start, end, variant = -1.0, 1e9, f"{who}_throughout"
    else:
        start = rng.uniform(0.5, specs[-1].t - 1.5)
        end, variant = start + rng.uniform(0.6, 1.5), f"{who}_passing"
    for s in specs:
        s.shift = user_shift
        if start <= s.t <= end:
            s.second_face = (who, cx, cy, face_h)
    return specs, variant


def _no_face(steps: list[ChallengeStep], rng: random.Random, size: tuple[int, int]) -> tuple[list[FrameSpec], str]:
    variant = rng.choice(["empty", "covered", "left_frame"])
    if variant == "empty":
        return [FrameSpec(t=t, person=None) for t in capture_times(rng, challenge_duration_s(steps))], variant
    specs = _live_specs(steps, rng)
    start = rng.uniform(0.0, specs[-1].t - 1.0)
    end = start + rng.uniform(0.5, 1.2)
    for s in specs:
        if start <= s.t <= end:
            if variant == "covered":
                s.occluded = True
            else:
                s.shifted_out = True
    return specs, variant


def _tampered_times(steps: list[ChallengeStep], rng: random.Random, size: tuple[int, int]) -> tuple[list[FrameSpec], str]:
    """A recording whose capture times were rewritten so its moves fit the issued windows."""
    variant = rng.choice(["compressed", "burst", "reordered", "duplicated", "hole", "before_start"])
    if variant == "compressed":
        # Recorded slowly (every window stretched by f), then every time divided by f.
        f = rng.uniform(1.8, 3.0)
        slow = [ChallengeStep(s.action, s.start_s * f, s.end_s * f) for s in steps]
        specs = _live_specs(slow, rng)
        for s in specs:
            s.t = round(s.t / f, 4)
        return specs, variant
    if variant == "burst":
        # Moves done late; the stretch before a late move is squeezed 3-4x to pull it into its window.
        specs = _live_specs(steps, rng, late={rng.randrange(len(steps))})
        a = rng.randrange(len(specs) // 4, len(specs) // 2)
        b = a + rng.randint(8, 20)
        f = rng.uniform(3.0, 4.0)
        shift = 0.0
        base = [s.t for s in specs]
        for i in range(1, len(specs)):
            dt = base[i] - base[i - 1]
            if a <= i < b:
                shift += dt - dt / f
            specs[i].t = round(base[i] - shift, 4)
        return specs, variant
    specs = _live_specs(steps, rng)
    if variant == "reordered":
        # Two stretches of frames exchanged, each keeping its frames' original times.
        n = len(specs)
        a = rng.randrange(5, n // 2)
        ln = rng.randint(4, 12)
        b = rng.randrange(a + ln, n - ln)
        times = [s.t for s in specs]
        for k in range(ln):
            specs[a + k].t, specs[b + k].t = times[b + k], times[a + k]
    elif variant == "duplicated":
        a = rng.randrange(5, len(specs) - 10)
        for k in range(1, rng.randint(2, 6)):
            specs[a + k].t = specs[a].t
    elif variant == "hole":
        # Frames cut out (a bad take), the rest kept at their true times.
        a = rng.randrange(10, len(specs) - 20)
        del specs[a : a + rng.randint(9, 18)]
    else:
        offset = rng.uniform(0.8, 2.0)
        for s in specs:
            s.t = round(s.t - offset, 4)
    return specs, variant


_ATTACKS: dict[str, Callable[[list[ChallengeStep], random.Random, tuple[int, int]], tuple[list[FrameSpec], str]]] = {
    "still_photo": _still_photo,
    "photo_moved": _photo_moved,
    "wrong_order": _wrong_order,
    "too_late": _too_late,
    "identity_swap": _identity_swap,
    "two_faces": _two_faces,
    "no_face": _no_face,
    "tampered_times": _tampered_times,
}


def attack_attempt(kind: str, seed: int, *, size: tuple[int, int] = SIZE) -> Attempt:
    rng = _rng(kind, seed)
    steps = generate_steps(rng)
    specs, variant = _ATTACKS[kind](steps, rng, size)
    camera = CameraStyle.make(rng, size)
    frames = render(specs, camera, seed)
    return Attempt(kind, seed, steps, frames, variant)


def make_attempt(kind: str, seed: int, *, size: tuple[int, int] = SIZE) -> Attempt:
    """A genuine attempt (``kind="genuine"``) or one of :data:`ATTACK_TYPES`, fully seeded."""
    if kind == "genuine":
        return genuine_attempt(seed, size=size)
    if kind not in _ATTACKS:
        raise ValueError(f"unknown attempt kind {kind!r}")
    return attack_attempt(kind, seed, size=size)


def with_times(attempt: Attempt, times: Sequence[float] | np.ndarray) -> Attempt:
    """The same frames with other capture times (for tests of the timing rules)."""
    frames = [replace(f, t_s=float(t)) for f, t in zip(attempt.frames, times, strict=True)]
    return replace(attempt, frames=frames)


# ================================================================================================
# Issue 13: challenges with a light phase; genuine attempts by a textured 3-D head lit by the
# screen (charcha.testing.head3d); attacks that must fake the light. Every generator has the shape
#     fn(photo, steps, light, fps, rng) -> list[CapturedFrame]
# where ``steps`` and ``light`` are the challenge as the server revealed it.
# ================================================================================================

LIVE_SIZE = (320, 240)
LIVE_FPS = 15.0


def plan_challenge(rng: random.Random, *, n_steps: int = 4) -> tuple[list[ChallengeStep], list[LightSegment]]:
    """A challenge as the server issues and reveals it: the light phase, then the steps.

    Reveal times come 0-150 ms after the planned times (the page polls the cue endpoint), and a
    light segment lasts until the next one's reveal.
    """
    from charcha.vision.light import generate_light_sequence

    plan = generate_light_sequence(rng, start_s=rng.uniform(0.4, 0.6))
    reveals = [start + rng.uniform(0.0, 0.15) for _, start, _ in plan]
    light = [
        LightSegment(rgb, round(reveals[i], 3), round(reveals[i + 1] if i + 1 < len(plan) else end, 3))
        for i, (rgb, _start, end) in enumerate(plan)
    ]
    light_end = plan[-1][2]
    planned = generate_steps(rng, n_steps=n_steps, lead_in_s=(light_end + 0.5, light_end + 0.8))
    steps = []
    for s in planned:
        reveal = s.start_s + rng.uniform(0.0, 0.15)
        steps.append(ChallengeStep(s.action, round(reveal, 3), round(reveal + (s.end_s - s.start_s), 3)))
    return steps, light


def attempt_duration_s(steps: Sequence[ChallengeStep], light: Sequence[LightSegment]) -> float:
    return max([challenge_duration_s(steps), *(seg.end_s + 0.3 for seg in light)])


@functools.cache
def photo(name: str) -> np.ndarray:
    """The real photographs the bench uses: ``astronaut`` (person A) and ``camera`` (person B,
    cropped and enlarged so FaceMesh finds him)."""
    from skimage import data

    if name == "astronaut":
        return np.ascontiguousarray(data.astronaut())
    if name == "camera":
        crop = cv2.resize(data.camera()[40:300, 100:360], (520, 520), interpolation=cv2.INTER_CUBIC)
        return np.ascontiguousarray(np.stack([crop] * 3, axis=-1))
    raise ValueError(f"unknown photo {name!r}")


def random_lighting(rng: random.Random) -> Lighting:
    """A room and a screen: dim to bright rooms, a main light from above, ahead or beside, warm to
    cool light; the screen between a fifth and three fifths of the room's light on the face."""
    ambient = rng.uniform(0.25, 0.55)
    room = rng.uniform(0.1, 0.45)
    # A ceiling light or a window: 15-70 degrees above the face, from straight ahead to the side.
    azimuth, elevation = math.radians(rng.uniform(-90, 90)), math.radians(rng.uniform(15, 70))
    room_dir = (math.sin(azimuth) * math.cos(elevation), -math.sin(elevation), -math.cos(azimuth) * math.cos(elevation))
    warm = rng.uniform(-0.08, 0.12)
    room_rgb = (1.0, 1.0 - 0.4 * warm, 1.0 - warm)
    screen = (ambient + 0.6 * room) * rng.uniform(0.2, 0.6)
    return Lighting(ambient=ambient, room=room, room_dir=room_dir, room_rgb=room_rgb, screen=screen,
                    specular=rng.uniform(0.02, 0.08), shininess=rng.uniform(8, 20),
                    screen_dir=(rng.uniform(-0.1, 0.1), rng.uniform(0.1, 0.35), -1.0))


def random_camera(rng: random.Random) -> Camera:
    return Camera(noise_sigma=rng.uniform(1.0, 3.0), jpeg_quality=rng.randint(70, 92),
                  ae_strength=rng.uniform(0.2, 0.6), ae_tau_s=rng.uniform(0.8, 2.0),
                  awb_strength=rng.uniform(0.0, 0.4), gamma=rng.uniform(2.0, 2.5), seed=rng.randrange(1 << 30))


def display_lag_s(rng: random.Random) -> float:
    """From the page's reveal to the light on the face in a captured frame: the colour change is
    drawn at the next frame, the display shows it, the camera exposes and delivers."""
    return rng.uniform(0.05, 0.3)


def genuine_head(
    photo_rgb: np.ndarray,
    steps: Sequence[ChallengeStep],
    light: Sequence[LightSegment],
    fps: float,
    rng: random.Random,
    *,
    size: tuple[int, int] = LIVE_SIZE,
) -> list[CapturedFrame]:
    """A person in front of the screen: the photo's 3-D head, lit physically by the room and by the
    page's colours, acting every step after a human reaction time, with spontaneous blinks, sway,
    auto exposure, sensor noise and JPEG."""
    frames, _ = _live_head(photo_rgb, steps, light, fps, rng, size=size)
    return frames


def _live_head(
    photo_rgb: np.ndarray,
    steps: Sequence[ChallengeStep],
    light: Sequence[LightSegment],
    fps: float,
    rng: random.Random,
    *,
    size: tuple[int, int] = LIVE_SIZE,
    duration_s: float | None = None,
    scene: Callable[[np.ndarray, float, np.ndarray], np.ndarray] | None = None,
) -> tuple[list[CapturedFrame], list[np.ndarray]]:
    """Genuine frames plus the true landmarks of each (for attacks built on a live head).

    ``scene(image, t, landmarks)`` may change what is in front of the camera before it captures.
    """
    model = head_model(photo_rgb)
    skin = rng.uniform(0.35, 1.1)
    renderer = HeadRenderer(model, size=size, face_width_frac=rng.uniform(0.27, 0.36), lighting=random_lighting(rng),
                            skin=(skin, skin * rng.uniform(0.95, 1.02), skin * rng.uniform(0.92, 1.02)))
    duration = duration_s if duration_s is not None else attempt_duration_s(steps, light)
    actor = HeadActor(rng, duration_s=duration + 1)
    for step in steps:
        actor.cue(step.action, step.start_s)
    camera = random_camera(rng)
    lag = display_lag_s(rng)
    frames, marks = [], []
    for t in capture_times(rng, duration, fps):
        pose = actor.pose(t)
        image = renderer.render(pose, page_colour_at(light, t - lag))
        lm = renderer.landmarks(pose)
        if scene is not None:
            image = scene(image, t, lm)
        frames.append(CapturedFrame(t_s=t, image=camera.capture(image, t)))
        marks.append(lm)
    return frames, marks


# -- attacks on the light challenge ---------------------------------------------------------------


def _linear(image: np.ndarray) -> np.ndarray:
    return srgb_to_linear(image.astype(np.float32) / 255.0)


@functools.cache
def _room_backdrop(size: tuple[int, int]) -> np.ndarray:
    """The attacker's room behind a held-up photo, linear."""
    return _linear(_background(size))


def _plane_pose_at(t: float, steps: Sequence[ChallengeStep], rng_state: list[tuple[float, float, float, float]],
                   wobble: Wobble, base: tuple[float, float, float]) -> tuple[float, float, float]:
    yaw, pitch, roll = (b + w for b, w in zip(base, wobble.at(t), strict=True))
    for (onset, dur, d_yaw, d_pitch), step in zip(rng_state, steps, strict=False):
        lv = Motion(step.action, onset, 0.2, dur, 0.2, 1.0).level(t)
        yaw += lv * d_yaw
        pitch += lv * d_pitch
    return yaw, pitch, roll


def flat_photo(
    photo_rgb: np.ndarray,
    steps: Sequence[ChallengeStep],
    light: Sequence[LightSegment],
    fps: float,
    rng: random.Random,
    *,
    size: tuple[int, int] = LIVE_SIZE,
    variant: str | None = None,
    camera: Camera | None = None,
) -> list[CapturedFrame]:
    """A printed photo held before the camera, lit physically by the room and the screen: one flat
    plane ("moved": turned and nodded with the prompts; "tilted": held at a slant), or two planes
    ("folded": creased down the nose, the attack that gives a photo a 3-D nose)."""
    variant = variant or rng.choice(["moved", "folded", "tilted"])
    lm = head_model(photo_rgb).landmarks
    lighting = random_lighting(rng)
    camera = random_camera(rng) if camera is None else camera
    lag = display_lag_s(rng)
    w, h = size
    face_w = float(np.ptp(lm[:468, 0]))
    k = rng.uniform(0.27, 0.36) * w / face_w  # world units per photo pixel at the focal distance
    nose = lm[1, :2]
    fold = math.radians(rng.uniform(25, 70)) if variant == "folded" else 0.0
    base = (rng.uniform(-35, 35), rng.uniform(-25, 25), rng.uniform(-8, 8)) if variant == "tilted" else (0.0, 0.0, rng.uniform(-5, 5))
    moves = []
    for step in steps:
        big = rng.uniform(20, 45) * rng.choice([-1, 1])
        if step.action in ("turn_left", "turn_right"):
            d = (big if step.action == "turn_left" else -abs(big), rng.uniform(-5, 5))
        elif step.action in ("look_up", "look_down"):
            d = (rng.uniform(-5, 5), abs(big) if step.action == "look_up" else -abs(big))
        else:  # a photo cannot blink or smile: the attacker tries distorting it
            d = (rng.uniform(-30, 30), rng.uniform(-30, 30))
        moves.append((step.start_s + rng.uniform(0.2, 0.5), rng.uniform(0.4, 0.8), *d) if variant != "tilted" else (0.0, 0.0, 0.0, 0.0))
    wobble = Wobble.make(rng, [2.0, 2.0, 2.0], 0.15, 0.8)
    photo_lin = _linear(np.ascontiguousarray(photo_rgb[:, :, :3])) * rng.uniform(0.8, 0.95)  # paper and ink
    ph, pw = photo_lin.shape[:2]
    back = _room_backdrop(size)
    l_room, l_screen = _unit_vec(lighting.room_dir), _unit_vec(lighting.screen_dir)
    room_rgb = np.asarray(lighting.room_rgb, np.float32)
    f = float(w)
    offset = (rng.uniform(-0.05, 0.05) * w, rng.uniform(-0.04, 0.04) * h)
    frames = []
    for t in capture_times(rng, attempt_duration_s(steps, light), fps):
        yaw, pitch, roll = _plane_pose_at(t, steps, moves, wobble, base)
        rot = _rot3(yaw, pitch, roll)
        c = screen_light(page_colour_at(light, t - lag))
        out = back * (room_rgb * (lighting.ambient + 0.5 * lighting.room) + c * lighting.screen * lighting.backdrop_screen)
        halves = [(0.0, float(nose[0]), -fold / 2), (float(nose[0]), float(pw), fold / 2)] if fold else [(0.0, float(pw), 0.0)]
        for u0, u1, angle in halves:
            # The half's corners in 3-D: the crease is the vertical line through the nose.
            corners_uv = np.array([[u0, 0], [u1, 0], [u1, ph], [u0, ph]], np.float64)
            local = np.zeros((4, 3))
            local[:, 0] = (corners_uv[:, 0] - nose[0]) * k
            local[:, 1] = (corners_uv[:, 1] - nose[1]) * k
            fold_rot = _rot3(math.degrees(angle), 0.0, 0.0)
            world = local @ fold_rot.T @ rot.T
            z = world[:, 2] + f
            if np.any(z < 0.2 * f):
                continue
            proj = np.stack([f * world[:, 0] / z + w / 2 + offset[0], f * world[:, 1] / z + h * 0.47 + offset[1]], axis=1)
            hom = cv2.getPerspectiveTransform(corners_uv.astype(np.float32), proj.astype(np.float32))
            normal = rot @ fold_rot @ np.array([0.0, 0.0, -1.0])
            if normal[2] > 0:  # the back of the paper
                continue
            room = lighting.ambient + lighting.room * max(float(normal @ l_room), 0.0)
            lambert = max(float(normal @ l_screen), 0.0)
            shade = room_rgb * room + c * lighting.screen * lambert
            warped = cv2.warpPerspective(photo_lin, hom, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), hom, size, flags=cv2.INTER_LINEAR)
            out = out * (1 - mask[:, :, None]) + warped * shade
        frames.append(CapturedFrame(t_s=t, image=camera.capture(encode_srgb(out), t)))
    return frames


def _unit_vec(v: Sequence[float]) -> np.ndarray:
    a = np.asarray(v, np.float64)
    return a / float(np.linalg.norm(a))


def _rot3(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation in camera axes (x right, y down, z away): yaw about y, pitch about x, roll about z."""
    a, b, c = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry


def easiest_challenge(rng: random.Random, tries: int = 12) -> tuple[list[ChallengeStep], list[LightSegment]]:
    """The challenge an attacker keeps after re-rolling ``tries`` times (each re-roll costs a
    failed attempt now, but the generator is the same): the fewest head moves, then the longest
    windows, then the shortest light phase."""
    best: tuple[tuple[float, float, float], tuple[list[ChallengeStep], list[LightSegment]]] | None = None
    for _ in range(tries):
        steps, light = plan_challenge(rng)
        moves = sum(s.action in ("turn_left", "turn_right", "look_up", "look_down") for s in steps)
        score = (moves, -min(s.end_s - s.start_s for s in steps), light[-1].end_s - light[0].start_s)
        if best is None or score < best[0]:
            best = (score, (steps, light))
    assert best is not None
    return best[1]


@functools.cache
def _puppet(photo_key: str, size: tuple[int, int]) -> FacePuppet:
    return FacePuppet(photo(photo_key), view_size=_view_size(size))


def _photo_key(photo_rgb: np.ndarray) -> str:
    for name in ("astronaut", "camera"):
        if photo_rgb.shape == photo(name).shape and np.array_equal(photo_rgb[::37, ::37], photo(name)[::37, ::37]):
            return name
    raise ValueError("attacks animate the bench's own photos (attacks.photo(...))")


def _puppet_frames(
    photo_rgb: np.ndarray,
    steps: Sequence[ChallengeStep],
    light: Sequence[LightSegment],
    fps: float,
    rng: random.Random,
    size: tuple[int, int],
) -> list[tuple[float, np.ndarray]]:
    """The 2-D landmark puppet performing the revealed steps (software reacting in 0.1-0.3 s),
    framed like a webcam, sRGB, before any light or camera: (time, image) pairs."""
    puppet = _puppet(_photo_key(photo_rgb), size)
    duration = attempt_duration_s(steps, light)
    # Tuned against the verifier: the moves of the genuine heads, which pass its action checks.
    actor = HeadActor(rng, duration_s=duration + 1, reaction_s=(0.1, 0.3))
    for step in steps:
        actor.cue(step.action, step.start_s)
    style = CameraStyle.make(rng, size)
    out = []
    for t in capture_times(rng, duration, fps):
        pose = actor.pose(t)
        state = FaceState(yaw_deg=pose.yaw_deg, pitch_deg=pose.pitch_deg, mouth_open=pose.mouth_open, smile=pose.smile,
                          blink=pose.blink)
        canvas = puppet.render(state)
        sim = style.similarity(t, puppet.view_size)
        out.append((t, cv2.warpAffine(canvas, sim, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)))
    return out


def puppet(
    photo_rgb: np.ndarray,
    steps: Sequence[ChallengeStep],
    light: Sequence[LightSegment],
    fps: float,
    rng: random.Random,
    *,
    size: tuple[int, int] = LIVE_SIZE,
    variant: str | None = None,
) -> list[CapturedFrame]:
    """The 2.5-D puppet of the photo (charcha.testing.synth), which beat issue 4's verifier, acting
    every step as it is revealed: fed in as a virtual camera (it never sees the screen's light), or
    played on a tablet held before the camera (the tablet's glass reflects a little of the screen's
    light, evenly)."""
    variant = variant or rng.choice(["virtual_camera", "tablet"])
    camera = random_camera(rng)
    lag = display_lag_s(rng)
    reflect = rng.uniform(0.02, 0.08)
    frames = []
    for t, image in _puppet_frames(photo_rgb, steps, light, fps, rng, size):
        if variant == "tablet":
            c = screen_light(page_colour_at(light, t - lag))
            image = encode_srgb(_linear(image) * rng.uniform(0.97, 1.0) + reflect * c)
        frames.append(CapturedFrame(t_s=t, image=camera.capture(image, t)))
    return frames


def injected_tint(
    photo_rgb: np.ndarray,
    steps: Sequence[ChallengeStep],
    light: Sequence[LightSegment],
    fps: float,
    rng: random.Random,
    *,
    size: tuple[int, int] = LIVE_SIZE,
) -> list[CapturedFrame]:
    """An injected stream that knows every step as it is revealed and reads the page's colour
    (as its own script would), then tints the puppet by it, uniformly, with a realistic lag."""
    lag = rng.uniform(0.05, 0.25)
    ambient, strength = rng.uniform(0.5, 0.8), rng.uniform(0.25, 0.6)
    neutral = screen_light(page_colour_at([], 0.0))
    camera = random_camera(rng)
    frames = []
    for t, image in _puppet_frames(photo_rgb, steps, light, fps, rng, size):
        c = screen_light(page_colour_at(light, t - lag))
        tint = (ambient + strength * c) / (ambient + strength * neutral)
        frames.append(CapturedFrame(t_s=t, image=camera.capture(encode_srgb(_linear(image) * tint), t)))
    return frames


def replay(
    photo_rgb: np.ndarray,
    steps: Sequence[ChallengeStep],
    light: Sequence[LightSegment],
    fps: float,
    rng: random.Random,
    *,
    size: tuple[int, int] = LIVE_SIZE,
) -> list[CapturedFrame]:
    """A genuine attempt recorded earlier (another challenge: other steps, other colours), played
    back with its own timing, as long as the new challenge runs."""
    old_steps, old_light = plan_challenge(rng)
    frames, _ = _live_head(photo_rgb, old_steps, old_light, fps, rng, size=size,
                           duration_s=attempt_duration_s(steps, light))
    return frames


def small_face(
    photo_rgb: np.ndarray,
    steps: Sequence[ChallengeStep],
    light: Sequence[LightSegment],
    fps: float,
    rng: random.Random,
    *,
    size: tuple[int, int] = LIVE_SIZE,
) -> list[CapturedFrame]:
    """A genuine attempt with a second face 20-40 px tall in a corner of the picture (someone far
    behind, or a photo pinned up) for the whole clip."""
    who = rng.choice(["a", "b"])
    crop, frac = _face_crop_cached(who, size)
    face_h = rng.uniform(20, 40)
    margin_x, margin_y = (face_h / frac) / size[0] * 0.6, (face_h / frac) / size[1] * 0.6
    cx = rng.choice([margin_x, 1 - margin_x])
    cy = rng.choice([margin_y, 1 - margin_y])

    def add_face(image: np.ndarray, t: float, lm: np.ndarray) -> np.ndarray:
        out = image.copy()
        _paste_face(out, crop, frac, cx + 0.004 * math.sin(1.3 * t), cy, face_h)
        return out

    frames, _ = _live_head(photo_rgb, steps, light, fps, rng, size=size, scene=add_face)
    return frames


@functools.cache
def _mirrored_astronaut() -> np.ndarray:
    return np.ascontiguousarray(photo("astronaut")[:, ::-1])


def face_swap(
    photo_rgb: np.ndarray,
    steps: Sequence[ChallengeStep],
    light: Sequence[LightSegment],
    fps: float,
    rng: random.Random,
    *,
    size: tuple[int, int] = LIVE_SIZE,
    variant: str | None = None,
) -> list[CapturedFrame]:
    """The attacker's own live head, lit by the screen, performs everything; a face swap pastes the
    photo's face over theirs in every frame (warped onto the attacker's landmarks), with no colour
    correction, the mean colour of the attacker's face, or its mean and spread (Reinhard), as
    face-swap tools offer. The attacker is played by the mirrored astronaut with another skin."""
    from charcha.testing.head3d import warp_texture

    variant = variant or rng.choice(["none", "mean", "meanstd"])
    victim = np.ascontiguousarray(photo_rgb[:, :, :3])
    victim_lm = head_model(victim).landmarks
    # The face's own triangles, eye and mouth openings included (not the rings of hair beyond).
    model_faces = head_model(victim).faces
    tris = model_faces[np.all(model_faces < 468, axis=1)]

    def swap(image: np.ndarray, t: float, lm: np.ndarray) -> np.ndarray:
        warped, _ = warp_texture(victim, victim_lm[:468, :2], lm[:468], tris, size)
        outline = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(outline, [np.round(lm[FACE_OVAL, :2]).astype(np.int32)], (255,))
        mask = np.asarray(cv2.erode(outline, np.ones((3, 3), np.uint8)))
        inside = mask > 0
        if not inside.any():
            return image
        src = warped
        if variant != "none":
            own = image[inside].astype(np.float32)
            theirs = src[inside]
            if variant == "mean":
                src = src + (own.mean(axis=0) - theirs.mean(axis=0))
            else:
                src = (src - theirs.mean(axis=0)) / (theirs.std(axis=0) + 1e-3) * own.std(axis=0) + own.mean(axis=0)
        soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 2.0)[:, :, None]
        out = image.astype(np.float32) * (1 - soft) + np.clip(src, 0, 255) * soft
        return out.astype(np.uint8)

    frames, _ = _live_head(_mirrored_astronaut(), steps, light, fps, rng, size=size, scene=swap)
    return frames


# The light-challenge suite: attack type -> generator (all built on the same signature).
LightAttack = Callable[[np.ndarray, Sequence[ChallengeStep], Sequence[LightSegment], float, random.Random], list[CapturedFrame]]
LIGHT_ATTACKS: dict[str, LightAttack] = {
    "flat_photo": flat_photo,
    "puppet": puppet,
    "replay": replay,
    "face_swap": face_swap,
    "small_face": small_face,
    "injected_tint": injected_tint,
}
# The reasons each attack should fail with (any other failure still counts as rejected).
LIGHT_EXPECTED: dict[str, frozenset[str]] = {
    "genuine": frozenset({"passed"}),
    "flat_photo": frozenset({"light_flat", "light_mismatch", "action_missed", "no_face", "identity_changed"}),
    "puppet": frozenset({"light_mismatch", "light_flat"}),
    "replay": frozenset({"light_mismatch", "action_missed", "unrequested_action", "wrong_order"}),
    "face_swap": frozenset({"light_flat", "light_mismatch", "identity_mismatch"}),
    "small_face": frozenset({"multiple_faces"}),
    "injected_tint": frozenset({"light_flat"}),
}
