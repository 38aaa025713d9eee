"""Two processes loading librosa at once on an empty numba cache: how often the cache they leave kills the next.

    .venv/bin/python bench/numba_cache_race.py [--json] [--trials N]

librosa caches its compiled gufuncs on disk as a kernel and a wrapper that names the kernel by a
per-process counter (numba issue #10128): where two processes compile them together, the cache can
hold one process's kernel and the other's wrapper, and every later call jumps to a null pointer.
Each trial empties a numba cache of its own (``NUMBA_CACHE_DIR``), starts two processes that load
librosa's cached-kernel modules at the same time, then a third that calls each of those kernels
(onset picking, local maxima, zero crossings) and must exit 0. ``plain`` imports the modules as any
code would; ``locked`` goes through ``mediakit.numba_cache.load_librosa_kernels``. Also timed: one
process loading the kernels from an empty cache (the compile) and from a full one.

Figures of 7 Dec 2026 (2 cores, numba 0.68.1, librosa 0.11.0, --trials 10): plain, 5 of the 10 caches
killed the next process (SIGSEGV, return code -11); locked, 0 of 10. Loading the kernels from an
empty cache 14.46 s, from a full one 1.69 s.
With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    "plain": "import librosa.util.utils, librosa.core.audio, librosa.core.pitch",
    "locked": "from mediakit.numba_cache import load_librosa_kernels; load_librosa_kernels()",
}
CALL_KERNELS = ("import numpy as np, librosa; x = np.random.default_rng(0).random(3000).astype(np.float32); "
                "librosa.onset.onset_detect(onset_envelope=x, sr=16000, hop_length=256); "
                "librosa.util.localmax(x); librosa.zero_crossings(x)")


def run(code: str, cache: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "NUMBA_CACHE_DIR": str(cache)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def trial(mode: str, cache: Path) -> int:
    """The return code of the process that calls the kernels after two loaded them together."""
    shutil.rmtree(cache, ignore_errors=True)
    loaders = [run(MODES[mode], cache) for _ in range(2)]
    if any(p.wait() != 0 for p in loaders):
        raise SystemExit(f"{mode}: a loading process failed")
    return run(CALL_KERNELS, cache).wait()


def load_time(cache: Path) -> float:
    started = time.perf_counter()
    if run(MODES["locked"], cache).wait() != 0:
        raise SystemExit("loading the kernels failed")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args()
    result: dict[str, Any] = {"trials": args.trials}
    with tempfile.TemporaryDirectory(prefix="numba-race-") as tmp:
        cache = Path(tmp) / "cache"
        for mode in MODES:
            codes = [trial(mode, cache) for _ in range(args.trials)]
            result[f"crashing_caches_{mode}"] = sum(code != 0 for code in codes)
            if not args.json:
                print(f"{mode}: return codes of the calling process {codes}", flush=True)
        shutil.rmtree(cache, ignore_errors=True)
        result["cold_load_s"] = round(load_time(cache), 2)
        result["warm_load_s"] = round(load_time(cache), 2)
    if not args.json:
        for key, value in result.items():
            print(f"{key}: {value}")
    else:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
