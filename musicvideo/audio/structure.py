"""Sections from self-similarity of harmony (chroma) and timbre (MFCC), cut at bar starts.

Method: bar-synchronous features -> self-similarity matrix -> Foote's checkerboard novelty
(Foote 2000, "Automatic audio segmentation using a measure of audio novelty") -> peaks are
boundaries. Working per bar snaps every boundary to a downbeat by construction. Segments are then
grouped by how similar their blocks of the matrix are (repeated vs. new parts), and groups are
named: the loudest repeated group is the chorus, other repeated groups verses, unrepeated parts
intro/outro at the edges and bridge in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicvideo.audio.features import Features, loudness_db, segment_aggregate

KERNEL_BARS = 4           # novelty looks this many bars either side of a candidate boundary
MIN_SECTION_BARS = 2
NOVELTY_THRESHOLD = 0.3   # on the 0..1-scaled novelty
# Chroma, timbre, loudness. Chords change inside sections all the time; instrumentation and level
# change mostly at section boundaries, so harmony counts for less on its own.
WEIGHTS = np.array([0.5, 1.0, 0.5])
SAME_GROUP = 0.6          # bar-for-bar similarity (0..1) above which two segments are the same part
# Parts of a song start on a phrase grid (every 4 bars from where the strong boundaries lie). Where
# a novelty peak off that grid has a neighbour on it within PHRASE_REACH bars and PHRASE_TIE of its
# height, the boundary goes on the grid: two bars around a transition (a fill, a swell) score
# nearly the same, and which one peaked flipped with 6 samples of resampler ringing before the
# first note, a -12 dB copy or a re-encode (neverball track3: 0.339 / 0.340, its section at 48 s
# moved to 46 s in every copy with leading silence; bench/song_robustness.py, sections).
PHRASE_BARS = 4
PHRASE_REACH = 2
PHRASE_TIE = 0.05


@dataclass(frozen=True)
class Section:
    start_s: float
    end_s: float
    label: str        # repetition group: "A", "B", ... (same letter = same material)
    name: str         # intro | verse | chorus | bridge | outro | part


def analyze_structure(features: Features, downbeats_s: np.ndarray, *, duration_s: float) -> list[Section]:
    """Split the song at downbeats where harmony or timbre changes; never returns an empty list."""
    bar_starts = _whole_bars(np.asarray(downbeats_s, dtype=float), duration_s)
    if len(bar_starts) < 2 * MIN_SECTION_BARS:
        return [Section(start_s=0.0, end_s=round(duration_s, 3), label="A", name="verse")]
    edges = np.append(features.time_to_frame(bar_starts), features.n_frames)
    bars = bar_features(features, edges)
    kernel = min(KERNEL_BARS, len(bar_starts) // 2)
    # Two scales: one phrase (4 bars) either side finds short sections, two phrases keep a part
    # that varies inside (sung bars and instrumental bars of one bridge) from splitting a bar late.
    novelty = np.mean([window_novelty(bars, kernel=k) for k in (kernel, 2 * kernel)], axis=0)
    cuts = _on_phrase_grid(novelty, _pick_peaks(novelty, radius=max(kernel - 1, 1)))
    starts = [0, *cuts]
    ends = [*cuts, len(bar_starts)]
    labels = _group(bars, starts, ends)
    names = _name(labels, [float(np.mean(bars.loudness_db[s:e])) for s, e in zip(starts, ends, strict=True)])
    sections = []
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        start = 0.0 if i == 0 else float(bar_starts[s])
        end = duration_s if e >= len(bar_starts) else float(bar_starts[e])
        sections.append(Section(start_s=round(start, 3), end_s=round(end, 3), label=labels[i], name=names[i]))
    return sections


def _whole_bars(bar_starts: np.ndarray, duration_s: float) -> np.ndarray:
    """Drop a last bar cut short by the end of the song: its fade-out is not a new section."""
    bar_starts = bar_starts[bar_starts < duration_s]
    if len(bar_starts) >= 3:
        typical = float(np.median(np.diff(bar_starts)))
        if duration_s - bar_starts[-1] < 0.95 * typical:
            bar_starts = bar_starts[:-1]
    return bar_starts


@dataclass(frozen=True)
class BarFeatures:
    chroma: np.ndarray        # (12, n_bars), unit length
    timbre: np.ndarray        # (19, n_bars), MFCC 1..19 z-scored across the song
    loudness_db: np.ndarray   # (n_bars,)


def bar_features(features: Features, edges: np.ndarray) -> BarFeatures:
    chroma = segment_aggregate(features.chroma, edges)
    chroma /= np.maximum(np.linalg.norm(chroma, axis=0, keepdims=True), 1e-9)
    timbre = segment_aggregate(features.mfcc[1:], edges)     # drop c0: loudness is not timbre
    timbre = (timbre - timbre.mean(axis=1, keepdims=True)) / (timbre.std(axis=1, keepdims=True) + 1e-6)
    loud = loudness_db(np.sqrt(segment_aggregate(features.rms ** 2, edges)[0]))
    return BarFeatures(chroma=chroma, timbre=timbre, loudness_db=loud)


def window_novelty(bars: BarFeatures, *, kernel: int) -> np.ndarray:
    """How different the ``kernel`` bars after each bar line are from the ``kernel`` bars before it.

    Foote's checkerboard kernel on a self-similarity matrix compares bars pairwise, so a verse
    whose four chords differ from each other looks as "novel" inside as at its edges. Comparing
    window means instead (the pitch-class and timbre make-up of a whole phrase) is blind to chord
    changes inside a repeating progression and sharp at the boundary. Each of the three distances
    is divided by its 90th percentile over the song (and capped) so that none dominates by its units
    and a single huge jump, such as music stopping into silence, cannot flatten every other peak.
    Scaled to 0..1.
    """
    n = bars.chroma.shape[1]
    dist = np.zeros((3, n))
    for i in range(1, n):
        # Equal windows either side: near the song's edges a long window on one side only would
        # compare a phrase's average with a single bar.
        w = min(kernel, i, n - i)
        before, after = slice(i - w, i), slice(i, i + w)
        cb, ca = bars.chroma[:, before].mean(axis=1), bars.chroma[:, after].mean(axis=1)
        dist[0, i] = 1.0 - float(cb @ ca / max(np.linalg.norm(cb) * np.linalg.norm(ca), 1e-9))
        dist[1, i] = float(np.linalg.norm(bars.timbre[:, before].mean(axis=1) - bars.timbre[:, after].mean(axis=1)))
        dist[2, i] = abs(float(bars.loudness_db[before].mean() - bars.loudness_db[after].mean()))
    scale = np.percentile(dist[:, 1:], 90, axis=1, keepdims=True) if n > 1 else np.ones((3, 1))
    # Floors: below them a distance is noise, not a change of section (1 dB of level, a tiny chroma shift).
    scale = np.maximum(scale, np.array([[0.02], [0.5], [1.0]]))
    novelty = (WEIGHTS[:, None] * np.minimum(dist / scale, 1.5)).sum(axis=0)
    top = float(novelty.max())
    return novelty / top if top > 0 else novelty


def _pick_peaks(novelty: np.ndarray, *, radius: int) -> list[int]:
    """Local maxima over +-radius bars above the threshold, strongest first, MIN_SECTION_BARS apart."""
    n = len(novelty)
    peaks: list[int] = []
    for i in np.argsort(-novelty, kind="stable"):
        if novelty[i] < NOVELTY_THRESHOLD:
            break
        if i < MIN_SECTION_BARS or n - i < MIN_SECTION_BARS:
            continue
        lo, hi = max(i - radius, MIN_SECTION_BARS), min(i + radius + 1, n - MIN_SECTION_BARS + 1)
        if novelty[i] < novelty[lo:hi].max():
            continue
        if any(abs(int(i) - p) < MIN_SECTION_BARS for p in peaks):
            continue
        peaks.append(int(i))
    return sorted(peaks)


def _on_phrase_grid(novelty: np.ndarray, peaks: list[int]) -> list[int]:
    """Peaks moved onto the phrase grid where a grid bar within reach scores nearly as high.

    The grid's phase is the bar index modulo ``PHRASE_BARS`` that the peaks' novelty votes for.
    """
    if len(peaks) < 2:
        return peaks
    votes = np.zeros(PHRASE_BARS)
    for p in peaks:
        votes[p % PHRASE_BARS] += novelty[p]
    phase = int(np.argmax(votes))
    n = len(novelty)
    moved: list[int] = []
    for p in peaks:
        if p % PHRASE_BARS == phase:
            moved.append(p)
            continue
        near = sorted(range(p - PHRASE_REACH, p + PHRASE_REACH + 1), key=lambda q: (abs(q - p), q))
        moved.append(next((q for q in near
                           if q % PHRASE_BARS == phase and MIN_SECTION_BARS <= q <= n - MIN_SECTION_BARS
                           and novelty[q] >= max((1 - PHRASE_TIE) * novelty[p], NOVELTY_THRESHOLD)
                           and all(abs(q - o) >= MIN_SECTION_BARS for o in [*moved, *peaks] if o != p)), p))
    return sorted(set(moved))


def _group(bars: BarFeatures, starts: list[int], ends: list[int]) -> list[str]:
    """Give segments made of the same material the same letter."""
    k = len(starts)
    labels: list[str] = []
    groups: list[list[int]] = []
    for a in range(k):
        best, best_score = -1, 0.0
        for g, members in enumerate(groups):
            score = min(_segment_similarity(bars, (starts[a], ends[a]), (starts[m], ends[m])) for m in members)
            if score >= SAME_GROUP and score > best_score:
                best, best_score = g, score
        if best < 0:
            groups.append([a])
            labels.append(chr(ord("A") + min(len(groups) - 1, 25)))
        else:
            groups[best].append(a)
            labels.append(labels[groups[best][0]])
    return labels


def _segment_similarity(bars: BarFeatures, a: tuple[int, int], b: tuple[int, int]) -> float:
    """Bar-for-bar similarity of two segments (0..1), compared from their starts.

    Repeats of a part line up bar for bar, so comparing bar 1 with bar 1 and bar 2 with bar 2 keeps
    chord order information that a segment average would blur.
    """
    m = min(a[1] - a[0], b[1] - b[0])
    ia, ib = slice(a[0], a[0] + m), slice(b[0], b[0] + m)
    chroma = float(np.mean(np.sum(bars.chroma[:, ia] * bars.chroma[:, ib], axis=0)))
    ta, tb = bars.timbre[:, ia], bars.timbre[:, ib]
    timbre_cos = np.sum(ta * tb, axis=0) / np.maximum(np.linalg.norm(ta, axis=0) * np.linalg.norm(tb, axis=0), 1e-9)
    loud = float(np.mean(np.abs(bars.loudness_db[ia] - bars.loudness_db[ib])))
    return chroma * float(np.mean((timbre_cos + 1) / 2)) * float(np.exp(-loud / 6.0))


def _name(labels: list[str], loudness: list[float]) -> list[str]:
    counts = {lab: labels.count(lab) for lab in labels}
    edges = {0, len(labels) - 1}
    # Intro and outro often share material; a group heard only at the two ends is neither verse nor chorus.
    repeated = [lab for lab in dict.fromkeys(labels)
                if counts[lab] > 1 and not {i for i, x in enumerate(labels) if x == lab} <= edges]
    if not repeated:
        return ["intro" if i == 0 and len(labels) > 2 else "outro" if i == len(labels) - 1 and len(labels) > 2
                else "part" for i in range(len(labels))]
    group_loudness = {lab: np.mean([ld for lb, ld in zip(labels, loudness, strict=True) if lb == lab])
                      for lab in repeated}
    chorus = max(repeated, key=lambda lab: group_loudness[lab])
    first_rep = min(labels.index(lab) for lab in repeated)
    last_rep = max(len(labels) - 1 - labels[::-1].index(lab) for lab in repeated)
    names = []
    for i, lab in enumerate(labels):
        if lab == chorus:
            names.append("chorus")
        elif lab in repeated:
            names.append("verse")
        elif i < first_rep:
            names.append("intro")
        elif i > last_rep:
            names.append("outro")
        else:
            names.append("bridge")
    return names
