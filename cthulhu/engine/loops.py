"""The loops over array data: training epochs, evaluation and prediction.

Each step is: copy the batch rows into the plan's input buffers (native gather), run the
plan (one native call), read the scalar outputs. Nothing else happens per step unless a
progress bar or a per-batch callback asks for it.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cthulhu.callbacks import CallbackList
from cthulhu.engine.data import BatchFeeder, BatchStream
from cthulhu.utils.progbar import Progbar


def _n_steps(n: int, batch_size: int) -> int:
    return (n + batch_size - 1) // batch_size


def _limit_steps(available: int, steps: Optional[int]) -> int:
    if steps is None:
        return available
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return min(steps, available)


class Accumulator:
    """Running averages of the values a plan logs: a mean over samples for loss and
    metrics, or, for a weighted metric (which logs ``name`` = sum(value * weight) and
    ``name/weight`` = sum(weight)), the ratio of the two sums."""

    def __init__(self, plan: Any, names: list[str]) -> None:
        self.names = names
        self.bind(plan)
        self.num = np.zeros(len(names))
        self.den = np.zeros(len(names))

    def bind(self, plan: Any) -> None:
        """Read from ``plan`` (after a rebuild, e.g. for a new learning rate)."""
        self.values = [plan.outputs[name] for name in self.names]
        self.weights = [plan.outputs.get(name + "/weight") for name in self.names]

    def add(self, rows: int) -> None:
        for j, (value, weight) in enumerate(zip(self.values, self.weights)):
            if weight is None:
                self.num[j] += float(value) * rows
                self.den[j] += rows
            else:
                self.num[j] += float(value)
                self.den[j] += float(weight)

    def result(self) -> dict[str, float]:
        return {name: float(self.num[j] / self.den[j]) if self.den[j] else 0.0
                for j, name in enumerate(self.names)}

    def last_batch(self) -> dict[str, float]:
        out = {}
        for name, value, weight in zip(self.names, self.values, self.weights):
            w = 1.0 if weight is None else float(weight)
            out[name] = float(value) / w if w else 0.0
        return out


def run_epoch(model: Any, arrays: list[np.ndarray], stream: BatchStream,
              callbacks: CallbackList, progbar: Optional[Progbar]) -> dict[str, float]:
    """One epoch over ``arrays``: the plan's inputs (x's, then each output's y and weights),
    in the batches ``stream`` gives."""
    capacity = min(stream.batch_size, stream.n)
    plan = model._plan("train", capacity)
    logs = Accumulator(plan, model._output_names("train"))
    feeder = BatchFeeder(arrays)
    per_batch = callbacks.active
    for step, batch in enumerate(stream.epoch()):
        rows = len(batch)
        if per_batch:
            callbacks.call("on_train_batch_begin", step, {"batch": step, "size": rows})
            if model.optimizer.version != model._optimizer_version:  # e.g. a new lr
                plan = model._plan("train", capacity)
                logs.bind(plan)
        feeder.gather(batch, plan.inputs)
        model._run_plan("train", rows)
        logs.add(rows)
        if progbar is not None:  # the caller finalizes it, after validation
            progbar.update(step + 1, list(logs.result().items()), finalize=False)
        if per_batch:
            callbacks.call("on_train_batch_end", step,
                           {"batch": step, "size": rows, **logs.last_batch()})
        if model.stop_training:
            break
    return logs.result()


def evaluate_arrays(model: Any, arrays: list[np.ndarray], batch_size: int, verbose: int,
                    callbacks: Optional[CallbackList] = None,
                    steps: Optional[int] = None) -> list[float]:
    """Scores over the data, or over its first ``steps`` batches."""
    n = len(arrays[0])
    plan = model._plan("test", min(batch_size, max(n, 1)))
    names = model._output_names("test")
    logs = Accumulator(plan, names)
    feeder = BatchFeeder(arrays)
    steps = _limit_steps(_n_steps(n, plan.capacity), steps)
    progbar = Progbar(steps, verbose=verbose, stateful_metrics=names) if verbose else None
    per_batch = callbacks is not None and callbacks.overrides("on_test_batch_begin",
                                                              "on_test_batch_end")
    if callbacks is not None:
        callbacks.call("on_test_begin", {})
    for step in range(steps):
        start, stop = step * plan.capacity, min(n, (step + 1) * plan.capacity)
        if per_batch:
            callbacks.call("on_test_batch_begin", step, {"batch": step, "size": stop - start})
        feeder.slice(start, stop, plan.inputs)
        model._run_plan("test", stop - start)
        logs.add(stop - start)
        if progbar is not None:
            progbar.update(step + 1, list(logs.result().items()))
        if per_batch:
            callbacks.call("on_test_batch_end", step,
                           {"batch": step, "size": stop - start, **logs.result()})
    scores = logs.result()
    if callbacks is not None:
        callbacks.call("on_test_end", scores)
    return [scores[name] for name in names]


def predict_arrays(model: Any, xs: list[np.ndarray], batch_size: int, verbose: int,
                   callbacks: Optional[CallbackList] = None,
                   steps: Optional[int] = None) -> list[np.ndarray]:
    """Predictions for the data, or for its first ``steps`` batches."""
    plan = model._plan("predict", min(batch_size, max(len(xs[0]), 1)))
    steps = _limit_steps(_n_steps(len(xs[0]), plan.capacity), steps)
    n = min(len(xs[0]), steps * plan.capacity)
    outs = list(plan.outputs.values())
    feeder = BatchFeeder(xs)
    results = [np.empty((n,) + out.shape[1:], dtype=out.dtype) for out in outs]
    progbar = Progbar(steps, verbose=verbose) if verbose else None
    per_batch = callbacks is not None and callbacks.overrides("on_predict_batch_begin",
                                                              "on_predict_batch_end")
    if callbacks is not None:
        callbacks.call("on_predict_begin", {})
    for step in range(steps):
        start, stop = step * plan.capacity, min(n, (step + 1) * plan.capacity)
        if per_batch:
            callbacks.call("on_predict_batch_begin", step, {"batch": step, "size": stop - start})
        feeder.slice(start, stop, plan.inputs)
        model._run_plan("predict", stop - start)
        for result, out in zip(results, outs):
            result[start:stop] = out[:stop - start]
        if progbar is not None:
            progbar.update(step + 1)
        if per_batch:
            callbacks.call("on_predict_batch_end", step,
                           {"batch": step, "size": stop - start,
                            "outputs": [r[start:stop] for r in results]})
    if callbacks is not None:
        callbacks.call("on_predict_end", {})
    return results
