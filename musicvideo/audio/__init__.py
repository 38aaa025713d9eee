# librosa's compiled kernels are cached on disk: load them under the cache lock before any module of
# this package uses librosa (mediakit.numba_cache).
from mediakit.numba_cache import load_librosa_kernels

load_librosa_kernels()
