"""One setting for the thread count of the native kernels (OpenMP) and of BLAS."""

from __future__ import annotations

import os

_configured = False
_blas_limiter = None


def _blas_threads(n: int) -> None:
    """Limit BLAS threads through threadpoolctl when it is installed (an optional extra);
    without it, BLAS keeps its own setting (OPENBLAS_NUM_THREADS etc.)."""
    global _blas_limiter
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    _blas_limiter = threadpool_limits(limits=n, user_api="blas")


def configure_threads() -> None:
    """Load the kernels once, applying CTHULHU_NUM_THREADS to BLAS as well."""
    global _configured
    if _configured:
        return
    from cthulhu._kernels import threads
    _configured = True
    if os.environ.get("CTHULHU_NUM_THREADS"):
        _blas_threads(threads.get_num_threads())


def set_num_threads(n: int) -> None:
    """Threads for every native kernel and for BLAS (also ``CTHULHU_NUM_THREADS``)."""
    from cthulhu._kernels import threads
    configure_threads()
    threads.set_num_threads(n)
    _blas_threads(n)


def get_num_threads() -> int:
    from cthulhu._kernels import threads
    return threads.get_num_threads()
