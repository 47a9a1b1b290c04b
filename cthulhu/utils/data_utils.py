"""Sequence, and the enqueuers that run a Sequence or a generator in workers.

``OrderedEnqueuer`` delivers the batches of a Sequence in order, each index exactly once per
pass, whatever the number of workers; ``Sequence.on_epoch_end`` runs between passes (and
reaches worker processes before the next pass). ``GeneratorEnqueuer`` pulls from a plain
generator in threads. Caveats, decided here:

- A Python generator cannot be advanced by two threads at once, so ``workers > 1`` threads
  on a generator object raise a ValueError up front (wrap it with ``threadsafe_generator``
  or use a Sequence). Other iterators are trusted to be thread-safe; if one turns out not
  to be ("generator already executing"), a ValueError says so.
- Generators cannot go to worker processes (they do not pickle, and forked copies would
  replay the same batches): ``use_multiprocessing=True`` needs a Sequence.
- At most ``max_queue_size`` batches are in flight (being computed or waiting).
"""

from __future__ import annotations

import functools
import inspect
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, Optional

import numpy as np

from cthulhu.utils._pools import POLL_SECONDS, InlinePool, ThreadPool, WorkerDiedError
from cthulhu.utils._process_pool import ProcessPool
from cthulhu.utils._worker import WorkerError

__all__ = ["Sequence", "OrderedEnqueuer", "GeneratorEnqueuer", "SequenceEnqueuer",
           "threadsafe_generator", "WorkerDiedError", "WorkerError"]


class Sequence:
    """Base class for data sets indexed by batch: implement ``__getitem__(index)`` (one
    batch) and ``__len__`` (the number of batches); ``on_epoch_end`` runs between epochs.
    Safe with any number of workers, threads or processes: each index is computed once."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        """Called after each epoch; its changes are seen by the next one."""

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]


class threadsafe_iter:
    """An iterator whose ``next`` holds a lock, so several threads may pull from it (they
    take turns: the work of one ``next`` is never parallel)."""

    thread_safe = True

    def __init__(self, iterator: Iterable) -> None:
        self.iterator = iter(iterator)
        self.lock = threading.Lock()

    def __iter__(self) -> threadsafe_iter:
        return self

    def __next__(self) -> Any:
        with self.lock:
            return next(self.iterator)


def threadsafe_generator(function: Any) -> Any:
    """Decorator: the generator function's generators become ``threadsafe_iter``s."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> threadsafe_iter:
        return threadsafe_iter(function(*args, **kwargs))
    return wrapper


def _check_workers(workers: Any, max_queue_size: Any) -> None:
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 0:
        raise ValueError(f"workers must be an integer >= 0, got {workers!r}")
    if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, (int, np.integer)) \
            or max_queue_size < 1:
        raise ValueError(f"max_queue_size must be an integer >= 1, got {max_queue_size!r}")


def _overrides_on_epoch_end(sequence: Any) -> bool:
    method = getattr(type(sequence), "on_epoch_end", None)
    return method is not None and method is not Sequence.on_epoch_end


class SequenceEnqueuer:
    """Common interface: ``start(workers, max_queue_size)``, ``get()``, ``stop()``."""

    def is_running(self) -> bool:
        raise NotImplementedError

    def start(self, workers: int = 1, max_queue_size: int = 10) -> None:
        raise NotImplementedError

    def get(self) -> Iterator[Any]:
        raise NotImplementedError

    def stop(self, timeout: Optional[float] = None, abort: bool = False) -> None:
        raise NotImplementedError

    def __enter__(self) -> SequenceEnqueuer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop(abort=exc[0] is not None)


class OrderedEnqueuer(SequenceEnqueuer):
    """Runs a Sequence in workers (0: the caller's thread; threads; or processes with
    ``use_multiprocessing``) and yields its batches in order. ``seed`` fixes the random
    seeds of worker processes (default: drawn from ``numpy.random``)."""

    def __init__(self, sequence: Any, use_multiprocessing: bool = False,
                 shuffle: bool = False, seed: Optional[int] = None) -> None:
        if not (hasattr(sequence, "__getitem__") and hasattr(sequence, "__len__")):
            raise TypeError(f"OrderedEnqueuer needs a Sequence (with __getitem__ and "
                            f"__len__), got {type(sequence).__name__}")
        self.sequence = sequence
        self.use_multiprocessing = bool(use_multiprocessing)
        self.shuffle = shuffle
        self.seed = seed
        self._pool: Any = None
        self._outstanding: deque = deque()
        self._task_ids = 0
        self.max_queue_size = 10

    def is_running(self) -> bool:
        return self._pool is not None

    def start(self, workers: int = 1, max_queue_size: int = 10) -> None:
        _check_workers(workers, max_queue_size)
        if self._pool is not None:
            raise RuntimeError("this enqueuer is already running; stop() it first")
        self.max_queue_size = int(max_queue_size)
        if workers == 0:
            self._pool = InlinePool(self.sequence)
        elif self.use_multiprocessing:
            seed = self.seed if self.seed is not None else int(np.random.randint(2 ** 31 - 1))
            self._pool = ProcessPool(self.sequence, int(workers), self.max_queue_size, seed)
        else:
            self._pool = ThreadPool(self.sequence, int(workers))

    def _drain(self) -> None:
        """Collect (and drop) the batches of a pass the consumer left early."""
        while self._outstanding:
            task_id = self._outstanding.popleft()
            try:
                self._pool.result(task_id)
            except WorkerDiedError:
                raise
            except Exception:
                pass

    def run_pass(self, indices: Iterable[int]) -> Iterator[Any]:
        """The batches ``sequence[i]`` for ``indices``, in that order, with at most
        ``max_queue_size`` of them submitted ahead of the consumer."""
        if self._pool is None:
            raise RuntimeError("the enqueuer is not running: call start() first")
        self._drain()
        pending = iter(indices)

        def submit_next() -> bool:
            index = next(pending, None)
            if index is None:
                return False
            self._task_ids += 1
            self._pool.submit(self._task_ids, int(index))
            self._outstanding.append(self._task_ids)
            return True

        for _ in range(self.max_queue_size):
            if not submit_next():
                break
        while self._outstanding:
            task_id = self._outstanding.popleft()
            batch = self._pool.result(task_id)
            submit_next()
            yield batch

    def end_pass(self) -> None:
        """Between passes: ``on_epoch_end`` here, then (processes) the updated Sequence
        goes to every worker. Batches still computing for a pass left early are collected
        first: no worker may read the Sequence while it changes."""
        self._drain()
        self.sequence.on_epoch_end()
        if isinstance(self._pool, ProcessPool) and _overrides_on_epoch_end(self.sequence):
            self._pool.update(self.sequence)

    def order(self) -> np.ndarray:
        index = np.arange(len(self.sequence))
        if self.shuffle:
            np.random.shuffle(index)
        return index

    def get(self) -> Iterator[Any]:
        """Batches in order, pass after pass, until ``stop()``."""
        while self._pool is not None:
            yield from self.run_pass(self.order())
            if self._pool is not None:
                self.end_pass()

    def stop(self, timeout: Optional[float] = None, abort: bool = False) -> None:
        """Stop the workers; ``abort`` (after an error) does not wait for their batches."""
        pool, self._pool = self._pool, None
        self._outstanding.clear()
        if pool is not None:
            pool.close(abort=abort)


_END = object()


class GeneratorEnqueuer(SequenceEnqueuer):
    """Pulls batches from a generator (or any iterator) in ``workers`` threads, or in the
    caller's thread with ``workers=0``. ``next_batch()`` returns the next batch or ``END``."""

    END = _END

    def __init__(self, generator: Any, use_multiprocessing: bool = False,
                 random_seed: Optional[int] = None) -> None:
        if use_multiprocessing:
            raise ValueError(
                "use_multiprocessing=True needs a cthulhu.utils.Sequence: a Python generator "
                "cannot be sent to worker processes (it cannot be pickled, and forked copies "
                "would all yield the same batches). Wrap the data in a Sequence, or use "
                "threads (use_multiprocessing=False).")
        if not hasattr(generator, "__next__"):
            raise TypeError(f"expected a generator or iterator, got {type(generator).__name__}")
        self.generator = generator
        self.random_seed = random_seed
        self._threads: list[threading.Thread] = []
        self._out: queue.Queue = queue.Queue()
        self._tokens: Optional[threading.Semaphore] = None
        self._stop = threading.Event()
        self._running = False
        self._ended = 0

    def is_running(self) -> bool:
        return self._running

    def start(self, workers: int = 1, max_queue_size: int = 10) -> None:
        _check_workers(workers, max_queue_size)
        if workers > 1 and inspect.isgenerator(self.generator):
            raise ValueError(
                f"workers={workers} threads cannot share a Python generator: it is not "
                f"thread-safe (two threads calling next() at once fail with 'generator "
                f"already executing'). Use workers=1, decorate the generator function with "
                f"cthulhu.utils.threadsafe_generator, or use a cthulhu.utils.Sequence.")
        self._stop.clear()
        self._tokens = threading.Semaphore(int(max_queue_size))
        self._threads = [threading.Thread(target=self._run, name=f"cthulhu-generator-{k}",
                                          daemon=True) for k in range(int(workers))]
        for thread in self._threads:
            thread.start()
        self._running = True

    def _pull(self) -> tuple:
        try:
            return (True, next(self.generator))
        except StopIteration:
            return (True, _END)
        except ValueError as err:
            if "already executing" not in str(err):
                return (False, err)
            clear = ValueError("the generator is not thread-safe: several worker threads "
                               "called next() on it at once. Use workers=1, make it "
                               "thread-safe (cthulhu.utils.threadsafe_generator), or use a "
                               "cthulhu.utils.Sequence.")
            clear.__cause__ = err
            return (False, clear)
        except BaseException as err:
            return (False, err)

    def _run(self) -> None:
        assert self._tokens is not None
        while not self._stop.is_set():
            if not self._tokens.acquire(timeout=POLL_SECONDS):
                continue
            if self._stop.is_set():
                return
            ok, value = self._pull()
            self._out.put((ok, value))
            if not ok or value is _END:
                return

    def next_batch(self) -> Any:
        """The next batch, ``END`` once the generator is exhausted; re-raises its errors."""
        if not self._running:
            raise RuntimeError("the enqueuer is not running: call start() first")
        if not self._threads:
            ok, value = self._pull()
        else:
            while True:
                if self._ended == len(self._threads) and self._out.empty():
                    return _END
                try:
                    ok, value = self._out.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    if not any(t.is_alive() for t in self._threads) and self._out.empty():
                        raise WorkerDiedError("every generator thread ended without "
                                              "reporting why") from None
                    continue
                if ok and value is _END:
                    self._ended += 1
                    continue
                break
            if ok:
                assert self._tokens is not None
                self._tokens.release()
        if not ok:
            if hasattr(value, "add_note") and self._threads:
                value.add_note("(raised in a cthulhu generator thread)")
            raise value
        return value

    def get(self) -> Iterator[Any]:
        while True:
            batch = self.next_batch()
            if batch is _END:
                return
            yield batch

    def stop(self, timeout: Optional[float] = None, abort: bool = False) -> None:
        self._stop.set()
        if timeout is None:
            timeout = 1.0 if abort else 5.0
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        self._running = False
