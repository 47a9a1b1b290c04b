"""Sequences and generators for the pipeline tests. They live in a module of their own so
that worker processes (forkserver/spawn) can import them by name."""

from __future__ import annotations

import os
import time

import numpy as np

from cthulhu.utils import Sequence

FEATURES, CLASSES = 3, 2


def batch(index: int, rows: int = 4, features: int = FEATURES) -> tuple:
    """x rows all equal to ``index``; y zeros: the batch says which index made it."""
    return (np.full((rows, features), index, dtype="float32"),
            np.zeros((rows, CLASSES), dtype="float32"))


class LoggedSequence(Sequence):
    """Appends ``epoch:index:pid`` to a log file for each batch it computes (O_APPEND
    writes of one short line are atomic, so threads and processes may share the file).
    ``on_epoch_end`` bumps ``epoch``: worker processes must see it in the next epoch."""

    def __init__(self, log: str, n: int = 8, rows: int = 4, features: int = FEATURES,
                 delay: float = 0.0) -> None:
        self.log, self.n, self.rows, self.features, self.delay = log, n, rows, features, delay
        self.epoch = 0
        self.ends = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple:
        if self.delay:
            time.sleep(self.delay)
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:  # the epoch as the batch ends: it must not change under a running batch
            os.write(fd, f"{self.epoch}:{index}:{os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return batch(index, self.rows, self.features)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.ends += 1


def read_log(path: str) -> list[tuple[int, int, int]]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [tuple(int(v) for v in line.split(":")) for line in f.read().split()]


class DataError(Exception):
    """A user's own exception type, raised from inside a batch."""


class FailingSequence(Sequence):
    def __init__(self, bad: int, n: int = 8) -> None:
        self.bad, self.n = bad, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple:
        if index == self.bad:
            raise DataError(f"cannot read batch {index}")
        return batch(index)


class UnpicklableError(Exception):
    def __init__(self, a, b) -> None:  # unpickling calls __init__(msg): it fails
        super().__init__(f"{a}/{b}")


class UnpicklableErrorSequence(FailingSequence):
    def __getitem__(self, index: int) -> tuple:
        raise UnpicklableError(index, "x")


class SlowSequence(Sequence):
    """Batch ``slow`` takes ``seconds``; the others are immediate."""

    def __init__(self, slow: int, seconds: float, n: int = 8) -> None:
        self.slow, self.seconds, self.n = slow, seconds, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple:
        if index == self.slow:
            time.sleep(self.seconds)
        return batch(index)


class NoisySequence(Sequence):
    """Batches drawn from the global numpy RNG (as augmentation code does)."""

    def __init__(self, n: int = 6) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple:
        return (np.random.normal(size=(4, FEATURES)).astype("float32"),
                np.zeros((4, CLASSES), dtype="float32"))


class BigSequence(Sequence):
    """Batches of ~1 MB: they travel through shared memory."""

    def __init__(self, n: int = 6, rows: int = 64, features: int = 4096) -> None:
        self.n, self.rows, self.features = n, rows, features

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple:
        return batch(index, self.rows, self.features)


class OpenMPSequence(Sequence):
    """Each batch runs a cthulhu kernel on OpenMP threads: in a worker forked from a parent
    that ran OpenMP, this is where the GNU runtime would hang."""

    def __init__(self, n: int = 4) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple:
        from cthulhu._kernels.gather import gather_rows
        from cthulhu._kernels.threads import set_num_threads
        set_num_threads(2)
        src = np.full((4096, 256), index, dtype="float32")
        dst = np.empty((4096, 256), dtype="float32")
        gather_rows(src, np.arange(4096, dtype=np.int64), dst)
        return dst[:4, :FEATURES].copy(), np.zeros((4, CLASSES), dtype="float32")


class LockedSequence(Sequence):
    """Holds a lock: it cannot be pickled for worker processes."""

    def __init__(self) -> None:
        import threading
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> tuple:
        return batch(index)


class MissingFileSequence(FailingSequence):
    """Raises an OSError, as a Sequence reading files does."""

    def __getitem__(self, index: int) -> tuple:
        if index == self.bad:
            np.load(f"/nonexistent/cthulhu/batch-{index}.npy")
        return batch(index)


class DataSequence(Sequence):
    """Holds its data set (2 MB) the way users do; batch i is rows 4i..4i+3. A worker
    scribbles on its copy of the spare last row; ``on_epoch_end`` changes the data in
    place."""

    def __init__(self, n: int = 4) -> None:
        self.n = n
        self.data = np.repeat(np.arange(4 * n + 1, dtype="float32"), 2 ** 19 // n).reshape(
            4 * n + 1, -1)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple:
        rows = self.data[4 * index:4 * index + 4, :FEATURES].copy()
        self.data[-1] = -1.0  # must stay private to this worker (fork semantics)
        return rows, np.zeros((4, CLASSES), dtype="float32")

    def on_epoch_end(self) -> None:
        self.data += 100.0


class UnpicklableBatchSequence(FailingSequence):
    """Returns a batch a worker process cannot send back (it holds a lambda)."""

    def __getitem__(self, index: int) -> tuple:
        x, y = batch(index)
        return x, y, {"weights": lambda: None}
