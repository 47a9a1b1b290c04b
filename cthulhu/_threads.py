"""One setting for every thread cthulhu uses: ``set_num_threads`` / ``CTHULHU_NUM_THREADS``.

The native kernels parallelize with OpenMP, GEMM included: it splits a product into row or
column blocks and calls BLAS on each block from its own threads. So the BLAS that scipy
ships (the one ``scipy.linalg.cython_blas`` reaches) is kept at one thread. Its pthreads
pool spins while it waits, which collapses throughput as soon as another process holds a
core; OpenMP threads here sleep when idle (OMP_WAIT_POLICY=PASSIVE, see cthulhu/__init__).
Only scipy's BLAS is touched: numpy's BLAS and the user's own code keep their settings.
"""

from __future__ import annotations

import ctypes
import os

_configured = False


def _is_scipy_library(path: str) -> bool:
    """True for files of scipy itself or of the libraries its wheel bundles."""
    import scipy
    package = os.path.dirname(scipy.__file__)
    return path.startswith(package + os.sep) or path.startswith(package + ".libs" + os.sep)


def _scipy_blas_paths() -> list[str]:
    """Paths of the BLAS libraries scipy loaded (Linux: read from /proc/self/maps)."""
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                name = os.path.basename(path)
                if _is_scipy_library(path) and "blas" in name and path not in paths:
                    paths.append(path)
    except OSError:
        pass
    return paths


def _pin_scipy_blas_to_one_thread() -> bool:
    """Returns True when scipy's BLAS is known to run single-threaded now."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        pass
    else:
        controllers = [c for c in ThreadpoolController().lib_controllers
                       if c.user_api == "blas" and _is_scipy_library(c.filepath)]
        for controller in controllers:
            controller.set_num_threads(1)
        if controllers:
            return True
    pinned = False
    for path in _scipy_blas_paths():
        lib = ctypes.CDLL(path)
        for symbol in ("scipy_openblas_set_num_threads", "openblas_set_num_threads"):
            setter = getattr(lib, symbol, None)
            if setter is not None:
                setter(ctypes.c_int(1))
                pinned = True
                break
    return pinned


def configure_threads() -> None:
    """Load the kernels once and pin scipy's BLAS to one thread."""
    global _configured
    if _configured:
        return
    from cthulhu._kernels import blas, threads  # noqa: F401  (loads scipy's BLAS)
    _pin_scipy_blas_to_one_thread()
    _configured = True


def set_num_threads(n: int) -> None:
    """Threads for every native kernel, GEMM included (also ``CTHULHU_NUM_THREADS``)."""
    from cthulhu._kernels import threads
    configure_threads()
    threads.set_num_threads(n)


def get_num_threads() -> int:
    from cthulhu._kernels import threads
    configure_threads()
    return threads.get_num_threads()
