"""Uploads in the codecs people's files have: accepted by content, decoded, and put into MP4."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from mediakit.audio import decode_audio
from mediakit.encode import display_matrix, mux_audio
from mediakit.errors import MediaError
from mediakit.probe import probe
from mediakit.validate import audio_limits, validate_media, video_limits
from mediakit.video import iter_frames
from tests.media import sine
from tests.mediakit.codecs import (
    VIDEO_CODECS,
    ffmpeg,
    with_id3_cover,
    write_avi_with_damaged_ac3,
    write_coded_video,
    write_song_with_cover,
)


@pytest.mark.parametrize(("encoder", "ext", "pix_fmt", "codec"), VIDEO_CODECS, ids=[c[0] for c in VIDEO_CODECS])
def test_video_codecs_are_accepted_decoded_and_muxed(tmp_path: Path, encoder: str, ext: str, pix_fmt: str,
                                                     codec: str) -> None:
    path = write_coded_video(tmp_path / f"clip.{ext}", encoder, pix_fmt)
    info = validate_media(path, kind="video", limits=video_limits())
    assert info.video is not None
    assert (info.video.codec, info.video.width, info.video.height) == (codec, 160, 120)
    frames = list(iter_frames(path))
    assert len(frames) == 12
    assert [round(f.time_s * 12) for f in frames] == list(range(12))
    # The test pattern moves: frames differ, so they were really decoded.
    assert float(np.abs(frames[0].image.astype(int) - frames[6].image.astype(int)).mean()) > 1.0

    music = np.vstack([sine(1.0, 44100)] * 2)
    out = mux_audio(path, music, 44100, tmp_path / "scored.mp4")
    muxed = probe(out)
    assert muxed.container.startswith("mov,mp4")
    assert muxed.video is not None and muxed.audio is not None and muxed.audio.codec == "aac"
    # What MP4 carries is copied; anything else was re-encoded to H.264, every frame at its time.
    with av.open(str(out)) as container:
        kept = container.streams.video[0].codec_context.codec.canonical_name
    assert kept == ({"libdav1d": "av1"}.get(codec, codec) if codec in {"mpeg4", "vp9", "libdav1d", "hevc"}
                    else "h264")
    assert [round(f.time_s * 12) for f in iter_frames(out)] == list(range(12))


def test_remuxed_msmpeg4_keeps_the_pictures(tmp_path: Path) -> None:
    path = write_coded_video(tmp_path / "clip.avi", "msmpeg4v3", "yuv420p")
    out = mux_audio(path, np.zeros(44100, dtype=np.float32), 44100, tmp_path / "scored.mp4")
    before = [f.image.astype(int) for f in iter_frames(path)]
    after = [f.image.astype(int) for f in iter_frames(out)]
    assert len(before) == len(after)
    # One lossy generation at CRF 18: the picture stays the picture.
    assert max(float(np.abs(a - b).mean()) for a, b in zip(before, after, strict=True)) < 6.0


@pytest.mark.parametrize(("name", "encoder", "code"), [("song.m4a", "aac", "media_no_video"),
                                                        ("song.mp3", "libmp3lame", "media_type_not_allowed")])
def test_cover_art_is_not_a_video(tmp_path: Path, name: str, encoder: str, code: str) -> None:
    path = write_song_with_cover(tmp_path / name, tmp_path, encoder)
    with pytest.raises(MediaError) as refused:
        validate_media(path, kind="video", limits=video_limits())
    assert refused.value.code == code
    with pytest.raises(MediaError) as unreadable:
        next(iter_frames(path))
    assert unreadable.value.code == "media_no_video"
    info = validate_media(path, kind="audio", limits=audio_limits())
    assert info.audio is not None and info.video is None


def ffmpeg_decodes_audio(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            return any(True for _ in container.decode(audio=0))
    except (av.FFmpegError, IndexError):
        return False


@pytest.mark.parametrize("fmt", ["wav", "aiff"])
def test_audio_behind_a_large_id3_tag_is_read_with_libsndfile(tmp_path: Path, fmt: str) -> None:
    plain = tmp_path / f"plain.{fmt}"
    sf.write(str(plain), np.vstack([sine(2.0, 44100)] * 2).T, 44100, subtype="PCM_16")
    tagged = with_id3_cover(plain, tmp_path / f"tagged.{fmt}")
    # FFmpeg alone cannot make sense of it (its probe sees only the tag).
    assert not ffmpeg_decodes_audio(tagged)
    info = validate_media(tagged, kind="audio", limits=audio_limits())
    assert (info.reader, info.container, info.audio and info.audio.sample_rate) == ("sndfile", fmt, 44100)
    assert info.duration_s == pytest.approx(2.0)
    np.testing.assert_allclose(decode_audio(tagged, sample_rate=16000), decode_audio(plain, sample_rate=16000),
                               atol=1e-4)
    stereo = decode_audio(tagged, sample_rate=22050, mono=False)
    assert stereo.shape == (2, 44100)


def test_text_behind_a_tag_is_still_refused(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not audio at all\n" * 200)
    with pytest.raises(MediaError) as refused:
        validate_media(with_id3_cover(junk, tmp_path / "notes.wav"), kind="audio", limits=audio_limits())
    assert refused.value.code in {"media_unreadable", "media_type_not_allowed", "media_no_audio", "media_truncated"}


def test_a_damaged_audio_frame_is_skipped_as_ffmpeg_does(tmp_path: Path) -> None:
    path = write_avi_with_damaged_ac3(tmp_path / "film.avi", tmp_path)
    # FFmpeg itself decodes the file, reporting the damaged frame.
    ffmpeg("-i", str(path), "-f", "null", "-")
    info = validate_media(path, kind="video", limits=video_limits())
    assert info.audio is not None and info.audio.codec == "ac3"
    samples = decode_audio(path, sample_rate=48000)
    assert len(samples) / 48000 == pytest.approx(3.0, abs=0.1)
    ducked = mux_audio(path, np.zeros(48000 * 3, dtype=np.float32), 48000, tmp_path / "ducked.mp4", mode="duck")
    # Ducked under silence, the film's own 300 Hz tone is what is heard.
    heard = decode_audio(ducked, sample_rate=48000)
    spectrum = np.abs(np.fft.rfft(heard))
    assert np.fft.rfftfreq(len(heard), 1 / 48000)[spectrum.argmax()] == pytest.approx(300, abs=2)


def test_a_track_of_noise_is_still_refused(tmp_path: Path) -> None:
    path = write_avi_with_damaged_ac3(tmp_path / "noise.avi", tmp_path, garbage=True)
    with pytest.raises(MediaError) as refused:
        decode_audio(path, sample_rate=48000)
    assert refused.value.code == "media_truncated"


def _display_rotation(path: Path) -> float | None:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return float(frame.rotation) if display_matrix(frame) is not None else None


@pytest.mark.parametrize("degrees", [90, 180, 270])
@pytest.mark.parametrize(("encoder", "ext", "pix_fmt"), [("mpeg4", "mp4", "yuv420p"), ("mjpeg", "mov", "yuvj420p")],
                         ids=["copied", "re-encoded"])
def test_a_phone_clip_held_upright_stays_upright(tmp_path: Path, encoder: str, ext: str, pix_fmt: str,
                                                  degrees: int) -> None:
    # Phones store a portrait clip landscape and say how to turn it in a display matrix.
    plain = write_coded_video(tmp_path / f"plain.{ext}", encoder, pix_fmt)
    rotated = tmp_path / f"portrait.{ext}"
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(rotated))
    expected = {90: 90.0, 180: -180.0, 270: -90.0}[degrees]
    assert _display_rotation(rotated) == expected
    out = mux_audio(rotated, np.zeros(44100, dtype=np.float32), 44100, tmp_path / "scored.mp4")
    assert _display_rotation(out) == expected
    before = [f.image.astype(int) for f in iter_frames(rotated)]
    after = [f.image.astype(int) for f in iter_frames(out)]
    assert len(after) == 12 and after[0].shape == before[0].shape == (120, 160, 3)


def test_an_unrotated_re_encoded_clip_gets_no_display_matrix(tmp_path: Path) -> None:
    path = write_coded_video(tmp_path / "clip.mov", "mjpeg", "yuvj420p")
    out = mux_audio(path, np.zeros(44100, dtype=np.float32), 44100, tmp_path / "scored.mp4")
    assert _display_rotation(path) is None and _display_rotation(out) is None
