"""The loops over array data: training epochs, evaluation and prediction.

Each step is: copy the batch rows into the plan's input buffers (native gather), run the
plan (one native call), read the scalar outputs. Nothing else happens per step unless a
progress bar or a per-batch callback asks for it.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cthulhu.callbacks import CallbackList
from cthulhu.engine.data import BatchFeeder, batch_shuffled_index
from cthulhu.utils.progbar import Progbar


def _n_steps(n: int, batch_size: int) -> int:
    return (n + batch_size - 1) // batch_size


def run_epoch(model: Any, arrays: list[np.ndarray], batch_size: int, shuffle: Any,
              callbacks: CallbackList, progbar: Optional[Progbar]) -> dict[str, float]:
    """One epoch over ``arrays``: the plan's inputs (x's, then each output's y and weights)."""
    n = len(arrays[0])
    plan = model._plan("train", min(batch_size, n))
    names = model._output_names("train")
    outs = [plan.outputs[name] for name in names]
    feeder = BatchFeeder(arrays)
    if shuffle == "batch":
        index = batch_shuffled_index(n, batch_size)
    else:
        index = np.arange(n, dtype=np.int64)
        if shuffle:
            np.random.shuffle(index)
    totals = np.zeros(len(names))
    per_batch = callbacks.active
    seen = 0
    for step in range(_n_steps(n, batch_size)):
        batch = index[step * batch_size:(step + 1) * batch_size]
        rows = len(batch)
        if per_batch:
            callbacks.call("on_train_batch_begin", step, {"batch": step, "size": rows})
            if model.optimizer.version != model._optimizer_version:  # e.g. a new lr
                plan = model._plan("train", min(batch_size, n))
                outs = [plan.outputs[name] for name in names]
        feeder.gather(batch, plan.inputs)
        model._run_plan("train", rows)
        for j, out in enumerate(outs):
            totals[j] += float(out) * rows
        seen += rows
        if per_batch or progbar is not None:
            logs = {name: totals[j] / seen for j, name in enumerate(names)}
            if progbar is not None:  # the caller finalizes it, after validation
                progbar.update(step + 1, list(logs.items()), finalize=False)
            if per_batch:
                callbacks.call("on_train_batch_end", step,
                               {"batch": step, "size": rows,
                                **{k: float(outs[j]) for j, k in enumerate(names)}})
        if model.stop_training:
            break
    return {name: float(totals[j] / max(seen, 1)) for j, name in enumerate(names)}


def evaluate_arrays(model: Any, arrays: list[np.ndarray], batch_size: int, verbose: int,
                    callbacks: Optional[CallbackList] = None) -> list[float]:
    n = len(arrays[0])
    plan = model._plan("test", min(batch_size, max(n, 1)))
    names = model._output_names("test")
    outs = [plan.outputs[name] for name in names]
    feeder = BatchFeeder(arrays)
    steps = _n_steps(n, plan.capacity)
    progbar = Progbar(steps, verbose=verbose, stateful_metrics=names) if verbose else None
    totals = np.zeros(len(names))
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
        for j, out in enumerate(outs):
            totals[j] += float(out) * (stop - start)
        if progbar is not None:
            progbar.update(step + 1, [(k, totals[j] / stop) for j, k in enumerate(names)])
        if per_batch:
            callbacks.call("on_test_batch_end", step,
                           {"batch": step, "size": stop - start,
                            **{k: totals[j] / stop for j, k in enumerate(names)}})
    scores = [float(t / n) for t in totals]
    if callbacks is not None:
        callbacks.call("on_test_end", dict(zip(names, scores)))
    return scores


def predict_arrays(model: Any, xs: list[np.ndarray], batch_size: int, verbose: int,
                   callbacks: Optional[CallbackList] = None) -> list[np.ndarray]:
    n = len(xs[0])
    plan = model._plan("predict", min(batch_size, max(n, 1)))
    outs = list(plan.outputs.values())
    feeder = BatchFeeder(xs)
    results = [np.empty((n,) + out.shape[1:], dtype=out.dtype) for out in outs]
    steps = _n_steps(n, plan.capacity)
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
