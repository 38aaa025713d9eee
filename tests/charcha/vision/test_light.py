"""The light challenge: the sequence's safety rules, the region measurements, and the judgement on
constructed region series (a face, a flat photo, a folded photo, no response, a replayed sequence)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from charcha.vision import light as L
from charcha.vision.types import LightSegment

SEGMENTS = [
    LightSegment((192, 135, 77), 0.50, 1.30),
    LightSegment((86, 151, 215), 1.30, 2.20),
    LightSegment((112, 160, 64), 2.20, 2.95),
    LightSegment((226, 90, 226), 2.95, 3.85),
    LightSegment((64, 161, 161), 3.85, 4.60),
]
OTHER = [
    LightSegment((226, 90, 226), 0.55, 1.45),
    LightSegment((112, 160, 64), 1.45, 2.20),
    LightSegment((237, 95, 166), 2.20, 3.10),
    LightSegment((86, 151, 215), 3.10, 3.85),
    LightSegment((151, 151, 60), 3.85, 4.70),
]


# -- the sequence ---------------------------------------------------------------------------------


def test_palette_colours_are_iso_luminant_and_never_saturated_red() -> None:
    assert len(L.PALETTE) == 12
    for rgb in L.PALETTE:
        assert L.LUMINANCE_BAND[0] <= L.relative_luminance(rgb) <= L.LUMINANCE_BAND[1]
        assert L.red_ratio(rgb) < L.MAX_RED_RATIO
    # No change between two palette colours is even a WCAG flash transition (>= 0.1).
    lum = [L.relative_luminance(c) for c in L.PALETTE]
    assert max(lum) - min(lum) < L.FLASH_DELTA


@pytest.mark.parametrize("seed", range(40))
def test_generated_sequences_follow_the_rules(seed: int) -> None:
    plan = L.generate_light_sequence(random.Random(seed), start_s=0.5)
    assert 5 <= len(plan) <= 6
    assert plan[0][1] == 0.5
    for (rgb, start, end), following in zip(plan, [*plan[1:], None], strict=True):
        assert rgb in L.PALETTE
        assert 0.67 <= round(end - start, 3) <= 0.9
        if following is not None:
            assert following[1] == end  # back to back
            step = abs(L._hue(rgb) - L._hue(following[0]))
            assert min(step, 1 - step) >= L.MIN_HUE_STEP
    assert L.light_safety_problems(plan) == []


def test_the_same_seed_gives_the_same_sequence() -> None:
    a = L.generate_light_sequence(random.Random(7), start_s=1.0)
    b = L.generate_light_sequence(random.Random(7), start_s=1.0)
    assert a == b
    assert a != L.generate_light_sequence(random.Random(8), start_s=1.0)


def test_segments_shorter_than_the_rate_limit_are_refused() -> None:
    with pytest.raises(ValueError, match=r"1\.5 times a second"):
        L.generate_light_sequence(random.Random(0), start_s=0.0, segment_s=(0.3, 0.5))


def test_safety_check_finds_fast_flashing_saturated_red_and_short_segments() -> None:
    strobe = [(((255, 255, 255) if i % 2 == 0 else (10, 10, 10)), i * 0.15, (i + 1) * 0.15) for i in range(10)]
    problems = L.light_safety_problems(strobe)
    assert any("flashes within one second" in p for p in problems)
    assert any("lasts 0.15 s (< 0.5 s)" in p for p in problems)
    assert any("colour changes within one second" in p for p in problems)
    assert L.light_safety_problems([((255, 0, 0), 0.0, 1.0), ((0, 0, 255), 1.0, 2.0)]) == ["(255, 0, 0) is a saturated red"]
    # One dark segment between two neutral periods: one flash in several seconds is allowed.
    assert L.light_safety_problems([((20, 20, 20), 0.0, 0.8)]) == []
    assert L.light_safety_problems(SEGMENTS) == []


def test_page_colour_ramps_into_each_segment_and_back_to_neutral() -> None:
    neutral = np.array(L.NEUTRAL_RGB, float)
    np.testing.assert_allclose(L.page_colour_at(SEGMENTS, 0.2), neutral)
    np.testing.assert_allclose(L.page_colour_at(SEGMENTS, 0.6), (neutral + SEGMENTS[0].rgb) / 2)
    np.testing.assert_allclose(L.page_colour_at(SEGMENTS, 1.0), SEGMENTS[0].rgb)
    first, second = np.array(SEGMENTS[0].rgb, float), np.array(SEGMENTS[1].rgb, float)
    np.testing.assert_allclose(L.page_colour_at(SEGMENTS, 1.35), first + (second - first) * 0.25)
    np.testing.assert_allclose(L.page_colour_at(SEGMENTS, 4.70), (np.array(SEGMENTS[-1].rgb) + neutral) / 2)
    np.testing.assert_allclose(L.page_colour_at(SEGMENTS, 9.0), neutral)


# -- measuring ----------------------------------------------------------------------------------------


def _landmarks() -> np.ndarray:
    """A plausible 478-point face: FaceMesh's canonical layout is not needed, only the indices
    the regions use, placed on a 100 px wide face centred at (160, 120)."""
    lm = np.zeros((478, 3))
    lm[:, 0], lm[:, 1] = 160.0, 120.0
    spots = {151: (160, 85), 9: (160, 95), 195: (160, 115), 5: (160, 125), 1: (160, 132), 36: (135, 125),
             205: (133, 133), 266: (185, 125), 425: (187, 133), 93: (112, 120), 234: (110, 110), 323: (208, 120),
             454: (210, 110), 172: (118, 150), 136: (122, 158), 397: (202, 150), 365: (198, 158), 468: (140, 105),
             473: (180, 105), 10: (160, 70), 152: (160, 175)}
    for i, (x, y) in spots.items():
        lm[i, :2] = (x, y)
    lm[0, :2] = (110, 70)  # spread the rest so the face is 100 px wide
    lm[2, :2] = (210, 175)
    return lm


def test_measure_regions_returns_the_linear_colour_of_each_region() -> None:
    image = np.zeros((240, 320, 3), np.uint8)
    image[:] = (200, 150, 100)
    regions = L.measure_regions(image, _landmarks())
    assert regions.shape == (len(L.REGION_NAMES), 3) and regions.dtype == np.float32
    expected = (np.array([200, 150, 100]) / 255.0) ** L.DECODE_GAMMA
    np.testing.assert_allclose(regions, np.tile(expected, (len(L.REGION_NAMES), 1)), rtol=1e-5)


def test_measure_regions_sees_a_brighter_centre_and_no_background_off_frame() -> None:
    image = np.full((240, 320, 3), 100, np.uint8)
    image[100:140, 125:195] = 200  # forehead-to-cheek band brighter
    lm = _landmarks()
    regions = L.measure_regions(image, lm)
    cheeks = regions[[L.REGION_NAMES.index("cheek_right"), L.REGION_NAMES.index("cheek_left")]]
    sides = regions[[L.REGION_NAMES.index("side_right"), L.REGION_NAMES.index("side_left")]]
    assert np.all(cheeks > sides)
    # A face filling the frame has no background beside it.
    shifted = lm.copy()
    shifted[:, 0] = (shifted[:, 0] - 160) * 3 + 160
    assert np.all(np.isnan(L.measure_regions(image, shifted)[L.BACKGROUND]))


# -- judging --------------------------------------------------------------------------------------


def _series(
    gains: dict[str, float],
    segments: list[LightSegment],
    *,
    lag_s: float = 0.2,
    noise: float = 0.004,
    seed: int = 0,
    fps: float = 15.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Region colours of a surface whose regions change by ``gains`` (relative to their level)
    with the page's light, seen ``lag_s`` later, over 6 s at ``fps``."""
    rng = np.random.default_rng(seed)
    times = np.arange(0.0, 6.0, 1.0 / fps)
    light = L._linear_light(segments, times - lag_s)
    light_c = light - light.mean(axis=0)
    level = np.array([0.30, 0.20, 0.15])
    regions = np.empty((len(times), len(L.REGION_NAMES), 3))
    for k, name in enumerate(L.REGION_NAMES):
        g = gains.get(name, 0.0)
        regions[:, k] = level * (1 + g * light_c) * (1 + rng.normal(0, noise, (len(times), 3)))
    return times, regions.astype(np.float32)


FACE = {"forehead": 0.45, "nose": 0.35, "cheek_right": 0.42, "cheek_left": 0.40, "side_right": 0.2,
        "side_left": 0.24, "jaw_right": 0.3, "jaw_left": 0.3, "background": 0.03}


def test_a_face_shaped_response_with_the_right_timing_passes() -> None:
    times, regions = _series(FACE, SEGMENTS, lag_s=0.24)
    result = L.judge_light(times, regions, SEGMENTS)
    assert result.ok and result.reason == "passed", result.detail
    assert result.scores["lag_s"] == pytest.approx(0.24, abs=0.041)
    assert result.scores["shape_ratio"] == pytest.approx((0.42 / 0.2 + 0.40 / 0.24) / 2, rel=0.1)


def test_a_flat_photo_responds_uniformly_and_is_flat() -> None:
    times, regions = _series(dict.fromkeys(L.REGION_NAMES, 0.35), SEGMENTS)
    result = L.judge_light(times, regions, SEGMENTS)
    assert result.reason == "light_flat", result.detail
    assert result.scores["shape_ratio"] == pytest.approx(1.0, abs=0.1)


def test_a_photo_folded_down_the_nose_is_flat_on_each_side() -> None:
    # Each half is one plane: the right half brighter in its response than the left, but cheek
    # and flank of one side alike.
    gains = {"forehead": 0.3, "nose": 0.3, "cheek_right": 0.45, "side_right": 0.45, "jaw_right": 0.45,
             "cheek_left": 0.15, "side_left": 0.15, "jaw_left": 0.15}
    times, regions = _series(gains, SEGMENTS)
    assert L.judge_light(times, regions, SEGMENTS).reason == "light_flat"


def test_no_response_is_a_mismatch() -> None:
    times, regions = _series({}, SEGMENTS)
    result = L.judge_light(times, regions, SEGMENTS)
    assert result.reason == "light_mismatch", result.detail


def test_a_face_lit_by_another_sequence_is_a_mismatch() -> None:
    times, regions = _series(FACE, OTHER)
    result = L.judge_light(times, regions, SEGMENTS)
    assert result.reason == "light_mismatch", result.detail


def test_a_lag_beyond_600_ms_is_a_mismatch() -> None:
    times, regions = _series(FACE, SEGMENTS, lag_s=1.1)
    assert L.judge_light(times, regions, SEGMENTS).reason == "light_mismatch"


def test_frames_without_a_face_are_skipped() -> None:
    times, regions = _series(FACE, SEGMENTS)
    regions[::4] = np.nan
    assert L.judge_light(times, regions, SEGMENTS).ok


def test_too_few_frames_or_no_light_phase() -> None:
    times, regions = _series(FACE, SEGMENTS)
    assert L.judge_light(times[:5], regions[:5], SEGMENTS).reason == "light_mismatch"
    result = L.judge_light(times, regions, SEGMENTS[:1])
    assert result.ok and result.detail == "no light phase to check"
