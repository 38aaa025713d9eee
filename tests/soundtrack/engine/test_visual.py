from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mediakit.encode import encode_mp4
from mediakit.errors import MediaError
from soundtrack.engine.errors import SoundtrackError
from soundtrack.engine.metrics import beat_match
from soundtrack.engine.visual import (
    SALIENCE_WINDOW_S,
    analysis_rate,
    analyze_video,
    colour_temperature_k,
    mood_from_features,
    salient_beats,
)
from soundtrack.testing.synthetic import make_beat_video
from tests.media import write_audio

from .conftest import Clip, RealClip


@pytest.mark.parametrize("name", ["grid_clip", "fast_clip", "slow_clip", "handheld_clip"])
def test_visual_beats_match_the_known_grid(name: str, request: pytest.FixtureRequest) -> None:
    clip: Clip = request.getfixturevalue(name)
    v = clip.video
    m = beat_match(v.visual_beats_s, clip.analysis.visual_beats_s, start_s=0.25, end_s=v.duration_s - 0.25)
    assert m.f_measure is not None and m.f_measure >= 0.9, m
    # Not only within the window: the impacts are placed to within a couple of frames of the truth.
    on = clip.analysis.visual_beats_s[(clip.analysis.visual_beats_s > 0.25)
                                      & (clip.analysis.visual_beats_s < v.duration_s - 0.25)]
    errors = np.min(np.abs(on[:, None] - v.visual_beats_s[None, :]), axis=1)
    assert float(np.median(errors)) <= 0.02


@pytest.mark.parametrize("name", ["grid_clip", "fast_clip", "slow_clip", "handheld_clip"])
def test_cuts_are_found_within_a_frame(name: str, request: pytest.FixtureRequest) -> None:
    clip: Clip = request.getfixturevalue(name)
    found, truth = clip.analysis.cuts_s, clip.video.cuts_s
    assert found.size == truth.size
    # Analysis frames are 1/15 s apart; a cut between two of them is reported at the midpoint.
    assert np.all(np.abs(found - truth) <= 1 / 15 / 2 + 1e-6)


def test_camera_shake_is_taken_out(handheld_clip: Clip, grid_clip: Clip) -> None:
    # Most frame pairs of the hand-held clip had a camera move removed; none of the tripod clip's.
    assert handheld_clip.analysis.camera_motion > 0.5
    assert grid_clip.analysis.camera_motion == 0.0


def test_analysis_resolution_and_rate(grid_clip: Clip) -> None:
    a = grid_clip.analysis
    assert (a.analysis_fps, a.analysis_size) == (15.0, (128, 72))
    assert a.times_s.size == 150
    assert np.allclose(np.diff(a.times_s), 1 / 15)


@pytest.mark.parametrize(("source", "expected"), [(30.0, 15.0), (60.0, 15.0), (25.0, 12.5), (24.0, 12.0),
                                                  (29.97, 14.985), (15.0, 15.0), (10.0, 10.0), (0.0, 15.0)])
def test_analysis_rate_divides_the_source_rate(source: float, expected: float) -> None:
    assert analysis_rate(source) == pytest.approx(expected)


def test_still_picture_has_no_beats_and_a_calm_mood(still_clip: Clip) -> None:
    a = still_clip.analysis
    assert a.visual_beats_s.size == 0
    assert a.cuts_s.size == 0
    assert float(a.motion.max()) == 0.0
    assert a.mood.arousal < -0.5
    assert a.mood.label in ("warm and calm", "sombre and still")


def test_moving_clip_is_more_aroused_than_the_still_one(grid_clip: Clip, still_clip: Clip) -> None:
    assert grid_clip.analysis.mood.arousal > still_clip.analysis.mood.arousal + 0.5
    assert 0.4 < float(np.mean(grid_clip.analysis.motion)) < 0.9


def test_colour_temperature_of_white_is_daylight() -> None:
    assert round(colour_temperature_k(np.array([1.0, 1.0, 1.0]))) == 6504
    assert colour_temperature_k(np.array([1.0, 0.6, 0.3])) < 3500       # candle-ish orange
    assert colour_temperature_k(np.array([0.6, 0.7, 1.0])) > 9000       # blue sky


def test_mood_quadrants() -> None:
    bright = mood_from_features(brightness=0.8, saturation=0.6, cct_k=4000, motion=0.8, cuts_per_minute=20)
    dark = mood_from_features(brightness=0.15, saturation=0.1, cct_k=9000, motion=0.0, cuts_per_minute=0)
    assert bright.label == "bright and lively"
    assert dark.label == "sombre and still"
    assert -1 <= dark.valence < 0 < bright.valence <= 1


def test_no_video_stream(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as err:
        analyze_video(write_audio(tmp_path / "sound.mp4", "aac", "mp4"))
    assert err.value.code == "media_no_video"


def test_zero_frame_file_has_no_video_stream(tmp_path: Path) -> None:
    # FFmpeg writes no track at all for a video of zero frames.
    path = tmp_path / "zero.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=black:s=64x64:r=30",
                    "-frames:v", "0", "-c:v", "libx264", str(path)], check=True)
    with pytest.raises(MediaError) as err:
        analyze_video(path)
    assert err.value.code == "media_no_video"


def test_single_frame_video_is_too_short(tmp_path: Path) -> None:
    path = encode_mp4(tmp_path / "one.mp4", [np.zeros((64, 64, 3), np.uint8)], fps=30)
    with pytest.raises(SoundtrackError) as err:
        analyze_video(path)
    assert err.value.code == "video_too_short"


def test_longer_than_the_limit(grid_clip: Clip) -> None:
    with pytest.raises(SoundtrackError) as err:
        analyze_video(grid_clip.video.path, max_duration_s=5.0)
    assert err.value.code == "video_too_long"
    assert err.value.message == "The video lasts 10 s; the limit is 5 s."


def test_progress_is_reported_up_to_one(tmp_path: Path) -> None:
    clip = make_beat_video(tmp_path / "p.mp4", duration_s=3.0, size=(160, 90))
    seen: list[tuple[str, float]] = []
    analyze_video(clip.path, progress=lambda stage, fraction, message="": seen.append((stage, fraction)))
    assert seen[-1] == ("analyze", 1.0)
    assert [f for _, f in seen] == sorted(f for _, f in seen)


def test_only_the_strongest_event_of_a_moment_is_a_visual_beat() -> None:
    times = np.array([0.0, 0.1, 0.25, 0.5, 0.9, 1.0, 2.0])
    rank = np.array([1.0, 3.0, 2.0, 5.0, np.inf, 4.0, 0.5])   # inf: a cut, above any impact
    # 0.0 and 0.25 lose to 0.1; 0.1 is 0.4 s from the stronger 0.5; 1.0 loses to the cut; 2.0 is alone.
    assert salient_beats(times, rank).tolist() == [False, True, False, True, True, False, True]
    assert SALIENCE_WINDOW_S == 0.3


def test_generated_beats_are_all_salient(grid_clip: Clip, fast_clip: Clip) -> None:
    # A clean rhythm (150 BPM is 0.4 s a beat) loses nothing to the choice of salient events.
    for clip in (grid_clip, fast_clip):
        np.testing.assert_array_equal(clip.analysis.visual_beats_s, clip.analysis.candidate_beats_s)


def test_real_street_scene_keeps_the_strongest_steps(real_motion_clip: RealClip) -> None:
    a = real_motion_clip.analysis
    # People walking out of step: more events than a beat can follow; the strongest of each
    # moment are kept, and they are a subset of what was found.
    assert a.candidate_beats_s.size > a.visual_beats_s.size >= 15
    assert np.all(np.isin(a.visual_beats_s, a.candidate_beats_s))
    # Every event left out had a stronger one within the window, which is either kept or was
    # itself outshone by a stronger one still: the next kept beat is never far.
    dropped = a.candidate_beats_s[~np.isin(a.candidate_beats_s, a.visual_beats_s)]
    gaps = np.min(np.abs(dropped[:, None] - a.visual_beats_s[None, :]), axis=1)
    assert dropped.size > 0 and float(gaps.max()) < 3 * SALIENCE_WINDOW_S


def test_analysis_reports_its_cpu_time(grid_clip: Clip) -> None:
    assert set(grid_clip.analysis.cpu_s) == {"decode", "motion"}
    assert all(v > 0 for v in grid_clip.analysis.cpu_s.values())
