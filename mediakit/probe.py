"""What a media file really is, read from its content (never from its name).

FFmpeg (through PyAV) reads almost everything. libsndfile is asked second, for audio FFmpeg cannot
parse: a WAV or AIFF file behind a large ID3v2 tag (taggers write cover art there) makes FFmpeg's
format probe see only the tag, then fail or take the file for MP3, while libsndfile skips the tag
and reads the real container.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import av.container
import av.stream
import soundfile as sf

from mediakit.errors import MediaError

Reader = Literal["ffmpeg", "sndfile"]


@dataclass(frozen=True)
class AudioStreamInfo:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class VideoStreamInfo:
    codec: str
    width: int
    height: int
    fps: float
    frame_count: int | None


@dataclass(frozen=True)
class MediaInfo:
    path: str
    size_bytes: int
    container: str
    duration_s: float
    audio: AudioStreamInfo | None
    video: VideoStreamInfo | None
    reader: Reader = "ffmpeg"        # which library decodes it (see the module docstring)

    @property
    def format_names(self) -> set[str]:
        # FFmpeg names some demuxers by family ("mov,mp4,m4a,3gp,3g2,mj2").
        return set(self.container.split(","))


# Image and still-picture demuxers: a PNG or JPEG "video" is not a video.
_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "bmp_pipe", "gif", "webp_pipe", "tiff_pipe",
                  "apng", "gif_pipe", "svg_pipe", "mjpeg"}


def main_video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The first video stream that is moving pictures, not an MP3's or M4A's cover art."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Open a file with FFmpeg (through PyAV), or libsndfile, and describe its container and streams.

    Raises MediaError(media_unreadable) when neither can make sense of the bytes.
    """
    p = Path(path)
    size = p.stat().st_size
    if size == 0:
        raise MediaError("The file is empty.", code="media_empty")
    if tagged_non_mp3(p):
        return _probe_sndfile(p, size)
    try:
        container = av.open(str(p), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        if _looks_like_cut_mp4(p):
            raise MediaError("The file is cut short: its index is missing.", code="media_truncated") from exc
        try:
            return _probe_sndfile(p, size)
        except MediaError:
            raise MediaError("This file is not an audio or video file we can read.",
                             code="media_unreadable") from exc
    with container:
        fmt = container.format.name
        duration = float(container.duration) / av.time_base if container.duration else 0.0
        audio_info: AudioStreamInfo | None = None
        video_info: VideoStreamInfo | None = None
        if container.streams.audio:
            a = container.streams.audio[0]
            ctx = a.codec_context
            audio_info = AudioStreamInfo(codec=ctx.name, sample_rate=int(ctx.sample_rate or 0),
                                         channels=int(ctx.channels or 0))
            if not duration and a.duration and a.time_base:
                duration = float(a.duration * a.time_base)
        v = main_video_stream(container)
        if v is not None:
            rate = v.average_rate or v.guessed_rate or v.base_rate
            video_info = VideoStreamInfo(codec=v.codec_context.name, width=int(v.codec_context.width),
                                         height=int(v.codec_context.height),
                                         fps=float(rate) if rate else 0.0,
                                         frame_count=int(v.frames) if v.frames else None)
            if not duration and v.duration and v.time_base:
                duration = float(v.duration * v.time_base)
    return MediaInfo(path=str(p), size_bytes=size, container=fmt, duration_s=duration,
                     audio=audio_info, video=video_info)


def tagged_non_mp3(path: Path) -> bool:
    """An ID3v2 tag in front of audio that libsndfile reads as another container (WAV, AIFF...)."""
    with path.open("rb") as fh:
        if fh.read(3) != b"ID3":
            return False
    try:
        return sf.info(str(path)).format != "MP3"
    except (sf.LibsndfileError, RuntimeError):
        return False


def _probe_sndfile(path: Path, size: int) -> MediaInfo:
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise MediaError("This file is not an audio file we can read.", code="media_unreadable") from exc
    return MediaInfo(path=str(path), size_bytes=size, container=info.format.lower(),
                     duration_s=float(info.frames) / info.samplerate if info.samplerate else 0.0,
                     audio=AudioStreamInfo(codec=info.subtype.lower(), sample_rate=int(info.samplerate),
                                           channels=int(info.channels)),
                     video=None, reader="sndfile")


def _looks_like_cut_mp4(path: Path) -> bool:
    # An MP4/MOV begins with an 'ftyp' box; if FFmpeg still cannot open it, its 'moov' index (often
    # written last) is missing: the upload stopped early.
    with path.open("rb") as fh:
        head = fh.read(12)
    return len(head) == 12 and head[4:8] == b"ftyp"


def wav_declared_shortfall(path: str | os.PathLike[str]) -> int:
    """Bytes missing from a RIFF/WAVE file's data chunk compared with what its header declares.

    FFmpeg quietly plays a cut WAV as a shorter one; the header still says how long it should be.
    """
    with Path(path).open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        size = Path(path).stat().st_size
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return 0
            chunk_id, chunk_size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if chunk_id == b"data":
                # 0 and 0xFFFFFFFF mean "unknown length" (streamed WAV): nothing to compare with.
                if chunk_size in (0, 0xFFFFFFFF):
                    return 0
                return max(0, fh.tell() + chunk_size - size)
            fh.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)


def is_image_container(info: MediaInfo) -> bool:
    return bool(info.format_names & _IMAGE_FORMATS)
