"""One setting for every thread cthulhu uses: ``set_num_threads`` / ``CTHULHU_NUM_THREADS``.

The native kernels parallelize with OpenMP, GEMM included: it splits a product into row or
column blocks and calls BLAS on each block from its own threads. So the BLAS that scipy
ships (the one ``scipy.linalg.cython_blas`` reaches) is kept at one thread. Its pthreads
pool spins while it waits, which collapses throughput as soon as another process holds a
core; OpenMP threads here spin only briefly before they sleep (see cthulhu/__init__).
Only scipy's BLAS is touched: numpy's BLAS and the user's own code keep their settings.

When another process holds a core, a parallel region waits for a thread that is not
running, and one thread is faster than two. ``ThreadTuner`` measures this while a loop runs
and picks the faster choice. Results never depend on the choice: every kernel splits its
work by the shape of the data, not by the thread count.
"""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

_configured = False
_requested = 0  # the user's thread count (0: not loaded yet)
_active = 0  # the thread count the kernels use right now


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
    global _configured, _requested, _active
    if _configured:
        return
    from cthulhu._kernels import blas, threads  # noqa: F401  (loads scipy's BLAS)
    _pin_scipy_blas_to_one_thread()
    _requested = _active = threads.get_num_threads()
    _configured = True


def _use(n: int) -> None:
    global _active
    if n != _active:
        from cthulhu._kernels import threads
        threads.set_num_threads(n)
        _active = n


def set_num_threads(n: int) -> None:
    """Threads for every native kernel, GEMM included (also ``CTHULHU_NUM_THREADS``)."""
    global _requested
    from cthulhu._kernels import threads
    configure_threads()
    threads.set_num_threads(n)  # validates n
    _requested = n
    _use(n)


def get_num_threads() -> int:
    configure_threads()
    return _requested


class ThreadTuner:
    """Runs a plan with the faster of the requested thread count and one thread.

    Each choice is timed over a few calls (seconds per row); the faster one then runs for a
    while before both are timed again, so the choice follows the load of the machine. Timing
    the slower choice costs time, so when the requested thread count wins again it runs
    twice as long before the next timing (``exploit_calls`` calls at first, at most
    ``max_exploit_calls``); one thread, or a choice that changed, runs ``exploit_calls``
    calls. A load that comes is not left to wait for the next timing: when ``watch_calls``
    calls in a row take over ``slowdown`` times the time per row the choice was timed at,
    both are timed again at once. Both only for plans whose calls take ``watch_min_seconds``
    or more: shorter calls vary too much from one to the next to be watched, and what a
    wrong choice costs them is little. One tuner per plan: different plans have different
    costs per row.
    """

    def __init__(self, explore_calls: int = 3, exploit_calls: int = 100,
                 max_exploit_calls: int = 1600, watch_calls: int = 3,
                 slowdown: float = 2.0, watch_min_seconds: float = 1e-3) -> None:
        self.explore_calls, self.exploit_calls = explore_calls, exploit_calls
        self.max_exploit_calls, self.watch_calls, self.slowdown = (
            max_exploit_calls, watch_calls, slowdown)
        self.watch_min_seconds = watch_min_seconds
        self._trial: list[float] = []
        self._scores: dict[int, float] = {}
        self._candidates: list[int] = []
        self._choice = 0
        self._choice_score = 0.0
        self._period = exploit_calls
        self._left = 0
        self._slow_calls = 0
        self._watched = False
        self._rows = 1

    def _next_phase(self) -> None:
        if self._candidates:
            self._candidates.pop(0)
        if not self._candidates and self._scores:
            choice = min(self._scores, key=self._scores.__getitem__)
            self._watched = self._scores[choice] * self._rows >= self.watch_min_seconds
            # Only the multithreaded choice runs longer: a load that comes makes it slow,
            # which the watch below sees; a load that goes makes the other choice faster,
            # which only a timing sees.
            longer = choice == self._choice and choice > 1 and self._watched
            self._period = min(2 * self._period, self.max_exploit_calls) if longer else \
                self.exploit_calls
            self._choice, self._choice_score = choice, self._scores[choice]
            self._scores.clear()
            self._left, self._slow_calls = self._period, 0
        elif not self._candidates:
            self._candidates = sorted({_requested, 1}, reverse=True)
            self._left = self.explore_calls
        else:
            self._left = self.explore_calls

    def run(self, plan: Any, rows: int) -> None:
        configure_threads()
        if _requested <= 1:
            _use(_requested)
            plan.run(rows)
            return
        if self._left == 0:
            self._next_phase()
        exploring = bool(self._candidates)
        _use(self._candidates[0] if exploring else self._choice)
        start = time.perf_counter()
        plan.run(rows)
        self._rows = max(rows, 1)
        per_row = (time.perf_counter() - start) / self._rows
        self._left -= 1
        if not exploring and self._watched:
            self._slow_calls = self._slow_calls + 1 if \
                per_row > self.slowdown * self._choice_score else 0
            if self._slow_calls >= self.watch_calls:   # the load changed: time both again,
                self._left, self._choice = 0, 0        # and the next choice starts over
        if not exploring:
            return
        self._trial.append(per_row)
        if self._left == 0:
            self._scores[self._candidates[0]] = min(self._trial)
            self._trial.clear()
            self._next_phase()
