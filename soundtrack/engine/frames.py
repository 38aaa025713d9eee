"""Small frames for motion analysis, decoded as cheaply as FFmpeg allows (no Django).

mediakit.video.iter_frames decodes for any use; the soundtrack only needs 128-pixel frames at
about 15 fps, and on a minute of 720p H.264 the full-quality decode was most of the scoring time
(bench/soundtrack.py). Three things make it cheaper without moving a visual beat:

- the loop (deblocking) filter is skipped and FFmpeg's non-bit-exact shortcuts are allowed
  (``skip_loop_filter=all``, ``flags2=+fast``): the block edges they would smooth are a tenth of
  a pixel after the downscale, and the decode costs about 30 % less;
- frames the analysis rate drops are never converted, and the ones it keeps are shrunk by
  FFmpeg's area-averaging scaler straight from YUV (a box filter: cheaper than the default bicubic
  at a tenfold reduction, and it does not alias fine texture into false motion);
- decoding runs in a thread of its own (PyAV and the scaler release the GIL), so on two cores it
  overlaps the optical flow.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Iterator
from typing import TypeVar

import av
import av.container
from av.video.reformatter import VideoReformatter

from mediakit.errors import MediaError
from mediakit.probe import main_video_stream
from mediakit.video import Frame, RateFilter, decode_tolerant, frame_time_s, scaled_size, stream_start_s

T = TypeVar("T")

# Decoder options that trade bit-exactness for speed; codecs without a loop filter ignore them.
FAST_DECODE_OPTIONS = {"skip_loop_filter": "all", "flags2": "+fast"}
# Demuxers whose packets carry presentation times (MP4/MOV, Matroska/WebM, MPEG-TS).
PTS_CONTAINERS = {"mov", "mp4", "matroska", "webm", "mpegts"}


def analysis_frames(path: str | os.PathLike[str], *, fps: float | None, max_side: int | None,
                    fast: bool = True) -> Iterator[Frame]:
    """RGB frames at most ``fps`` a second (kept by timestamp) and ``max_side`` pixels on the long side.

    The same frames, times and sizes as ``mediakit.video.iter_frames(path, fps=, max_side=)``, and
    the same tolerance of damaged packets; with ``fast`` the decoder takes the shortcuts in the
    module's docstring.
    """
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise MediaError("This file is not a video we can read.", code="media_unreadable") from exc
    with container:
        stream = main_video_stream(container)
        if stream is None:
            raise MediaError("The file has no video stream.", code="media_no_video")
        step = 1.0 / fps if fps else 0.0
        rate = stream.average_rate or stream.guessed_rate
        interval = 1.0 / float(rate) if rate else 0.0
        # Frames between two analysis times are only worth skipping when the rate leaves some out.
        # Which frame a packet holds is only known beforehand where packets carry presentation
        # times; AVI's are in decoding order, so there everything is decoded.
        pts_known = bool(set(container.format.name.split(",")) & PTS_CONTAINERS)
        skipping = fast and pts_known and step > 0 and interval > 0 and step > 1.5 * interval
        if skipping:
            # Whether a packet is skipped is decided packet by packet, which frame threads would
            # race with; the decode already runs beside the flow in its own thread (prefetch), and
            # FFmpeg's slice threads cost 0.5 CPU-s a minute of 720p for nothing (one slice a frame).
            stream.thread_type = "SLICE"
            stream.codec_context.thread_count = 1
        else:
            stream.thread_type = "AUTO"
        if fast:
            stream.codec_context.options = dict(FAST_DECODE_OPTIONS)
        out_w, out_h = scaled_size(stream.codec_context.width, stream.codec_context.height, max_side)
        # One scaler for the whole video: a frame's own would set up its filters again every time.
        scaler = VideoReformatter()
        keep = RateFilter(fps)
        tb = stream.time_base
        start = stream_start_s(stream)

        def wanted(packet: av.Packet) -> bool:
            """Could this packet's frame be one the analysis keeps (near a multiple of ``step``)?"""
            if not skipping or packet.pts is None or not tb:
                return True
            past = (float(packet.pts * tb) - start) % step
            return past < 0.5 * interval or step - past < 0.5 * interval

        for frame in decode_tolerant(container, stream, wanted):
            t = frame_time_s(frame, stream, start)
            if not keep.keep(t):
                continue
            image = scaler.reformat(frame, width=out_w, height=out_h, format="rgb24", interpolation="AREA").to_ndarray()
            yield Frame(time_s=t, image=image)


def prefetch(items: Iterator[T], maxsize: int = 16, cpu_s: dict[str, float] | None = None) -> Iterator[T]:
    """Run ``items`` in a thread: PyAV and FFmpeg's scaler release the GIL, so decoding overlaps flow.

    ``cpu_s["decode"]`` receives the CPU seconds the thread spent (the bench reports it).
    """
    q: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=maxsize)
    stop = threading.Event()

    def worker() -> None:
        started = time.thread_time()
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            if cpu_s is not None:
                cpu_s["decode"] = time.thread_time() - started
            q.put(("end", None))
        except BaseException as exc:
            q.put(("error", exc))

    thread = threading.Thread(target=worker, name="soundtrack-decode", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
