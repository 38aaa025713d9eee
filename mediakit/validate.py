"""Validation of uploads by content: container, codecs, size, duration, resolution, integrity.

Each refusal has a stable code (listed in REFUSAL_CODES) so the API, the page and the tests agree.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import av

from mediakit.errors import MediaError
from mediakit.probe import MediaInfo, is_image_container, probe, wav_declared_shortfall

MediaKind = Literal["audio", "video"]

AUDIO_CONTAINERS = frozenset({"mp3", "wav", "flac", "ogg", "mov", "mp4", "m4a", "aiff", "matroska", "webm"})
AUDIO_CODECS = frozenset({"mp3", "mp3float", "flac", "vorbis", "opus", "aac", "alac", "pcm_s16le", "pcm_s24le",
                          "pcm_s32le", "pcm_f32le", "pcm_f64le", "pcm_u8", "pcm_s16be", "pcm_s24be"})
VIDEO_CONTAINERS = frozenset({"mov", "mp4", "m4a", "matroska", "webm", "avi"})
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mjpeg", "prores", "libdav1d",
                          "libvpx", "libvpx-vp9", "mpeg2video"})

REFUSAL_CODES = (
    "media_empty", "media_too_large", "media_unreadable", "media_type_not_allowed",
    "media_codec_not_allowed", "media_no_audio", "media_no_video", "media_too_long", "media_too_short",
    "media_resolution_too_large", "media_truncated",
)


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int
    max_duration_s: float
    min_duration_s: float = 0.0
    max_width: int = 3840
    max_height: int = 3840
    containers: frozenset[str] = field(default_factory=frozenset)
    codecs: frozenset[str] = field(default_factory=frozenset)


def audio_limits(*, max_bytes: int = 200 * 1024 * 1024, max_duration_s: float = 15 * 60,
                 min_duration_s: float = 0.0) -> MediaLimits:
    return MediaLimits(max_bytes=max_bytes, max_duration_s=max_duration_s, min_duration_s=min_duration_s,
                       containers=AUDIO_CONTAINERS, codecs=AUDIO_CODECS)


def video_limits(*, max_bytes: int = 1024 * 1024 * 1024, max_duration_s: float = 5 * 60,
                 min_duration_s: float = 0.0, max_width: int = 3840, max_height: int = 3840) -> MediaLimits:
    return MediaLimits(max_bytes=max_bytes, max_duration_s=max_duration_s, min_duration_s=min_duration_s,
                       max_width=max_width, max_height=max_height, containers=VIDEO_CONTAINERS,
                       codecs=VIDEO_CODECS)


def validate_media(path: str | os.PathLike[str], *, kind: MediaKind, limits: MediaLimits) -> MediaInfo:
    """Check a file against ``limits``; return what it is, or raise MediaError with a refusal code."""
    size = Path(path).stat().st_size
    if size == 0:
        raise MediaError("The file is empty.", code="media_empty")
    if size > limits.max_bytes:
        raise MediaError(f"The file is {size / 2**20:.1f} MiB; the limit is {limits.max_bytes / 2**20:.0f} MiB.",
                         code="media_too_large")
    info = probe(path)
    if is_image_container(info) or not (info.format_names & limits.containers):
        raise MediaError(f"Files of type '{info.container}' are not accepted here.", code="media_type_not_allowed")
    if kind == "audio":
        if info.audio is None:
            raise MediaError("The file has no audio stream.", code="media_no_audio")
        if info.audio.sample_rate <= 0 or info.audio.channels <= 0:
            raise MediaError("The audio stream cannot be read.", code="media_unreadable")
        if info.audio.codec not in limits.codecs:
            raise MediaError(f"Audio coded as '{info.audio.codec}' is not accepted.", code="media_codec_not_allowed")
    else:
        if info.video is None:
            raise MediaError("The file has no video stream.", code="media_no_video")
        if info.video.codec not in limits.codecs:
            raise MediaError(f"Video coded as '{info.video.codec}' is not accepted.", code="media_codec_not_allowed")
        if info.video.width > limits.max_width or info.video.height > limits.max_height:
            raise MediaError(f"The video is {info.video.width}x{info.video.height}; the limit is "
                             f"{limits.max_width}x{limits.max_height}.", code="media_resolution_too_large")
    if wav_declared_shortfall(path) > 0:
        raise MediaError("The WAV file is cut short: it holds less audio than its header declares.",
                         code="media_truncated")
    extent = _check_integrity(path, kind=kind, declared_s=info.duration_s)
    duration = max(info.duration_s, extent)
    if duration > limits.max_duration_s:
        raise MediaError(f"The file lasts {duration:.0f} s; the limit is {limits.max_duration_s:.0f} s.",
                         code="media_too_long")
    if duration <= limits.min_duration_s:
        raise MediaError(f"The file lasts {duration:.2f} s; it must be longer than {limits.min_duration_s:.2f} s.",
                         code="media_too_short")
    return info


def _check_integrity(path: str | os.PathLike[str], *, kind: MediaKind, declared_s: float) -> float:
    """Demux every packet of the stream in question and decode a few of them.

    A truncated file either fails to demux, fails to decode, or ends well before the duration its
    header declares. Returns the extent actually found, in seconds.
    """
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams.audio[0] if kind == "audio" else container.streams.video[0]
            tb = stream.time_base
            end = 0.0
            decoded = 0
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                if tb is not None:
                    end = max(end, float((packet.pts + (packet.duration or 0)) * tb))
                if decoded < 3:
                    decoded += len(packet.decode())
            if decoded == 0:
                # Decoders with frame delay (H.264) hold short streams until flushed.
                decoded += len(stream.codec_context.decode(None))
            if decoded == 0:
                raise MediaError("The file's stream holds nothing we can decode.", code="media_truncated")
    except av.FFmpegError as exc:
        raise MediaError("The file is damaged or cut short.", code="media_truncated") from exc
    start = float(stream.start_time * tb) if stream.start_time is not None and tb is not None else 0.0
    extent = max(end - start, 0.0)
    if declared_s > 2.0 and extent < 0.9 * declared_s:
        raise MediaError(f"The file stops at {extent:.1f} s of the {declared_s:.1f} s it declares: it is cut short.",
                         code="media_truncated")
    return extent


@dataclass(frozen=True)
class ReceivedMedia:
    path: Path
    info: MediaInfo


def receive_upload(chunks: Iterable[bytes] | BinaryIO, *, kind: MediaKind, limits: MediaLimits,
                   dest_dir: str | os.PathLike[str]) -> ReceivedMedia:
    """Spool an upload to a private temporary file, refusing early once it exceeds the size limit.

    The temporary file has no extension: FFmpeg falls back on a file's extension when the content
    is ambiguous, and what the user named the file must not decide what it is.

    On any refusal the temporary file is removed, so a refused upload leaves nothing behind. The
    caller moves the accepted file to its final storage and deletes ``path`` afterwards.
    """
    Path(dest_dir).mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="upload-", dir=dest_dir)
    tmp_path = Path(tmp)
    try:
        written = 0
        with os.fdopen(fd, "wb") as out:
            source: Iterable[bytes] = iter(lambda: chunks.read(1 << 20), b"") if hasattr(chunks, "read") else chunks  # type: ignore[union-attr]
            for chunk in source:
                written += len(chunk)
                if written > limits.max_bytes:
                    raise MediaError(f"The file is larger than {limits.max_bytes / 2**20:.0f} MiB.",
                                     code="media_too_large")
                out.write(chunk)
        info = validate_media(tmp_path, kind=kind, limits=limits)
        return ReceivedMedia(path=tmp_path, info=info)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


