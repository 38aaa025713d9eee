"""Beat alignment between a piece of music and a video's visual beats.

The same functions score the composer's plan, the rendered audio (tests), and the bench, so a
number in a report always means the same thing:

- hit rate: fraction of visual beats that have a musical beat within ``window`` seconds;
- F-measure: one-to-one matching within ``window`` (as mir_eval's beat F-measure, but the window is
  an argument: the project's convention is 0.1 s either side);
- BeatAlign: the AIST++ "beat alignment score" (Li et al. 2021), the mean over visual beats of
  ``exp(-d^2 / (2 sigma^2))`` with ``d`` the distance to the nearest musical beat. AIST++ used
  sigma = 3 frames at 60 fps, i.e. 0.05 s, which is our default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from mediakit.numba_cache import load_librosa_kernels

DEFAULT_WINDOW_S = 0.1
DEFAULT_SIGMA_S = 0.05


@dataclass(frozen=True)
class BeatMatch:
    """Alignment figures; None where a figure has nothing to measure.

    With no visual beat there is nothing to hit: a hit rate or BeatAlign of "100 %" for a black
    video would praise music that followed nothing. Precision is None without musical beats.
    """

    precision: float | None
    recall: float | None
    f_measure: float | None
    hit_rate: float | None
    beat_align: float | None
    n_reference: int
    n_estimated: int

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def _as_sorted(times: np.ndarray | list[float] | tuple[float, ...]) -> np.ndarray:
    return np.sort(np.asarray(times, dtype=np.float64).ravel())


def nearest_distances(times: np.ndarray | list[float], targets: np.ndarray | list[float]) -> np.ndarray:
    """For each of ``times``, the absolute distance to the nearest of ``targets`` (inf if none)."""
    t = np.asarray(times, dtype=np.float64).ravel()
    g = _as_sorted(targets)
    if g.size == 0:
        return np.full(t.shape, np.inf)
    idx = np.clip(np.searchsorted(g, t), 1, max(g.size - 1, 1))
    left = g[idx - 1]
    right = g[np.minimum(idx, g.size - 1)]
    return np.minimum(np.abs(t - left), np.abs(t - right))


def count_matches(reference: np.ndarray | list[float], estimated: np.ndarray | list[float],
                  window: float = DEFAULT_WINDOW_S) -> int:
    """Size of a one-to-one matching of estimated to reference times within ``window``.

    Greedy by distance is optimal here: within a 0.1 s window every candidate pair is an interval
    graph edge, and for points on a line the closest-pair-first matching is maximum.
    """
    ref = _as_sorted(reference)
    est = _as_sorted(estimated)
    if ref.size == 0 or est.size == 0:
        return 0
    diff = np.abs(ref[:, None] - est[None, :])
    pairs = np.argwhere(diff <= window + 1e-9)
    order = np.argsort(diff[pairs[:, 0], pairs[:, 1]], kind="stable")
    used_r: set[int] = set()
    used_e: set[int] = set()
    for r, e in pairs[order]:
        if r not in used_r and e not in used_e:
            used_r.add(int(r))
            used_e.add(int(e))
    return len(used_r)


def beat_f_measure(reference: np.ndarray | list[float], estimated: np.ndarray | list[float],
                   window: float = DEFAULT_WINDOW_S) -> float | None:
    """One-to-one F-measure; None without reference beats (nothing to be right or wrong about)."""
    ref = _as_sorted(reference)
    est = _as_sorted(estimated)
    if ref.size == 0:
        return None
    if est.size == 0:
        return 0.0
    hits = count_matches(ref, est, window)
    return 2.0 * hits / (ref.size + est.size)


def beat_hit_rate(visual: np.ndarray | list[float], musical: np.ndarray | list[float],
                  window: float = DEFAULT_WINDOW_S) -> float | None:
    v = _as_sorted(visual)
    if v.size == 0:
        return None
    return float(np.mean(nearest_distances(v, musical) <= window + 1e-9))


def beat_align_score(visual: np.ndarray | list[float], musical: np.ndarray | list[float],
                     sigma: float = DEFAULT_SIGMA_S) -> float | None:
    v = _as_sorted(visual)
    if v.size == 0:
        return None
    d = nearest_distances(v, musical)
    return float(np.mean(np.exp(-np.square(d) / (2.0 * sigma * sigma))))


def beat_match(visual: np.ndarray | list[float], musical: np.ndarray | list[float], *,
               window: float = DEFAULT_WINDOW_S, sigma: float = DEFAULT_SIGMA_S,
               start_s: float | None = None, end_s: float | None = None) -> BeatMatch:
    """All alignment figures of ``musical`` beats against ``visual`` beats.

    ``start_s``/``end_s`` restrict both lists to a span (music that plays on after the last visual
    event should not count against it when the video only has events in part of its length).
    """
    v = _as_sorted(visual)
    m = _as_sorted(musical)
    if start_s is not None:
        v, m = v[v >= start_s], m[m >= start_s]
    if end_s is not None:
        v, m = v[v <= end_s], m[m <= end_s]
    hits = count_matches(v, m, window)
    precision = hits / m.size if m.size and v.size else None
    recall = hits / v.size if v.size else None
    return BeatMatch(precision=precision, recall=recall,
                     f_measure=beat_f_measure(v, m, window), hit_rate=beat_hit_rate(v, m, window),
                     beat_align=beat_align_score(v, m, sigma), n_reference=int(v.size), n_estimated=int(m.size))


def cut_offsets(cuts: np.ndarray | list[float], downbeats: np.ndarray | list[float]) -> np.ndarray:
    """Distance in seconds from each cut to its nearest musical downbeat."""
    return nearest_distances(cuts, downbeats)


def measure_audio_beats(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Beat times heard in rendered audio, by librosa's beat tracker (used to check the output itself).

    ``trim=False``: librosa otherwise drops trailing beats it finds weak, and a soundtrack that
    changes its arrangement at a cut is not a song with a fade-out.
    """
    load_librosa_kernels()
    import librosa

    mono = samples.mean(axis=0) if samples.ndim == 2 else samples
    if sample_rate != 22050:
        mono = librosa.resample(np.asarray(mono, dtype=np.float32), orig_sr=sample_rate, target_sr=22050)
    _, beats = librosa.beat.beat_track(y=mono, sr=22050, units="time", trim=False)
    return np.asarray(beats, dtype=np.float64)
