"""Read video frames with PyAV, optionally at a lower rate and size (analysis rarely needs 4K)."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
        width, height = stream.codec_context.width, stream.codec_context.height
        out_w, out_h = width, height
        if max_side and max(width, height) > max_side:
            scale = max_side / max(width, height)
            out_w, out_h = max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)
        fmt = "gray" if gray else "rgb24"
        next_t = -1e9
        step = 1.0 / fps if fps else 0.0
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
        for frame in _decode_tolerant(container, stream):
            t = (float(frame.pts * stream.time_base) if frame.pts is not None and stream.time_base
                 else float(frame.time or 0.0)) - start
            if step and t + 1e-6 < next_t:
                continue
            next_t = (next_t + step if next_t > -1e8 else t + step) if step else t
            if step and next_t <= t:
                next_t = t + step
            image = frame.to_ndarray(format=fmt, width=out_w, height=out_h)
            yield Frame(time_s=t, image=image)


def _decode_tolerant(container: av.container.InputContainer, stream: av.VideoStream) -> Iterator[av.VideoFrame]:
    """Decoded frames, skipping packets that do not decode, as FFmpeg does.

    A damaged last frame (or a few in a long file) is skipped; a stream where more than
    MAX_BAD_PACKETS of the packets fail, or nothing decodes, is refused as damaged.
    """
    packets = bad = produced = 0
    try:
        for packet in container.demux(stream):
            if packet.size:
                packets += 1
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
