"""Data adapters: arrays, generators and Sequences as one kind of batch source.

A source yields ``(rows, payload)`` per batch and copies a payload into a plan's input
buffers with ``feed``. Arrays keep their native fast path (the payload is a row index or a
slice, gathered straight from the user's arrays); a generator or Sequence batch is checked
against the model once, as it arrives, and its payload is the plan-input arrays.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np

from cthulhu.engine.data import BatchFeeder, BatchStream
from cthulhu.utils.data_utils import GeneratorEnqueuer, OrderedEnqueuer


def is_batch_data(x: Any) -> bool:
    """True for a Sequence or a generator/iterator (data that comes batch by batch)."""
    if isinstance(x, (np.ndarray, list, tuple, dict, str, bytes, range)) or x is None:
        return False
    return inspect.isgenerator(x) or hasattr(x, "__next__") or (
        hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "shape"))


def is_sequence(x: Any) -> bool:
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and not hasattr(x, "__next__")


def check_steps(steps: Any, what: str) -> Optional[int]:
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"{what} must be a positive integer, got {steps!r}")
    return int(steps)


class ArraySource:
    """Training over arrays: the (shuffled) row indices of each batch, gathered natively."""

    def __init__(self, arrays: list[np.ndarray], batch_size: int, shuffle: Any,
                 steps_per_epoch: Optional[int]) -> None:
        self.stream = BatchStream(len(arrays[0]), batch_size, shuffle, steps_per_epoch)
        self.feeder = BatchFeeder(arrays)
        self.samples = len(arrays[0])
        self.steps: Optional[int] = self.stream.steps
        self.capacity = min(batch_size, self.samples)
        self.exhausted = False

    def batches(self) -> Iterator[tuple]:
        for index in self.stream.epoch():
            yield len(index), index

    def feed(self, index: np.ndarray, buffers: list[np.ndarray]) -> None:
        self.feeder.gather(index, buffers)

    def arrays(self, batch: Any) -> list[np.ndarray]:
        """The whole arrays behind a batch (all batches share their shapes)."""
        return self.feeder.arrays

    def end_epoch(self) -> None:
        pass

    def close(self, abort: bool = False) -> None:
        pass


class SliceSource(ArraySource):
    """Evaluation or prediction over arrays: consecutive slices, copied natively."""

    def __init__(self, arrays: list[np.ndarray], batch_size: int,
                 steps: Optional[int]) -> None:
        n = len(arrays[0])
        self.feeder = BatchFeeder(arrays)
        self.capacity = min(batch_size, max(n, 1))
        available = (n + self.capacity - 1) // self.capacity
        self.steps = min(available, steps) if steps is not None else available
        self.samples = min(n, self.steps * self.capacity)
        self.exhausted = False

    def batches(self) -> Iterator[tuple]:
        for step in range(self.steps):
            start = step * self.capacity
            stop = min(self.samples, start + self.capacity)
            yield stop - start, (start, stop)

    def feed(self, bounds: tuple, buffers: list[np.ndarray]) -> None:
        self.feeder.slice(bounds[0], bounds[1], buffers)


def _unpack(batch: Any, mode: str, step: int, what: str) -> tuple:
    """(x, y, sample_weight) from what a generator or Sequence produced."""
    if mode == "predict":
        if isinstance(batch, tuple) and 1 <= len(batch) <= 3:
            return batch[0], None, None
        return batch, None, None
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        got = f"a {type(batch).__name__} of length {len(batch)}" \
            if isinstance(batch, (tuple, list)) else f"a {type(batch).__name__}"
        raise ValueError(f"Batch {step} from the {what}: expected a tuple (x, y) or "
                         f"(x, y, sample_weight), got {got}")
    return batch[0], batch[1], batch[2] if len(batch) == 3 else None


class BatchSource:
    """A generator or Sequence, run by an enqueuer for as long as the source lives (one
    ``summon``, ``evaluate`` or ``predict`` call). Sequence: each epoch is one pass over its
    (shuffled) indices, then ``on_epoch_end``. Generator: epochs take consecutive batches
    from it; ``exhausted`` tells when it ran out."""

    def __init__(self, model: Any, mode: str, data: Any, steps: Optional[int],
                 shuffle: Any = False, class_weight: Any = None, workers: int = 1,
                 max_queue_size: int = 10, use_multiprocessing: bool = False) -> None:
        self.model, self.mode, self.class_weight = model, mode, class_weight
        self.sequence = is_sequence(data)
        self.what = "Sequence" if self.sequence else "generator"
        self.steps = steps if steps is not None else (len(data) if self.sequence else None)
        self.samples = None
        self.capacity: Optional[int] = None
        self.exhausted = False
        self._given_steps = steps
        from cthulhu._kernels.gather import copy_rows
        self._copy = copy_rows
        if self.sequence:
            self.enqueuer: Any = OrderedEnqueuer(data, use_multiprocessing,
                                                 shuffle=bool(shuffle))
        else:
            self.enqueuer = GeneratorEnqueuer(data, use_multiprocessing)
        self.enqueuer.start(workers=workers, max_queue_size=max_queue_size)

    def _raw(self) -> Iterator[Any]:
        if self.sequence:
            order = self.enqueuer.order()
            steps = self._given_steps or len(order)
            if steps > len(order):
                self.exhausted = True
            yield from self.enqueuer.run_pass(order[:steps])
            return
        for _ in range(self.steps) if self.steps is not None else iter(int, 1):
            batch = self.enqueuer.next_batch()
            if batch is GeneratorEnqueuer.END:
                self.exhausted = True
                return
            yield batch

    def batches(self) -> Iterator[tuple]:
        for step, raw in enumerate(self._raw()):
            arrays = self.standardize(raw, step)
            yield len(arrays[0]), arrays

    def standardize(self, raw: Any, step: int) -> list[np.ndarray]:
        """The plan-input arrays of one batch; a ValueError/TypeError names the batch."""
        x, y, sw = _unpack(raw, self.mode, step, self.what)
        try:
            if self.mode == "predict":
                return self.model._inputs(x)
            return self.model._arrays(x, y, sw, self.class_weight)
        except (ValueError, TypeError) as err:
            raise type(err)(f"Batch {step} from the {self.what}: {err}") from None

    def arrays(self, batch: list[np.ndarray]) -> list[np.ndarray]:
        return batch

    def feed(self, arrays: list[np.ndarray], buffers: list[np.ndarray]) -> None:
        rows = len(arrays[0])
        for src, dst in zip(arrays, buffers):
            self._copy(src, 0, rows, dst)

    def end_epoch(self) -> None:
        if self.sequence:
            self.enqueuer.end_pass()

    def close(self, abort: bool = False) -> None:
        self.enqueuer.stop(abort=abort)


class closing:
    """Closes batch sources on exit: at once (``abort``) when an exception is leaving."""

    def __init__(self) -> None:
        self.sources: list = []

    def add(self, source: Any) -> Any:
        self.sources.append(source)
        return source

    def __enter__(self) -> closing:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        for source in self.sources:
            source.close(abort=kind is not None)


def warn_ran_out(what: str, steps: int, epoch: int) -> None:
    warnings.warn(f"The {what} ran out of data after {steps} batch(es) of epoch {epoch + 1}: "
                  f"training stops here. Make it yield at least steps_per_epoch x epochs "
                  f"batches (e.g. loop forever), or lower steps_per_epoch.", stacklevel=4)
