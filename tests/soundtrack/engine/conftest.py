"""Generated clips with known visual beats and cuts, made once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from soundtrack.engine import SoundtrackOptions, SoundtrackOutputs, score_video
from soundtrack.engine.visual import VideoAnalysis, analyze_video
from soundtrack.testing.synthetic import SyntheticVideo, make_beat_video, make_still_video


@dataclass(frozen=True)
class Clip:
    video: SyntheticVideo
    analysis: VideoAnalysis


def _clip(root: Path, name: str, **kwargs: object) -> Clip:
    video = make_beat_video(root / f"{name}.mp4", **kwargs)  # type: ignore[arg-type]
    return Clip(video=video, analysis=analyze_video(video.path))


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("soundtrack-clips")


@pytest.fixture(scope="session")
def grid_clip(clip_dir: Path) -> Clip:
    """100 BPM of motion, phase 0.37 s; cuts on beats 6 and 11 (five beats apart, so a bar must bend); a hum as its own sound."""
    return _clip(clip_dir, "grid", duration_s=10.0, beat_period_s=0.6, beat_offset_s=0.37,
                 cuts_s=[0.37 + 0.6 * 6, 0.37 + 0.6 * 11], seed=3, with_audio=True)


@pytest.fixture(scope="session")
def fast_clip(clip_dir: Path) -> Clip:
    """150 BPM of motion, one cut on beat 9."""
    return _clip(clip_dir, "fast", duration_s=8.0, beat_period_s=0.4, beat_offset_s=0.13, cuts_s=[0.13 + 0.4 * 9],
                 seed=4)


@pytest.fixture(scope="session")
def slow_clip(clip_dir: Path) -> Clip:
    """80 BPM of motion, no cut."""
    return _clip(clip_dir, "slow", duration_s=9.0, beat_period_s=0.75, beat_offset_s=0.2, seed=5)


@pytest.fixture(scope="session")
def handheld_clip(clip_dir: Path) -> Clip:
    """The grid clip's rhythm filmed by a shaky hand (a drift of ~3 px, sensor noise)."""
    return _clip(clip_dir, "handheld", duration_s=8.0, beat_period_s=0.6, beat_offset_s=0.37,
                 cuts_s=[0.37 + 0.6 * 6], seed=3, handheld_px=3.0)


REAL_FOOTAGE = Path(__file__).resolve().parents[2] / "fixtures" / "video" / "opencv-vtest-street-12s.mp4"


@dataclass(frozen=True)
class RealClip:
    """Real footage: no ground truth, only what the analysis sees."""

    path: Path
    analysis: VideoAnalysis


@pytest.fixture(scope="session")
def real_motion_clip() -> RealClip:
    """12 s of a real street scene: people walking, each at their own pace (no grid to find)."""
    return RealClip(path=REAL_FOOTAGE, analysis=analyze_video(REAL_FOOTAGE))


@pytest.fixture(scope="session")
def still_clip(clip_dir: Path) -> Clip:
    video = make_still_video(clip_dir / "still.mp4", duration_s=4.0)
    return Clip(video=video, analysis=analyze_video(video.path))


@pytest.fixture(scope="session")
def grid_scored(grid_clip: Clip, tmp_path_factory: pytest.TempPathFactory) -> SoundtrackOutputs:
    return score_video(grid_clip.video.path, tmp_path_factory.mktemp("grid-scored"), options=SoundtrackOptions(seed=0))


@pytest.fixture(scope="session")
def grid_ducked(grid_clip: Clip, tmp_path_factory: pytest.TempPathFactory) -> SoundtrackOutputs:
    return score_video(grid_clip.video.path, tmp_path_factory.mktemp("grid-ducked"),
                       options=SoundtrackOptions(seed=0, mix="duck"))
