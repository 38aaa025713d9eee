"""CHARCHA liveness bench: APCER per attack type, BPCER on genuine attempts, verdict latency.

    .venv/bin/python bench/liveness.py [--json] [--attempts N] [--seed S] [--workers W]

Every attempt is generated from real photographs (see charcha/vision/attacks.py) with seeded
randomness, verified by the real engine (mediapipe FaceMesh + full-range face detector + dlib),
and counted. APCER of a type = accepted attacks / attempts (target 0); BPCER = rejected genuine
attempts / attempts (target <= 5 %). Latency: a 10 s challenge at 15 fps (about 150 frames)
against the 1 s limit of issue 4, measured twice: the engine alone on decoded frames (640x480 and
320x240, with its stages), and the headline, the verify job a user waits for after the last frame
(stored encrypted 640x480 JPEGs read, decrypted, decoded at 320x240, verified, the verdict and
consent recorded). ``--latency-only`` skips the attack suite. With ``--json`` the last line of
output is one JSON object of the figures.

Nonce replay and concurrent double completion are server-level attacks: when
``bench/liveness_protocol.py`` exists its ``run_protocol_attacks(attempts, seed)`` is run too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LATENCY_LIMIT_S = 1.0
_verifier: Any = None


def _init_worker() -> None:
    global _verifier
    os.environ.setdefault("GLOG_minloglevel", "2")
    from charcha.vision import LivenessVerifier

    _verifier = LivenessVerifier(identity_backend="dlib")


def _run_one(job: tuple[str, int]) -> dict[str, Any]:
    from charcha.testing.attacks import make_attempt

    kind, seed = job
    attempt = make_attempt(kind, seed)
    started = time.perf_counter()
    verdict = _verifier.verify(attempt.frames, attempt.steps)
    return {
        "kind": kind,
        "seed": seed,
        "variant": attempt.variant,
        "frames": len(attempt.frames),
        "passed": verdict.passed,
        "reason": verdict.reason,
        "expected": attempt.expected_reason,
        "acceptable": sorted(attempt.acceptable_reasons),
        "detail": verdict.detail,
        "peaks": [(s.action, s.peak_signal, s.seen) for s in verdict.steps],
        "identity": verdict.identity_distance_max,
        "verify_s": time.perf_counter() - started,
    }


def _latency(repeats: int, seed: int) -> dict[str, float]:
    """Verdict latency of genuine 10 s / 15 fps challenges at 640x480 and 320x240, in this process."""
    import numpy as np

    from charcha.testing.attacks import genuine_attempt
    from charcha.vision import LivenessVerifier

    verifier = LivenessVerifier(identity_backend="dlib")
    out: dict[str, float] = {}
    for width, height in ((640, 480), (320, 240)):
        walls, cpus, frames = [], [], []
        stages: dict[str, list[float]] = defaultdict(list)
        for k in range(repeats):
            attempt = genuine_attempt(seed + 10_000 + k, size=(width, height))
            verifier.verify(attempt.frames, attempt.steps)  # warm caches and tracking graphs
            wall0, cpu0 = time.perf_counter(), time.process_time()
            verdict = verifier.verify(attempt.frames, attempt.steps)
            walls.append(time.perf_counter() - wall0)
            cpus.append(time.process_time() - cpu0)
            frames.append(verdict.frame_count)
            for stage, seconds in verdict.timings_s.items():
                stages[stage].append(seconds)
        tag = f"{width}x{height}"
        out[f"verdict_latency_s_{tag}"] = float(np.median(walls))
        out[f"verdict_latency_min_s_{tag}"] = float(np.min(walls))
        out[f"verdict_cpu_s_{tag}"] = float(np.median(cpus))
        out[f"fps_{tag}"] = float(np.median(frames) / np.median(walls))
        for stage in ("faces", "signals", "identity", "training"):
            out[f"stage_{stage}_s_{tag}"] = float(np.median(stages[stage]))
    verifier.close()
    return out


def _protocol_module() -> Any:
    path = ROOT / "bench" / "liveness_protocol.py"
    if not path.exists():
        return None
    if "liveness_protocol" in sys.modules:
        return sys.modules["liveness_protocol"]
    spec = importlib.util.spec_from_file_location("liveness_protocol", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _protocol(attempts: int, seed: int) -> dict[str, dict[str, Any]] | None:
    module = _protocol_module()
    if module is None:
        return None
    result: dict[str, dict[str, Any]] = module.run_protocol_attacks(attempts=attempts, seed=seed)
    return result


def _job_latency(repeats: int, seed: int) -> dict[str, float] | None:
    module = _protocol_module()
    if module is None:
        return None
    result: dict[str, float] = module.verify_job_latency(repeats=repeats, seed=seed)
    return result


def _attacks(args: argparse.Namespace) -> dict[str, Any]:
    """APCER per attack type and BPCER, over a pool of worker processes."""
    from charcha.testing.attacks import ATTACK_TYPES

    types = [t for t in args.types.split(",") if t] or list(ATTACK_TYPES)
    kinds = ["genuine", *types]
    jobs = [(kind, args.seed + i) for i in range(args.attempts) for kind in kinds]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    ctx = mp.get_context("spawn")  # mediapipe graphs must not be shared across a fork
    with ctx.Pool(args.workers, initializer=_init_worker) as pool:
        for i, row in enumerate(pool.imap_unordered(_run_one, jobs, chunksize=2)):
            rows.append(row)
            if (i + 1) % 50 == 0 or i + 1 == len(jobs):
                print(f"  {i + 1}/{len(jobs)} attempts verified ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    attempts_wall = time.perf_counter() - started

    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)

    figures: dict[str, Any] = {"attempts_per_type": args.attempts, "seed": args.seed}
    print(f"\nCHARCHA liveness bench: {args.attempts} attempts per type, seed {args.seed}")
    print(f"{'attack type':<16}{'attempts':>9}{'accepted':>9}{'APCER':>8}  {'expected reason':<18}{'got it':>7}  other reasons")
    for kind in types:
        group = by_kind[kind]
        accepted = sum(r["passed"] for r in group)
        right = sum(r["reason"] in r["acceptable"] for r in group)
        others = Counter(r["reason"] for r in group if r["reason"] != r["expected"])  # incl. acceptable ones
        apcer = accepted / len(group)
        figures[f"apcer_{kind}"] = apcer
        figures[f"right_reason_rate_{kind}"] = right / len(group)
        print(f"{kind:<16}{len(group):>9}{accepted:>9}{apcer:>8.3f}  {group[0]['expected']:<18}{right:>7}  {dict(others) or ''}")
        for r in group:
            if r["passed"]:
                print(f"    ACCEPTED {kind} seed {r['seed']} ({r['variant']}): {r['detail']}")

    protocol = _protocol(args.attempts, args.seed)
    if protocol is None:
        print("nonce replay, concurrent double completion: server-level, covered by tests/charcha "
              "(bench/liveness_protocol.py not present)")
    else:
        for name, result in protocol.items():
            attempts = int(result.get("attempts", 0))
            accepted = int(result.get("accepted", 0))
            apcer = float(result.get("apcer", accepted / attempts if attempts else 0.0))
            figures[f"apcer_{name}"] = apcer
            controls = f", honest controls accepted {result['controls_accepted']}/{result['controls']}" if "controls" in result else ""
            print(f"{name:<16}{attempts:>9}{accepted:>9}{apcer:>8.3f}  (server level, bench/liveness_protocol.py{controls})")

    genuine = by_kind["genuine"]
    rejected = [r for r in genuine if not r["passed"]]
    bpcer = len(rejected) / len(genuine)
    figures["bpcer"] = bpcer
    figures["genuine_attempts"] = len(genuine)
    print(f"\ngenuine attempts: {len(genuine)}, rejected {len(rejected)}: BPCER {bpcer:.3f} (target <= 0.05)")
    for r in rejected:
        print(f"    REJECTED genuine seed {r['seed']}: {r['reason']}: {r['detail']}")

    # Margins: how far the genuine moves clear their thresholds, how close the photo attacks come.
    genuine_peaks: dict[str, list[float]] = defaultdict(list)
    for r in genuine:
        for action, peak, _seen in r["peaks"]:
            genuine_peaks[action].append(peak)
    photo_peaks: dict[str, list[float]] = defaultdict(list)
    for kind in ("still_photo", "photo_moved"):
        for r in by_kind.get(kind, []):
            for action, peak, _seen in r["peaks"]:
                photo_peaks[action].append(peak)
    print("\naction signal peaks in threshold units (1.0 = detection threshold):")
    print(f"{'action':<12}{'genuine min':>12}{'genuine p5':>11}{'photo max':>11}")
    for action in sorted(genuine_peaks):
        g = sorted(genuine_peaks[action])
        p5 = g[max(0, int(0.05 * len(g)) - 1)]
        pmax = max(photo_peaks.get(action, [float("nan")]))
        figures[f"peak_genuine_min_{action}"] = g[0]
        figures[f"peak_photo_max_{action}"] = pmax
        print(f"{action:<12}{g[0]:>12.2f}{p5:>11.2f}{pmax:>11.2f}")
    ident_genuine = [r["identity"] for r in genuine if r["identity"] is not None]
    ident_swap = [r["identity"] for r in by_kind.get("identity_swap", []) if r["identity"] is not None]
    if ident_genuine:
        figures["identity_distance_genuine_max"] = max(ident_genuine)
        print(f"identity distance (dlib, threshold 0.6): genuine max {max(ident_genuine):.2f}", end="")
    if ident_swap:
        figures["identity_distance_swap_min"] = min(ident_swap)
        print(f", swapped-in person min {min(ident_swap):.2f}", end="")
    print()
    times = [r["verify_s"] for r in rows if r["kind"] == "genuine"]
    print(f"\n{len(rows)} attempts generated and verified in {attempts_wall:.0f} s with {args.workers} worker(s); "
          f"genuine verify in the pool: median {statistics.median(times):.2f} s")

    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    parser.add_argument("--attempts", type=int, default=150, help="attempts per attack type and genuine (default 150)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--latency-repeats", type=int, default=5)
    parser.add_argument("--types", default="", help="comma-separated subset of attack types (default: all)")
    parser.add_argument("--latency-only", action="store_true", help="measure the verdict latency only")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    figures: dict[str, Any] = {}
    if not args.latency_only:
        figures.update(_attacks(args))

    latency = _latency(args.latency_repeats, args.seed)
    figures.update(latency)
    from charcha.checks import dlib_has_blas

    figures["dlib_blas"] = dlib_has_blas()
    print(f"\nverdict latency, 10 s challenge at 15 fps (median of {args.latency_repeats}, this process alone):")
    print("  the engine alone, frames already decoded:")
    for tag in ("640x480", "320x240"):
        stages = ", ".join(f"{stage} {latency[f'stage_{stage}_s_{tag}']:.2f}" for stage in ("faces", "signals", "identity", "training"))
        print(f"    {tag}: {latency[f'verdict_latency_s_{tag}']:.2f} s wall (best {latency[f'verdict_latency_min_s_{tag}']:.2f} s), "
              f"{latency[f'verdict_cpu_s_{tag}']:.2f} s CPU, {latency[f'fps_{tag}']:.0f} frames/s ({stages} s)")
    print(f"  dlib built with BLAS: {figures['dlib_blas']}")
    job = _job_latency(args.latency_repeats, args.seed)
    if job is not None:
        figures.update(job)
        headline, fps = job["verify_job_s"], job["verify_job_frames"] / job["verify_job_s"]
        print(f"  the verify job as a user waits for it (read and decrypt {job['verify_job_frames']:.0f} captured "
              f"640x480 JPEGs, decode at 320x240, verify, record): {headline:.2f} s median, "
              f"{job['verify_job_max_s']:.2f} s max, {fps:.0f} frames/s; passed {job['verify_job_passed']:.0f}/{job['verify_job_runs']:.0f}")
    else:
        headline, fps = latency["verdict_latency_s_320x240"], latency["fps_320x240"]
    figures["verdict_latency_s"] = headline
    figures["verdict_latency_ratio_to_limit"] = headline / LATENCY_LIMIT_S
    figures["fps"] = fps
    print(f"  ratio to the 1 s limit: {headline / LATENCY_LIMIT_S:.2f}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    figures["load_average_1min"] = load
    figures["bench_wall_s"] = time.perf_counter() - started
    print(f"  machine load average (1 min) at the end: {load:.2f} on {os.cpu_count()} cores; shared machine, timings are noisy")
    if args.json:
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
