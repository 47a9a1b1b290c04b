"""The loops: training epochs, evaluation and prediction, over any batch source
(cthulhu.engine.adapters: arrays, generators, Sequences).

Each step is: copy the batch into the plan's input buffers (a native gather for arrays),
run the plan (one native call), read the scalar outputs. Nothing else happens per step
unless a progress bar or a per-batch callback asks for it. A batch larger than the plan
grows the plan (generators may yield batches of any size).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cthulhu.callbacks import CallbackList
from cthulhu.engine import data
from cthulhu.utils.progbar import Progbar


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


def _plan_for(model: Any, mode: str, source: Any, rows: int, batch: Any, plan: Any) -> Any:
    """The plan of ``mode`` for this batch: the current one while it has room for ``rows``
    rows (grown at least twofold when a batch outgrows it, so that slowly growing batches
    do not rebuild it each time) and was compiled for the batch's input shapes (models with
    input axes unknown until run time, such as sequence lengths)."""
    model._check_rows(rows)
    arrays = source.arrays(batch)
    shapes = model._data_shapes(arrays)
    if plan is not None and rows <= plan.capacity and shapes == model._plan_shapes.get(mode):
        return plan
    if plan is not None and rows > plan.capacity:
        rows = max(rows, 2 * plan.capacity)
    plan = model._plan(mode, max(rows, source.capacity or 0), shapes)
    if shapes is not None:
        data.check_fits(arrays, plan)
    return plan


def run_epoch(model: Any, source: Any, callbacks: CallbackList,
              progbar: Optional[Progbar]) -> tuple[dict[str, float], int]:
    """One training epoch over the batches of ``source``; returns the epoch logs and the
    number of batches (0 when the source had nothing left)."""
    names = model._output_names("train")
    plan: Any = None
    logs: Optional[Accumulator] = None
    per_batch = callbacks.active
    steps = 0
    for step, (rows, batch) in enumerate(source.batches()):
        if per_batch:
            callbacks.call("on_train_batch_begin", step, {"batch": step, "size": rows})
        if per_batch and model.optimizer.version != model._optimizer_version:
            plan = None  # e.g. after a new learning rate
        current = _plan_for(model, "train", source, rows, batch, plan)
        if current is not plan:
            plan = current
            if logs is None:
                logs = Accumulator(plan, names)
            logs.bind(plan)
        source.feed(batch, plan.inputs)
        model._run_plan("train", rows)
        logs.add(rows)
        steps = step + 1
        if progbar is not None:  # the caller finalizes it, after validation
            progbar.update(steps, list(logs.result().items()), finalize=False)
        if per_batch:
            callbacks.call("on_train_batch_end", step,
                           {"batch": step, "size": rows, **logs.last_batch()})
        if model.stop_training:
            break
    return (logs.result() if logs is not None else {}), steps


def evaluate_source(model: Any, source: Any, verbose: int,
                    callbacks: Optional[CallbackList] = None,
                    empty_ok: bool = False) -> Optional[list[float]]:
    """Scores over the batches of ``source`` (one epoch of it); None when it had no batch
    and ``empty_ok`` (validation from a generator that ran out), else a ValueError."""
    names = model._output_names("test")
    plan: Any = None
    logs: Optional[Accumulator] = None
    progbar = Progbar(source.steps, verbose=verbose, stateful_metrics=names) \
        if verbose else None
    per_batch = callbacks is not None and callbacks.overrides("on_test_batch_begin",
                                                              "on_test_batch_end")
    if callbacks is not None:
        callbacks.call("on_test_begin", {})
    for step, (rows, batch) in enumerate(source.batches()):
        if per_batch:
            callbacks.call("on_test_batch_begin", step, {"batch": step, "size": rows})
        current = _plan_for(model, "test", source, rows, batch, plan)
        if current is not plan:
            plan = current
            if logs is None:
                logs = Accumulator(plan, names)
            logs.bind(plan)
        source.feed(batch, plan.inputs)
        model._run_plan("test", rows)
        logs.add(rows)
        if progbar is not None:
            progbar.update(step + 1, list(logs.result().items()))
        if per_batch:
            callbacks.call("on_test_batch_end", step,
                           {"batch": step, "size": rows, **logs.result()})
    source.end_epoch()
    if logs is None and empty_ok:
        return None
    if logs is None:
        raise ValueError(f"No batch to evaluate: the {getattr(source, 'what', 'data')} "
                         f"yielded nothing")
    scores = logs.result()
    if callbacks is not None:
        callbacks.call("on_test_end", scores)
    return [scores[name] for name in names]


def predict_source(model: Any, source: Any, verbose: int,
                   callbacks: Optional[CallbackList] = None) -> list[np.ndarray]:
    """Predictions for the batches of ``source``, concatenated per output."""
    plan: Any = None
    parts: list[list[np.ndarray]] = []
    results: Optional[list[np.ndarray]] = None
    done = 0
    progbar = Progbar(source.steps, verbose=verbose) if verbose else None
    per_batch = callbacks is not None and callbacks.overrides("on_predict_batch_begin",
                                                              "on_predict_batch_end")
    if callbacks is not None:
        callbacks.call("on_predict_begin", {})
    for step, (rows, batch) in enumerate(source.batches()):
        if per_batch:
            callbacks.call("on_predict_batch_begin", step, {"batch": step, "size": rows})
        plan = _plan_for(model, "predict", source, rows, batch, plan)
        source.feed(batch, plan.inputs)
        model._run_plan("predict", rows)
        outs = list(plan.outputs.values())
        if results is None and source.samples is not None:  # arrays: the size is known
            results = [np.empty((source.samples,) + o.shape[1:], o.dtype) for o in outs]
        if results is not None:
            for result, out in zip(results, outs):
                result[done:done + rows] = out[:rows]
            batch_outputs = [r[done:done + rows] for r in results]
        else:
            batch_outputs = [out[:rows].copy() for out in outs]
            parts.append(batch_outputs)
        done += rows
        if progbar is not None:
            progbar.update(step + 1)
        if per_batch:
            callbacks.call("on_predict_batch_end", step,
                           {"batch": step, "size": rows, "outputs": batch_outputs})
    source.end_epoch()
    if callbacks is not None:
        callbacks.call("on_predict_end", {})
    if results is not None:
        return results
    if not parts:
        raise ValueError(f"No batch to predict: the {getattr(source, 'what', 'data')} "
                         f"yielded nothing")
    return [np.concatenate(column) for column in zip(*parts)]
