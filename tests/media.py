"""Small media files made in code for tests (no downloads, no committed binaries)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import soundfile as sf

from mediakit.encode import encode_mp4


def sine(duration_s: float, sample_rate: int = 22050, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, duration_s: float = 2.0, sample_rate: int = 22050) -> Path:
    sf.write(str(path), sine(duration_s, sample_rate), sample_rate, subtype="PCM_16")
    return path


def write_audio(path: Path, codec: str, fmt: str, duration_s: float = 3.0, sample_rate: int = 44100) -> Path:
    """Encode a sine tone with FFmpeg's encoders (libmp3lame, flac, libopus, aac); PyAV converts the sample format."""
    samples = np.ascontiguousarray(np.vstack([sine(duration_s, sample_rate)] * 2))
    with av.open(str(path), "w", format=fmt) as container:
        stream: av.AudioStream = container.add_stream(codec, rate=sample_rate, layout="stereo")  # type: ignore[assignment]
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]), format="fltp",
                                               layout="stereo")
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_video(path: Path, duration_s: float = 2.0, fps: int = 12, size: tuple[int, int] = (160, 120),
                with_audio: bool = True) -> Path:
    w, h = size
    n = int(duration_s * fps)
    frames = []
    for i in range(n):
        img = np.zeros((h, w, 3), dtype=np.uint8)
        x = int((w - 20) * i / max(n - 1, 1))
        img[h // 2 - 10:h // 2 + 10, x:x + 20] = (255, 80, 40)
        frames.append(img)
    audio = np.vstack([sine(duration_s, 44100)] * 2) if with_audio else None
    return encode_mp4(path, frames, fps=fps, audio=audio, sample_rate=44100)


def write_png(path: Path) -> Path:
    from PIL import Image

    Image.fromarray(np.full((32, 32, 3), 200, dtype=np.uint8)).save(path, format="PNG")
    return path


def truncate(src: Path, dst: Path, keep: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst
