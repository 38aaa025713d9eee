"""Choose tempo and phase so musical beats land on visual beats, then lay bars so cuts are downbeats.

The search maximises a soft F-measure between a constant beat grid and the visual beats (recall:
how many visual beats have a musical beat near them; precision: how many musical beats have a
visual beat near them, which keeps the search from choosing ever faster tempos that hit
everything by chance), plus a bonus for cuts near a beat and a weak prior for the tempo the mood
and genre suggest. A coarse grid over tempo x phase is followed by a fine grid around the best
cell and a least-squares fit of period and phase to the matched beats, because over a minute of
music a tempo off by 0.1 BPM drifts by 100 ms.

The grid then bends onto the visual beats (warp_beats, a tempo map found by Viterbi), and since a
tempo that fits badly on a metronome may bend onto the picture best, several tempos are bent and
compared (fit_beat_grid).

Bars then restart at every cut that lies on (or near) the grid: the bar before a cut is shortened
or lengthened (a 2/4, 3/4 or 5/4 bar), as film composers do, instead of hoping that every cut
falls a multiple of four beats after the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundtrack.engine.metrics import DEFAULT_WINDOW_S, nearest_distances

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
# Measured on real footage (bench/soundtrack.py, music-to-visual-beat F against every event found,
# before visual beats were chosen by salience; a random phase scores 0.34 on the street scene, 0.47
# on the film clip; the constant grid 0.39 and 0.58): reach 0.35 with smoothness 2 gave 0.63 and
# 0.58, reach 0.45 with smoothness 1 gives 0.68 and 0.80. The price is rubato: beat lengths of
# 0.55-1.55 periods where the picture asks for it.
WARP_REACH = 0.45
WARP_SMOOTHNESS = 1.0
WARP_LIMITS = (0.5, 2.0)
CUT_GAIN = 2.0
# Tempos tried for the bent grid (fit_beat_grid), and what each beat's squared log length change
# costs there. On the bench's real footage, against the salient visual beats: one candidate gave F
# 0.72 (street) and 0.77 (film), eight give 0.77 and 0.86; a penalty of 1 or 2 gives the same F
# there (2 bends less: median beat-to-beat change of length 23 % instead of 29 % on the street),
# and without one a 150 BPM test clip got 133 BPM.
BENT_TEMPO_CANDIDATES = 8
BEND_PENALTY = 2.0

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


def tempo_candidates(visual_s: np.ndarray, strengths: np.ndarray, cuts_s: np.ndarray, *,
                     tempo_range: tuple[float, float], prior_bpm: float,
                     count: int = 1) -> list[tuple[float, float, float]]:
    """The ``count`` best constant grids at distinct tempos, best first: (tempo_bpm, phase_s, score).

    Distinct means a local maximum over tempo of the best score over phase; each is refined by a
    fine grid and a least-squares fit. Empty with fewer than two visual events.
    """
    visual = np.asarray(visual_s, dtype=np.float64)
    weights = np.clip(np.asarray(strengths, dtype=np.float64), 0.05, 1.0)
    cuts = np.asarray(cuts_s, dtype=np.float64)
    if visual.size < 2:
        return []
    lo_bpm, hi_bpm = tempo_range
    span = (float(visual.min()) - 0.05, float(visual.max()) + 0.05)
    dens = _density(visual, weights, span[1] + 1.0)

    tempos = np.arange(lo_bpm, hi_bpm + 1e-9, COARSE_TEMPO_STEP)
    periods = 60.0 / tempos
    phases = [np.arange(0.0, p, COARSE_PHASE_STEP_S) for p in periods]
    scores = _scores(periods, phases, visual, weights, cuts, span, dens, prior_bpm)
    per_tempo = np.asarray([s.max() for s in scores])
    padded = np.pad(per_tempo, 1, constant_values=-np.inf)
    peaks = np.flatnonzero((per_tempo >= padded[:-2]) & (per_tempo >= padded[2:]))
    out: list[tuple[float, float, float]] = []
    for t in peaks[np.argsort(-per_tempo[peaks], kind="stable")]:
        if len(out) >= count:
            break
        best_p, best_phase = float(periods[t]), float(phases[t][int(np.argmax(scores[t]))])
        # Fine grid around the cell, then a least-squares fit; keep whichever scores best.
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
        if all(abs(np.log(60.0 / p / other)) > 0.02 for other, _, _ in out):
            out.append((60.0 / p, float(np.mod(phase, p)), score))
    # Refinement can reorder cells that scored alike on the coarse grid.
    return sorted(out, key=lambda c: -c[2])


def search_tempo_phase(visual_s: np.ndarray, strengths: np.ndarray, cuts_s: np.ndarray, *,
                       tempo_range: tuple[float, float], prior_bpm: float) -> tuple[float, float, float]:
    """Best (tempo_bpm, phase_s, score). With fewer than two visual events: the prior tempo, phase 0."""
    found = tempo_candidates(visual_s, strengths, cuts_s, tempo_range=tempo_range, prior_bpm=prior_bpm)
    return found[0] if found else (float(prior_bpm), 0.0, 0.0)


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


def bent_score(beats_s: np.ndarray, visual_s: np.ndarray, strengths: np.ndarray, cuts_s: np.ndarray, *,
               tempo_bpm: float, prior_bpm: float) -> float:
    """The constant-grid search's score (soft F + cuts + tempo prior) for beats at any times.

    The same terms as _scores, so a bent grid and a constant one are compared on one scale.
    """
    visual = np.asarray(visual_s, dtype=np.float64)
    beats = np.sort(np.asarray(beats_s, dtype=np.float64))
    if visual.size == 0 or beats.size == 0:
        return 0.0
    weights = np.clip(np.asarray(strengths, dtype=np.float64), 0.05, 1.0)
    lo, hi = float(visual.min()) - 0.05, float(visual.max()) + 0.05
    inside = beats[(beats >= lo) & (beats <= hi)]
    if inside.size == 0:
        return 0.0
    near = np.exp(-0.5 * np.square(nearest_distances(visual, inside) / MATCH_SIGMA_S))
    recall = float(np.dot(weights, near) / weights.sum())
    # A beat's precision is the strongest visual beat it sits on, as the density in _scores.
    gauss = np.exp(-0.5 * np.square((inside[:, None] - visual[None, :]) / MATCH_SIGMA_S))
    precision = float(np.mean((gauss * weights[None, :]).max(axis=1)))
    f = 2 * precision * recall / max(precision + recall, 1e-9)
    cuts = np.asarray(cuts_s, dtype=np.float64)
    if cuts.size:
        f += CUT_WEIGHT * float(np.mean(np.exp(-0.5 * np.square(nearest_distances(cuts, beats) / MATCH_SIGMA_S))))
    prior = float(np.exp(-0.5 * np.square(np.log2(tempo_bpm / prior_bpm) / PRIOR_WIDTH_OCTAVES)))
    return f + PRIOR_WEIGHT * prior


def fit_beat_grid(visual_s: np.ndarray, strengths: np.ndarray, cuts_s: np.ndarray, *, duration_s: float,
                  tempo_range: tuple[float, float], prior_bpm: float, beats_per_bar: int = 4,
                  bend: bool = True) -> BeatGrid:
    """The beat grid for a video: tempo, phase, bars restarting at cuts and, with ``bend``, a tempo map.

    A bent grid is not chosen by how well its constant version fits: at the tempo that fits the
    picture best on a metronome, a scene whose events wander (walkers at their own pace) can leave
    the warp little to land on, while a nearby tempo with a worse constant fit bends onto far more.
    So the best constant grids at BENT_TEMPO_CANDIDATES distinct tempos are each bent, and the one
    whose bent beats score best (the same soft F, cut and prior terms) is kept.
    """
    visual = np.asarray(visual_s, dtype=np.float64)
    weights = np.asarray(strengths, dtype=np.float64)
    cuts = np.asarray(cuts_s, dtype=np.float64)
    found = tempo_candidates(visual, weights, cuts, tempo_range=tempo_range, prior_bpm=prior_bpm,
                             count=BENT_TEMPO_CANDIDATES if bend else 1) or [(float(prior_bpm), 0.0, 0.0)]
    best: tuple[float, float, float, float, np.ndarray] | None = None
    for tempo, phase, score in found:
        p = 60.0 / tempo
        n_beats = int(np.floor((duration_s - phase) / p)) + 2     # one beat past the end, for the last bar
        nominal = phase + p * np.arange(n_beats)
        warped = warp_beats(nominal, p, visual, weights, cuts) if bend else nominal
        rank = score
        if bend:
            # The warp's own price for the rubato it needed, per beat: without it, a bent grid at a
            # tempo that does not fit (133 BPM on a 150 BPM picture) lands almost as well as the
            # right one, and the mood prior would choose between them.
            lengths = np.diff(warped) / p
            bent_cost = BEND_PENALTY * float(np.mean(np.square(np.log(lengths)))) if lengths.size else 0.0
            rank = bent_score(warped, visual, weights, cuts, tempo_bpm=tempo, prior_bpm=prior_bpm) - bent_cost
        if best is None or rank > best[0]:
            best = (rank, tempo, phase, score, warped)
    assert best is not None
    _, tempo, phase, score, warped = best
    p = 60.0 / tempo
    n_beats = warped.size
    cut_beats: list[int] = []
    last = 0
    for c in np.sort(cuts):
        b = int(round((c - phase) / p))
        # Sections shorter than two beats are not sections; such a cut stays a plain visual beat.
        if b - last < MIN_SECTION_BEATS or b >= n_beats - 1:
            cut_beats.append(-1)
            continue
        cut_beats.append(b)
        last = b
    bars, sections = lay_bars(n_beats, [b for b in cut_beats if b >= 0], beats_per_bar)
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
