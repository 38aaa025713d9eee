"""librosa's cached kernels are loaded by one process at a time (numba issue #10128)."""

from __future__ import annotations

import fcntl
import select
import subprocess
import sys
import time
from pathlib import Path

from mediakit import numba_cache

ROOT = Path(__file__).resolve().parents[2]
LOADER = ("import time; from mediakit.numba_cache import load_librosa_kernels; load_librosa_kernels(); "
          "import sys; print(time.time(), all(m in sys.modules for m in "
          "('librosa.util.utils', 'librosa.core.audio', 'librosa.core.pitch')))")
HOLD_S = 6.0


def test_a_second_process_loads_the_kernels_only_once_the_first_lets_go() -> None:
    # This process plays the first one, still compiling: it holds the lock while the other starts.
    with numba_cache.lock_path().open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        other = subprocess.Popen([sys.executable, "-c", LOADER], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        # Unlocked, the other process would have imported the modules in about 2 s.
        time.sleep(HOLD_S)
        released = time.time()
        fcntl.flock(handle, fcntl.LOCK_UN)
    out, _ = other.communicate(timeout=120)
    loaded_at, complete = out.split()
    assert other.returncode == 0
    assert complete == "True"
    assert float(loaded_at) > released


def test_the_lock_lies_beside_librosas_cache() -> None:
    import librosa

    assert numba_cache.lock_path() == Path(librosa.__file__).parent / numba_cache.LOCK_NAME


def test_the_first_analysis_takes_the_lock_and_an_import_does_not() -> None:
    code = ("import sys, time, numpy as np; import musicvideo.audio.analysis; "
            "from musicvideo.audio.features import compute_features; "
            "loaded = lambda: sorted(m for m in MODULES if m in sys.modules); print(loaded(), flush=True); "
            "compute_features(np.zeros(16000, np.float32)); print(time.time(), loaded())").replace(
                "MODULES", repr(numba_cache.CACHED_KERNEL_MODULES))
    with numba_cache.lock_path().open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        other = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert other.stdout is not None
        # Importing the analysis needs no lock: this line comes while the lock is still held.
        ready, _, _ = select.select([other.stdout], [], [], 120)
        imported = other.stdout.readline().strip() if ready else "no answer while the lock was held"
        time.sleep(1.0)
        released = time.time()
        fcntl.flock(handle, fcntl.LOCK_UN)
    out, _ = other.communicate(timeout=120)
    analysed_at, loaded = out.strip().split(" ", 1)
    assert imported == "[]"
    assert float(analysed_at) > released
    assert loaded == str(sorted(numba_cache.CACHED_KERNEL_MODULES))
