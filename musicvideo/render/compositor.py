"""The ``compositor`` renderer: a lyric-video look from the user's own consented frames, no weights.

Each scene puts the person (cut out of the consent frames with mediapipe's bundled selfie
segmentation) in front of a generated background whose palette, shapes and motion follow the
scene's mood and energy; the camera and the person bounce on every beat, the pose changes on
downbeats (every beat when it is loud), and every cut is a colour change on the beat: scenes
alternate between the mood's palette and its hue-turned twin, and a section brings a new mood.
Captions and the AI label are not drawn here: assembly draws them over every renderer alike.

Why skia-python: it is Chrome's 2-D engine with a Python binding on PyPI (wheels for 3.11, no
system libraries): anti-aliased paths and text, gradients, colour filters, and runtime SkSL
shaders, which is what the generated backgrounds are. Pillow has no shaders or transforms of
premultiplied images; cairo has no shaders; OpenGL needs a GPU or a software GL stack.

Speed (a 3-minute 720p30 video in under a minute on 2 cores, with encoding): skia's CPU raster
fills about 170 Mpixel/s here, so a full-frame skia pass costs ~5 ms. The frame is therefore
built with one full-frame write only: the SkSL background runs at 1/4 size (a smooth field
loses nothing), every other frame, and OpenCV's SIMD warp scales it up with the camera zoom
straight into the frame buffer; skia then draws only what is sharp (person, glow, shapes) on
top, through a canvas that wraps the same numpy buffer (no copies). Frames are RGBA (skia's
layout; the encoder converts in C), and the buffer is reused: the consumer copies each frame
before asking for the next (base.py's contract).
"""

from __future__ import annotations

import colorsys
import importlib.util
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import skia

from musicvideo.render.base import (
    Person,
    RenderEnv,
    RenderError,
    RenderSettings,
    SceneAudio,
    SceneSpec,
    register_renderer,
)

BG_SCALE = 4                 # the background shader runs at 1/BG_SCALE of the frame size
BG_EVERY = 2                 # ... and on every BG_EVERY-th frame (it moves slowly)
MAX_CUTOUTS = 16             # poses kept from the consent frames
MIN_PERSON_AREA = 0.02       # a segmentation covering less of the frame found nobody

# SkSL: one background program, four looks chosen by `mode` (0 sunburst, 1 aurora waves,
# 2 drifting fog, 3 hard stripes); colours, speed and pulse come in as uniforms. `speed` is fixed
# per scene: a speed that followed the loudness would make the pattern lurch (phase = t * speed).
BACKGROUND_SKSL = """
uniform float2 res; uniform float t; uniform float pulse; uniform float energy; uniform float mode;
uniform float speed;
uniform half4 c0; uniform half4 c1; uniform half4 c2;
float wave(float x) { return 0.5 + 0.5 * sin(x); }
half4 main(float2 p) {
  float2 uv = p / res;
  float2 q = uv - 0.5; q.x *= res.x / res.y;
  float r = length(q);
  float a = atan(q.y, q.x);
  float w;
  if (mode < 0.5) {
    w = smoothstep(0.35, 0.65, wave(a * 9.0 + t * speed * 0.6)) * (0.35 + 0.65 * smoothstep(0.05, 0.6, r));
  } else if (mode < 1.5) {
    float y = uv.y + 0.08 * sin(uv.x * 5.0 + t * speed) + 0.05 * sin(uv.x * 11.0 - t * speed * 1.3);
    w = smoothstep(0.0, 0.25, 0.25 - abs(y - 0.45)) + 0.6 * smoothstep(0.0, 0.18, 0.18 - abs(y - 0.7));
  } else if (mode < 2.5) {
    w = wave(q.x * 3.0 + t * 0.3 * speed + 2.0 * wave(q.y * 4.0 - t * 0.2)) * wave(q.y * 2.5 - t * 0.25);
  } else {
    float s = (q.x + q.y) * 10.0 - t * speed * 3.0;
    w = smoothstep(0.55, 0.6, wave(s)) * (0.4 + 0.6 * wave(q.y * 30.0 + t * 7.0));
  }
  half4 col = mix(c0, c1, half(clamp(uv.y * 0.9 + 0.25 * w, 0.0, 1.0)));
  col = mix(col, c2, half(clamp(w * (0.3 + 0.45 * energy), 0.0, 1.0)));
  col.rgb *= half(1.0 + 0.35 * pulse - 0.75 * r * r);
  return half4(col.rgb, 1.0);
}
"""

# (mood) -> shader mode, colours (dark, light, accent) as RGB 0..1, and the overlay shapes.
LOOKS: dict[str, tuple[int, tuple[tuple[float, float, float], ...], str]] = {
    "euphoric": (0, ((0.85, 0.12, 0.45), (1.0, 0.58, 0.12), (1.0, 0.92, 0.45)), "rings"),
    "serene": (1, ((0.04, 0.26, 0.38), (0.98, 0.72, 0.52), (0.85, 0.95, 1.0)), "bokeh"),
    "melancholy": (2, ((0.05, 0.07, 0.18), (0.30, 0.37, 0.50), (0.62, 0.72, 0.88)), "rain"),
    "tense": (3, ((0.07, 0.0, 0.02), (0.55, 0.04, 0.08), (1.0, 0.36, 0.10)), "slashes"),
}

# Style presets (musicvideo.storyboard.STYLE_PRESETS) as finishing touches on top of the mood.
STYLE_FINISH: dict[str, dict[str, float]] = {
    "cinematic": {"letterbox": 0.08, "saturation": 0.9, "glow": 0.5, "outline": 0.0},
    "anime": {"letterbox": 0.0, "saturation": 1.15, "glow": 0.0, "outline": 1.0},
    "watercolor": {"letterbox": 0.0, "saturation": 0.6, "glow": 0.7, "outline": 0.0, "pastel": 0.4},
    "neon": {"letterbox": 0.0, "saturation": 1.3, "glow": 1.0, "outline": 0.0},
    "documentary": {"letterbox": 0.0, "saturation": 0.55, "glow": 0.0, "outline": 0.0},
}


@dataclass(frozen=True)
class Cutout:
    """One pose: the person on a transparent background with a margin, and their silhouettes."""

    rgba: np.ndarray         # premultiplied RGBA uint8, the person with `pad` pixels of margin
    glow: np.ndarray         # float32 0..1, blurred silhouette (a halo, tinted per scene)
    outline: np.ndarray      # float32 0..1, dilated silhouette (a sticker border)
    pad: int

    @property
    def height(self) -> int:
        return int(self.rgba.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgba.shape[1])

    def dressed(self, *, tint: tuple[float, float, float], glow: float, outline: float) -> np.ndarray:
        """The pose with its halo and border baked in (premultiplied RGBA), once per scene look."""
        base = np.zeros(self.rgba.shape, np.float32)
        if glow > 0:
            a = np.clip(self.glow * glow, 0.0, 1.0)
            base[..., :3] = a[..., None] * np.asarray(tint, np.float32) * 255.0
            base[..., 3] = a * 255.0
        if outline > 0:
            a = np.clip(self.outline * outline, 0.0, 1.0)[..., None]
            base = base * (1.0 - a) + 255.0 * a
        person = self.rgba.astype(np.float32)
        out = person + base * (1.0 - person[..., 3:4] / 255.0)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class Segmenter:
    """mediapipe's selfie segmentation (model bundled in the 0.10.21 wheel), loaded once."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def mask(self, rgb: np.ndarray) -> np.ndarray:
        """Person probability 0..1 per pixel."""
        result = self._model.process(np.ascontiguousarray(rgb))
        if result.segmentation_mask is None:
            return np.zeros(rgb.shape[:2], np.float32)
        return np.asarray(result.segmentation_mask, dtype=np.float32)


def make_cutout(rgb: np.ndarray, mask: np.ndarray, *, target_height: int) -> Cutout | None:
    """Cut the person out of one frame at ``target_height`` pixels; None when the mask holds nobody."""
    alpha = _smoothstep(0.3, 0.7, mask)
    if float(alpha.mean()) < MIN_PERSON_AREA:
        return None
    ys, xs = np.nonzero(alpha > 0.1)
    h, w = alpha.shape
    m = int(0.03 * max(h, w))
    y0, y1 = max(int(ys.min()) - m, 0), min(int(ys.max()) + m + 1, h)
    x0, x1 = max(int(xs.min()) - m, 0), min(int(xs.max()) + m + 1, w)
    crop, a = rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1]
    scale = target_height / crop.shape[0]
    size = (max(int(round(crop.shape[1] * scale)), 1), target_height)
    if scale > 1:
        # Webcam frames are small: upscale with a light unsharp mask so the face is not mush.
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)
        soft = cv2.GaussianBlur(crop, (0, 0), 1.2 * scale / 2)
        crop = cv2.addWeighted(crop, 1.6, soft, -0.6, 0)
    else:
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    a = cv2.resize(a, size, interpolation=cv2.INTER_LINEAR)
    feather = max(int(target_height * 0.006) | 1, 3)
    a = np.clip(cv2.GaussianBlur(a, (feather, feather), 0), 0.0, 1.0)
    pad = max(int(target_height * 0.04), 4)
    a_pad = np.pad(a, pad)
    premul = np.pad(crop.astype(np.float32) * a[..., None], ((pad, pad), (pad, pad), (0, 0)))
    rgba = np.clip(np.dstack([premul, a_pad * 255.0]) + 0.5, 0, 255).astype(np.uint8)
    k = max(pad // 3, 1) * 2 + 1
    outline = cv2.dilate(a_pad, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    glow = np.clip(cv2.GaussianBlur(a_pad, (0, 0), pad / 2.5) * 1.5, 0.0, 1.0)
    return Cutout(rgba=rgba, glow=glow.astype(np.float32), outline=outline.astype(np.float32), pad=pad)


def _mix(c: tuple[float, float, float], other: tuple[float, float, float], f: float) -> tuple[float, float, float]:
    return (c[0] + (other[0] - c[0]) * f, c[1] + (other[1] - c[1]) * f, c[2] + (other[2] - c[2]) * f)


def _saturate(c: tuple[float, float, float], s: float) -> tuple[float, float, float]:
    grey = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
    return tuple(float(np.clip(grey + (v - grey) * s, 0.0, 1.0)) for v in c)  # type: ignore[return-value]


HUE_TURN_DEG = 50.0


def _turn_hue(c: tuple[float, float, float], degrees: float) -> tuple[float, float, float]:
    if not degrees:
        return c
    hue, light, sat = colorsys.rgb_to_hls(*c)
    return colorsys.hls_to_rgb((hue + degrees / 360.0) % 1.0, light, sat)


@dataclass(frozen=True)
class Look:
    """How a scene looks: derived from mood, valence, energy and style only (reproducible)."""

    mode: int
    colours: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
    shapes: str
    letterbox: float
    glow: float
    outline: float

    @classmethod
    def for_scene(cls, scene: SceneSpec, style: str) -> Look:
        mode, colours, shapes = LOOKS.get(scene.mood, LOOKS["serene"])
        finish = STYLE_FINISH.get(style, STYLE_FINISH["cinematic"])
        out = []
        # Cuts alternate between the mood's palette and its hue-turned twin, so every cut is a
        # clean colour change (no flash frames: a flash reads as a second event after the cut).
        turn = HUE_TURN_DEG if scene.index % 2 else 0.0
        for c in colours:
            c = _turn_hue(c, turn)
            c = _saturate(c, finish["saturation"])
            if finish.get("pastel"):
                c = _mix(c, (1.0, 0.97, 0.92), finish["pastel"])
            # Sadder material is a little darker, happier a little brighter, within the mood.
            out.append(_mix(c, (0.0, 0.0, 0.0) if scene.valence < 0 else (1.0, 1.0, 1.0), 0.12 * abs(scene.valence)))
        return cls(mode=mode, colours=(out[0], out[1], out[2]), shapes=shapes, letterbox=finish["letterbox"],
                   glow=finish["glow"], outline=finish["outline"])


def beat_knots(scene: SceneSpec) -> np.ndarray:
    """Times the camera lands on: the scene's beats, bounded by its cut times (both on beats)."""
    knots = np.unique(np.round(np.asarray([scene.start_s, *scene.beats_s, scene.end_s], dtype=float), 6))
    return knots[(knots >= scene.start_s - 1e-6) & (knots <= scene.end_s + 1e-6)]


def bounce(t: np.ndarray | float, knots: np.ndarray) -> np.ndarray:
    """A ball's bounce: 0 on every beat, 1 half-way between beats, a parabola in between.

    The velocity is greatest just before and after each beat and reverses on it, and changes
    evenly elsewhere (no second, softer event half-way, as a sine would give). A reversal is what
    the eye, and the soundtrack engine's visual-beat detector, which looks for sudden
    decelerations, reads as a hit: every beat lands a visible impact.
    """
    tt = np.atleast_1d(np.asarray(t, dtype=float))
    k = np.clip(np.searchsorted(knots, tt, side="right") - 1, 0, max(len(knots) - 2, 0))
    lo, hi = knots[k], knots[np.minimum(k + 1, len(knots) - 1)]
    phase = np.where(hi > lo, (tt - lo) / np.maximum(hi - lo, 1e-6), 0.0)
    p = np.clip(phase, 0.0, 1.0)
    return 4.0 * p * (1.0 - p)


def _smooth_curve(x: np.ndarray, width: float) -> np.ndarray:
    n = max(int(round(width)), 1)
    if n <= 1 or len(x) == 0:
        return np.asarray(x, dtype=float)
    kernel = np.hanning(n + 2)[1:-1]
    padded = np.pad(np.asarray(x, dtype=float), (n // 2, n - 1 - n // 2), mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def since_last(t: float, times: Sequence[float] | np.ndarray) -> float:
    """Seconds since the latest of ``times`` at or before ``t`` (inf if none)."""
    best = math.inf
    for x in times:
        if x <= t + 1e-6:
            best = t - x
    return best


def zoom_background(small: np.ndarray, frame: np.ndarray, zoom: float) -> None:
    """Scale the small background up into ``frame`` with the camera zoom about the centre.

    A plain resize of a whole-pixel crop, then a centre crop, costs a quarter of an affine warp
    here; the crop's rounding moves the picture by under a pixel of the small image.
    """
    H, W = frame.shape[:2]
    bh, bw = small.shape[:2]
    z = max(zoom, 1.0)
    x0 = max(int(math.floor(bw / 2 - bw / (2 * z))), 0)
    y0 = max(int(math.floor(bh / 2 - bh / (2 * z))), 0)
    crop = small[y0:bh - y0, x0:bw - x0]
    sx = W * z / bw
    out_w, out_h = max(int(round(crop.shape[1] * sx)), W), max(int(round(crop.shape[0] * sx)), H)
    if (out_w, out_h) == (W, H):
        cv2.resize(crop, (W, H), dst=frame, interpolation=cv2.INTER_LINEAR)
        return
    big = cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    ox, oy = (out_w - W) // 2, (out_h - H) // 2
    frame[:] = big[oy:oy + H, ox:ox + W]


class Compositor:
    """Renderer ``compositor``: see the module docstring."""

    name = "compositor"

    def __init__(self, env: RenderEnv | None = None) -> None:
        self._effect = skia.RuntimeEffect.MakeForShader(BACKGROUND_SKSL)
        if self._effect is None:
            raise RenderError("The background shader does not compile.", code="render_failed")
        self._segmenter: Segmenter | None = None
        self._cast_key: tuple[int, int, int] | None = None
        self._cast: list[Cutout] = []
        self._dressed: dict[tuple[int, tuple[float, float, float], float, float], np.ndarray] = {}

    # ------------------------------------------------------------------ the person
    def cast(self, person: Person, height: int) -> list[Cutout]:
        """The person's poses, cut out once per person and frame height (then cached)."""
        key = (id(person.frames), len(person.frames), height)
        if self._cast_key == key:
            return self._cast
        if not person.frames:
            raise RenderError("The compositor needs the frames of your consent to show you.",
                              code="person_no_frames")
        if self._segmenter is None:
            self._segmenter = Segmenter()
        picks = np.unique(np.linspace(0, len(person.frames) - 1, min(MAX_CUTOUTS, len(person.frames))).round())
        cast: list[Cutout] = []
        for i in picks.astype(int):
            rgb = person.frames[i]
            if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
                raise RenderError("A consent frame is not an RGB image.", code="person_bad_frame")
            cut = make_cutout(rgb, self._segmenter.mask(rgb), target_height=int(height * 0.95))
            if cut is not None:
                cast.append(cut)
        if not cast:
            raise RenderError("No person could be found in the consent frames.", code="person_not_found")
        self._cast_key, self._cast, self._dressed = key, cast, {}
        return cast

    # ------------------------------------------------------------------ one scene
    def render_scene(self, scene: SceneSpec, *, person: Person, settings: RenderSettings, n_frames: int,
                     audio: SceneAudio | None) -> Iterator[np.ndarray]:
        cast = self.cast(person, settings.height)
        return self._frames(scene, cast, settings, n_frames, audio)

    def _frames(self, scene: SceneSpec, cast: list[Cutout], settings: RenderSettings, n_frames: int,
                audio: SceneAudio | None) -> Iterator[np.ndarray]:
        W, H, fps = settings.width, settings.height, settings.fps
        look = Look.for_scene(scene, settings.style)
        rng = np.random.default_rng([settings.seed, scene.index])
        energy = float(np.clip(scene.energy, 0.0, 1.0))
        knots = beat_knots(scene)
        times = scene.start_s + np.arange(n_frames) / fps
        hop = bounce(times, knots)
        fe = audio.frame_energy if audio is not None and len(audio.frame_energy) == n_frames else np.full(n_frames, energy)
        fo = audio.frame_onset if audio is not None and len(audio.frame_onset) == n_frames else np.zeros(n_frames)
        # Loudness drives brightness and sizes: smoothed over ~0.4 s, so drums make it swell and
        # ebb with the music instead of flickering frame by frame (flicker reads as motion).
        fe, fo = _smooth_curve(fe, fps * 0.4), _smooth_curve(fo, fps * 0.4)

        # Framing: the side changes scene by scene; closer and bouncier when the music is louder.
        side = (0.5, 0.32, 0.68)[(scene.index + int(rng.integers(0, 2))) % 3]
        person_h = H * (0.62 + 0.2 * energy + 0.08 * max(scene.arousal, 0.0))
        zoom_amp = 0.05 + 0.05 * energy
        hop_amp = H * (0.035 + 0.04 * energy)
        drift = float(rng.choice([-1.0, 1.0])) * W * 0.03
        push = 0.04 + 0.05 * energy
        # A new pose with every scene, and every 8 beats within a long one: a pose change is a
        # jump in the picture, and on every beat it would drown the bounce that carries the beat.
        changes = np.asarray(scene.beats_s[8::8], dtype=float)
        first_pose = int(rng.integers(0, len(cast)))
        dressed = self._dressed

        bw, bh = max(W // BG_SCALE, 8), max(H // BG_SCALE, 8)
        small = np.zeros((bh, bw, 4), np.uint8)
        small_surface = skia.Surface(small)
        frame = np.zeros((H, W, 4), np.uint8)
        canvas = skia.Surface(frame).getCanvas()
        seeds = self._shape_seeds(rng, look.shapes)
        accent = skia.Color4f(*look.colours[2], 1.0)
        black = skia.Paint(Color=skia.ColorBLACK)

        for k in range(n_frames):
            t = float(times[k])
            local = t - scene.start_s
            progress = local / max(scene.duration_s, 1e-3)
            e = float(np.clip(fe[k], 0.0, 1.0))
            since_beat = since_last(t, knots)
            # The camera breathes with the beat (out and back between beats, turning on each beat)
            # and pushes in slowly over the scene.
            zoom = (1.0 + zoom_amp * float(hop[k])) * (1.0 + 0.03 * progress)

            if k % BG_EVERY == 0:
                builder = skia.RuntimeShaderBuilder(self._effect)
                builder.setUniform("res", skia.V2(bw, bh))
                builder.setUniform("t", t)
                # Brightest on the beat, easing off between beats: a gentle swell, never a jump
                # (a jump in brightness on every beat would read as a cut).
                builder.setUniform("pulse", 0.4 * e * (1.0 - float(hop[k])))
                builder.setUniform("energy", e)
                builder.setUniform("mode", float(look.mode))
                builder.setUniform("speed", 0.4 + 1.2 * energy)
                for name, c in zip(("c0", "c1", "c2"), look.colours, strict=True):
                    builder.setUniform(name, skia.V4(c[0], c[1], c[2], 1.0))
                small_surface.getCanvas().drawPaint(skia.Paint(Shader=builder.makeShader()))
            zoom_background(small, frame, zoom)

            canvas.save()
            canvas.translate(W / 2, H / 2)
            canvas.scale(zoom, zoom)
            canvas.translate(-W / 2, -H / 2)
            self._draw_shapes(canvas, look.shapes, seeds, t=t, local=local, e=e, onset=float(fo[k]),
                              since_beat=since_beat, hop=float(hop[k]), W=W, H=H, colour=accent)
            canvas.restore()

            index = (first_pose + int(np.count_nonzero(changes <= t + 1e-6))) % len(cast)
            dress_key = (index, look.colours[2], look.glow, look.outline)
            if dress_key not in dressed:
                dressed[dress_key] = cast[index].dressed(tint=look.colours[2], glow=look.glow, outline=look.outline)
            pose = cast[index]
            scale = person_h * (1.0 + push * progress) / (pose.height - 2 * pose.pad)
            x = W * side + drift * (progress - 0.5) - pose.width * scale / 2
            y = H + pose.pad * scale - pose.height * scale - hop_amp * float(hop[k]) + H * 0.04
            # Person transform then camera zoom about the centre, as one affine map.
            a = scale * zoom
            self._blit(canvas, dressed[dress_key], a, W / 2 + (x - W / 2) * zoom, H / 2 + (y - H / 2) * zoom, W, H)

            if look.letterbox > 0:
                bar = round(H * look.letterbox)
                canvas.drawRect(skia.Rect(0, 0, W, bar), black)
                canvas.drawRect(skia.Rect(0, H - bar, W, H), black)
            yield frame

    @staticmethod
    def _blit(canvas: skia.Canvas, rgba: np.ndarray, scale: float, x: float, y: float, W: int, H: int) -> None:
        """Draw a premultiplied image scaled by ``scale`` with its corner at (x, y).

        OpenCV's SIMD warp resamples only the visible part into a small buffer and skia blends it
        at an integer offset (its fast path): a third of what skia's own scaled draw costs here.
        """
        h, w = rgba.shape[:2]
        x0, y0 = max(int(math.floor(x)), 0), max(int(math.floor(y)), 0)
        x1, y1 = min(int(math.ceil(x + w * scale)), W), min(int(math.ceil(y + h * scale)), H)
        if x1 <= x0 or y1 <= y0:
            return
        matrix = np.array([[scale, 0, x - x0], [0, scale, y - y0]], dtype=np.float32)
        roi = cv2.warpAffine(rgba, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        image = skia.Image.fromarray(roi, colorType=skia.kRGBA_8888_ColorType, alphaType=skia.kPremul_AlphaType)
        canvas.drawImage(image, x0, y0)

    # ------------------------------------------------------------------ overlay shapes
    @staticmethod
    def _shape_seeds(rng: np.random.Generator, kind: str) -> np.ndarray:
        """Per-scene random constants for the shapes (positions, sizes, speeds), fixed by the seed."""
        n = {"rings": 24, "bokeh": 18, "rain": 40, "slashes": 6}.get(kind, 12)
        return rng.random((n, 4))

    @staticmethod
    def _draw_shapes(canvas: skia.Canvas, kind: str, seeds: np.ndarray, *, t: float, local: float, e: float,
                     onset: float, since_beat: float, hop: float, W: int, H: int, colour: skia.Color4f) -> None:
        paint = skia.Paint(AntiAlias=True)
        if kind == "rings":
            # Concentric rings that light up on each beat (they ride the camera's beat bounce),
            # and confetti drifting up at an even speed (even motion never reads as a beat).
            paint.setStyle(skia.Paint.kStroke_Style)
            paint.setStrokeWidth(H * (0.006 + 0.008 * e))
            glow = 1.0 - hop
            for j in range(4):
                alpha = (0.18 + 0.4 * glow) * (0.5 + 0.5 * e) * (1.0 - j * 0.18)
                paint.setColor4f(skia.Color4f(colour.fR, colour.fG, colour.fB, alpha))
                canvas.drawCircle(W / 2, H / 2, H * (0.3 + 0.22 * j), paint)
            paint.setStyle(skia.Paint.kFill_Style)
            for x, y, s, v in seeds:
                cx = x * W
                cy = (y * H - local * H * (0.04 + 0.06 * v)) % H
                size = H * (0.006 + 0.01 * s) * (1 + 0.5 * onset)
                paint.setColor4f(skia.Color4f(1.0, 1.0 - 0.3 * v, 0.8 * s, 0.75))
                canvas.drawRect(skia.Rect(cx - size, cy - size * 0.5, cx + size, cy + size * 0.5), paint)
        elif kind == "bokeh":
            # Soft lights rising slowly; radial gradients, not blurs (a blur is a full-frame pass).
            for x, y, s, v in seeds:
                cx = x * W + 30 * math.sin(t * 0.3 + 7 * v)
                cy = (y * H - local * H * 0.02 * (1 + v)) % H
                r = H * (0.02 + 0.05 * s) * (1.0 + 0.2 * e)
                a = 0.18 + 0.25 * v * (0.5 + e)
                paint.setShader(skia.GradientShader.MakeRadial(
                    skia.Point(cx, cy), r, [skia.Color4f(colour.fR, colour.fG, colour.fB, a).toColor(),
                                            skia.Color4f(colour.fR, colour.fG, colour.fB, 0.0).toColor()]))
                canvas.drawCircle(cx, cy, r, paint)
        elif kind == "rain":
            paint.setStyle(skia.Paint.kStroke_Style)
            paint.setStrokeWidth(max(H / 540, 1.0))
            paint.setColor4f(skia.Color4f(colour.fR, colour.fG, colour.fB, 0.2 + 0.2 * e))
            path = skia.Path()
            for x, y, s, v in seeds:
                length = H * (0.04 + 0.06 * s)
                cy = (y * H + local * H * (0.25 + 0.25 * v)) % (H + length) - length
                cx = (x * W + cy * 0.12) % W
                path.moveTo(cx, cy)
                path.lineTo(cx + length * 0.12, cy + length)
            canvas.drawPath(path, paint)
        elif kind == "slashes":
            # Hard diagonal slashes that strike on each beat and fade fast.
            alpha = max(0.0, 1.0 - since_beat / 0.2) * (0.4 + 0.5 * e)
            if alpha > 0.02:
                paint.setColor4f(skia.Color4f(colour.fR, colour.fG, colour.fB, alpha))
                for x, y, s, v in seeds:
                    cx, cy = x * W, y * H
                    half = W * (0.1 + 0.25 * s)
                    thick = H * (0.008 + 0.02 * v)
                    path = skia.Path()
                    path.moveTo(cx - half, cy + half * 0.35)
                    path.lineTo(cx + half, cy - half * 0.35)
                    path.lineTo(cx + half, cy - half * 0.35 + thick)
                    path.lineTo(cx - half, cy + half * 0.35 + thick)
                    path.close()
                    canvas.drawPath(path, paint)


def font_path(bold: bool = True) -> Path | None:
    """A DejaVu Sans file: Debian's fonts-dejavu, else the copy inside matplotlib's wheel."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    candidates = [Path("/usr/share/fonts/truetype/dejavu") / name]
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf" / name)
    return next((p for p in candidates if p.exists()), None)


register_renderer("compositor", Compositor)
