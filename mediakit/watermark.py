"""An invisible watermark holding a 64-bit job id, that survives re-encoding and downscaling.

How it is built (the numbers come from ``bench/provenance.py``; see its docstring):

- the pixels: invisible-watermark's ``dwtDctSvd`` (quantisation of the largest singular value of
  the DCT of blocks of the Haar-DWT approximation of the U channel). Its default (4x4 blocks, step
  36) survived CRF 23 but not a 480p copy (bit error rate 0.16-0.29 a frame after scaling back:
  4x4 blocks are finer than 480p's chroma). 8x8 blocks (16x16 pixels) with step 80 have the same
  PSNR (~40 dB on real footage, ~37 dB on flat graphics) and read back from 480p copies (0.03-0.12).
  At ~110-160 ms a 720p frame only a subset of frames is marked: runs of ``run`` consecutive
  frames every ``period`` frames, at most ``max_frames`` (64 by default: ~8 s of CPU a video).
- the code: the 8-byte payload plus ``nsym`` Reed-Solomon parity bytes (``reedsolo``), 128 bits a
  frame with the default ``nsym=8``; each bit is spread over ~28 blocks of a 720p frame.
- the reading: every scheduled frame gives a soft score per bit (the share of its blocks that say
  1); frames vote with a steep weight of their own strength (see :func:`vote`), so frames whose
  mark the re-encoder crushed barely count; Reed-Solomon then corrects what the vote got wrong,
  trying the least reliable bytes as erasures when plain error correction fails.
- scaling: the reader tries the frame as it is, then resized back to the usual heights (a 480p
  copy of a 720p video is read at 720p), until one size decodes.
- the schedule is by frame index from the first frame: a copy that drops or adds frames at the
  start, or changes the frame rate, is not read (the C2PA manifest is gone from such copies too).

Only PyAV, numpy, OpenCV (already there for mediapipe), PyWavelets and the two small libraries;
no Django. invisible-watermark's package imports torch at import time (for its rivaGan method,
which we do not use), so this module imports it lazily.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mediakit.errors import MediaError
from mediakit.progress import ProgressFn, null_progress

PAYLOAD_BYTES = 8
# Heights a video is commonly scaled to; the reader also tries the frame's own size.
COMMON_HEIGHTS = (360, 480, 512, 540, 576, 720, 1080, 1440, 2160)


@dataclass(frozen=True)
class WatermarkParams:
    """The schedule and strength. Writer and reader must agree; the defaults are what Encore uses."""

    scale: int = 80          # quantisation step of the blocks' largest singular value
    block: int = 8           # block side in the DWT approximation (8: 16x16 pixels)
    channel: int = 1         # 0: Y (luma), 1: U (the library's default)
    nsym: int = 8            # Reed-Solomon parity bytes: corrects 4 byte errors, or 8 erasures
    period: int = 30         # a run of marked frames starts every `period` frames ...
    run: int = 2             # ... and lasts `run` frames
    offset: int = 15         # first run starts here (after the first cut, off the label's first frame)
    max_frames: int = 64     # at most this many frames are marked (embedding cost is per frame)

    @property
    def scales(self) -> list[int]:
        return [self.scale if c == self.channel else 0 for c in range(3)]

    @property
    def n_bits(self) -> int:
        return 8 * (PAYLOAD_BYTES + self.nsym)

    def is_marked(self, index: int) -> bool:
        """Is frame ``index`` (0-based, in display order) one the writer marks?"""
        if index < self.offset:
            return False
        k = index - self.offset
        return k % self.period < self.run and (k // self.period) * self.run + k % self.period < self.max_frames

    def marked_indices(self, n_frames: int) -> list[int]:
        return [i for i in range(n_frames) if self.is_marked(i)]


DEFAULT_PARAMS = WatermarkParams()


def job_watermark_id(job_id: str | uuid.UUID) -> int:
    """The 64-bit id a job's files carry: the first 8 bytes of its UUID (or a 64-bit integer string)."""
    if isinstance(job_id, uuid.UUID):
        return job_id.int >> 64
    text = str(job_id)
    try:
        return uuid.UUID(text).int >> 64
    except ValueError:
        value = int(text, 0)
        if not 0 <= value < 1 << 64:
            raise ValueError(f"A watermark id must fit in 64 bits, got {text}") from None
        return value


# ---------------------------------------------------------------------------------------------
# Coding


def encode_payload(payload: int, params: WatermarkParams = DEFAULT_PARAMS) -> np.ndarray:
    """64-bit id -> the codeword bits written into every marked frame (uint8 0/1, MSB first)."""
    from reedsolo import RSCodec

    data = payload.to_bytes(PAYLOAD_BYTES, "big")
    codeword = bytes(RSCodec(params.nsym).encode(data))
    return np.unpackbits(np.frombuffer(codeword, dtype=np.uint8))


@dataclass(frozen=True)
class Decoded:
    payload: int | None
    corrected_bits: int          # codeword bits the vote had wrong and Reed-Solomon fixed
    erasures: int                # bytes treated as erasures (0 when plain correction worked)


def decode_votes(votes: np.ndarray, params: WatermarkParams = DEFAULT_PARAMS) -> Decoded:
    """Signed soft votes per codeword bit (>0 means 1) -> the payload, or None when uncorrectable."""
    from reedsolo import ReedSolomonError, RSCodec

    codec = RSCodec(params.nsym)
    hard = (votes > 0).astype(np.uint8)
    received = bytearray(np.packbits(hard).tobytes())
    # Byte reliability: its least certain bit. When plain correction fails, the least reliable bytes
    # are tried as erasures (RS fixes twice as many erasures as errors), but at most half the parity:
    # with n erasures a random word "decodes" with probability ~1e-7 (n=0), ~2e-5 (n=2), ~1e-3 (n=4)
    # for nsym=8, and ~1 at n=nsym, so more erasures would turn noise into an id.
    reliability = np.abs(votes).reshape(-1, 8).min(axis=1)
    order = [int(i) for i in np.argsort(reliability)]
    for n_erased in range(0, params.nsym // 2 + 1, 2):
        erase = sorted(order[:n_erased])
        try:
            message, full, _ = codec.decode(received, erase_pos=erase or None)
        except ReedSolomonError:
            continue
        fixed_bits = np.unpackbits(np.frombuffer(bytes(full), dtype=np.uint8))
        return Decoded(payload=int.from_bytes(bytes(message), "big"),
                       corrected_bits=int(np.count_nonzero(fixed_bits != hard)), erasures=n_erased)
    return Decoded(payload=None, corrected_bits=0, erasures=0)


# ---------------------------------------------------------------------------------------------
# Pixels


def can_carry(width: int, height: int) -> bool:
    """invisible-watermark refuses frames under 256x256 pixels."""
    return width * height >= 256 * 256


def embed_frame(frame: np.ndarray, bits: np.ndarray, params: WatermarkParams = DEFAULT_PARAMS) -> np.ndarray:
    """Mark one RGB uint8 frame (at least 256x256) with ``bits`` using invisible-watermark's dwtDctSvd."""
    from imwatermark.dwtDctSvd import EmbedDwtDctSvd

    if not can_carry(frame.shape[1], frame.shape[0]):
        raise MediaError("A frame must be at least 256x256 pixels to carry the watermark.",
                         code="provenance_unsupported")
    embedder = EmbedDwtDctSvd([int(b) for b in bits], wmLen=len(bits), scales=params.scales, block=params.block)
    bgr = np.ascontiguousarray(frame[..., ::-1])
    marked = embedder.encode(bgr)
    return np.ascontiguousarray(np.clip(marked, 0, 255).astype(np.uint8)[..., ::-1])


def frame_scores(frame: np.ndarray, params: WatermarkParams = DEFAULT_PARAMS) -> np.ndarray:
    """Per codeword bit, the share of the frame's blocks that read 1 (0.5: no information)."""
    import cv2
    import pywt
    from imwatermark.dwtDctSvd import EmbedDwtDctSvd

    n_bits = params.n_bits
    # The library's decode() thresholds these shares into bits; the vote needs the shares themselves,
    # so the same steps (YUV, Haar DWT of U, its decode_frame) are run here without the threshold.
    reader = EmbedDwtDctSvd([], wmLen=n_bits, scales=params.scales, block=params.block)
    rows, cols = frame.shape[0] // 4 * 4, frame.shape[1] // 4 * 4
    yuv = cv2.cvtColor(np.ascontiguousarray(frame[..., ::-1]), cv2.COLOR_BGR2YUV)
    approx, _ = pywt.dwt2(yuv[:rows, :cols, params.channel], "haar")
    scores: list[list[float]] = [[] for _ in range(n_bits)]
    scores = reader.decode_frame(approx, params.scale, scores)
    return np.array([np.mean(s) if s else 0.5 for s in scores], dtype=np.float64)


class FrameMarker:
    """Marks the scheduled frames of a stream as they go by (for renderers and assembly).

    ``marker = FrameMarker(job_watermark_id(job.pk))``; ``for frame in marker.apply(frames): encode(frame)``.
    Frame indices count from the first frame passed in, which must be the video's first frame.
    """

    def __init__(self, payload: int, params: WatermarkParams = DEFAULT_PARAMS) -> None:
        self.payload = payload
        self.params = params
        self.bits = encode_payload(payload, params)
        self.frames_marked = 0

    def __call__(self, index: int, frame: np.ndarray) -> np.ndarray:
        if not self.params.is_marked(index):
            return frame
        self.frames_marked += 1
        return embed_frame(frame, self.bits, self.params)

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for index, frame in enumerate(frames):
            yield self(index, frame)


@dataclass(frozen=True)
class MarkResult:
    path: Path
    frames_total: int
    frames_marked: int


def watermark_video(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, payload: int,
                    params: WatermarkParams = DEFAULT_PARAMS, crf: int = 18,
                    progress: ProgressFn = null_progress) -> MarkResult:
    """Re-encode ``src``'s video stream with the scheduled frames marked; audio is copied untouched.

    ``dst`` may be ``src`` (the file is replaced atomically). H.264 at CRF 18 keeps the copy close to
    the original; MP4 with faststart so browsers play it while it downloads.
    """
    import av

    source, target = Path(src), Path(dst)
    tmp = target.with_name(f".{target.stem}.marking{target.suffix}")
    marker = FrameMarker(payload, params)
    total = 0
    with av.open(str(source), metadata_errors="ignore") as inp:
        if not inp.streams.video:
            raise MediaError("The file has no video stream to watermark.", code="media_no_video")
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        expected = vin.frames or 0
        rate = vin.average_rate or vin.guessed_rate or Fraction(30)
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            vout = out.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": "veryfast"})
            vout.width, vout.height = vin.codec_context.width, vin.codec_context.height
            vout.pix_fmt = "yuv420p"
            vout.time_base = vin.time_base
            aout = out.add_stream_from_template(ain) if ain is not None else None
            streams = [s for s in (vin, ain) if s is not None]
            for packet in inp.demux(*streams):
                if packet.stream is ain and aout is not None:
                    if packet.dts is None:
                        continue
                    packet.stream = aout
                    out.mux(packet)
                    continue
                for frame in packet.decode():
                    if not isinstance(frame, av.VideoFrame):
                        continue
                    image = frame.to_ndarray(format="rgb24")
                    marked = marker(total, image)
                    new = av.VideoFrame.from_ndarray(marked, format="rgb24")
                    new.pts, new.time_base = frame.pts, frame.time_base
                    for out_packet in vout.encode(new):
                        out.mux(out_packet)
                    total += 1
                    if expected and total % 30 == 0:
                        progress("watermark", min(total / expected, 1.0), f"{total} frames")
            for out_packet in vout.encode():
                out.mux(out_packet)
    os.replace(tmp, target)
    progress("watermark", 1.0, f"{marker.frames_marked} of {total} frames marked")
    return MarkResult(path=target, frames_total=total, frames_marked=marker.frames_marked)


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class WatermarkReading:
    """What the reader found. ``job_id_prefix`` is the 64-bit id as 16 hex digits (the first 16 of a UUID)."""

    found: bool
    payload: int | None
    job_id_prefix: str | None
    confidence: float            # weighted share of frame votes agreeing with the decoded codeword, 0..1
    frames_read: int
    frames_voting: int           # frames whose bits agree with the decoded codeword (>= 75 %)
    corrected_bits: int
    raw_bit_errors: int | None   # against the decoded codeword, before correction (None when not found)
    decoded_at: tuple[int, int] | None  # frame size (width, height) the marks were read at

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def vote(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frames, bits) shares -> signed votes per bit and each frame's weight.

    Each frame's votes are centred on its own mean first: a frame with flat chroma (a grey or
    single-colour picture) reads every bit the same way, which says nothing about the codeword, and
    centring takes that away (a marked frame's bits are roughly balanced, so their signs survive).
    A frame's weight is its mean centred strength to the 4th power: a re-encoder keeps the mark on
    some frames and crushes it on others (x264's B-frames), and the steep weight lets the kept ones
    decide. Measured on 480p CRF 23 copies of real footage (bench/provenance.py): with 16 frames,
    bit errors after the vote fell from 6-8 (linear weight) to 5 (squared) to 2-3 (4th power).
    """
    signed = 2.0 * scores - 1.0
    centred = signed - signed.mean(axis=1, keepdims=True)
    weights = np.abs(centred).mean(axis=1) ** 4
    return (weights[:, None] * centred).sum(axis=0), weights


def read_frames(frames: Iterable[np.ndarray], params: WatermarkParams = DEFAULT_PARAMS) -> WatermarkReading:
    """Read the watermark from frames already chosen (all at the size they were marked at)."""
    rows = [frame_scores(f, params) for f in frames]
    if not rows:
        return WatermarkReading(False, None, None, 0.0, 0, 0, 0, None, None)
    return _reading_from_scores(np.stack(rows), size=None, params=params)


def _reading_from_scores(scores: np.ndarray, *, size: tuple[int, int] | None,
                         params: WatermarkParams) -> WatermarkReading:
    votes, weights = vote(scores)
    decoded = decode_votes(votes, params) if weights.sum() > 0 else Decoded(None, 0, 0)
    if decoded.payload is None:
        return WatermarkReading(False, None, None, 0.0, len(scores), 0, 0, None, size)
    codeword = encode_payload(decoded.payload, params).astype(bool)
    centred = scores - scores.mean(axis=1, keepdims=True)
    agree = ((centred > 0) == codeword[None, :]).mean(axis=1)
    confidence = float((weights * agree).sum() / weights.sum())
    # A frame "votes" for the id when at least 3 in 4 of its bits agree with it (unmarked: ~1 in 2).
    voting = int(np.count_nonzero(agree >= 0.75))
    raw_errors = int(np.count_nonzero((votes > 0) != codeword))
    return WatermarkReading(True, decoded.payload, f"{decoded.payload:016x}", round(confidence, 4), len(scores),
                            voting, decoded.corrected_bits, raw_errors, size)


def _candidate_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The frame's own size first, then the same aspect ratio at 720 (Encore's default), then at the
    common heights above the frame's own, smallest first, then those below it."""
    sizes = [(width, height)]
    above = sorted(h for h in COMMON_HEIGHTS if h > height)
    below = sorted((h for h in COMMON_HEIGHTS if h < height), reverse=True)
    for h in (720, *above, *below):
        w = int(round(width * h / height / 2)) * 2
        if abs(width / height - 16 / 9) < 0.01:
            w = int(round(h * 16 / 9 / 2)) * 2   # 854x480 came from 1280x720, not 1281x720
        if (w, h) not in sizes and w * h >= 256 * 256:
            sizes.append((w, h))
    return sizes


def scheduled_frames(path: str | os.PathLike[str], params: WatermarkParams = DEFAULT_PARAMS,
                     limit: int | None = None) -> list[np.ndarray]:
    """Decode only the frames the writer marks (by display index), as RGB arrays."""
    import av

    wanted_total = params.max_frames if limit is None else min(limit, params.max_frames)
    frames: list[np.ndarray] = []
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise MediaError("This file is not a video we can read.", code="media_unreadable") from exc
    with container:
        if not container.streams.video:
            raise MediaError("The file has no video stream.", code="media_no_video")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if params.is_marked(index):
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) >= wanted_total:
                    break
    return frames


def read_watermark(path: str | os.PathLike[str], params: WatermarkParams = DEFAULT_PARAMS,
                   progress: ProgressFn = null_progress) -> WatermarkReading:
    """Find the job id in a video: scheduled frames, each candidate size, confidence-weighted vote."""
    import cv2

    frames = scheduled_frames(path, params)
    progress("watermark", 0.2, f"{len(frames)} frames to read")
    if not frames:
        return WatermarkReading(False, None, None, 0.0, 0, 0, 0, None, None)
    height, width = frames[0].shape[:2]
    native = _reading_from_scores(np.stack([frame_scores(f, params) for f in frames]), size=(width, height),
                                  params=params)
    progress("watermark", 0.6, "read at the video's own size")
    if native.found:
        return native
    # Not at this size: maybe the video was scaled. Try the usual sizes, Encore's own 720p first, then
    # larger ones (copies are scaled down more often than up), each with every frame, until one decodes.
    last = native
    for size in _candidate_sizes(width, height)[1:]:
        scores = np.stack([frame_scores(cv2.resize(f, size, interpolation=cv2.INTER_CUBIC), params) for f in frames])
        last = _reading_from_scores(scores, size=size, params=params)
        progress("watermark", 0.8, f"tried {size[0]}x{size[1]}")
        if last.found:
            break
    progress("watermark", 1.0, "done")
    return last
