"""Choose tempo and phase so musical beats land on visual beats, then lay bars so cuts are downbeats.

The search maximises a soft F-measure between a constant beat grid and the visual beats (recall:
how many visual beats have a musical beat near them; precision: how many musical beats have a
visual beat near them, which keeps the search from choosing ever faster tempos that hit
everything by chance), plus a bonus for cuts near a beat and a weak prior for the tempo the mood
and genre suggest. A coarse grid over tempo x phase is followed by a fine grid around the best
cell and a least-squares fit of period and phase to the matched beats, because over a minute of
music a tempo off by 0.1 BPM drifts by 100 ms.

Bars then restart at every cut that lies on (or near) the grid: the bar before a cut is shortened
or lengthened (a 2/4, 3/4 or 5/4 bar), as film composers do, instead of hoping that every cut
falls a multiple of four beats after the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundtrack.engine.metrics import DEFAULT_WINDOW_S

MATCH_SIGMA_S = 0.04        # width of the soft match; peaks in ~3x this are hits
COARSE_TEMPO_STEP = 0.5     # BPM
COARSE_PHASE_STEP_S = 0.01
DENSITY_STEP_S = 0.005
CUT_WEIGHT = 0.3
PRIOR_WEIGHT = 0.15
PRIOR_WIDTH_OCTAVES = 0.35
MIN_SECTION_BEATS = 2
# Bending the grid onto the picture (warp_beats): how far a beat may move, in beat periods; how much a
# beat-length change costs against a visual beat's strength (0..1); the shortest and longest beat.
# Measured on real footage (bench/soundtrack.py, music-to-visual-beat F; a random phase scores
# 0.34 on the street scene, 0.47 on the film clip; the constant grid 0.39 and 0.58): reach 0.35 with
# smoothness 2 gave 0.63 and 0.58, reach 0.45 with smoothness 1 gives 0.68 and 0.80. The price is
# rubato: beat lengths of 0.55-1.55 periods where the picture asks for it.
WARP_REACH = 0.45
WARP_SMOOTHNESS = 1.0
WARP_LIMITS = (0.5, 2.0)
CUT_GAIN = 2.0


@dataclass(frozen=True)
class BeatGrid:
    tempo_bpm: float
    phase_s: float                    # time of beat 0 (0 <= phase < one beat)
    n_beats: int
    bar_starts: tuple[int, ...]       # beat index of every bar's first beat (the downbeats)
    section_starts: tuple[int, ...]   # beat index where each section starts (subset of bar_starts)
    cut_beats: tuple[int, ...]        # the beat each cut was put on (-1: too close to the previous one)
    score: float
    # Where each beat 0..n_beats-1 really falls once the grid bends towards the picture (a tempo
    # map, see warp_beats); empty for a strictly constant tempo.
    warped_s: tuple[float, ...] = ()

    @property
    def period_s(self) -> float:
        return 60.0 / self.tempo_bpm

    def time_of(self, beat: float | np.ndarray) -> np.ndarray:
        b = np.asarray(beat, dtype=np.float64)
        if len(self.warped_s) < 2:
            return self.phase_s + b * self.period_s
        times = np.asarray(self.warped_s)
        inside = np.interp(b, np.arange(len(times)), times)
        # Outside the map the nominal tempo goes on from its first or last beat.
        before = times[0] + b * self.period_s
        after = times[-1] + (b - (len(times) - 1)) * self.period_s
        return np.where(b < 0, before, np.where(b > len(times) - 1, after, inside))

    def beat_at(self, time_s: float | np.ndarray) -> np.ndarray:
        """Inverse of time_of: the (fractional) beat at a time."""
        t = np.asarray(time_s, dtype=np.float64)
        if len(self.warped_s) < 2:
            return (t - self.phase_s) / self.period_s
        times = np.asarray(self.warped_s)
        inside = np.interp(t, times, np.arange(len(times)))
        before = (t - times[0]) / self.period_s
        after = len(times) - 1 + (t - times[-1]) / self.period_s
        return np.where(t < times[0], before, np.where(t > times[-1], after, inside))

    def seconds_per_beat(self) -> np.ndarray:
        """Length of every beat 0..n_beats-2 in seconds (all equal without a tempo map)."""
        return np.diff(self.time_of(np.arange(self.n_beats)))

    def beat_times(self) -> np.ndarray:
        return self.time_of(np.arange(self.n_beats))

    def downbeat_times(self) -> np.ndarray:
        return self.time_of(np.asarray(self.bar_starts))

    def bar_lengths(self) -> list[int]:
        ends = [*self.bar_starts[1:], self.n_beats]
        return [e - s for s, e in zip(self.bar_starts, ends, strict=True)]


def _density(visual: np.ndarray, weights: np.ndarray, end_s: float) -> np.ndarray:
    """max over visual beats of weight * gaussian(t - beat), sampled every DENSITY_STEP_S."""
    n = int(np.ceil(end_s / DENSITY_STEP_S)) + 2
    dens = np.zeros(n)
    half = int(np.ceil(3 * MATCH_SIGMA_S / DENSITY_STEP_S))
    offsets = np.arange(-half, half + 1)
    for t, w in zip(visual, weights, strict=True):
        centre = int(round(t / DENSITY_STEP_S))
        idx = centre + offsets
        ok = (idx >= 0) & (idx < n)
        vals = w * np.exp(-0.5 * np.square((idx[ok] * DENSITY_STEP_S - t) / MATCH_SIGMA_S))
        np.maximum.at(dens, idx[ok], vals)
    return dens


def _scores(periods: np.ndarray, phases_per: list[np.ndarray], visual: np.ndarray, weights: np.ndarray,
            cuts: np.ndarray, span: tuple[float, float], dens: np.ndarray, prior_bpm: float) -> list[np.ndarray]:
    out = []
    wsum = max(float(weights.sum()), 1e-9)
    lo, hi = span
    for p, phases in zip(periods, phases_per, strict=True):
        d = np.mod(visual[None, :] - phases[:, None], p)
        d = np.minimum(d, p - d)
        recall = (weights[None, :] * np.exp(-0.5 * np.square(d / MATCH_SIGMA_S))).sum(axis=1) / wsum
        k_lo = np.ceil((lo - phases) / p)
        n_k = int(np.floor((hi - lo) / p)) + 2
        ks = k_lo[:, None] + np.arange(n_k)[None, :]
        beats = phases[:, None] + ks * p
        inside = (beats >= lo) & (beats <= hi)
        idx = np.clip(np.round(beats / DENSITY_STEP_S).astype(np.int64), 0, dens.size - 1)
        hit = np.where(inside, dens[idx], 0.0)
        precision = hit.sum(axis=1) / np.maximum(inside.sum(axis=1), 1)
        f = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
        if cuts.size:
            dc = np.mod(cuts[None, :] - phases[:, None], p)
            dc = np.minimum(dc, p - dc)
            f = f + CUT_WEIGHT * np.exp(-0.5 * np.square(dc / MATCH_SIGMA_S)).mean(axis=1)
        prior = np.exp(-0.5 * np.square(np.log2((60.0 / p) / prior_bpm) / PRIOR_WIDTH_OCTAVES))
        out.append(f + PRIOR_WEIGHT * prior)
    return out


def _refine(p: float, phase: float, visual: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Least-squares period and phase from the visual beats matched to the grid (weighted)."""
    for _ in range(3):
        k = np.round((visual - phase) / p)
        resid = visual - (phase + k * p)
        inl = np.abs(resid) <= DEFAULT_WINDOW_S
        if inl.sum() < 4 or np.unique(k[inl]).size < 2:
            break
        w = weights[inl]
        a = np.vstack([np.ones(inl.sum()), k[inl]]).T * np.sqrt(w)[:, None]
        b = visual[inl] * np.sqrt(w)
        (phase_new, p_new), *_ = np.linalg.lstsq(a, b, rcond=None)
        if not (0.98 * p < p_new < 1.02 * p):
            break
        p, phase = float(p_new), float(phase_new)
    return p, float(np.mod(phase, p))


def search_tempo_phase(visual_s: np.ndarray, strengths: np.ndarray, cuts_s: np.ndarray, *,
                       tempo_range: tuple[float, float], prior_bpm: float) -> tuple[float, float, float]:
    """Best (tempo_bpm, phase_s, score). With fewer than two visual events: the prior tempo, phase 0."""
    visual = np.asarray(visual_s, dtype=np.float64)
    weights = np.clip(np.asarray(strengths, dtype=np.float64), 0.05, 1.0)
    cuts = np.asarray(cuts_s, dtype=np.float64)
    if visual.size < 2:
        return float(prior_bpm), 0.0, 0.0
    lo_bpm, hi_bpm = tempo_range
    span = (float(visual.min()) - 0.05, float(visual.max()) + 0.05)
    dens = _density(visual, weights, span[1] + 1.0)

    tempos = np.arange(lo_bpm, hi_bpm + 1e-9, COARSE_TEMPO_STEP)
    periods = 60.0 / tempos
    phases = [np.arange(0.0, p, COARSE_PHASE_STEP_S) for p in periods]
    scores = _scores(periods, phases, visual, weights, cuts, span, dens, prior_bpm)
    best_t = int(np.argmax([s.max() for s in scores]))
    best_p, best_phase = float(periods[best_t]), float(phases[best_t][int(np.argmax(scores[best_t]))])

    # Fine grid around the winner, then a least-squares fit; keep whichever scores best.
    fine_tempos = 60.0 / best_p + np.arange(-COARSE_TEMPO_STEP, COARSE_TEMPO_STEP + 1e-9, 0.05)
    fine_periods = 60.0 / fine_tempos
    fine_phases = [np.mod(best_phase + np.arange(-0.02, 0.0201, 0.002), fp) for fp in fine_periods]
    fine = _scores(fine_periods, fine_phases, visual, weights, cuts, span, dens, prior_bpm)
    fi = int(np.argmax([s.max() for s in fine]))
    cand = [(float(fine[fi].max()), float(fine_periods[fi]), float(fine_phases[fi][int(np.argmax(fine[fi]))]))]
    p_ls, ph_ls = _refine(cand[0][1], cand[0][2], visual, weights)
    ls_score = _scores(np.array([p_ls]), [np.array([ph_ls])], visual, weights, cuts, span, dens, prior_bpm)[0][0]
    cand.append((float(ls_score), p_ls, ph_ls))
    score, p, phase = max(cand)
    return 60.0 / p, float(np.mod(phase, p)), score


def lay_bars(n_beats: int, cut_beats: list[int], beats_per_bar: int = 4) -> tuple[list[int], list[int]]:
    """Bar and section starts (beat indices) such that every section starts with a fresh bar.

    The first section ends at the first cut: its odd beats become a pickup at the very start.
    Later sections start a bar at the cut and absorb their odd beats in their last bar (2, 3 or
    5 beats long).
    """
    bounds = sorted({b for b in cut_beats if 0 < b < n_beats})
    section_starts = [0, *bounds]
    ends = [*bounds, n_beats]
    bars: list[int] = []
    for i, (start, end) in enumerate(zip(section_starts, ends, strict=True)):
        n = end - start
        if i == 0 and bounds:
            pickup = n % beats_per_bar
            starts = ([start] if pickup else []) + list(range(start + pickup, end, beats_per_bar))
        else:
            starts = list(range(start, end, beats_per_bar))
            rest = n % beats_per_bar
            if rest == 1 and len(starts) >= 2:
                starts.pop()              # the lone beat joins the previous bar: a 5/4 bar
        bars.extend(starts)
    return sorted(set(bars)), section_starts


def fit_beat_grid(visual_s: np.ndarray, strengths: np.ndarray, cuts_s: np.ndarray, *, duration_s: float,
                  tempo_range: tuple[float, float], prior_bpm: float, beats_per_bar: int = 4,
                  bend: bool = True) -> BeatGrid:
    tempo, phase, score = search_tempo_phase(visual_s, strengths, cuts_s, tempo_range=tempo_range,
                                             prior_bpm=prior_bpm)
    p = 60.0 / tempo
    n_beats = int(np.floor((duration_s - phase) / p)) + 2     # one beat past the end, for the last bar
    cut_beats: list[int] = []
    last = 0
    for c in np.sort(np.asarray(cuts_s, dtype=np.float64)):
        b = int(round((c - phase) / p))
        # Sections shorter than two beats are not sections; such a cut stays a plain visual beat.
        if b - last < MIN_SECTION_BEATS or b >= n_beats - 1:
            cut_beats.append(-1)
            continue
        cut_beats.append(b)
        last = b
    bars, sections = lay_bars(n_beats, [b for b in cut_beats if b >= 0], beats_per_bar)
    nominal = phase + p * np.arange(n_beats)
    warped = warp_beats(nominal, p, np.asarray(visual_s, dtype=np.float64), np.asarray(strengths, dtype=np.float64),
                        np.asarray(cuts_s, dtype=np.float64)) if bend else nominal
    return BeatGrid(tempo_bpm=float(tempo), phase_s=float(phase), n_beats=n_beats, bar_starts=tuple(bars),
                    section_starts=tuple(sections), cut_beats=tuple(cut_beats), score=float(score),
                    warped_s=tuple(float(t) for t in warped) if bend else ())


def warp_beats(nominal_s: np.ndarray, period_s: float, visual_s: np.ndarray, strengths: np.ndarray,
               cuts_s: np.ndarray, *, reach: float = WARP_REACH, smoothness: float = WARP_SMOOTHNESS) -> np.ndarray:
    """Move beats onto the visual beats that matter, bending the tempo as a conductor would.

    Real footage does not move on a metronome: people walk at their own pace, a film cuts where
    the story needs. Each beat of the constant grid may move onto a visual beat within ``reach``
    beat periods of it. Which ones it moves to is decided for the whole piece at once (Viterbi):
    landing on a visual beat gains its strength (a cut gains CUT_GAIN, so cuts are hit first), and
    every beat's length pays ``smoothness * log(length / period)^2``, so the tempo bends only where
    a strong event is worth it and returns to the fitted tempo in between. Beat lengths stay
    within WARP_LIMITS of the period.
    """
    if nominal_s.size < 2 or visual_s.size == 0:
        return nominal_s
    events = np.concatenate([visual_s, cuts_s])
    gains = np.concatenate([np.clip(strengths, 0.05, 1.0), np.full(cuts_s.size, CUT_GAIN)])
    gains, events = gains[events >= 0], events[events >= 0]      # nothing plays before the video starts
    order = np.argsort(events, kind="stable")
    events, gains = events[order], gains[order]
    lo, hi = WARP_LIMITS
    cand_t: list[np.ndarray] = []
    cand_g: list[np.ndarray] = []
    for t in nominal_s:
        a, b = np.searchsorted(events, [t - reach * period_s, t + reach * period_s + 1e-9])
        cand_t.append(np.concatenate([[t], events[a:b]]))
        cand_g.append(np.concatenate([[0.0], gains[a:b]]))
    score = cand_g[0].copy()
    back: list[np.ndarray] = [np.zeros(len(cand_t[0]), dtype=int)]      # beat 0 has no predecessor
    for k in range(1, len(cand_t)):
        length = cand_t[k][:, None] - cand_t[k - 1][None, :]                    # (here, before)
        ok = (length > lo * period_s) & (length < hi * period_s)
        cost = smoothness * np.square(np.log(np.maximum(length, 1e-6) / period_s))
        total = np.where(ok, score[None, :] - cost, -np.inf)
        best = np.argmax(total, axis=1)
        score = total[np.arange(len(best)), best] + cand_g[k]
        # The nominal beat always has a way in (its own nominal predecessor), so no path dies.
        back.append(best)
    choice = int(np.argmax(score))
    out = np.empty(len(cand_t))
    for k in range(len(cand_t) - 1, -1, -1):
        out[k] = cand_t[k][choice]
        choice = int(back[k][choice])
    return out
