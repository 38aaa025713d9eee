"""Generated videos with known visual beats and cuts, for tests, the bench and demos.

Shapes move at constant speed and reverse direction exactly on a beat grid (a reversal is the
sharpest deceleration there is, i.e. a "visual impact" in Davis & Agrawala's sense); hard cuts to a
differently coloured scene happen at given times. Because the ground truth is known, the analysis
and the composer can be scored with exact numbers instead of eyeballed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from mediakit.encode import encode_mp4

# Scene palettes (RGB): background, then shape colours. Each differs strongly from its neighbours in
# hue and brightness so that a cut is a cut and not a lighting change.
_PALETTES: tuple[tuple[tuple[int, int, int], ...], ...] = (
    ((28, 44, 84), (250, 196, 40), (240, 80, 90), (90, 220, 160)),
    ((226, 208, 170), (30, 90, 200), (200, 40, 60), (20, 120, 60)),
    ((20, 90, 60), (255, 240, 220), (250, 120, 30), (120, 60, 200)),
    ((120, 30, 40), (250, 230, 80), (80, 200, 250), (250, 250, 250)),
)


@dataclass(frozen=True)
class SyntheticVideo:
    path: Path
    duration_s: float
    fps: float
    motion_beats_s: np.ndarray
    cuts_s: np.ndarray
    beat_period_s: float
    visual_beats_s: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _triangle(t: np.ndarray | float, period: float, offset: float) -> np.ndarray | float:
    """0..1..0 position that reverses direction at ``offset + k * period``."""
    phase = np.mod((np.asarray(t) - offset) / period, 2.0)
    return np.where(phase < 1.0, phase, 2.0 - phase)


def _background(width: int, height: int, colour: tuple[int, int, int], rng: np.random.Generator, *,
                cell: int = 24, amplitude: float = 14.0) -> np.ndarray:
    # Soft static texture: real footage is never flat, and the flow estimator must see that a
    # textured but still background has no motion.
    coarse = rng.normal(0.0, 1.0, size=(max(2, height // cell), max(2, width // cell))).astype(np.float32)
    noise = np.asarray(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC))
    base = np.empty((height, width, 3), dtype=np.float32)
    base[:] = colour
    base += noise[..., None] * amplitude
    return np.clip(base, 0, 255).astype(np.uint8)


def beat_video_frames(*, duration_s: float, fps: float, width: int, height: int, beat_period_s: float,
                      beat_offset_s: float, cuts_s: Sequence[float], still: bool, seed: int,
                      handheld_px: float = 0.0) -> Iterator[np.ndarray]:
    """Frames of the test video. ``handheld_px`` > 0 films it with a shaky hand: a smooth random
    camera drift of about that many pixels, a detailed background (real scenes have texture for
    the eye to anchor on) and sensor noise."""
    rng = np.random.default_rng(seed)
    n_frames = int(round(duration_s * fps))
    margin = int(np.ceil(3 * handheld_px)) + 1 if handheld_px > 0 else 0
    cell, amplitude = (6, 30.0) if handheld_px > 0 else (24, 14.0)
    boundaries = [0.0, *sorted(cuts_s), duration_s + 1.0]
    scenes = []
    for i in range(len(boundaries) - 1):
        palette = _PALETTES[i % len(_PALETTES)]
        scenes.append((boundaries[i], _background(width + 2 * margin, height + 2 * margin, palette[0], rng, cell=cell,
                                                     amplitude=amplitude),
                       palette[1:], rng.uniform(0.15, 0.35), rng.uniform(0.2, 0.8)))
    hand = np.random.default_rng([seed, 1])
    velocity, offset = np.zeros(2), np.zeros(2)
    s = min(width, height)
    radius = max(4, int(s * 0.11))
    # Each shape sweeps a quarter of the frame per beat: brisk, like a dancer or a bouncing ball,
    # but not the full-width jumps between frames that no video analysis should be asked to follow.
    span_x, span_y = 0.25 * width, 0.3 * height
    for i in range(n_frames):
        t = i / fps
        scene = max(j for j, sc in enumerate(scenes) if sc[0] <= t + 1e-9)
        _, bg, colours, lane, lane2 = scenes[scene]
        img = bg.copy()
        if still:
            p1 = p2 = p3 = 0.5
        else:
            p1 = float(_triangle(t, beat_period_s, beat_offset_s))
            p2 = float(_triangle(t, beat_period_s, beat_offset_s + beat_period_s))
            # The third shape turns every second beat: a sub-pattern inside the same grid.
            p3 = float(_triangle(t, 2 * beat_period_s, beat_offset_s))
        x1 = margin + int(width * 0.2 + p1 * span_x)
        cv2.circle(img, (x1, margin + int(height * (0.25 + lane))), radius, colours[0], -1, cv2.LINE_AA)
        y2 = margin + int(height * 0.35 + p2 * span_y)
        x2 = margin + int(width * 0.75)
        cv2.rectangle(img, (x2 - radius, y2 - radius), (x2 + radius, y2 + radius), colours[1], -1, cv2.LINE_AA)
        x3 = margin + int(width * 0.35 + p3 * span_x)
        y3 = margin + int(height * (0.18 if lane2 < 0.5 else 0.82))
        pts = np.array([[x3, y3 - radius], [x3 - radius, y3 + radius], [x3 + radius, y3 + radius]], np.int32)
        cv2.fillConvexPoly(img, pts, colours[2], cv2.LINE_AA)
        if margin:
            # A damped random walk: the slow sway and small jolts of a hand-held phone.
            velocity = 0.85 * velocity + hand.normal(0.0, 0.25 * handheld_px, 2)
            offset = np.clip(0.95 * offset + velocity, -margin + 1, margin - 1)
            ox, oy = (margin + np.round(offset)).astype(int)
            frame = img[oy:oy + height, ox:ox + width].astype(np.int16)
            frame += hand.normal(0.0, 3.0, frame.shape).astype(np.int16)
            img = np.clip(frame, 0, 255).astype(np.uint8)
        yield img


def make_beat_video(path: str | os.PathLike[str], *, duration_s: float = 12.0, fps: float = 30.0,
                    size: tuple[int, int] = (320, 180), beat_period_s: float = 0.6, beat_offset_s: float = 0.3,
                    cuts_s: Sequence[float] = (), still: bool = False, seed: int = 0,
                    with_audio: bool = False, handheld_px: float = 0.0) -> SyntheticVideo:
    """Write a test video and return its ground truth.

    Cut times are moved to the nearest frame boundary, as a real edit would be. Ground-truth beats
    keep a margin of 0.25 s from both ends, where no estimator can see a change of motion.
    """
    width, height = size
    cuts = np.array(sorted(round(c * fps) / fps for c in cuts_s), dtype=np.float64)
    frames = beat_video_frames(duration_s=duration_s, fps=fps, width=width, height=height,
                               beat_period_s=beat_period_s, beat_offset_s=beat_offset_s, cuts_s=cuts.tolist(),
                               still=still, seed=seed, handheld_px=handheld_px)
    audio = None
    if with_audio:
        # A quiet 220 Hz hum stands for the original sound, so duck/replace can be told apart.
        t = np.arange(int(duration_s * 44100)) / 44100.0
        audio = (0.2 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
    out = encode_mp4(path, frames, fps=fps, audio=audio)
    return beat_truth(out, duration_s=duration_s, fps=fps, beat_period_s=beat_period_s, beat_offset_s=beat_offset_s,
                      cuts_s=cuts.tolist(), still=still)


def beat_truth(path: str | os.PathLike[str], *, duration_s: float, fps: float, beat_period_s: float,
               beat_offset_s: float, cuts_s: Sequence[float], still: bool = False) -> SyntheticVideo:
    """The ground truth of a video made by make_beat_video with these arguments (no encoding)."""
    cuts = np.array(sorted(round(c * fps) / fps for c in cuts_s), dtype=np.float64)
    k = np.arange(-1, int(duration_s / beat_period_s) + 2)
    beats = beat_offset_s + k * beat_period_s
    beats = beats[(beats >= 0.25) & (beats <= duration_s - 0.25)]
    if still:
        beats = np.zeros(0)
    visual = np.union1d(beats, cuts)
    # A cut and a motion beat in the same 0.1 s are one visual event.
    if visual.size:
        keep = np.concatenate([[True], np.diff(visual) > 0.1])
        visual = visual[keep]
    return SyntheticVideo(path=Path(path), duration_s=duration_s, fps=fps, motion_beats_s=beats, cuts_s=cuts,
                          beat_period_s=beat_period_s, visual_beats_s=visual)


def make_still_video(path: str | os.PathLike[str], *, duration_s: float = 4.0, fps: float = 30.0,
                     size: tuple[int, int] = (320, 180)) -> SyntheticVideo:
    """A picture held still: no motion at all, which must give a calm score and never a crash."""
    return make_beat_video(path, duration_s=duration_s, fps=fps, size=size, still=True)
