"""Validation of uploads by content: container, codecs, size, duration, resolution, integrity.

Each refusal has a stable code (listed in REFUSAL_CODES) so the API, the page and the tests agree.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

import av
import av.codec.codec
import soundfile as sf

from mediakit.errors import MediaError
from mediakit.probe import MediaInfo, is_image_container, main_video_stream, probe, wav_declared_shortfall

MediaKind = Literal["audio", "video"]

# Containers people's files come in (FFmpeg's demuxer names; "sndfile" formats are libsndfile's).
# What is inside is then decided by content: a stream of the right kind that FFmpeg decodes.
AUDIO_CONTAINERS = frozenset({"mp3", "wav", "flac", "ogg", "mov", "mp4", "m4a", "aiff", "matroska", "webm", "aac",
                              "ac3", "eac3", "dts", "caf", "w64", "wv", "ape", "tta", "amr", "au", "asf", "avi",
                              "mpeg", "mpegts", "flv", "rf64", "voc", "ircam", "nist"})
VIDEO_CONTAINERS = frozenset({"mov", "mp4", "m4a", "3gp", "matroska", "webm", "avi", "asf", "flv", "mpeg", "mpegts",
                              "ogg", "ivf", "mxf", "dv", "nut"})
# Empty codec sets accept every codec FFmpeg can decode; a deployment may narrow them.
AUDIO_CODECS: frozenset[str] = frozenset()
VIDEO_CODECS: frozenset[str] = frozenset()
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
        if not _codec_allowed(info.audio.codec, limits, reader=info.reader):
            raise MediaError(f"Audio coded as '{info.audio.codec}' is not accepted.", code="media_codec_not_allowed")
    else:
        if info.video is None:
            raise MediaError("The file has no video stream.", code="media_no_video")
        if not _codec_allowed(info.video.codec, limits, reader=info.reader):
            raise MediaError(f"Video coded as '{info.video.codec}' is not accepted.", code="media_codec_not_allowed")
        if info.video.width > limits.max_width or info.video.height > limits.max_height:
            raise MediaError(f"The video is {info.video.width}x{info.video.height}; the limit is "
                             f"{limits.max_width}x{limits.max_height}.", code="media_resolution_too_large")
    if wav_declared_shortfall(path) > 0:
        raise MediaError("The WAV file is cut short: it holds less audio than its header declares.",
                         code="media_truncated")
    if info.reader == "sndfile":
        extent = _check_integrity_sndfile(path)
    else:
        extent = _check_integrity(path, kind=kind, declared_s=info.duration_s)
    duration = max(info.duration_s, extent)
    if duration > limits.max_duration_s:
        raise MediaError(f"The file lasts {duration:.0f} s; the limit is {limits.max_duration_s:.0f} s.",
                         code="media_too_long")
    if duration <= limits.min_duration_s:
        raise MediaError(f"The file lasts {duration:.2f} s; it must be longer than {limits.min_duration_s:.2f} s.",
                         code="media_too_short")
    return info


def _codec_allowed(codec: str, limits: MediaLimits, *, reader: str) -> bool:
    if limits.codecs:
        return codec in limits.codecs
    if reader == "sndfile":
        return True              # libsndfile opened it: it has the decoder
    try:
        av.codec.Codec(codec, "r")
    except (av.codec.codec.UnknownCodecError, ValueError):
        return False
    return True


def _check_integrity(path: str | os.PathLike[str], *, kind: MediaKind, declared_s: float) -> float:
    """Demux every packet of the stream in question and decode a few of them.

    A truncated file either fails to demux, fails to decode, or ends well before the duration its
    header declares. A damaged last packet alone is not a truncation: FFmpeg decodes past it, and
    so do decode_audio and iter_frames. Returns the extent actually found, in seconds.
    """
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams.audio[0] if kind == "audio" else main_video_stream(container)
            if stream is None:
                raise MediaError("The file has no video stream.", code="media_no_video")
            tb = stream.time_base
            end = 0.0
            decoded = 0
            try:
                for packet in container.demux(stream):
                    if packet.pts is None or packet.size == 0:
                        continue
                    if tb is not None:
                        end = max(end, float((packet.pts + (packet.duration or 0)) * tb))
                    if decoded < 3:
                        decoded += len(packet.decode())
            except av.FFmpegError:
                # Reading stopped early: acceptable only if what came before is (nearly) all of it.
                if not (declared_s > 0 and end >= 0.9 * declared_s and decoded > 0):
                    raise
            if decoded == 0:
                # Decoders with frame delay (H.264) hold short streams until flushed.
                decoded += len(stream.codec_context.decode(None))
            if decoded == 0:
                raise MediaError("The file's stream holds nothing we can decode.", code="media_truncated")
            # Read while the container is open: PyAV 18.1.1 refuses a closed container's stream.
            start = float(stream.start_time * tb) if stream.start_time is not None and tb is not None else 0.0
    except av.FFmpegError as exc:
        raise MediaError("The file is damaged or cut short.", code="media_truncated") from exc
    extent = max(end - start, 0.0)
    if declared_s > 2.0 and extent < 0.9 * declared_s:
        raise MediaError(f"The file stops at {extent:.1f} s of the {declared_s:.1f} s it declares: it is cut short.",
                         code="media_truncated")
    return extent


def _check_integrity_sndfile(path: str | os.PathLike[str]) -> float:
    """Read every frame libsndfile declares; fewer readable frames than declared is a truncation."""
    try:
        with sf.SoundFile(str(path)) as f:
            declared, rate = f.frames, f.samplerate
            read = sum(len(block) for block in f.blocks(blocksize=1 << 16, dtype="float32"))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise MediaError("The file is damaged or cut short.", code="media_truncated") from exc
    if read == 0 or read < 0.9 * declared:
        raise MediaError("The file holds less audio than its header declares: it is cut short.",
                         code="media_truncated")
    return read / rate


@dataclass(frozen=True)
class ReceivedMedia:
    path: Path
    info: MediaInfo


class Validator(Protocol):
    def __call__(self, path: str | os.PathLike[str], *, kind: MediaKind, limits: MediaLimits) -> MediaInfo: ...


def receive_upload(chunks: Iterable[bytes] | BinaryIO, *, kind: MediaKind, limits: MediaLimits,
                   dest_dir: str | os.PathLike[str], validator: Validator | None = None) -> ReceivedMedia:
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
        # The web process passes mediakit.isolate.validate_isolated: untrusted bytes are decoded in a
        # child process with a memory ceiling, never in the process that serves requests.
        info = (validator or validate_media)(tmp_path, kind=kind, limits=limits)
        return ReceivedMedia(path=tmp_path, info=info)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


