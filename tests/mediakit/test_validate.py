from __future__ import annotations

from pathlib import Path

import pytest

from mediakit.errors import MediaError
from mediakit.validate import audio_limits, validate_media, video_limits
from tests.media import truncate, write_audio, write_png, write_video, write_wav


@pytest.mark.parametrize(("name", "codec", "fmt", "expected_codec"), [
    ("a.mp3", "libmp3lame", "mp3", "mp3float"),
    ("a.flac", "flac", "flac", "flac"),
    ("a.m4a", "aac", "ipod", "aac"),
    ("a.ogg", "libopus", "ogg", "opus"),
])
def test_accepts_allowed_audio(tmp_path: Path, name: str, codec: str, fmt: str, expected_codec: str) -> None:
    path = write_audio(tmp_path / name, codec, fmt, duration_s=3.0, sample_rate=48000)
    info = validate_media(path, kind="audio", limits=audio_limits())
    assert info.audio is not None
    assert info.audio.codec == expected_codec
    assert info.audio.channels == 2
    assert info.duration_s == pytest.approx(3.0, abs=0.1)


def test_accepts_wav(tmp_path: Path) -> None:
    info = validate_media(write_wav(tmp_path / "a.wav", 2.0), kind="audio", limits=audio_limits())
    assert info.container == "wav"
    assert info.audio is not None and info.audio.sample_rate == 22050
    assert info.duration_s == pytest.approx(2.0, abs=0.01)


def test_accepts_mp4_video(tmp_path: Path) -> None:
    info = validate_media(write_video(tmp_path / "v.mp4", 2.0), kind="video", limits=video_limits())
    assert info.video is not None
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 160, 120)
    assert info.video.fps == pytest.approx(12.0)


def refusal(path: Path, kind: str = "audio", **limits: float) -> str:
    lim = audio_limits(**limits) if kind == "audio" else video_limits(**limits)  # type: ignore[arg-type]
    with pytest.raises(MediaError) as info:
        validate_media(path, kind=kind, limits=lim)  # type: ignore[arg-type]
    assert info.value.message  # every refusal says why in words
    return info.value.code


def test_refuses_png_behind_audio_extension(tmp_path: Path) -> None:
    assert refusal(write_png(tmp_path / "song.mp3")) == "media_type_not_allowed"


def test_refuses_png_behind_video_extension(tmp_path: Path) -> None:
    assert refusal(write_png(tmp_path / "clip.mp4"), kind="video") == "media_type_not_allowed"


def test_refuses_text_behind_audio_extension(tmp_path: Path) -> None:
    path = tmp_path / "song.wav"
    path.write_text("this is not audio at all, just words")
    assert refusal(path) == "media_unreadable"


def test_refuses_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    assert refusal(path) == "media_empty"


@pytest.mark.parametrize(("name", "codec", "fmt"), [("a.mp3", "libmp3lame", "mp3"), ("a.flac", "flac", "flac"),
                                                   ("a.m4a", "aac", "ipod")])
def test_refuses_truncated_audio(tmp_path: Path, name: str, codec: str, fmt: str) -> None:
    full = write_audio(tmp_path / name, codec, fmt, duration_s=6.0)
    assert refusal(truncate(full, tmp_path / f"cut-{name}", 0.5)) == "media_truncated"


def test_refuses_truncated_wav(tmp_path: Path) -> None:
    full = write_wav(tmp_path / "a.wav", 4.0)
    assert refusal(truncate(full, tmp_path / "cut.wav", 0.6)) == "media_truncated"


def test_refuses_truncated_video(tmp_path: Path) -> None:
    full = write_video(tmp_path / "v.mp4", 3.0)
    assert refusal(truncate(full, tmp_path / "cut.mp4", 0.5), kind="video") == "media_truncated"


def test_refuses_oversize(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", 2.0)
    assert refusal(path, max_bytes=1000) == "media_too_large"


def test_refuses_too_long(tmp_path: Path) -> None:
    assert refusal(write_wav(tmp_path / "a.wav", 3.0), max_duration_s=2.0) == "media_too_long"
    assert refusal(write_video(tmp_path / "v.mp4", 3.0), kind="video", max_duration_s=2.0) == "media_too_long"


def test_refuses_video_without_audio_as_song(tmp_path: Path) -> None:
    assert refusal(write_video(tmp_path / "v.mp4", 2.0, with_audio=False)) == "media_no_audio"


def test_refuses_audio_as_video(tmp_path: Path) -> None:
    assert refusal(write_audio(tmp_path / "a.m4a", "aac", "ipod"), kind="video") == "media_no_video"


def test_refuses_resolution_over_limit(tmp_path: Path) -> None:
    assert refusal(write_video(tmp_path / "v.mp4", 1.0), kind="video", max_width=100) == "media_resolution_too_large"


def test_accepts_single_frame_video(tmp_path: Path) -> None:
    import numpy as np

    from mediakit.encode import encode_mp4

    path = encode_mp4(tmp_path / "one.mp4", [np.zeros((64, 64, 3), dtype=np.uint8)], fps=25)
    info = validate_media(path, kind="video", limits=video_limits())
    assert info.video is not None and info.video.frame_count == 1
