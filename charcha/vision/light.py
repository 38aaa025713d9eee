"""The light challenge: a safe colour sequence, the face's colour per region, and the judgement.

The page lights the user's face with a short sequence of colours the server draws and reveals in
real time. A real face, lit by the screen from the front, (1) changes colour with the screen,
after the display's and camera's lag, and (2) changes more where it faces the screen (forehead,
nose, the middle of the cheeks) than on its sides (the face oval's flanks, the jaw), which turn
away from it. A photo, a tablet showing a face, or a warped photo is flat (or two flat halves): it
reflects the light uniformly, or not at all; an injected video stream does not see the light, and
a recording replayed against a new challenge followed another sequence.

Colours are compared in *relative* terms (each region's change divided by its own level), so a
face's albedo, skin tone and the room's own light cancel out; what is left is geometry.

Safety (WCAG 2.3.1, three flashes or below threshold): the sequence changes colour at most 1.5
times a second and every change ramps over ~200 ms; all its colours have nearly the same
relative luminance (0.24-0.34), so no change between two of them is even a "general flash"
transition (>= 10 % of the maximum luminance); none is a saturated red (linear R / (R + G + B)
>= 0.8 is WCAG's definition; the palette stays below 0.7). :func:`light_safety_problems` checks a
sequence against those rules, including the entry from and the return to the neutral light.
"""

from __future__ import annotations

import colorsys
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from charcha.vision.types import LightSegment

Plan = list[tuple[tuple[int, int, int], float, float]]

# The page's steady light outside the light phase (and the base it ramps from and back to).
NEUTRAL_RGB: tuple[int, int, int] = (236, 236, 230)
RAMP_S = 0.2  # every colour change is a linear ramp of this length (in sRGB, as CSS transitions)
SEGMENT_S = (0.67, 0.9)  # at most 1 / 0.67 = 1.5 changes a second
MIN_SEGMENT_S = 0.67
# As shown: a segment starts when the page's poll reveals it (0-150 ms late), so a planned 0.67 s
# can be shown for ~0.52 s; never shorter than this, and never more than two changes in a second.
MIN_SHOWN_S = 0.5
# Five or six colours: a recording of another challenge matches every one of them, in time, by
# chance in well under one in a thousand draws (measured: see judge_light's policy).
N_SEGMENTS = (5, 6)
LUMINANCE_BAND = (0.24, 0.34)  # relative luminance of every palette colour
MAX_RED_RATIO = 0.7  # WCAG's saturated red starts at 0.8
FLASH_DELTA = 0.1  # WCAG: a transition is a change of relative luminance of 10 % or more
MIN_HUE_STEP = 0.24  # consecutive colours at least this far apart on the hue circle (0..1)


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def relative_luminance(rgb: Sequence[float] | np.ndarray) -> float:
    """WCAG relative luminance of an sRGB colour (0..255)."""
    lin = _srgb_to_linear(np.asarray(rgb, dtype=np.float64) / 255.0)
    return float(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])


def red_ratio(rgb: Sequence[float] | np.ndarray) -> float:
    """Linear R / (R + G + B): WCAG calls a colour saturated red from 0.8."""
    lin = _srgb_to_linear(np.asarray(rgb, dtype=np.float64) / 255.0)
    return float(lin[0] / max(float(lin.sum()), 1e-9))


def _palette(n_hues: int = 12) -> tuple[tuple[int, int, int], ...]:
    """Hues around the circle, each as saturated as it can be (0.45-0.8) inside the luminance band
    without being a saturated red: saturated enough that neighbouring colours differ clearly in
    every channel's share, so a recording made under other colours cannot pass for this one."""
    out = []
    target = sum(LUMINANCE_BAND) / 2
    for k in range(n_hues):
        for saturation in np.arange(0.8, 0.44, -0.05):
            r, g, b = colorsys.hsv_to_rgb(k / n_hues, float(saturation), 1.0)
            lo, hi = 0.05, 1.0
            for _ in range(40):  # bisection on the value (brightness) for the target luminance
                mid = (lo + hi) / 2
                if relative_luminance([255 * r * mid, 255 * g * mid, 255 * b * mid]) < target:
                    lo = mid
                else:
                    hi = mid
            rgb = (round(255 * r * lo), round(255 * g * lo), round(255 * b * lo))
            if LUMINANCE_BAND[0] <= relative_luminance(rgb) <= LUMINANCE_BAND[1] and red_ratio(rgb) < MAX_RED_RATIO:
                out.append(rgb)
                break
    return tuple(out)


PALETTE: tuple[tuple[int, int, int], ...] = _palette()


def _hue(rgb: tuple[int, int, int]) -> float:
    return colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0]


def generate_light_sequence(
    rng: random.Random,
    *,
    start_s: float,
    n_segments: tuple[int, int] = N_SEGMENTS,
    segment_s: tuple[float, float] = SEGMENT_S,
    palette: Sequence[tuple[int, int, int]] = PALETTE,
) -> Plan:
    """A random plan of (colour, planned start, planned end), back to back from ``start_s``.

    Consecutive colours are far apart in hue (so a change is visible in every channel's ratio)
    and never the same; the first colour is never the neutral one.
    """
    if segment_s[0] < MIN_SEGMENT_S - 1e-9 or segment_s[0] > segment_s[1]:
        raise ValueError("segments shorter than 0.67 s would change colour more than 1.5 times a second")
    n = rng.randint(*n_segments)
    plan: Plan = []
    t = start_s
    previous: tuple[int, int, int] | None = None
    for _ in range(n):
        choices = [
            c for c in palette
            if previous is None or min(abs(_hue(c) - _hue(previous)), 1 - abs(_hue(c) - _hue(previous))) >= MIN_HUE_STEP
        ]
        colour = rng.choice(choices)
        length = round(rng.uniform(*segment_s), 3)
        plan.append((colour, round(t, 3), round(t + length, 3)))
        t += length
        previous = colour
    return plan


def light_safety_problems(plan: Sequence[tuple[tuple[int, int, int], float, float]] | Sequence[LightSegment]) -> list[str]:
    """What is wrong with a light plan under WCAG 2.3.1 (empty: nothing).

    Colour changes: no segment shown for less than 0.5 s, no more than two changes in any second.
    The page's luminance is simulated at 100 Hz with its ramps, entering from and returning to the
    neutral light; a flash is a pair of opposing luminance transitions of >= 10 % where the darker
    state is below 0.8; no one-second window may hold more than three; a red flash (any
    transition to or from a saturated red) is never allowed.
    """
    items = [(tuple(p.rgb), p.start_s, p.end_s) if isinstance(p, LightSegment) else p for p in plan]
    problems = []
    for rgb, start, end in items:
        if red_ratio(rgb) >= 0.8:
            problems.append(f"{rgb} is a saturated red")
        if end - start < MIN_SHOWN_S - 1e-9:
            problems.append(f"segment at {start:.2f} s lasts {end - start:.2f} s (< {MIN_SHOWN_S} s)")
    changes = sorted(start for _, start, _ in items)
    for c in changes:
        within = sum(1 for u in changes if c <= u < c + 1.0)
        if within > 2:
            problems.append(f"{within} colour changes within one second from {c:.2f} s")
            break
    if not items:
        return problems
    segs = [LightSegment(tuple(rgb), float(s), float(e)) for rgb, s, e in items]  # type: ignore[arg-type]
    t0, t1 = segs[0].start_s - 1.0, segs[-1].end_s + 1.0
    times = np.arange(t0, t1, 0.01)
    lum = np.array([relative_luminance(page_colour_at(segs, t)) for t in times])
    # Transitions: monotonic runs of the luminance whose total change is >= 10 %.
    transitions: list[tuple[float, int, float]] = []  # (time, direction, darker level)
    run_start, direction = 0, 0
    for i in range(1, len(lum) + 1):
        d = 0 if i == len(lum) else int(np.sign(round(lum[i] - lum[i - 1], 6)))
        if i < len(lum) and (d == 0 or d == direction or direction == 0):
            direction = direction or d
            continue
        change = lum[i - 1] - lum[run_start]
        if abs(change) >= FLASH_DELTA and min(lum[i - 1], lum[run_start]) < 0.8:
            transitions.append((float(times[i - 1]), int(np.sign(change)), float(min(lum[i - 1], lum[run_start]))))
        run_start, direction = i - 1, d
    flashes = [transitions[k][0] for k in range(1, len(transitions)) if transitions[k][1] != transitions[k - 1][1]]
    for t in flashes:
        within = sum(1 for u in flashes if t <= u < t + 1.0)
        if within > 3:
            problems.append(f"{within} flashes within one second from {t:.2f} s")
            break
    return problems


def page_colour_at(segments: Sequence[LightSegment], t: float, *, ramp_s: float = RAMP_S,
                   neutral: tuple[int, int, int] = NEUTRAL_RGB) -> np.ndarray:
    """The sRGB colour (3,) the page shows at time ``t``: each segment from its reveal, reached
    by a linear ramp from the previous colour; neutral before the first and after the last."""
    colour = np.asarray(neutral, np.float64)
    previous = colour
    for seg in segments:
        if t < seg.start_s:
            break
        previous = colour
        colour = np.asarray(seg.rgb, np.float64)
        if t < seg.start_s + ramp_s:
            u = (t - seg.start_s) / ramp_s
            return previous + (colour - previous) * u
        if t >= seg.end_s and seg is segments[-1]:
            u = min(1.0, (t - seg.end_s) / ramp_s)
            return colour + (np.asarray(neutral, np.float64) - colour) * u
    return colour


# -- measuring the face ----------------------------------------------------------------------------

# Regions as (name, landmarks whose mean is the centre, pull towards the nose tip 0..1, radius in
# eye distances). Centre regions face the screen; periphery regions are the oval's flanks at eye
# and jaw height, pulled inwards so that landmark jitter keeps them on skin, not hair or background.
_REGIONS: tuple[tuple[str, tuple[int, ...], float, float], ...] = (
    ("forehead", (151, 9), 0.0, 0.2),
    ("nose", (195, 5), 0.0, 0.09),
    ("cheek_right", (36, 205), 0.0, 0.14),
    ("cheek_left", (266, 425), 0.0, 0.14),
    ("side_right", (93, 234), 0.12, 0.1),
    ("side_left", (323, 454), 0.12, 0.1),
    ("jaw_right", (172, 136), 0.12, 0.1),
    ("jaw_left", (397, 365), 0.12, 0.1),
)
REGION_NAMES: tuple[str, ...] = (*(r[0] for r in _REGIONS), "background")
# The colour-following test uses the regions that face the screen most and are largest.
CENTRE = (0, 2, 3)
PERIPHERY = (4, 5, 6, 7)
# The shape test pairs each cheek with the flank on its own side of the face: a photo folded down
# the nose puts each pair on one flat half, so the pair responds alike.
SHAPE_PAIRS = ((2, 4), (3, 5))
BACKGROUND = 8
_NOSE_TIP = 1
# Camera values are decoded with a plain power law, not the sRGB curve: a camera's tone curve is
# close to a power law whose exponent varies by model, and under any power law a surface's
# *relative* change stays the same at every brightness (scaled by one common factor), which is what
# the shape test compares. The sRGB curve's linear toe would bend the dark regions' changes.
DECODE_GAMMA = 2.2
_LINEAR_LUT = ((np.arange(256) / 255.0) ** DECODE_GAMMA).astype(np.float32)


def measure_regions(image_rgb: np.ndarray, landmarks_px: np.ndarray) -> np.ndarray:
    """Mean linear colour (K, 3) float32 of the regions :data:`REGION_NAMES` of one frame
    (decoded with the power law :data:`DECODE_GAMMA`).

    The last row is a background reference beside the head (NaN where the frame has no room for
    it). ~0.2 ms at 320x240: only small windows around each region are touched.
    """
    lm = np.asarray(landmarks_px, dtype=np.float64)[:, :2]
    h, w = image_rgb.shape[:2]
    iod = float(np.hypot(*(lm[468] - lm[473]))) if len(lm) > 473 else float(np.hypot(*(lm[33] - lm[263]))) * 0.8
    iod = max(iod, 4.0)
    out = np.full((len(REGION_NAMES), 3), np.nan, np.float32)
    nose = lm[_NOSE_TIP]
    for k, (_name, ids, pull, radius) in enumerate(_REGIONS):
        centre = lm[list(ids)].mean(axis=0)
        centre = centre + pull * (nose - centre)
        out[k] = _disc_mean(image_rgb, centre, max(1.5, radius * iod), w, h)
    # Background: beside the head at eye height, 1.3 face widths from the face's centre.
    face_w = float(np.ptp(lm[:468, 0]))
    mid = lm[:468].mean(axis=0)
    found = [
        _disc_mean(image_rgb, np.array([mid[0] + side * 1.3 * face_w, mid[1] - 0.1 * face_w]), 0.25 * iod, w, h)
        for side in (-1.0, 1.0)
    ]
    valid = [f for f in found if np.all(np.isfinite(f))]
    if valid:
        out[BACKGROUND] = np.mean(valid, axis=0)
    return out


def _disc_mean(image: np.ndarray, centre: np.ndarray, radius: float, w: int, h: int) -> np.ndarray:
    cx, cy = float(centre[0]), float(centre[1])
    x0, x1 = max(0, int(math.floor(cx - radius))), min(w, int(math.ceil(cx + radius)) + 1)
    y0, y1 = max(0, int(math.floor(cy - radius))), min(h, int(math.ceil(cy + radius)) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2 or not (0 <= cx < w and 0 <= cy < h):
        return np.full(3, np.nan, np.float32)
    ys, xs = np.ogrid[y0:y1, x0:x1]
    mask = (xs - cx) ** 2 + (ys - cy) ** 2 <= radius * radius
    if not mask.any():
        return np.full(3, np.nan, np.float32)
    lin = _LINEAR_LUT[image[y0:y1, x0:x1][mask]]
    return lin.mean(axis=0).astype(np.float32)


# -- judging ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LightResult:
    ok: bool
    reason: str  # "passed" | "light_mismatch" | "light_flat"
    detail: str
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LightPolicy:
    """Thresholds of :func:`judge_light`, with the measurements that set them (rendered genuine
    heads through FaceMesh, vs the attacks of charcha/testing/attacks.py; bench/liveness.py prints
    the same scores for every run)."""

    max_lag_s: float = 0.6
    lag_step_s: float = 0.02
    min_frames: int = 12
    # The face's colour must follow the light: the centre regions' shared relative gain, in units
    # of its standard error (genuine >= 24; a virtual camera, a face swap without colour matching:
    # |z| < 4) ...
    min_follow_z: float = 8.0
    # ... explaining most of the centre's colour change (genuine >= 0.76; no response: < 0.1) ...
    min_follow_r2: float = 0.5
    # ... segment by segment: the worst segment's colour error (its chromatic part) in units of
    # the response's size. 40 genuine heads <= 0.18; 40 genuine recordings judged against 50 other
    # challenges each (replays; 2,000 pairs) >= 0.37.
    max_segment_error: float = 0.27
    # ... and be shaped like a face: cheek / flank relative gain, mean of the two sides, less 1.5
    # standard errors (a noisy flank must not make a photo look curved). 40 genuine heads >= 1.32;
    # flat, folded and tilted photos and uniform tints <= 1.03 (12 each; the mean alone reached
    # 1.30 on a folded photo whose flank sat on noisy hair).
    min_shape_ratio: float = 1.15


def judge_light(
    times_s: np.ndarray,
    regions: np.ndarray,
    segments: Sequence[LightSegment],
    policy: LightPolicy | None = None,
) -> LightResult:
    """Does the face's colour follow ``segments`` (with a lag of 0-600 ms) and is its response
    shaped like a face? ``regions`` is (N, K, 3) from :func:`measure_regions` (NaN rows: no face).

    Model, per region r and colour channel k, over the frames of the light phase:
        y_rk(t) = m_rk * (1 + g_r * (L_k(t - lag) - mean L_k)) + drift_rk * (t - mean t)
    where L is the page's linear light. ``g_r`` is the region's relative gain, shared by its three
    channels: a surface's albedo scales all of its change, so a grey, a red and a blue screen move
    each channel by the same fraction of its level. The lag is the one that explains the centre
    regions best.
    """
    policy = policy or LightPolicy()
    segs = sorted(segments, key=lambda s: s.start_s)
    if len(segs) < 2:
        return LightResult(True, "passed", "no light phase to check", {})
    times = np.asarray(times_s, dtype=np.float64)
    values = np.asarray(regions, dtype=np.float64)
    if values.ndim != 3 or len(values) != len(times) or values.shape[1] < len(REGION_NAMES) - 1:
        return LightResult(False, "light_mismatch", f"no usable light measurements (shape {values.shape})", {})
    face = values[:, : BACKGROUND]
    usable = np.all(np.isfinite(face), axis=(1, 2))

    best: tuple[float, float, dict[str, np.ndarray]] | None = None
    for lag in np.arange(0.0, policy.max_lag_s + 1e-9, policy.lag_step_s):
        sel = usable & (times >= segs[0].start_s + lag + RAMP_S) & (times <= segs[-1].end_s + lag)
        if sel.sum() < policy.min_frames:
            continue
        light = _linear_light(segs, times[sel] - lag)
        fit = _fit_gains(times[sel], face[sel], light)
        score = float(fit["r2"][list(CENTRE)].mean())
        if best is None or score > best[1]:
            best = (float(lag), score, fit)
    if best is None:
        return LightResult(False, "light_mismatch", "too few frames with a face during the light phase", {})
    lag, _score, fit = best
    gain, se, r2 = fit["gain"], fit["se"], fit["r2"]
    centre = float(np.mean(gain[list(CENTRE)]))
    centre_se = float(np.sqrt(np.mean(se[list(CENTRE)] ** 2) / len(CENTRE)))
    periphery = float(np.mean(gain[list(PERIPHERY)]))
    follow_z = centre / max(centre_se, 1e-9)
    follow_r2 = float(np.mean(r2[list(CENTRE)]))
    # Per side, how much more the cheek brightens (relative to its own level) than the flank
    # beside it. A room lamp from one side can even the pair on the far side, never on both.
    pair_ratios = [float(gain[a] / gain[b]) if gain[b] > 1e-6 else 99.0 for a, b in SHAPE_PAIRS]
    shape = float(np.mean(np.clip(pair_ratios, 0.0, 5.0)))
    # Standard error of that mean, from the regions' gain errors (first order).
    pair_se = [abs(r) * math.hypot(se[a] / max(abs(gain[a]), 1e-9), se[b] / max(abs(gain[b]), 1e-9))
               for r, (a, b) in zip(pair_ratios, SHAPE_PAIRS, strict=True)]
    shape_lower = shape - 1.5 * math.sqrt(sum(v * v for v in pair_se)) / len(pair_se)
    segment_error = _segment_error(times, face, usable, segs, lag, centre)
    scores = {
        "lag_s": lag,
        "centre_gain": centre,
        "periphery_gain": periphery,
        "follow_z": follow_z,
        "follow_r2": follow_r2,
        "segment_error": segment_error,
        "shape_ratio": shape,
        "shape_lower": shape_lower,
        "shape_right": pair_ratios[0],
        "shape_left": pair_ratios[1],
        "frames": float(fit["n"]),
    }
    for name, g in zip(REGION_NAMES, gain, strict=False):
        scores[f"gain_{name}"] = float(g)
    summary = (f"lag {lag * 1000:.0f} ms, centre gain {centre:.3f} (z {follow_z:.1f}, r2 {follow_r2:.2f}, "
               f"worst segment {segment_error:.2f}), periphery {periphery:.3f}, shape {shape:.2f} (at least {shape_lower:.2f})")
    if follow_z < policy.min_follow_z or follow_r2 < policy.min_follow_r2 or segment_error > policy.max_segment_error:
        return LightResult(False, "light_mismatch", f"the face's colour does not follow the light: {summary}", scores)
    if shape_lower < policy.min_shape_ratio:
        return LightResult(False, "light_flat", f"the face reflects the light like a flat surface: {summary}", scores)
    return LightResult(True, "passed", summary, scores)


def _linear_light(segments: Sequence[LightSegment], times: np.ndarray) -> np.ndarray:
    """(N, 3) linear light of the page at each time."""
    srgb = np.stack([page_colour_at(segments, float(t)) for t in times])
    return _srgb_to_linear(srgb / 255.0)


def _fit_gains(times: np.ndarray, y: np.ndarray, light: np.ndarray) -> dict[str, np.ndarray]:
    """Least-squares relative gains per region (see :func:`judge_light`), their standard errors
    and the fraction of each region's variance (after drift) that the light explains."""
    n = y.shape[0]
    t = times - times.mean()
    lc = light - light.mean(axis=0)  # (N, 3)
    level = y.mean(axis=0)  # (K, 3)
    rel = y / np.maximum(level, 1e-6) - 1.0  # (N, K, 3) relative change
    # Remove each channel's linear drift (auto exposure, slow sway), from the light too so the
    # two stay comparable.
    tt = float(t @ t) or 1.0
    rel = rel - t[:, None, None] * (np.einsum("n,nkc->kc", t, rel) / tt)[None]
    lc = lc - t[:, None] * ((t @ lc) / tt)[None]
    # Shared gain per region: regress the three channels' relative change on the light's.
    sxx = float(np.sum(lc * lc)) or 1e-12
    gain = np.einsum("nkc,nc->k", rel, lc) / sxx
    resid = rel - gain[None, :, None] * lc[:, None, :]
    dof = max(3 * n - 3 - 1, 1)
    sigma2 = np.sum(resid**2, axis=(0, 2)) / dof
    se = np.sqrt(sigma2 / sxx)
    total = np.sum(rel**2, axis=(0, 2))
    r2 = 1.0 - np.sum(resid**2, axis=(0, 2)) / np.maximum(total, 1e-12)
    return {"gain": gain, "se": se, "r2": r2, "n": np.array(n)}


def _segment_error(
    times: np.ndarray, face: np.ndarray, usable: np.ndarray, segs: Sequence[LightSegment], lag: float, gain: float
) -> float:
    """The worst segment's mismatch: per segment (its frames after the ramp), the centre regions'
    mean relative colour against the fitted response to that segment's light, in units of the
    response's RMS size over the segments. A pooled fit forgives one wrong colour among five; this
    does not. Only the error's chromatic part counts (its mean over the channels removed): the
    palette's colours all have the same luminance, so the sequence is in the chroma, while a sway
    or the camera's exposure moves all channels together."""
    sel = usable & (times >= segs[0].start_s + lag + RAMP_S) & (times <= segs[-1].end_s + lag)
    t = times[sel]
    y = face[sel][:, list(CENTRE)]
    rel = (y / np.maximum(y.mean(axis=0), 1e-6) - 1.0).mean(axis=1)  # (n, 3)
    light = _linear_light(segs, t - lag)
    pc = light - light.mean(axis=0)
    tc = t - t.mean()
    tt = float(tc @ tc) or 1.0
    rel = rel - np.outer(tc, tc @ rel / tt)
    pc = pc - np.outer(tc, tc @ pc / tt)
    errors, sizes = [], []
    for seg in segs:
        within = (t - lag >= seg.start_s + RAMP_S + 0.05) & (t - lag <= seg.end_s)
        if within.sum() < 3:
            continue
        predicted = gain * pc[within].mean(axis=0)
        error = rel[within].mean(axis=0) - predicted
        errors.append(float(np.linalg.norm(error - error.mean())))
        sizes.append(float(np.linalg.norm(predicted)))
    if len(errors) < 2:
        return math.inf
    size = math.sqrt(float(np.mean(np.square(sizes))))
    return max(errors) / size if size > 1e-9 else math.inf
