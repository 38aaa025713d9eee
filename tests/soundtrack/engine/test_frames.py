from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from mediakit.errors import MediaError
from mediakit.video import iter_frames
from soundtrack.engine import frames
from soundtrack.engine.frames import analysis_frames, scaled_size

from .conftest import REAL_FOOTAGE, Clip


def _counting_decode(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the frames the decoder really produced (kept by the analysis or not)."""
    count = [0]
    original = frames.decode_tolerant

    def counting(container: av.container.InputContainer, stream: av.VideoStream,
                 wanted: Callable[[av.Packet], bool] | None = None) -> Iterator[av.VideoFrame]:
        for frame in original(container, stream, wanted):
            count[0] += 1
            yield frame

    monkeypatch.setattr(frames, "decode_tolerant", counting)
    return count


def _pixel_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(x.astype(np.int16) - y.astype(np.int16)).mean() for x, y in zip(a, b, strict=True)]))


def test_same_frames_as_mediakit_with_the_dropped_ones_never_decoded(grid_clip: Clip,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # 10 s at 30 fps analysed at 15 fps: every other frame is dropped, and the H.264 encoder made
    # some of those non-reference B-frames, which the decoder then skips.
    path = grid_clip.video.path
    reference = list(iter_frames(path, fps=15.0, max_side=128))
    decoded = _counting_decode(monkeypatch)
    fast = list(analysis_frames(path, fps=15.0, max_side=128))
    assert [f.time_s for f in fast] == [f.time_s for f in reference]
    assert len(fast) == 150
    assert 150 <= decoded[0] < 300
    assert {f.image.shape for f in fast} == {(72, 128, 3)}
    # Area averaging instead of bicubic, and no deblocking: a couple of grey levels at most.
    assert _pixel_difference([f.image for f in fast], [f.image for f in reference]) < 2.0


def test_without_the_shortcuts_every_frame_is_decoded(grid_clip: Clip, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = _counting_decode(monkeypatch)
    kept = list(analysis_frames(grid_clip.video.path, fps=15.0, max_side=128, fast=False))
    assert (len(kept), decoded[0]) == (150, 300)


def test_avi_packets_in_decoding_order_are_all_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # MPEG-4 Part 2 with B-frames in AVI: packet times are in decoding order, so a packet cannot
    # tell which frame it holds and nothing may be skipped (skipping once moved frames here).
    path = tmp_path / "bframes.avi"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=160x120:r=30:d=2",
                    "-c:v", "mpeg4", "-bf", "2", "-q:v", "5", str(path)], check=True)
    reference = list(iter_frames(path, fps=15.0, max_side=128))
    decoded = _counting_decode(monkeypatch)
    fast = list(analysis_frames(path, fps=15.0, max_side=128))
    assert [f.time_s for f in fast] == [f.time_s for f in reference]
    assert (len(fast), decoded[0]) == (30, 60)
    assert _pixel_difference([f.image for f in fast], [f.image for f in reference]) < 2.0


def test_real_footage_at_its_own_rate_gives_the_same_frames() -> None:
    # The street scene is 10 fps, analysed at 10 fps: nothing to skip, every frame kept.
    reference = list(iter_frames(REAL_FOOTAGE, fps=10.0, max_side=128))
    fast = list(analysis_frames(REAL_FOOTAGE, fps=10.0, max_side=128))
    assert [f.time_s for f in fast] == [f.time_s for f in reference]
    assert len(fast) == 120
    assert fast[0].image.shape == (96, 128, 3)
    assert _pixel_difference([f.image for f in fast], [f.image for f in reference]) < 3.0


@pytest.mark.parametrize(("size", "max_side", "expected"), [
    ((1280, 720), 128, (128, 72)), ((768, 576), 128, (128, 96)), ((720, 1280), 128, (72, 128)),
    ((100, 60), 128, (100, 60)), ((1280, 720), None, (1280, 720)), ((333, 201), 128, (128, 78)),
])
def test_scaled_size_keeps_the_aspect_with_even_sides(size: tuple[int, int], max_side: int | None,
                                                      expected: tuple[int, int]) -> None:
    assert scaled_size(*size, max_side) == expected


def test_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(b"\x00\x01" * 5000)
    with pytest.raises(MediaError) as err:
        list(analysis_frames(path, fps=15.0, max_side=128))
    assert err.value.code == "media_unreadable"
