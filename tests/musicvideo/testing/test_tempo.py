"""A replay along a known speed curve puts every moment where ``warp_time`` says."""

from __future__ import annotations

import numpy as np

from musicvideo.testing.tempo import warp_samples, warp_time


def test_replayed_clicks_land_where_the_speed_curve_puts_them() -> None:
    rate = 16000
    clicks = np.arange(0.25, 30.0, 0.5)                          # 120 BPM for 30 s
    samples = np.zeros(int(30.5 * rate), dtype=np.float32)
    samples[(clicks * rate).astype(int)] = 1.0
    spans = [(0.0, 10.0, 1.0), (10.0, 20.0, 0.92), (20.0, 30.5, 1.08)]
    warped = warp_samples(samples, rate, spans)

    assert len(warped) == int((10.0 + 10.0 / 0.92 + 10.5 / 1.08) * rate)
    # Each click, spread over the two output samples around it by the interpolation, peaks within
    # one sample of where ``warp_time`` puts it.
    expected = warp_time(spans, clicks)
    found = np.array([int(e * rate) - 4 + int(np.argmax(warped[int(e * rate) - 4:int(e * rate) + 5]))
                      for e in expected]) / rate
    assert np.max(np.abs(found - expected)) <= 1.0 / rate
    assert np.count_nonzero(warped > 0.0) <= 2 * len(clicks)


def test_warp_time_outside_the_spans_is_nan() -> None:
    out = warp_time([(0.0, 10.0, 2.0)], np.array([0.0, 4.0, 10.0]))
    assert out[:2].tolist() == [0.0, 2.0]
    assert np.isnan(out[2])
