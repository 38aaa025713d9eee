"""Read video frames with PyAV, optionally at a lower rate and size (analysis rarely needs 4K)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import av.container
import av.error
import numpy as np

from mediakit.errors import MediaError
from mediakit.probe import main_video_stream

MAX_BAD_PACKETS = 0.02


@dataclass(frozen=True)
class Frame:
    time_s: float
    image: np.ndarray  # HxWx3 uint8 RGB, or HxW uint8 when gray


def iter_frames(path: str | os.PathLike[str], *, fps: float | None = None, max_side: int | None = None,
                gray: bool = False) -> Iterator[Frame]:
    """Yield decoded frames with their presentation times.

    ``fps`` keeps at most that many frames a second (by timestamp, so variable frame rate works);
    ``max_side`` scales frames down in FFmpeg's scaler before they reach Python.
    """
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise MediaError("This file is not a video we can read.", code="media_unreadable") from exc
    with container:
        stream = main_video_stream(container)
        if stream is None:
            raise MediaError("The file has no video stream.", code="media_no_video")
        stream.thread_type = "AUTO"
        out_w, out_h = scaled_size(stream.codec_context.width, stream.codec_context.height, max_side)
        fmt = "gray" if gray else "rgb24"
        rate = RateFilter(fps)
        start = stream_start_s(stream)
        for frame in decode_tolerant(container, stream):
            t = frame_time_s(frame, stream, start)
            if rate.keep(t):
                yield Frame(time_s=t, image=frame.to_ndarray(format=fmt, width=out_w, height=out_h))


def scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """Even width and height with the long side at most ``max_side`` (the aspect ratio kept)."""
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


class RateFilter:
    """Keeps at most ``fps`` frames a second, chosen by timestamp (variable frame rates work)."""

    def __init__(self, fps: float | None) -> None:
        self.step = 1.0 / fps if fps else 0.0
        self._next_t = -1e9

    def keep(self, t: float) -> bool:
        if not self.step:
            return True
        if t + 1e-6 < self._next_t:
            return False
        # The grid advances by whole steps, so kept times do not drift; after a gap it restarts.
        self._next_t = self._next_t + self.step if self._next_t > -1e8 else t + self.step
        if self._next_t <= t:
            self._next_t = t + self.step
        return True


def stream_start_s(stream: av.VideoStream) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0


def frame_time_s(frame: av.VideoFrame, stream: av.VideoStream, start_s: float) -> float:
    """Presentation time in seconds from the stream's start."""
    tb = stream.time_base
    return (float(frame.pts * tb) if frame.pts is not None and tb else float(frame.time or 0.0)) - start_s


def decode_tolerant(container: av.container.InputContainer, stream: av.VideoStream,
                    wanted: Callable[[av.Packet], bool] | None = None) -> Iterator[av.VideoFrame]:
    """Decoded frames, skipping packets that do not decode, as FFmpeg does.

    A damaged last frame (or a few in a long file) is skipped; a stream where more than
    MAX_BAD_PACKETS of the packets fail, or nothing decodes, is refused as damaged. Packets that
    ``wanted`` turns down have their non-reference frames dropped by the decoder: nothing else
    depends on those frames, so they cost nothing but their parsing.
    """
    ctx = stream.codec_context
    packets = bad = produced = 0
    try:
        for packet in container.demux(stream):
            if packet.size:
                packets += 1
            if wanted is not None:
                ctx.skip_frame = "DEFAULT" if wanted(packet) else "NONREF"
            try:
                frames = packet.decode()
            except (av.error.InvalidDataError, av.error.UndefinedError):
                bad += 1
                continue
            for frame in frames:
                produced += 1
                yield frame                                           # type: ignore[misc]
    except av.FFmpegError as exc:
        raise MediaError("The video is damaged or cut short.", code="media_truncated") from exc
    if produced == 0 or bad > max(1, MAX_BAD_PACKETS * packets):
        raise MediaError("The video is damaged or cut short.", code="media_truncated")
