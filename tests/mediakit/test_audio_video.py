from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mediakit.audio import decode_audio, loudness_normalize
from mediakit.encode import encode_mp4, mux_audio
from mediakit.probe import probe
from mediakit.video import iter_frames
from tests.media import sine, write_audio, write_video, write_wav


def test_decode_wav_resamples_to_requested_rate(tmp_path: Path) -> None:
    samples = decode_audio(write_wav(tmp_path / "a.wav", 2.0, 22050), sample_rate=16000)
    assert samples.dtype == np.float32
    assert samples.shape == (32000,)
    # A 440 Hz tone: the spectrum's peak stays at 440 Hz after resampling.
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(samples.size, 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=1)


def test_decode_stereo_mp3(tmp_path: Path) -> None:
    samples = decode_audio(write_audio(tmp_path / "a.mp3", "libmp3lame", "mp3", 2.0), sample_rate=22050, mono=False)
    assert samples.shape[0] == 2
    assert abs(samples.shape[1] - 44100) < 2000  # mp3 adds encoder delay and padding
    assert float(np.abs(samples).max()) == pytest.approx(0.3, abs=0.03)


def test_iter_frames_subsamples_by_time_and_scales(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", 2.0, fps=12, size=(160, 120))
    frames = list(iter_frames(path, fps=4, max_side=80))
    assert [round(f.time_s, 2) for f in frames] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    assert frames[0].image.shape == (60, 80, 3)
    gray = next(iter(iter_frames(path, gray=True)))
    assert gray.image.shape == (120, 160)


def test_encode_mp4_trims_audio_to_video(tmp_path: Path) -> None:
    frames = [np.full((64, 64, 3), i * 20, dtype=np.uint8) for i in range(12)]
    out = encode_mp4(tmp_path / "o.mp4", frames, fps=6, audio=sine(5.0, 44100), sample_rate=44100)
    info = probe(out)
    assert info.video is not None and info.video.codec == "h264" and info.video.frame_count == 12
    assert info.audio is not None and info.audio.codec == "aac"
    decoded = decode_audio(out, sample_rate=44100)
    assert abs(decoded.size - 2.0 * 44100) < 2048  # AAC priming, but not 5 s of audio


def test_mux_replace_and_duck(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4", 2.0, with_audio=True)
    music = np.zeros(44100 * 3, dtype=np.float32)
    replaced = mux_audio(video, music, 44100, tmp_path / "r.mp4", mode="replace")
    ducked = mux_audio(video, music, 44100, tmp_path / "d.mp4", mode="duck", duck_db=-20)
    assert float(np.abs(decode_audio(replaced, sample_rate=44100)).max()) < 1e-3
    # The original 0.3-amplitude tone, 20 dB down, is 0.03.
    assert float(np.abs(decode_audio(ducked, sample_rate=44100)).max()) == pytest.approx(0.03, abs=0.008)
    assert probe(replaced).video is not None


def test_loudness_normalize_hits_target_without_clipping() -> None:
    quiet = sine(1.0) * 0.1
    out = loudness_normalize(quiet, target_rms_db=-16)
    rms_db = 20 * np.log10(np.sqrt(np.mean(out.astype(np.float64) ** 2)))
    assert rms_db == pytest.approx(-16, abs=0.1)
    assert float(np.abs(loudness_normalize(np.ones(100, dtype=np.float32) * 0.5, target_rms_db=0)).max()) == pytest.approx(0.98)
