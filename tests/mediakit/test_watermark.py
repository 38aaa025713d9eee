from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from mediakit.encode import encode_mp4
from mediakit.watermark import (
    DEFAULT_PARAMS,
    FrameMarker,
    WatermarkParams,
    decode_votes,
    encode_payload,
    frame_scores,
    job_watermark_id,
    read_watermark,
    vote,
    watermark_video,
)
from musicvideo.testing.footage import compositor_like, real_footage

PAYLOAD = 0x0123456789ABCDEF
# The Encore schedule squeezed into 1.6 s of video so the test stays short: 24 marked frames.
PARAMS = WatermarkParams(period=4, run=2, offset=0, max_frames=24)


def reencode(src: Path, dst: Path, *, crf: int, size: tuple[int, int] | None = None) -> Path:
    """What a re-upload does: decode, optionally scale (area filter), x264 again at ``crf``."""

    def frames() -> Iterable[np.ndarray]:
        with av.open(str(src)) as container:
            for frame in container.decode(video=0):
                image = frame.to_ndarray(format="rgb24")
                yield image if size is None else cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    return encode_mp4(dst, frames(), fps=30, crf=crf, preset="medium")


def test_job_id_is_the_first_64_bits_of_the_uuid() -> None:
    job = uuid.UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427")
    assert job_watermark_id(job) == 0x1B4E28BA2FA141D2
    assert job_watermark_id(str(job)) == 0x1B4E28BA2FA141D2
    assert job_watermark_id("0x10") == 16
    with pytest.raises(ValueError, match="64 bits"):
        job_watermark_id(str(1 << 64))


def test_reed_solomon_corrects_four_byte_errors_and_refuses_five() -> None:
    bits = encode_payload(PAYLOAD)
    assert bits.shape == (128,)
    votes = np.where(bits == 1, 1.0, -1.0)
    assert decode_votes(votes).payload == PAYLOAD
    damaged = votes.copy()
    for byte in (0, 5, 9, 15):                 # one wrong bit in each of four bytes
        damaged[8 * byte + 3] *= -1
    decoded = decode_votes(damaged)
    assert decoded.payload == PAYLOAD and decoded.corrected_bits == 4 and decoded.erasures == 0
    worse = damaged.copy()
    worse[8 * 12 + 1] *= -1                    # a fifth wrong byte, but its vote is the weakest
    worse[8 * 12 + 1] *= 0.1
    decoded = decode_votes(worse)
    assert decoded.payload == PAYLOAD and decoded.erasures > 0
    hopeless = votes.copy()
    hopeless[[8 * b for b in range(7)]] *= -1  # seven strongly wrong bytes
    assert decode_votes(hopeless).payload is None


def test_noise_rarely_decodes_to_an_id() -> None:
    rng = np.random.default_rng(7)
    false_ids = sum(decode_votes(rng.normal(size=128)).payload is not None for _ in range(300))
    assert false_ids <= 3     # ~1e-3 per try with up to four erasures (see decode_votes)


def test_vote_ignores_frames_that_read_every_bit_alike() -> None:
    bits = encode_payload(PAYLOAD).astype(float)
    marked = 0.5 + 0.3 * (2 * bits - 1)
    flat = np.zeros_like(bits)                 # a grey frame: every block reads 0
    votes, weights = vote(np.stack([marked, flat, flat, flat]))
    assert weights[1:].max() == 0.0 and weights[0] > 0.1
    assert decode_votes(votes).payload == PAYLOAD


def test_marker_marks_the_schedule_only() -> None:
    params = WatermarkParams(period=10, run=3, offset=5, max_frames=7)
    assert params.marked_indices(40) == [5, 6, 7, 15, 16, 17, 25]
    frames = [np.full((360, 640, 3), 128, np.uint8) for _ in range(40)]
    marker = FrameMarker(PAYLOAD, params)
    out = list(marker.apply(frames))
    changed = [i for i, (a, b) in enumerate(zip(frames, out, strict=True)) if not np.array_equal(a, b)]
    assert changed == [5, 6, 7, 15, 16, 17, 25] and marker.frames_marked == 7


def test_mark_is_invisible_and_reads_back_from_a_still() -> None:
    frame = next(iter(real_footage(1)))
    marked = FrameMarker(PAYLOAD, DEFAULT_PARAMS).apply([frame] * (DEFAULT_PARAMS.offset + 1))
    last = list(marked)[-1]
    assert cv2.PSNR(frame, last) > 38
    scores = frame_scores(last)
    bits = encode_payload(PAYLOAD)
    centred = scores - scores.mean()
    assert np.count_nonzero((centred > 0) != bits.astype(bool)) == 0


@pytest.mark.parametrize("footage", ["compositor", "real"])
def test_mark_survives_crf23_and_480p(tmp_path: Path, footage: str) -> None:
    source = compositor_like if footage == "compositor" else real_footage
    marker = FrameMarker(PAYLOAD, PARAMS)
    written = encode_mp4(tmp_path / "w.mp4", marker.apply(source(48)), fps=30, crf=18)
    assert marker.frames_marked == 24

    crf23 = read_watermark(reencode(written, tmp_path / "crf23.mp4", crf=23), PARAMS)
    assert crf23.found and crf23.payload == PAYLOAD
    assert crf23.decoded_at == (1280, 720) and crf23.confidence > 0.8

    small = read_watermark(reencode(written, tmp_path / "480p.mp4", crf=23, size=(854, 480)), PARAMS)
    assert small.found and small.payload == PAYLOAD
    assert small.decoded_at == (1280, 720)     # read after scaling back to the size it was marked at
    assert small.job_id_prefix == f"{PAYLOAD:016x}"


def test_unmarked_video_reads_no_id(tmp_path: Path) -> None:
    plain = encode_mp4(tmp_path / "plain.mp4", real_footage(48), fps=30, crf=18)
    reading = read_watermark(plain, PARAMS)
    assert not reading.found and reading.payload is None and reading.frames_read == 24


def test_watermark_video_keeps_audio_and_frame_count(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    src = encode_mp4(tmp_path / "src.mp4", compositor_like(30, width=640, height=360), fps=30,
                     audio=(0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
    result = watermark_video(src, tmp_path / "out.mp4", payload=PAYLOAD, params=PARAMS)
    assert (result.frames_total, result.frames_marked) == (30, 16)
    with av.open(str(src)) as a, av.open(str(result.path)) as b:
        assert b.streams.video[0].frames == 30
        assert b.streams.audio[0].codec_context.name == a.streams.audio[0].codec_context.name
        # Audio packets are copied, not re-encoded.
        assert [bytes(p) for p in a.demux(audio=0) if p.size] == [bytes(p) for p in b.demux(audio=0) if p.size]
    assert read_watermark(result.path, PARAMS).payload == PAYLOAD
