from __future__ import annotations

import math

import numpy as np
import pytest

from soundtrack.engine.metrics import (
    beat_align_score,
    beat_f_measure,
    beat_hit_rate,
    beat_match,
    count_matches,
    cut_offsets,
    nearest_distances,
)


def test_perfect_alignment() -> None:
    beats = [0.5, 1.0, 1.5, 2.0]
    m = beat_match(beats, beats)
    assert (m.precision, m.recall, m.f_measure, m.hit_rate, m.beat_align) == (1.0, 1.0, 1.0, 1.0, 1.0)
    assert (m.n_reference, m.n_estimated) == (4, 4)


def test_window_is_inclusive_at_100_ms() -> None:
    assert beat_f_measure([1.0], [1.1]) == 1.0
    assert beat_f_measure([1.0], [1.1001]) == 0.0
    assert beat_hit_rate([1.0, 2.0], [1.05, 2.5]) == 0.5


def test_matching_is_one_to_one() -> None:
    # Two visual beats 60 ms apart cannot both be matched by one musical beat.
    assert count_matches([1.0, 1.06], [1.03]) == 1
    assert beat_f_measure([1.0, 1.06], [1.03]) == pytest.approx(2 / 3)
    # ... but the hit rate (nearest beat within the window) counts both.
    assert beat_hit_rate([1.0, 1.06], [1.03]) == 1.0


def test_double_tempo_halves_precision() -> None:
    visual = np.arange(10) * 1.0
    musical = np.arange(20) * 0.5
    m = beat_match(visual, musical)
    assert (m.precision, m.recall) == (0.5, 1.0)
    assert m.f_measure == pytest.approx(2 / 3)


def test_beat_align_is_the_aist_gaussian() -> None:
    # One visual beat exactly on, one 50 ms off: mean of exp(0) and exp(-0.05^2 / (2 * 0.05^2)).
    assert beat_align_score([1.0, 2.0], [1.0, 2.05]) == pytest.approx((1 + math.exp(-0.5)) / 2)


def test_nothing_to_hit_gives_no_figure_not_a_perfect_one() -> None:
    # A black video has no visual beats: "100 % on the beat" would praise music that followed nothing.
    assert beat_f_measure([], []) is None
    assert beat_f_measure([], [1.0, 2.0]) is None
    assert beat_f_measure([1.0], []) == 0.0
    assert beat_hit_rate([], [1.0]) is None
    assert beat_align_score([], [1.0]) is None
    m = beat_match([], [0.5, 1.0, 1.5])
    assert (m.f_measure, m.hit_rate, m.beat_align, m.precision, m.recall) == (None, None, None, None, None)
    assert (m.n_reference, m.n_estimated) == (0, 3)
    assert list(nearest_distances([1.0], [])) == [math.inf]


def test_span_restricts_both_lists() -> None:
    m = beat_match([1.0, 2.0, 9.0], [1.0, 2.0, 5.0], start_s=0.0, end_s=3.0)
    assert (m.n_reference, m.n_estimated, m.f_measure) == (2, 2, 1.0)


def test_cut_offsets() -> None:
    assert np.allclose(cut_offsets([2.0, 4.3], [0.0, 2.05, 4.0]), [0.05, 0.3])
