"""Visual rhythm, cuts, motion intensity and mood of a video (no Django).

Visual beats follow Davis & Agrawala, "Visual Rhythm and Beat" (SIGGRAPH 2018): dense optical flow
is binned by direction into a *directogram* (per frame, how much motion goes each way); the
*visual impact* envelope is its half-wave rectified decrease from one frame to the next, i.e. the
sudden decelerations in each direction, and its peaks are the visual beats. Hard cuts are found
from colour-histogram jumps; they are visual beats too, and sections of the music change there.

Which of them matter: of events closer than SALIENCE_WINDOW_S only the strongest is kept (a cut
before any impact), so a crowd walking out of step gives the rhythm a viewer reads, not every
footfall; every candidate stays in ``candidate_beats_s`` for the bench to score against.

Resolution and frame rate: analysis runs at about 15 fps (the source rate divided by a whole
number, so frames stay evenly spaced) and 128 px on the long side. 15 fps puts the frames 67 ms
apart, and the three-point centroid around each impact peak locates it to well under the 100 ms
alignment window; Farneback flow at 128x72 costs ~0.7 ms a frame pair here, while every doubling
of the side costs ~3x more and did not move the peaks measurably on the generated test videos
(large motions, which are what a viewer reads as rhythm, survive the downscale). Frames come from
frames.analysis_frames: decoded with FFmpeg's shortcuts, shrunk by its scaler, in a thread of
their own while the flow is computed.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.signal import find_peaks

from mediakit.errors import MediaError
from mediakit.probe import probe
from mediakit.progress import ProgressFn, null_progress
from mediakit.video import Frame
from soundtrack.engine.errors import SoundtrackError
from soundtrack.engine.frames import analysis_frames, prefetch

DEFAULT_MAX_FPS = 15.0
DEFAULT_MAX_SIDE = 128
DIRECTOGRAM_BINS = 32
# Speeds are in frame diagonals per second, so thresholds do not depend on resolution.
MIN_IMPACT = 0.004          # below this a deceleration is flow noise, not an event
CUT_HIST_DISTANCE = 0.6     # L1 distance (0..2) between colour histograms that marks a hard cut
CAMERA_SHIFT_PX = 0.15      # median flow above this (analysis pixels per frame): the camera moved
MIN_BEAT_GAP_S = 0.2        # faster than 300 events a minute is texture, not rhythm
# Of events closer than this, only the strongest is a visual beat: 0.3 s is a beat at 200 BPM, faster
# than any tempo the composer plays, so two such events could never both get a beat of their own.
SALIENCE_WINDOW_S = 0.3
STRONG_SHARE = 0.3
LOCAL_MEDIAN_FACTOR = 2.5
MOTION_FLOOR, MOTION_CEIL = 0.003, 0.3   # speeds mapped to intensity 0 and 1 (log scale)


@dataclass(frozen=True)
class Mood:
    valence: float               # -1 (sombre) .. 1 (bright, pleasant)
    arousal: float               # -1 (still) .. 1 (agitated)
    brightness: float            # 0..1, mean HSV value
    saturation: float            # 0..1, mean HSV saturation
    colour_temperature_k: float  # correlated colour temperature of the mean colour (McCamy)
    motion: float                # 0..1, mean motion intensity
    cuts_per_minute: float

    @property
    def label(self) -> str:
        if self.valence >= 0:
            return "bright and lively" if self.arousal >= 0 else "warm and calm"
        return "dark and driving" if self.arousal >= 0 else "sombre and still"

    def as_dict(self) -> dict[str, float | str]:
        return {"valence": round(self.valence, 3), "arousal": round(self.arousal, 3),
                "brightness": round(self.brightness, 3), "saturation": round(self.saturation, 3),
                "colour_temperature_k": round(self.colour_temperature_k), "motion": round(self.motion, 3),
                "cuts_per_minute": round(self.cuts_per_minute, 2), "label": self.label}


@dataclass(frozen=True)
class VideoAnalysis:
    duration_s: float
    analysis_fps: float
    analysis_size: tuple[int, int]     # (width, height) the flow ran at
    times_s: np.ndarray                # time of every analysed frame
    impact: np.ndarray                 # visual impact envelope at each frame (diagonals/s)
    motion: np.ndarray                 # motion intensity 0..1 at each frame (smoothed over ~1 s)
    visual_beats_s: np.ndarray         # motion impacts and cuts, sorted
    beat_strengths: np.ndarray         # 0..1, same length as visual_beats_s
    cuts_s: np.ndarray
    mood: Mood
    camera_motion: float = 0.0         # fraction of frame pairs where a camera move was taken out
    # Every impact and cut found, before salient_beats kept the ones that matter (the bench scores
    # the music against these too, so choosing the beats cannot hide a miss).
    candidate_beats_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # CPU seconds of the decoding thread ("decode": decode and downscale) and of the analysis
    # itself ("motion": flow, colour, cuts, peaks); they overlap in time.
    cpu_s: dict[str, float] = field(default_factory=dict)

    def motion_at(self, t: np.ndarray | float) -> np.ndarray:
        if self.times_s.size == 0:
            return np.zeros_like(np.asarray(t, dtype=np.float64))
        return np.interp(t, self.times_s, self.motion)


def analysis_rate(source_fps: float, max_fps: float = DEFAULT_MAX_FPS) -> float:
    """The source rate divided by the smallest whole number that brings it to ``max_fps`` or less."""
    if not source_fps or source_fps <= 0 or not math.isfinite(source_fps):
        return max_fps
    step = max(1, math.ceil(source_fps / max_fps - 1e-6))
    return source_fps / step


def colour_temperature_k(mean_rgb: np.ndarray) -> float:
    """Correlated colour temperature of an sRGB colour (0..1) by McCamy's formula, clipped to 1500..15000 K."""
    c = np.clip(np.asarray(mean_rgb, dtype=np.float64), 0.0, 1.0)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    x_, y_, z_ = m @ lin
    total = x_ + y_ + z_
    if total <= 1e-9:
        return 6500.0
    x, y = x_ / total, y_ / total
    if abs(0.1858 - y) < 1e-9:
        return 6500.0
    n = (x - 0.3320) / (0.1858 - y)
    cct = 449.0 * n**3 + 3525.0 * n**2 + 6823.3 * n + 5520.33
    return float(np.clip(cct, 1500.0, 15000.0))


def mood_from_features(*, brightness: float, saturation: float, cct_k: float, motion: float,
                       cuts_per_minute: float) -> Mood:
    """Valence and arousal from colour and motion.

    Weights start from Valdez & Mehrabian (1994), who found pleasure ~ .69 brightness + .22
    saturation and arousal ~ -.31 brightness + .60 saturation; warm light reads as pleasant and
    motion and cutting pace are the strongest arousal cues in film. The constants centre an
    ordinary daylight video near (0, 0); they are a heuristic, not a trained model.
    """
    warmth = float(np.clip((6500.0 - cct_k) / 3500.0, -1.0, 1.0))
    v_raw = 1.4 * (brightness - 0.45) + 0.45 * (saturation - 0.35) + 0.35 * warmth
    a_raw = 1.3 * (motion - 0.4) + 0.6 * (saturation - 0.35) - 0.3 * (brightness - 0.45) \
        + 0.03 * (min(cuts_per_minute, 30.0) - 6.0)
    return Mood(valence=float(np.clip(1.5 * v_raw, -1, 1)), arousal=float(np.clip(1.5 * a_raw, -1, 1)),
                brightness=brightness, saturation=saturation, colour_temperature_k=cct_k, motion=motion,
                cuts_per_minute=cuts_per_minute)


def _directogram(flow: np.ndarray, bins: int) -> tuple[np.ndarray, float]:
    mag, ang = cv2.cartToPolar(flow[..., 0], flow[..., 1])      # angle in radians, 0..2pi
    idx = (ang * (bins / (2 * np.pi))).astype(np.int32) % bins
    hist = np.bincount(idx.ravel(), weights=mag.ravel(), minlength=bins)
    return hist / mag.size, float(mag.mean())


def _colour_hist(hsv: np.ndarray) -> np.ndarray:
    h = cv2.calcHist([hsv], [0, 1, 2], None, [12, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return h / max(float(h.sum()), 1.0)


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    if x.size == 0 or width <= 1:
        return x.copy()
    kernel = np.hanning(width + 2)[1:-1]
    kernel /= kernel.sum()
    padded = np.pad(x, (width // 2, width - 1 - width // 2), mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def motion_intensity(speed: np.ndarray) -> np.ndarray:
    """Speed in diagonals/s to 0..1 on a log scale: a slow pan and a sprint differ by ~100x."""
    s = np.maximum(speed, 1e-9)
    return np.clip(np.log10(s / MOTION_FLOOR) / np.log10(MOTION_CEIL / MOTION_FLOOR), 0.0, 1.0)


def pick_impacts(times: np.ndarray, impact: np.ndarray, change: np.ndarray,
                 fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peaks of the impact envelope, placed between frames by a centroid of the total change:
    (times, strengths 0..1 relative to the strong peaks, raw impacts that rank them).

    Detection uses the decelerations alone (``impact``), which have half the noise of the total
    change of motion. Timing uses the total change (``change``: decelerations plus accelerations),
    because a reversal shows as a deceleration in the frame before it and an acceleration in the
    frame after it, in proportions that put the centroid of the two exactly on the reversal
    (decelerations alone bias the estimate early by up to one frame).

    The threshold adapts to the video: a peak must clear the absolute noise floor, 30 % of the
    strong peaks' level, and 2.5 times the local median (so steady shaking is not a beat).
    """
    if impact.size < 3 or float(impact.max(initial=0.0)) < MIN_IMPACT:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    distance = max(1, int(round(MIN_BEAT_GAP_S * fps)))
    candidates, _ = find_peaks(impact, height=MIN_IMPACT, distance=distance)
    if candidates.size == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    strong = float(np.percentile(impact[candidates], 90))
    window = max(3, int(round(2.0 * fps)) | 1)
    local = _rolling_median(impact, window)
    keep = candidates[(impact[candidates] >= STRONG_SHARE * strong)
                      & (impact[candidates] >= LOCAL_MEDIAN_FACTOR * local[candidates])]
    floor = _rolling_median(change, window)
    out_t, out_s = [], []
    for j in keep:
        lo, hi = max(j - 1, 0), min(j + 1, impact.size - 1)
        w = np.maximum(change[lo:hi + 1] - floor[lo:hi + 1], 0.0)
        total = float(w.sum())
        out_t.append(float(np.dot(w, times[lo:hi + 1]) / total) if total > 0 else float(times[j]))
        out_s.append(float(impact[j]))
    strength = np.clip(np.asarray(out_s) / max(strong, 1e-9), 0.0, 1.0)
    return np.asarray(out_t), strength, np.asarray(out_s)


def salient_beats(times: np.ndarray, rank: np.ndarray, window_s: float = SALIENCE_WINDOW_S) -> np.ndarray:
    """Mask of the events that matter: those with no stronger event within ``window_s``.

    Several people walking out of step give an event every quarter second; a viewer reads the
    strongest step of each moment as the rhythm, and music cannot follow more than one beat in
    ``window_s`` anyway. ``rank`` orders events (cuts above every impact, then by strength).
    """
    t = np.asarray(times, dtype=np.float64)
    r = np.asarray(rank, dtype=np.float64)
    keep = np.ones(t.size, dtype=bool)
    for i in range(t.size):
        lo, hi = np.searchsorted(t, [t[i] - window_s, t[i] + window_s])
        keep[i] = not np.any(r[lo:hi] > r[i])
    return keep


def _rolling_median(x: np.ndarray, window: int) -> np.ndarray:
    half = window // 2
    padded = np.pad(x, (half, half), mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.median(view, axis=1)


# pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags. One iteration instead of two costs
# 0.72 instead of 0.97 ms a frame pair here and moved no visual beat of the generated test videos
# (F 1.00, median error 2-4 ms) nor the real footage's count by more than 3 %.
FARNEBACK_ARGS = (0.5, 2, 9, 1, 5, 1.1, 0)


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.calcOpticalFlowFarneback(a, b, None, *FARNEBACK_ARGS))  # type: ignore[call-overload]  # stubs omit flow=None


def scene_flow(prev_gray: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, int]:
    """Optical flow of what moves in the scene, and 1 where a camera move was taken out of it (else 0).

    Handheld shake and pans move the whole picture, and their jitter would bury the scene's own
    rhythm. When most pixels agree on one motion (the camera's; a subject filling the frame moves
    less uniformly), shift the previous frame by it and take the flow again, twice, so the
    directogram sees what moves in the scene.
    """
    flow = _flow(prev_gray, gray)
    total = np.zeros(2, dtype=np.float32)
    moved = 0
    for _ in range(2):
        vectors = flow[::4, ::4].reshape(-1, 2)      # one pixel in 16 estimates it as well
        median = np.median(vectors, axis=0)
        if float(np.hypot(*median)) <= CAMERA_SHIFT_PX:
            break
        if float(np.mean(np.abs(vectors - median).max(axis=1) < 0.5)) < 0.6:
            break
        moved += 1
        total += median
        shift = np.array([[1.0, 0.0, total[0]], [0.0, 1.0, total[1]]], dtype=np.float32)
        steady = cv2.warpAffine(prev_gray, shift, (gray.shape[1], gray.shape[0]), borderMode=cv2.BORDER_REPLICATE)
        flow = _flow(steady, gray)
    return flow, min(moved, 1)


def analyze_video(path: str | os.PathLike[str], *, max_fps: float = DEFAULT_MAX_FPS,
                  max_side: int = DEFAULT_MAX_SIDE, max_duration_s: float | None = None,
                  min_duration_s: float = 0.5, progress: ProgressFn = null_progress) -> VideoAnalysis:
    """Decode ``path`` once at low rate and size and measure its rhythm, cuts, motion and mood."""
    info = probe(path)
    if info.video is None:
        raise MediaError("The file has no video stream.", code="media_no_video")
    if max_duration_s is not None and info.duration_s > max_duration_s:
        raise SoundtrackError(f"The video lasts {info.duration_s:.0f} s; the limit is {max_duration_s:.0f} s.",
                              code="video_too_long")
    fps = analysis_rate(info.video.fps, max_fps)
    expected = max(info.duration_s * fps, 1.0)

    times: list[float] = []
    directograms: list[np.ndarray] = []
    speeds: list[float] = []
    hist_jumps: list[float] = []
    brightness: list[float] = []
    saturation: list[float] = []
    mean_rgb: list[np.ndarray] = []
    prev_gray: np.ndarray | None = None
    camera_moves = 0
    prev_hist: np.ndarray | None = None
    size = (0, 0)
    cpu_s: dict[str, float] = {}
    started = time.thread_time()
    # cv2's worker threads would only contend with the decoding thread for a 128-pixel flow.
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        frames: Iterator[Frame] = prefetch(analysis_frames(path, fps=fps, max_side=max_side), cpu_s=cpu_s)
        for frame in frames:
            if max_duration_s is not None and frame.time_s > max_duration_s + 1.0:
                raise SoundtrackError(f"The video lasts longer than the {max_duration_s:.0f} s limit.",
                                      code="video_too_long")
            rgb = frame.image
            size = (rgb.shape[1], rgb.shape[0])
            gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            # Colour for cut detection from every other pixel, and for mood from every third frame:
            # both are averages that need far fewer samples than the flow does.
            hsv = cv2.cvtColor(rgb[::2, ::2], cv2.COLOR_RGB2HSV)
            hist = _colour_hist(hsv)
            if len(times) % 3 == 0:
                means = cv2.mean(hsv)
                brightness.append(means[2] / 255.0)
                saturation.append(means[1] / 255.0)
                mean_rgb.append(np.asarray(cv2.mean(rgb)[:3]) / 255.0)
            if prev_gray is not None and prev_hist is not None:
                dt = max(frame.time_s - times[-1], 1e-3)
                flow, moved = scene_flow(prev_gray, gray)
                camera_moves += moved
                diag = math.hypot(*size)
                d, mean_mag = _directogram(flow, DIRECTOGRAM_BINS)
                directograms.append(d / (diag * dt))
                speeds.append(mean_mag / (diag * dt))
                hist_jumps.append(float(np.abs(hist - prev_hist).sum()))
            prev_gray, prev_hist = gray, hist
            times.append(frame.time_s)
            if len(times) % 32 == 0:
                progress("analyze", min(len(times) / expected, 1.0), "Watching the video for motion and cuts")
    finally:
        cv2.setNumThreads(cv_threads)

    if not times:
        raise SoundtrackError("The video has no frames to score.", code="video_no_frames")
    t = np.asarray(times)
    duration = max(info.duration_s, float(t[-1]) + 1.0 / fps)
    if duration < min_duration_s or t.size < 3:
        raise SoundtrackError(f"The video lasts {duration:.2f} s; it needs at least {min_duration_s:.1f} s "
                              "to put music on.", code="video_too_short")

    jumps = np.asarray(hist_jumps)                 # jumps[i]: between frame i and i+1
    cut_pairs = np.flatnonzero(jumps > CUT_HIST_DISTANCE)
    # Two jumps in a row are one cut (a flash frame or a dissolve): keep the larger.
    merged: list[int] = []
    for i in cut_pairs:
        if merged and i - merged[-1] <= 1:
            if jumps[i] > jumps[merged[-1]]:
                merged[-1] = int(i)
            continue
        merged.append(int(i))
    cuts = np.asarray([(t[i] + t[i + 1]) / 2.0 for i in merged])

    dgram = np.asarray(directograms)               # dgram[i]: motion between frame i and i+1
    speed = np.asarray(speeds)
    bad = np.zeros(dgram.shape[0], dtype=bool)
    bad[merged] = True                             # flow across a cut is meaningless
    # impact[j] (at frame j) is the deceleration between pair j-1 and pair j.
    impact = np.zeros(t.size)
    change = np.zeros(t.size)
    if dgram.shape[0] >= 2:
        step = dgram[:-1] - dgram[1:]
        across_cut = bad[:-1] | bad[1:]
        impact[1:-1] = np.where(across_cut, 0.0, np.maximum(step, 0.0).sum(axis=1))
        change[1:-1] = np.where(across_cut, 0.0, np.abs(step).sum(axis=1))
    motion_beats, strengths, levels = pick_impacts(t, impact, change, fps)

    speed_clean = speed.copy()
    if bad.any() and (~bad).any():
        speed_clean[bad] = np.interp(np.flatnonzero(bad), np.flatnonzero(~bad), speed[~bad])
    frame_speed = np.concatenate([speed_clean[:1], speed_clean]) if speed_clean.size else np.zeros(t.size)
    motion = motion_intensity(_smooth(frame_speed, max(1, int(round(fps)))))

    beats_t = np.concatenate([motion_beats, cuts])
    beats_s = np.concatenate([strengths, np.ones(cuts.size)])
    # Cuts rank above every impact; impacts by their raw level (strengths are clipped at 1).
    beats_r = np.concatenate([levels, np.full(cuts.size, np.inf)])
    order = np.argsort(beats_t, kind="stable")
    beats_t, beats_s, beats_r = beats_t[order], beats_s[order], beats_r[order]
    is_cut = np.isin(beats_t, cuts)
    keep = np.ones(beats_t.size, dtype=bool)
    for i in range(1, beats_t.size):
        # A cut and an impact within 0.1 s are one event; the cut's time is the better one.
        if beats_t[i] - beats_t[i - 1] <= 0.1:
            drop = i if is_cut[i - 1] or not is_cut[i] else i - 1
            keep[drop] = False
    beats_t, beats_s, beats_r, is_cut = beats_t[keep], beats_s[keep], beats_r[keep], is_cut[keep]
    salient = salient_beats(beats_t, beats_r)
    n_motion = int(np.sum(salient & ~is_cut))

    mean_c = np.mean(np.asarray(mean_rgb), axis=0)
    mood = mood_from_features(brightness=float(np.mean(brightness)), saturation=float(np.mean(saturation)),
                              cct_k=colour_temperature_k(mean_c), motion=float(np.mean(motion)),
                              cuts_per_minute=cuts.size / max(duration / 60.0, 1e-6))
    cpu_s["motion"] = time.thread_time() - started
    progress("analyze", 1.0, f"Found {n_motion} visual beat{'s' if n_motion != 1 else ''} and "
             f"{cuts.size} cut{'s' if cuts.size != 1 else ''}")
    return VideoAnalysis(duration_s=duration, analysis_fps=fps, analysis_size=size, times_s=t, impact=impact,
                         motion=motion, visual_beats_s=beats_t[salient], beat_strengths=beats_s[salient], cuts_s=cuts,
                         mood=mood, camera_motion=camera_moves / max(1, len(speeds)),
                         candidate_beats_s=beats_t, cpu_s=cpu_s)
