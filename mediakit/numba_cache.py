"""librosa's compiled kernels, loaded (and on a new install compiled) by one process at a time.

librosa compiles its generalised ufuncs (peak picking, local extrema, zero crossings, pitch
tracking) when their modules are imported, and numba caches each on disk as two files: the kernel
and the gufunc wrapper that calls it. The wrapper names the kernel by a version tag that numba
counts per process (numba issue #10128, open as of numba 0.68.1). Where two processes compile the
same function at the same time, as the web and worker processes of a new install do when they
start together, the cache can end up with the kernel of one and the wrapper of the other: from then
on every call of that function jumps to a null pointer and the process dies with SIGSEGV, in every
process that loads that cache, until it is deleted. Seen here on a new machine: after two
processes first imported librosa together, every song analysis killed its worker in the emotion
stage (``librosa.onset.onset_detect``), and ``make demo`` waited on the dead worker's job.

Importing those modules under one exclusive file lock makes the first process write the whole
cache before any other process reads it; later processes find it complete and only load it. The
code that calls librosa calls ``load_librosa_kernels`` first (feature extraction, the tempogram,
onset picking, the soundtrack's beat checks), not at import: a web process that never analyses a
song has no kernels to load (0.7 s per process start with a full cache, 14 s with an empty one).
"""

from __future__ import annotations

import fcntl
import importlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

# librosa's modules that define gufuncs with ``cache=True`` (librosa 0.11; beat.py's are not cached).
CACHED_KERNEL_MODULES = ("librosa.util.utils", "librosa.core.audio", "librosa.core.pitch")
LOCK_NAME = ".encore-numba-cache.lock"


def lock_path() -> Path:
    """Beside librosa's own cache (its package directory) where that is writable, else in the temp dir."""
    spec = importlib.util.find_spec("librosa")
    origin = Path(spec.origin).parent if spec is not None and spec.origin else None
    if origin is not None and os.access(origin, os.W_OK):
        return origin / LOCK_NAME
    return Path(tempfile.gettempdir()) / LOCK_NAME


def load_librosa_kernels() -> None:
    """Import librosa's cached-kernel modules while holding the cache lock (a no-op once imported)."""
    if all(name in sys.modules for name in CACHED_KERNEL_MODULES):
        return
    with lock_path().open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            for name in CACHED_KERNEL_MODULES:
                importlib.import_module(name)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
