"""Video and audio files in the codecs people's cameras, phones and editors write, made with FFmpeg.

Nothing is downloaded or committed: each file is generated in a test's temporary folder with the
ffmpeg program (Debian's, listed in tools/system-packages.txt) or PyAV.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

import av
import numpy as np

# encoder, file extension, pixel format, the codec name FFmpeg's decoder reports
VIDEO_CODECS = [
    ("mpeg4", "avi", "yuv420p", "mpeg4"),               # MPEG-4 Part 2 (DivX/Xvid)
    ("msmpeg4v3", "avi", "yuv420p", "msmpeg4"),         # MS-MPEG4 v3 (DivX 3)
    ("msmpeg4v2", "avi", "yuv420p", "msmpeg4v2"),
    ("mjpeg", "avi", "yuvj420p", "mjpeg"),              # cameras' Motion JPEG
    ("libvpx", "webm", "yuv420p", "vp8"),
    ("libvpx-vp9", "webm", "yuv420p", "vp9"),
    ("libaom-av1", "mkv", "yuv420p", "libdav1d"),       # AV1, read by dav1d
    ("libx265", "mp4", "yuv420p", "hevc"),              # phones' HEVC
    ("prores_ks", "mov", "yuv422p10le", "prores"),      # editors' ProRes in QuickTime
    ("wmv2", "asf", "yuv420p", "wmv2"),
    ("libtheora", "ogg", "yuv420p", "theora"),
    ("mpeg2video", "mpg", "yuv420p", "mpeg2video"),
]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def write_coded_video(path: Path, encoder: str, pix_fmt: str, *, frames: int = 12, fps: int = 12,
                      with_audio: bool = False) -> Path:
    """A moving test pattern, 160x120, ``frames`` long, in ``encoder``'s codec."""
    audio = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={frames / fps}"] if with_audio else []
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size=160x120:rate={fps}", *audio, "-frames:v", str(frames),
           "-c:v", encoder, "-pix_fmt", pix_fmt, *(["-shortest"] if with_audio else []), str(path))
    return path


def write_song_with_cover(path: Path, tmp: Path, audio_encoder: str) -> Path:
    """A song file whose only "video" stream is its cover picture (an attached picture)."""
    ffmpeg("-f", "lavfi", "-i", "color=c=red:size=64x64", "-frames:v", "1", str(tmp / "cover.png"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-i", str(tmp / "cover.png"), "-map", "0:a",
           "-map", "1:v", "-c:a", audio_encoder, "-c:v", "mjpeg", "-disposition:v", "attached_pic", str(path))
    return path


def with_id3_cover(src: Path, dst: Path, *, picture_bytes: int = 300_000) -> Path:
    """``src`` behind an ID3v2.3 tag holding a large cover picture, as some taggers write WAV and AIFF."""
    def synchsafe(n: int) -> bytes:
        return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])

    payload = b"\x00image/jpeg\x00\x03\x00" + os.urandom(picture_bytes)
    frame = b"APIC" + len(payload).to_bytes(4, "big") + b"\x00\x00" + payload
    dst.write_bytes(b"ID3\x03\x00\x00" + synchsafe(len(frame)) + frame + src.read_bytes())
    return dst


def write_avi_with_damaged_ac3(path: Path, tmp: Path, *, garbage: bool = False, seconds: float = 3.0) -> Path:
    """An MPEG-4 AVI whose AC3 track starts mid-frame, as in a clip cut out of a longer film.

    The first audio chunk holds only the tail of an AC3 frame (no sync word): FFmpeg reports
    "Invalid data" for it and decodes the rest. With ``garbage`` every audio chunk is noise.
    """
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds}", "-ac", "2", "-ar", "48000", "-c:a", "ac3",
           "-b:a", "192k", str(tmp / "track.ac3"))
    data = (tmp / "track.ac3").read_bytes()[39:]        # 192 kbit/s frames are 768 bytes: cut into the first
    if garbage:
        data = np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes()
    fps = 12
    with av.open(str(path), "w", format="avi") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("ac3", rate=48000, layout="stereo")
        audio.bit_rate = 192000
        for i in range(int(seconds * fps)):
            image = np.full((48, 64, 3), (i * 7) % 256, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        bounds = [0, 729, *range(729 + 768, len(data), 768), len(data)]
        time_base = audio.time_base
        assert time_base is not None
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            packet = av.Packet(data[lo:hi])
            packet.stream = audio
            packet.time_base = time_base
            # 768 bytes are one 1536-sample frame at 48 kHz.
            packet.pts = packet.dts = int(lo * 2 / 48000 / time_base) if i else 0
            container.mux(packet)
    return path
