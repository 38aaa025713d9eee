"""librosa's cached kernels are loaded by one process at a time (numba issue #10128)."""

from __future__ import annotations

import fcntl
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


def test_the_analysis_package_loads_them() -> None:
    out = subprocess.run([sys.executable, "-c", "import sys, musicvideo.audio; print(sorted(m for m in "
                          "numba_modules if m in sys.modules))".replace(
                              "numba_modules", repr(numba_cache.CACHED_KERNEL_MODULES))],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(sorted(numba_cache.CACHED_KERNEL_MODULES))
