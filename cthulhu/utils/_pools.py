"""Worker pools that compute ``sequence[index]`` tasks: in the caller (workers=0), in
threads, or in processes started with a fork-safe method.

Every pool has the same three calls: ``submit(task_id, index)``, ``result(task_id)`` (blocks
until that task is done, re-raising its exception) and ``close()``. ``result`` never blocks
without a timeout: each wait is short and is followed by a health check of the workers, so
a dead worker becomes an error within a second instead of a hang.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import itertools
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import weakref
from multiprocessing import shared_memory
from multiprocessing.connection import wait
from typing import Any, Optional

import numpy as np

from cthulhu.utils import _worker

POLL_SECONDS = 0.25  # health checks happen at least this often while waiting
JOIN_SECONDS = 5.0  # how long close() lets workers finish before terminating them
# The GNU OpenMP runtime hangs in a child forked after the parent ran a parallel region,
# so worker processes never start with plain fork.
START_METHODS = ("forkserver", "spawn")
SHM_PREFIX = "cthulhu_"
SHARE_MIN_BYTES = 1 << 20  # Sequence arrays from this size on are shared, not copied
WORKER_NICE = 10  # worker processes yield the cores to the training step (0: do not)

_pool_ids = itertools.count()
_live_pools: weakref.WeakSet[Any] = weakref.WeakSet()


STARTUP_HINT = ("If it failed at start-up: worker processes import the Sequence's class by "
                "name, so define it at module level in an importable module, and guard the "
                "script's entry point with `if __name__ == '__main__':`.")


class WorkerDiedError(RuntimeError):
    """A worker process ended while it still had work (e.g. killed by a signal)."""


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    method = next(m for m in START_METHODS if m in methods)
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        # Workers fork from a server that has already imported numpy and the worker loop.
        ctx.set_forkserver_preload(["cthulhu.utils._worker"])
    return ctx


def shm_prefix(pid: Optional[int] = None) -> str:
    """Name prefix of the shared-memory segments the pools of process ``pid`` create."""
    return f"{SHM_PREFIX}{pid or os.getpid()}_"


def _reraise(err: BaseException, note: str) -> None:
    if hasattr(err, "add_note") and note not in getattr(err, "__notes__", ()):
        err.add_note(note)
    raise err


class InlinePool:
    """workers=0: each task runs in the caller when its result is asked for."""

    def __init__(self, sequence: Any) -> None:
        self.sequence = sequence
        self._tasks: dict[int, int] = {}

    def update(self, sequence: Any) -> None:
        self.sequence = sequence

    def submit(self, task_id: int, index: int) -> None:
        self._tasks[task_id] = index

    def result(self, task_id: int) -> Any:
        return self.sequence[self._tasks.pop(task_id)]

    def close(self, abort: bool = False) -> None:
        self._tasks.clear()


class ThreadPool:
    """Daemon threads sharing the caller's Sequence object."""

    def __init__(self, sequence: Any, workers: int) -> None:
        self.sequence = sequence
        self._tasks: queue.Queue = queue.Queue()
        self._done: queue.Queue = queue.Queue()
        self._results: dict[int, tuple] = {}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, name=f"cthulhu-worker-{k}",
                                          daemon=True) for k in range(workers)]
        for thread in self._threads:
            thread.start()

    def update(self, sequence: Any) -> None:
        self.sequence = sequence

    def _run(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None or self._stop.is_set():
                return
            task_id, index = task
            try:
                out: tuple = (task_id, True, self.sequence[index])
            except BaseException as err:  # delivered to the caller, not lost in a thread
                out = (task_id, False, err)
            self._done.put(out)

    def submit(self, task_id: int, index: int) -> None:
        self._tasks.put((task_id, index))

    def result(self, task_id: int) -> Any:
        while task_id not in self._results:
            try:
                done = self._done.get(timeout=POLL_SECONDS)
            except queue.Empty:
                dead = [t.name for t in self._threads if not t.is_alive()]
                if dead:
                    raise WorkerDiedError(f"worker thread(s) {dead} ended unexpectedly") from None
                continue
            self._results[done[0]] = done[1:]
        ok, value = self._results.pop(task_id)
        if not ok:
            _reraise(value, "(raised in a cthulhu worker thread)")
        return value

    def close(self, abort: bool = False) -> None:
        """Stop the threads; a thread stuck in user code cannot be killed: it is a daemon
        and is left after ``JOIN_SECONDS`` (1 s when aborting)."""
        self._stop.set()
        for _ in self._threads:
            self._tasks.put(None)
        deadline = time.monotonic() + (1.0 if abort else JOIN_SECONDS)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._results.clear()


class _Slot:
    """One shared-memory segment, created and unlinked by the parent only. Its memory is
    reserved up front: a full /dev/shm fails here (OSError), not later with a SIGBUS."""

    def __init__(self, name: str, size: int) -> None:
        self.shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        self.name, self.size = name, size
        fd = getattr(self.shm, "_fd", -1)
        if fd >= 0 and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError:
                self.release()
                raise

    def release(self) -> None:
        try:
            self.shm.close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.shm.unlink()


class _SharingPickler(pickle.Pickler):
    """Pickles a Sequence with each large array moved to a shared-memory segment, so that
    workers map the data instead of each unpickling a copy of it."""

    def __init__(self, file: Any, pool: ProcessPool) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.pool = pool

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is not np.ndarray or obj.nbytes < SHARE_MIN_BYTES or \
                obj.dtype.hasobject or not self.pool.can_share:
            return NotImplemented
        try:
            slot = self.pool.new_segment(obj.nbytes, "d")
        except OSError:
            self.pool.can_share = False  # no room in /dev/shm: plain pickling
            return NotImplemented
        np.ndarray(obj.shape, obj.dtype, buffer=slot.shm.buf)[...] = obj
        return _worker.attach_array, (slot.name, obj.shape, obj.dtype.str)


class ProcessPool:
    """Worker processes, each with its own duplex pipe; tasks go round-robin, so which
    worker (and which per-worker random stream) computes each batch is reproducible."""

    def __init__(self, sequence: Any, workers: int, slots: int, seed: int) -> None:
        ctx = _context()
        self._id = next(_pool_ids)
        self._names = itertools.count()
        self._slots: list[Optional[_Slot]] = [None] * slots
        self._free = list(range(slots))[::-1]
        self._want = 0  # bytes the largest batch seen needs
        self._task_slot: dict[int, int] = {}
        self._results: dict[int, tuple] = {}
        self._rr = 0
        self._closed = False
        self._procs: list[Any] = []
        self._conns: list[Any] = []
        self._data: list[_Slot] = []  # the shared arrays of the current Sequence
        self.can_share = os.path.isdir("/dev/shm")
        _live_pools.add(self)
        seeds = np.random.SeedSequence(seed).generate_state(workers)
        try:
            payload = self._dumps(sequence)
            for k in range(workers):
                parent, child = ctx.Pipe(duplex=True)
                proc = ctx.Process(target=_worker.main, name=f"cthulhu-worker-{k}",
                                   args=(child, payload, int(seeds[k]), k, WORKER_NICE),
                                   daemon=True)
                self._procs.append(proc)
                self._conns.append(parent)
                try:
                    proc.start()
                finally:
                    child.close()  # else a dead worker's pipe would never report EOF
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            self.close()
            raise ValueError(
                f"use_multiprocessing=True sends the Sequence to worker processes by "
                f"pickling it, which failed ({type(err).__name__}: {err}). Define the "
                f"Sequence class at module level and keep only picklable data in it, or "
                f"use threads (use_multiprocessing=False).") from err
        except OSError as err:  # the fork server lost the child while starting it
            self.close()
            raise WorkerDiedError(f"a worker process failed to start ({err}). {STARTUP_HINT}"
                                  ) from err
        except BaseException:
            self.close()
            raise

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def new_segment(self, size: int, kind: str) -> _Slot:
        name = f"{shm_prefix()}{self._id}_{kind}{next(self._names)}"
        slot = _Slot(name, max(size, 1))
        if kind == "d":
            self._data.append(slot)
        return slot

    def _dumps(self, sequence: Any) -> bytes:
        buffer = io.BytesIO()
        _SharingPickler(buffer, self).dump(sequence)
        return buffer.getvalue()

    def update(self, sequence: Any) -> None:
        """Send the caller's Sequence again (after its on_epoch_end changed it); its arrays
        go to new segments (the workers are idle between passes), the old ones are freed."""
        old, self._data = self._data, []
        payload = self._dumps(sequence)
        for conn in self._conns:
            try:
                conn.send(("sequence", payload))
            except OSError:
                self._lost_pipe()
        for slot in old:  # unlinked now; workers unmap them when they drop the old data
            slot.release()

    def _slot_for_task(self) -> tuple[int, Optional[str], int]:
        slot = self._free.pop()
        held = self._slots[slot]
        if self.can_share and self._want >= _worker.SHM_MIN_BYTES and (
                held is None or held.size < self._want):
            if held is not None:
                held.release()
                self._slots[slot] = held = None
            try:
                held = self.new_segment(-(-int(self._want * 1.25) // 65536) * 65536, "b")
            except OSError:
                self.can_share = False  # no room in /dev/shm: batches go through the pipe
            self._slots[slot] = held
        return slot, (held.name if held else None), (held.size if held else 0)

    def submit(self, task_id: int, index: int) -> None:
        slot, name, size = self._slot_for_task()
        self._task_slot[task_id] = slot
        conn = self._conns[self._rr]
        self._rr = (self._rr + 1) % len(self._conns)
        try:
            conn.send(("task", task_id, index, slot, name, size))
        except OSError:
            self._lost_pipe()

    def _check_alive(self) -> None:
        for k, proc in enumerate(self._procs):
            if proc.exitcode is not None:
                code = proc.exitcode
                how = f"killed by signal {signal.Signals(-code).name}" if code < 0 else \
                    f"exit code {code}; its traceback is on stderr. {STARTUP_HINT}"
                raise WorkerDiedError(f"worker process {k} (pid {proc.pid}) died unexpectedly "
                                      f"({how}) while producing batches")

    def _lost_pipe(self) -> None:
        """A worker's pipe broke: it died. Name it, with its exit code when it arrives."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            self._check_alive()
            time.sleep(0.02)
        raise WorkerDiedError("a worker process closed its pipe unexpectedly") from None

    def _receive(self, conn: Any) -> None:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            self._lost_pipe()
        kind, task_id = message[0], message[1]
        slot = self._task_slot.pop(task_id)
        if kind == "shm":
            held = self._slots[slot]
            assert held is not None
            arrays = _worker.read_slot(held.shm.buf, message[3])
            self._results[task_id] = (True, _worker.unpack(message[2], arrays))
        elif kind == "pickle":
            self._want = max(self._want, message[3])
            self._results[task_id] = (True, message[2])
        else:
            err = pickle.loads(message[2])
            err.__cause__ = _worker.RemoteTraceback(message[3])
            self._results[task_id] = (False, err)
        self._free.append(slot)

    def result(self, task_id: int) -> Any:
        while task_id not in self._results:
            self._check_alive()
            sentinels = [p.sentinel for p in self._procs]
            for ready in wait(self._conns + sentinels, timeout=POLL_SECONDS):
                if ready in self._conns:
                    self._receive(ready)
        ok, value = self._results.pop(task_id)
        if not ok:
            _reraise(value, "(raised in a cthulhu worker process)")
        return value

    def close(self, abort: bool = False) -> None:
        """Stop the workers (terminating those that do not stop in time, or at once when
        aborting after an error), then release every shared-memory segment. Safe to call
        more than once."""
        if self._closed:
            return
        for conn in self._conns:
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stop",))
        deadline = time.monotonic() + (0.0 if abort else JOIN_SECONDS)
        for proc in self._procs:
            if proc._popen is not None:  # started
                proc.join(max(0.0, deadline - time.monotonic()))
        for proc in self._procs:
            if proc._popen is not None and proc.exitcode is None:
                proc.terminate()
                proc.join(1.0)
            if proc._popen is not None and proc.exitcode is None:
                proc.kill()
                proc.join(1.0)
        for conn in self._conns:
            conn.close()
        for slot in self._slots + self._data:
            if slot is not None:
                slot.release()
        self._slots = [None] * len(self._slots)
        self._data = []
        self._results.clear()
        _sweep_segments(f"{shm_prefix()}{self._id}_")
        self._closed = True  # only now: a close interrupted half-way can be run again
        _live_pools.discard(self)


def _sweep_segments(prefix: str) -> None:
    """Unlink any segment left with our prefix (belt and braces: normally none is)."""
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return
    for name in names:
        if name.startswith(prefix):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join("/dev/shm", name))


def close_all_pools() -> None:
    """Close every process pool still open (at exit, or from a test's cleanup)."""
    for pool in list(_live_pools):
        pool.close()


atexit.register(close_all_pools)
