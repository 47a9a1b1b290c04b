"""Worker pools that compute ``sequence[index]`` tasks: in the caller (workers=0) or in
threads (processes: cthulhu.utils._process_pool).

Every pool has the same three calls: ``submit(task_id, index)``, ``result(task_id)`` (blocks
until that task is done, re-raising its exception) and ``close()``. ``result`` never blocks
without a timeout: each wait is short and is followed by a health check of the workers, so
a dead worker becomes an error within a second instead of a hang.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

POLL_SECONDS = 0.25  # health checks happen at least this often while waiting
JOIN_SECONDS = 5.0  # how long close() lets workers finish before terminating them

STARTUP_HINT = ("If it failed at start-up: worker processes import the Sequence's class by "
                "name, so define it at module level in an importable module, and guard the "
                "script's entry point with `if __name__ == '__main__':`.")


class WorkerDiedError(RuntimeError):
    """A worker process ended while it still had work (e.g. killed by a signal)."""


def reraise(err: BaseException, note: str) -> None:
    """Raise a worker's exception as itself, noting where it came from."""
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
            reraise(value, "(raised in a cthulhu worker thread)")
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


