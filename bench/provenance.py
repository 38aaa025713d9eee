"""Provenance bench: what the watermark survives, and what signing, verifying and marking cost.

    .venv/bin/python bench/provenance.py [--json] [--seconds S] [--params scale=36,nsym=8,period=30,run=2]

Footage (musicvideo/testing/footage.py), 720p30: ``compositor`` (a person cut-out over animated
graphics, as the compositor renders) and ``real`` (pans and zooms over skimage's real photographs).
Each is marked with the job's 64-bit id by the writer (FrameMarker, encoded at CRF 18 as assembly
and the soundtrack job do), then attacked:

- ``writer``: the file as written;
- ``crf23``: decoded and re-encoded with x264 CRF 23, preset medium (what a re-upload does);
- ``480p``: scaled to 854x480 (area filter) and re-encoded at CRF 23.

Per condition: the raw bit error rate of single marked frames against the codeword, how many of
the 128 codeword bits come out right after the vote over all marked frames, how many of the 64
payload bits are right after Reed-Solomon, and the fewest marked frames (first k) that decode.
Timings: embedding and reading one 720p frame, signing and verifying a file (C2PA, dev CA). The
machine is shared by several people: timings are noisy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from mediakit.encode import encode_mp4  # noqa: E402
from mediakit.provenance import Claims, dev_ca_ensure, read_manifest, sign_file  # noqa: E402
from mediakit.watermark import (  # noqa: E402
    DEFAULT_PARAMS,
    FrameMarker,
    WatermarkParams,
    _reading_from_scores,
    encode_payload,
    frame_scores,
    read_watermark,
    scheduled_frames,
    vote,
)
from musicvideo.testing.footage import compositor_like, real_footage  # noqa: E402

PAYLOAD = 0x5EC2E7C0FFEE1234


def reencode(src: Path, dst: Path, *, crf: int, size: tuple[int, int] | None = None) -> Path:
    """Decode and encode again with x264 (preset medium, like a default ffmpeg run), optionally resized."""
    import av
    import cv2

    def frames() -> Iterable[np.ndarray]:
        with av.open(str(src)) as container:
            for frame in container.decode(video=0):
                image = frame.to_ndarray(format="rgb24")
                yield image if size is None else cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    return encode_mp4(dst, frames(), fps=30, crf=crf, preset="medium")


def condition_figures(path: Path, params: WatermarkParams, *, size: tuple[int, int]) -> dict[str, Any]:
    import cv2

    frames = scheduled_frames(path, params)
    rows = []
    for f in frames:
        sized = f if (f.shape[1], f.shape[0]) == size else cv2.resize(f, size, interpolation=cv2.INTER_CUBIC)
        rows.append(frame_scores(sized, params))
    scores = np.stack(rows)
    codeword = encode_payload(PAYLOAD, params).astype(bool)
    centred = scores - scores.mean(axis=1, keepdims=True)
    per_frame_ber = ((centred > 0) != codeword[None, :]).mean(axis=1)
    full = _reading_from_scores(scores, size=size, params=params)
    votes, _ = vote(scores)
    bits_right = int(np.count_nonzero((votes > 0) == codeword))
    payload_bits_right = (64 - bin((full.payload or 0) ^ PAYLOAD).count("1")) if full.found else None
    needed = None
    for k in range(1, len(frames) + 1):
        r = _reading_from_scores(scores[:k], size=size, params=params)
        if r.found and r.payload == PAYLOAD:
            needed = k
            break
    reading = read_watermark(path, params)  # the real reader, size search included
    return {"frames_marked_read": len(frames), "single_frame_ber": round(float(per_frame_ber.mean()), 4),
            "single_frame_ber_worst": round(float(per_frame_ber.max()), 4),
            "codeword_bits_right_of_128": bits_right, "payload_bits_right_of_64": payload_bits_right,
            "decoded": bool(reading.found and reading.payload == PAYLOAD), "confidence": reading.confidence,
            "frames_needed": needed, "decoded_at": list(reading.decoded_at) if reading.decoded_at else None}


def measure(seconds: float = 8.0, params: WatermarkParams = DEFAULT_PARAMS) -> dict[str, Any]:
    out: dict[str, Any] = {"params": {"scale": params.scale, "nsym": params.nsym, "period": params.period,
                                      "run": params.run, "max_frames": params.max_frames}}
    n = int(seconds * 30)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, source in (("compositor", compositor_like), ("real", real_footage)):
            marker = FrameMarker(PAYLOAD, params)
            times: list[float] = []

            def timed(frames: Iterable[np.ndarray], marker: FrameMarker = marker,
                      times: list[float] = times) -> Iterable[np.ndarray]:
                for i, frame in enumerate(frames):
                    t0 = time.perf_counter()
                    marked = marker(i, frame)
                    if params.is_marked(i):
                        times.append(time.perf_counter() - t0)
                    yield marked

            writer = encode_mp4(work / f"{name}.mp4", timed(source(n)), fps=30, crf=18)
            out[f"{name}_embed_ms_per_720p_frame"] = round(1000 * statistics.median(times), 1)
            out[f"{name}_frames_marked"] = marker.frames_marked
            crf23 = reencode(writer, work / f"{name}-crf23.mp4", crf=23)
            small = reencode(writer, work / f"{name}-480p.mp4", crf=23, size=(854, 480))
            for label, path in (("writer", writer), ("crf23", crf23), ("480p", small)):
                out[f"{name}_{label}"] = condition_figures(path, params, size=(1280, 720))
        frame = next(iter(real_footage(1)))
        t0 = time.perf_counter()
        for _ in range(3):
            frame_scores(frame, params)
        out["read_ms_per_720p_frame"] = round(1000 * (time.perf_counter() - t0) / 3, 1)
        t0 = time.perf_counter()
        read_watermark(work / "real-480p.mp4", params)
        out["read_video_s"] = round(time.perf_counter() - t0, 2)

        identity = dev_ca_ensure(work / "ca")
        signed = work / "signed.mp4"
        t0 = time.perf_counter()
        sign_file(work / "real.mp4", claims=Claims(job_id="bench"), identity=identity, dest=signed)
        out["sign_s"] = round(time.perf_counter() - t0, 3)
        out["signed_file_mib"] = round(signed.stat().st_size / 2**20, 2)
        t0 = time.perf_counter()
        report = read_manifest(signed, trust_anchors_pem=identity.trust_anchors_pem)
        out["verify_manifest_s"] = round(time.perf_counter() - t0, 3)
        out["manifest_state"] = report.validation_state
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--params", default="", help="override, e.g. scale=48,run=3")
    args = parser.parse_args()
    params = DEFAULT_PARAMS
    if args.params:
        params = replace(params, **{k: int(v) for k, v in (kv.split("=") for kv in args.params.split(","))})
    figures = measure(args.seconds, params)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
