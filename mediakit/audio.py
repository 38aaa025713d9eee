"""Decode audio to float samples with PyAV, into one preallocated buffer (no second copy)."""

from __future__ import annotations

import os
from pathlib import Path

import av
import av.error
import numpy as np
import soundfile as sf

from mediakit.errors import MediaError
from mediakit.probe import tagged_non_mp3


def decode_audio(path: str | os.PathLike[str], *, sample_rate: int = 22050, mono: bool = True,
                 max_duration_s: float | None = None) -> np.ndarray:
    """Decode the first audio stream, resampled, as float32 in [-1, 1].

    Returns shape ``(n,)`` when ``mono`` else ``(channels=2, n)``. The output buffer is sized from
    the declared duration and grown geometrically only if the header lied, so a 15-minute song is
    held once, not once per decoded chunk plus a concatenated copy.

    Like FFmpeg, a packet that does not decode (an incomplete last frame, a damaged one) is
    skipped; only a stream where more than MAX_BAD_PACKETS of the packets fail, or nothing decodes,
    is refused as damaged. Files FFmpeg cannot parse but libsndfile reads (see mediakit.probe) are
    read with libsndfile and resampled by the same resampler.
    """
    channels = 1 if mono else 2
    limit = int(max_duration_s * sample_rate) if max_duration_s is not None else None
    if tagged_non_mp3(Path(path)):
        return _decode_sndfile(path, sample_rate=sample_rate, channels=channels, limit=limit)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        try:
            return _decode_sndfile(path, sample_rate=sample_rate, channels=channels, limit=limit)
        except MediaError:
            raise MediaError("This file is not audio we can read.", code="media_unreadable") from exc
    with container:
        if not container.streams.audio:
            raise MediaError("The file has no audio stream.", code="media_no_audio")
        stream = container.streams.audio[0]
        declared = float(container.duration) / av.time_base if container.duration else 0.0
        if max_duration_s is not None:
            declared = min(declared, max_duration_s) if declared else max_duration_s
        sink = _Sink(channels, int(declared * sample_rate) + sample_rate if declared else sample_rate * 60)
        # FFmpeg's own stereo->mono downmix adds the channels at -3 dB each (a 1.41x gain on
        # correlated material); averaging ourselves keeps levels as they are.
        resampler = av.AudioResampler(format="fltp", layout=None if mono else "stereo", rate=sample_rate)
        packets = bad = 0
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                packets += 1
                try:
                    frames = packet.decode()
                except (av.error.InvalidDataError, av.error.UndefinedError):
                    bad += 1
                    continue
                for frame in frames:
                    for out in resampler.resample(frame):
                        sink.add(out.to_ndarray())
                if limit is not None and sink.filled >= limit:
                    break
            for out in resampler.resample(None):
                sink.add(out.to_ndarray())
        except av.FFmpegError as exc:
            raise MediaError("The audio is damaged or cut short.", code="media_truncated") from exc
        if sink.filled == 0 or bad > max(1, MAX_BAD_PACKETS * packets):
            raise MediaError("The audio is damaged or cut short.", code="media_truncated")
    return sink.result(limit, mono)


MAX_BAD_PACKETS = 0.02       # a damaged last frame or two, as FFmpeg skips them; not a broken stream


class _Sink:
    """One growing float32 buffer of decoded audio (see decode_audio)."""

    def __init__(self, channels: int, capacity: int) -> None:
        self.buf = np.empty((channels, max(capacity, 1)), dtype=np.float32)
        self.filled = 0

    def add(self, chunk: np.ndarray) -> None:
        self.filled, self.buf = _append(self.buf, self.filled, chunk)

    def result(self, limit: int | None, mono: bool) -> np.ndarray:
        filled = min(self.filled, limit) if limit is not None else self.filled
        # Trimming returns a view when the buffer is exact; a much larger buffer is copied down.
        samples = self.buf[:, :filled]
        if samples.base is not None and filled < self.buf.shape[1] * 0.9:
            samples = np.ascontiguousarray(samples)
        np.clip(samples, -1.0, 1.0, out=samples)
        return samples[0] if mono else samples


def _decode_sndfile(path: str | os.PathLike[str], *, sample_rate: int, channels: int,
                    limit: int | None) -> np.ndarray:
    try:
        f = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise MediaError("This file is not audio we can read.", code="media_unreadable") from exc
    with f:
        sink = _Sink(channels, int(f.frames * sample_rate / f.samplerate) + sample_rate)
        resampler = av.AudioResampler(format="fltp", layout="mono" if channels == 1 else "stereo", rate=sample_rate)
        try:
            for block in f.blocks(blocksize=1 << 15, dtype="float32", always_2d=True):
                data = block[:, :2]
                if channels == 1 and data.shape[1] > 1:
                    data = data.mean(axis=1, keepdims=True)     # average, as the FFmpeg path does
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data.T), format="fltp",
                                                   layout="mono" if data.shape[1] == 1 else "stereo")
                frame.sample_rate = f.samplerate
                for out in resampler.resample(frame):
                    sink.add(out.to_ndarray())
                if limit is not None and sink.filled >= limit:
                    break
            for out in resampler.resample(None):
                sink.add(out.to_ndarray())
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise MediaError("The audio is damaged or cut short.", code="media_truncated") from exc
    if sink.filled == 0:
        raise MediaError("The audio is damaged or cut short.", code="media_truncated")
    return sink.result(limit, channels == 1)


def _append(buf: np.ndarray, filled: int, chunk: np.ndarray) -> tuple[int, np.ndarray]:
    if buf.shape[0] == 1 and chunk.shape[0] > 1:
        chunk = chunk.mean(axis=0, keepdims=True)
    n = chunk.shape[1]
    if filled + n > buf.shape[1]:
        grown = np.empty((buf.shape[0], max(buf.shape[1] * 2, filled + n)), dtype=np.float32)
        grown[:, :filled] = buf[:, :filled]
        buf = grown
    buf[:, filled:filled + n] = chunk[: buf.shape[0]]
    return filled + n, buf


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int) -> Path:
    """Write float samples ((n,) or (channels, n)) as 16-bit PCM WAV."""
    data = samples.T if samples.ndim == 2 else samples
    sf.write(str(path), data, sample_rate, subtype="PCM_16")
    return Path(path)


def loudness_normalize(samples: np.ndarray, *, target_rms_db: float = -16.0, peak_limit: float = 0.98) -> np.ndarray:
    """Scale to a target RMS level without letting the peak pass ``peak_limit``."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    if rms < 1e-6:
        return samples
    gain = 10 ** (target_rms_db / 20) / rms
    peak = float(np.max(np.abs(samples))) * gain
    if peak > peak_limit:
        gain *= peak_limit / peak
    return (samples * gain).astype(np.float32)
