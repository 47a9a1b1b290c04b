"""Thread-count policy of the native kernels.

The configured count is a C int read by `threads_for` (cimported by the executor and by the
kernels' callers). It starts as $CTHULHU_NUM_THREADS when set, else `omp_get_max_threads()`
(which honours $OMP_NUM_THREADS) capped at the number of CPUs this process may use.
BLAS threads are not controlled here.
"""

import operator
import os

cdef int _num_threads = 1


cdef int threads_for(Py_ssize_t work) noexcept nogil:
    if work < PARALLEL_MIN_WORK or _num_threads <= 1 or not CTHULHU_OPENMP:
        return 1
    return _num_threads


def _usable_cpus():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _default_num_threads():
    env = os.environ.get("CTHULHU_NUM_THREADS")
    if env is not None and env.strip() != "":
        try:
            n = int(env.strip())
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(
                f"CTHULHU_NUM_THREADS must be a positive integer, got {env!r}"
            )
        return n
    return max(1, min(omp_get_max_threads(), _usable_cpus()))


def set_num_threads(n):
    """Set the number of threads used by parallel kernels (n >= 1)."""
    global _num_threads
    if isinstance(n, bool):
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}") from None
    if n < 1:
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}")
    if n > 1 << 16:
        raise ValueError(f"set_num_threads: {n} threads is unreasonable")
    _num_threads = n
    omp_set_num_threads(n)


def get_num_threads():
    """The configured thread count (kernels still use 1 for small work or a serial build)."""
    return _num_threads


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(CTHULHU_OPENMP)


def threads_for_np(Py_ssize_t work):
    """threads_for(work), for tests."""
    return threads_for(work)


set_num_threads(_default_num_threads())
