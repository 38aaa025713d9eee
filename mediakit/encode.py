"""Encode H.264/AAC MP4 with PyAV and put an audio track onto an existing video."""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Literal, cast

import av
import av.container
import numpy as np
from av.sidedata.sidedata import SideDataContainer
from av.sidedata.sidedata import Type as SideDataType

from mediakit.audio import decode_audio
from mediakit.errors import MediaError
from mediakit.probe import main_video_stream


def encode_mp4(path: str | os.PathLike[str], frames: Iterable[np.ndarray], *, fps: float,
               audio: np.ndarray | None = None, sample_rate: int = 44100, crf: int = 20,
               preset: str = "veryfast") -> Path:
    """Write RGB uint8 frames (and optional float audio, (n,) or (2, n)) as an H.264/AAC MP4.

    Audio is trimmed to the video's length: a music video must end with its last frame.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.mp4")
    rate = Fraction(fps).limit_denominator(1001)
    n_frames = 0
    with av.open(str(tmp), mode="w", format="mp4") as container:
        vstream: av.VideoStream | None = None
        astream = None
        if audio is not None:
            astream = _aac_stream(container, sample_rate)
        for image in frames:
            if vstream is None:
                h, w = image.shape[:2]
                vstream = container.add_stream("libx264", rate=rate,
                                               options={"crf": str(crf), "preset": preset})
                vstream.width, vstream.height = w - w % 2, h - h % 2
                vstream.pix_fmt = "yuv420p"
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: vstream.height, : vstream.width]),
                                            format="rgb24")
            for packet in vstream.encode(vf):
                container.mux(packet)
            n_frames += 1
        if vstream is None:
            raise ValueError("encode_mp4 needs at least one frame")
        for packet in vstream.encode():
            container.mux(packet)
        if astream is not None and audio is not None:
            n_samples = int(round(n_frames / float(rate) * sample_rate))
            _encode_audio(container, astream, audio, sample_rate, n_samples)
    os.replace(tmp, out)
    return out


def _aac_stream(container: av.container.OutputContainer, sample_rate: int) -> av.AudioStream:
    # The "fast" coder halves AAC encoding time against the default two-loop search; at 192 kb/s
    # stereo the difference is not audible, and encoding is a large share of a soundtrack's time.
    stream = container.add_stream("aac", rate=sample_rate, layout="stereo", options={"aac_coder": "fast"})
    stream.bit_rate = 192_000
    return stream


def _encode_audio(container: av.container.OutputContainer, stream: av.AudioStream, audio: np.ndarray,
                  sample_rate: int, n_samples: int) -> None:
    stereo = np.vstack([audio, audio]) if audio.ndim == 1 else audio[:2]
    if stereo.shape[1] < n_samples:
        stereo = np.pad(stereo, ((0, 0), (0, n_samples - stereo.shape[1])))
    stereo = np.ascontiguousarray(stereo[:, :n_samples], dtype=np.float32)
    chunk = 1024
    for start in range(0, stereo.shape[1], chunk):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(stereo[:, start:start + chunk]), format="fltp",
                                           layout="stereo")
        frame.sample_rate = sample_rate
        frame.pts = start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


MuxMode = Literal["replace", "duck", "mix"]


# Video codecs an MP4 file carries and players play: these are copied packet for packet; anything
# else (MS-MPEG4, MJPEG, ProRes, VP8, Theora, WMV...) is re-encoded to H.264.
MP4_COPY_CODECS = frozenset({"h264", "hevc", "av1", "mpeg4", "vp9"})


def mux_audio(video_path: str | os.PathLike[str], music: np.ndarray, sample_rate: int,
              out_path: str | os.PathLike[str], *, mode: MuxMode = "replace", duck_db: float = -14.0,
              crf: int = 18, preset: str = "veryfast") -> Path:
    """Put ``music`` onto a video as an MP4, copying the video stream untouched where MP4 carries it.

    ``replace`` drops the original sound; ``duck`` keeps it under the music at ``duck_db``; ``mix``
    keeps both at equal level. The music is trimmed or padded to the video's duration. A video
    codec MP4 cannot carry is re-encoded to H.264 (``crf``, ``preset``) with its frame times kept.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.mp4")
    with av.open(str(video_path), metadata_errors="ignore") as src:
        vin = main_video_stream(src)
        if vin is None:
            raise MediaError("The file has no video stream.", code="media_no_video")
        duration = float(src.duration) / av.time_base if src.duration else 0.0
        if not duration and vin.duration and vin.time_base:
            duration = float(vin.duration * vin.time_base)
        has_audio = bool(src.streams.audio)
    track = music if music.ndim == 2 else np.vstack([music, music])
    n = int(round(duration * sample_rate))
    if has_audio and mode != "replace":
        original = decode_audio(video_path, sample_rate=sample_rate, mono=False)
        original = np.pad(original, ((0, 0), (0, max(0, n - original.shape[1]))))[:, :n]
        gain = 10 ** (duck_db / 20) if mode == "duck" else 1.0
        padded = np.pad(track, ((0, 0), (0, max(0, n - track.shape[1]))))[:, :n]
        track = np.clip(padded + gain * original, -1.0, 1.0)
    with av.open(str(video_path), metadata_errors="ignore") as src, av.open(str(tmp), "w", format="mp4") as dst:
        vin = main_video_stream(src)
        assert vin is not None
        # canonical_name is the codec, not the decoder ("av1", not "libdav1d").
        if vin.codec_context.codec.canonical_name in MP4_COPY_CODECS:
            vout = dst.add_stream_from_template(vin, opaque=True)
            astream = _aac_stream(dst, sample_rate)
            for packet in src.demux(vin):
                if packet.dts is None:
                    continue
                packet.stream = vout
                dst.mux(packet)
        else:
            astream = _aac_stream(dst, sample_rate)
            _reencode_video(src, vin, dst, crf=crf, preset=preset)
        _encode_audio(dst, astream, track, sample_rate, n)
    os.replace(tmp, out)
    return out


def _reencode_video(src: av.container.InputContainer, vin: av.VideoStream, dst: av.container.OutputContainer, *,
                    crf: int, preset: str) -> None:
    """Decode ``vin`` (skipping undecodable packets) and encode it as H.264, keeping frame times."""
    from mediakit.video import decode_tolerant

    rate = vin.average_rate or vin.guessed_rate or vin.base_rate or Fraction(25)
    width, height = vin.codec_context.width, vin.codec_context.height
    vout = dst.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": preset})
    vout.width, vout.height = width - width % 2, height - height % 2
    vout.pix_fmt = "yuv420p"
    # Frame times in the source's own clock, so variable frame rates and gaps survive.
    tb = vin.time_base or Fraction(1, 1000)
    vout.codec_context.time_base = tb
    last_pts = -1
    for index, frame in enumerate(decode_tolerant(src, vin)):
        if index == 0 and (matrix := display_matrix(frame)) is not None:
            vout.set_display_matrix(matrix)
        pts = frame.pts if frame.pts is not None else int(round(index / float(rate) / float(tb)))
        pts = max(pts, last_pts + 1)         # the encoder needs strictly increasing times
        out = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
        out.pts, out.time_base = pts, tb
        for packet in vout.encode(out):
            dst.mux(packet)
        last_pts = pts
    for packet in vout.encode(None):
        dst.mux(packet)


def display_matrix(frame: av.VideoFrame) -> list[int] | None:
    """The frame's display matrix (rotation and mirroring; 9 integers in FFmpeg's layout), or None
    where it has none or the identity.

    A phone's portrait clip is stored landscape with a matrix that turns it upright; the copy path
    keeps that matrix with the codec parameters, and a re-encoded stream without it plays sideways.
    """
    # Looked up by type, not iterated: PyAV 18.1.1 made iteration yield the types (a Mapping's keys)
    # where earlier releases yielded the entries. Older stubs type side_data as a TypedDict.
    side = cast(SideDataContainer, frame.side_data).get(SideDataType.DISPLAYMATRIX)
    if side is None or len(bytes(side)) != 36:
        return None
    values = [int(v) for v in np.frombuffer(bytes(side), dtype="<i4")]
    return None if values == IDENTITY_MATRIX else values


# FFmpeg's display matrix in 16.16 fixed point (the last entry 2.30): no rotation, no mirroring.
IDENTITY_MATRIX = [1 << 16, 0, 0, 0, 1 << 16, 0, 0, 0, 1 << 30]
