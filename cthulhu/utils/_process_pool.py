"""Worker processes for a Sequence, started with a fork-safe method.

Each worker has its own duplex pipe (no shared queue whose lock a killed worker could take
with it); the parent waits on the pipes and on the processes' sentinels together, with a
timeout, so a dead worker is an error within a second. Batches from 64 KiB on come back
through shared-memory slots, one per batch in flight.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import itertools
import multiprocessing
import os
import pickle
import signal
import time
import weakref
from multiprocessing.connection import wait
from typing import Any, Optional

import numpy as np

from cthulhu.utils import _worker
from cthulhu.utils._pools import (
    JOIN_SECONDS,
    POLL_SECONDS,
    STARTUP_HINT,
    WorkerDiedError,
    reraise,
)
from cthulhu.utils._shm import Segment, SharingPickler, shm_prefix, sweep_segments

# The GNU OpenMP runtime hangs in a child forked after the parent ran a parallel region,
# so worker processes never start with plain fork.
START_METHODS = ("forkserver", "spawn")
WORKER_NICE = 10  # worker processes yield the cores to the training step (0: do not)

_pool_ids = itertools.count()
_live_pools: weakref.WeakSet[Any] = weakref.WeakSet()


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    method = next(m for m in START_METHODS if m in methods)
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        # Workers fork from a server that has already imported numpy and the worker loop.
        ctx.set_forkserver_preload(["cthulhu.utils._worker"])
    return ctx


class ProcessPool:
    """Worker processes, each with its own duplex pipe; tasks go round-robin, so which
    worker (and which per-worker random stream) computes each batch is reproducible."""

    def __init__(self, sequence: Any, workers: int, slots: int, seed: int) -> None:
        ctx = _context()
        self._id = next(_pool_ids)
        self._names = itertools.count()
        self._slots: list[Optional[Segment]] = [None] * slots
        self._free = list(range(slots))[::-1]
        self._want = 0  # bytes the largest batch seen needs
        self._task_slot: dict[int, int] = {}
        self._results: dict[int, tuple] = {}
        self._rr = 0
        self._closed = False
        self._procs: list[Any] = []
        self._conns: list[Any] = []
        self._data: list[Segment] = []  # the shared arrays of the current Sequence
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

    def new_segment(self, size: int, kind: str) -> Segment:
        name = f"{shm_prefix()}{self._id}_{kind}{next(self._names)}"
        slot = Segment(name, max(size, 1))
        if kind == "d":
            self._data.append(slot)
        return slot

    def _data_segment(self, size: int) -> Optional[Segment]:
        if not self.can_share:
            return None
        try:
            return self.new_segment(size, "d")
        except OSError:
            self.can_share = False  # no room in /dev/shm: plain pickling from now on
            return None

    def _dumps(self, sequence: Any) -> bytes:
        buffer = io.BytesIO()
        SharingPickler(buffer, self._data_segment).dump(sequence)
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
            reraise(value, "(raised in a cthulhu worker process)")
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
        sweep_segments(f"{shm_prefix()}{self._id}_")
        self._closed = True  # only now: a close interrupted half-way can be run again
        _live_pools.discard(self)


def close_all_pools() -> None:
    """Close every process pool still open (at exit, or from a test's cleanup)."""
    for pool in list(_live_pools):
        pool.close()


atexit.register(close_all_pools)
