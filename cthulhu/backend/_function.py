"""K.function, K.gradients and the learning phase.

``K.function(inputs, outputs)`` compiles the layer graph between model inputs and any
layer-graph tensors into a plan (the same passes and kernels as a model's predict plan) and
returns a callable on numpy arrays. ``K.gradients`` differentiates the traced graph with the
compiler's autodiff, so its results can be outputs of a ``K.function``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from compiler.builder import Builder
from cthulhu.backend._config import floatx
from cthulhu.backend._tracing import (
    Tensor,
    Trace,
    _value,
    _wrap,
    current_trace,
    in_trace,
    tracing,
)
from cthulhu.backend._variables import Variable


class LearningPhase:
    """``K.learning_phase()`` outside a model: a placeholder that ``K.function`` accepts
    among its inputs, fed 0 (inference) or 1 (training) at each call."""

    def __int__(self) -> int:
        return 0

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<cthulhu.LearningPhase>"


_LEARNING_PHASE = LearningPhase()


def learning_phase() -> Any:
    """1 while a training graph is traced, 0 in other traces; outside any trace, the
    placeholder that K.function takes as an input."""
    if in_trace():
        return int(current_trace().training)
    return _LEARNING_PHASE


def in_train_phase(x: Any, alt: Any, training: Optional[Any] = None) -> Any:
    """``x`` in the training graph, ``alt`` otherwise (callables are called)."""
    if training is None:
        training = learning_phase()
    chosen = x if int(training) else alt
    return chosen() if callable(chosen) else chosen


def in_test_phase(x: Any, alt: Any, training: Optional[Any] = None) -> Any:
    return in_train_phase(alt, x, training)


def gradients(loss: Any, variables: list) -> list:
    """The gradients of ``loss`` (summed if not a scalar) with respect to each of
    ``variables`` (weights, or tensors of the same graph); zeros where it does not depend
    on one."""
    from cthulhu.backend._deferred import as_layer

    variables = list(variables) if isinstance(variables, (list, tuple)) else [variables]

    def compute(loss: Any, *wrt: Any) -> list:
        from compiler.autodiff import grad
        from cthulhu.backend._math import sum, zeros_like
        total = loss if tuple(_value(loss).shape) == () else sum(loss)
        values = [_value(w) for w in wrt]
        grads = grad(current_trace().builder, _value(total), values)
        return [zeros_like(_wrap(v)) if g is None else _wrap(g)
                for g, v in zip(grads, values)]

    compute.__name__ = "gradients"
    if in_trace() or not (isinstance(loss, Tensor) and loss.value is None):
        return compute(loss, *variables)
    out = as_layer(compute, (loss, *variables), {})  # traced with the model, later
    return [out] if isinstance(out, Tensor) else list(out)


class Function:
    """A compiled function from model inputs (and optionally the learning phase) to
    layer-graph tensors; called on a list of arrays, it returns a list of arrays."""

    def __init__(self, inputs: list, outputs: Any) -> None:
        from cthulhu.engine.functional import Lump
        self._single = not isinstance(outputs, (list, tuple))
        outputs = [outputs] if self._single else list(outputs)
        self._phase_at = [i for i, x in enumerate(inputs) if isinstance(x, LearningPhase)]
        if len(self._phase_at) > 1:
            raise ValueError("K.function: the learning phase appears twice in its inputs")
        tensors = [x for x in inputs if not isinstance(x, LearningPhase)]
        for x in tensors:
            if not isinstance(x, Tensor) or x.value is not None:
                raise TypeError(f"K.function inputs must be model input tensors (from Input) "
                                f"or K.learning_phase(), got {x!r}")
        self._lump = Lump(tensors, outputs)
        self._n_inputs = len(inputs)
        # (learning phase, input shapes when some input axis is unknown until run time)
        self._plans: dict[tuple, Any] = {}
        self._step = Variable(np.zeros((), np.int64), "int64", "function_step", False)

    def _compile(self, training: int, rows: int, shapes: Optional[tuple]) -> Any:
        plan = self._plans.get((training, shapes))
        if plan is not None and plan.capacity >= rows:
            return plan
        from compiler.pipeline import optimize_forward, optimize_step
        from compiler.plan import Plan
        from cthulhu.engine.training import _ensure_kernels
        _ensure_kernels()
        b = Builder(floatx())
        trace = Trace(b, bool(training), self._step)
        with tracing(trace):
            xs = [_wrap(b.input(tuple(shape), name=f"x{i}"))
                  for i, shape in enumerate(shapes or self._lump._input_shapes())]
            outs = self._lump.trace_forward(xs, bool(training))
            graph = optimize_forward(b.graph({f"out{i}": o.value for i, o in enumerate(outs)}))
            graph = optimize_step(graph)
        plan = Plan(graph, [v.storage for v in trace.variables], max(rows, 1), name="function")
        self._plans[(training, shapes)] = plan
        return plan

    def __call__(self, values: list) -> Any:
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        if len(values) != self._n_inputs:
            raise ValueError(f"K.function expects {self._n_inputs} input values, got "
                             f"{len(values)}")
        training = int(values[self._phase_at[0]]) if self._phase_at else 0
        arrays = [np.asarray(v) for i, v in enumerate(values) if i not in self._phase_at]
        rows = len(arrays[0]) if arrays else 1
        declared = self._lump._input_shapes()
        for array, shape in zip(arrays, declared):
            if len(array) != rows or array.ndim != len(shape) or any(
                    want is not None and want != got
                    for want, got in zip(shape[1:], array.shape[1:])):
                raise ValueError(f"K.function: an input of shape {array.shape} does not match "
                                 f"{shape} (or the inputs differ in length)")
        unknown = any(d is None for shape in declared for d in shape[1:])
        shapes = tuple((None,) + a.shape[1:] for a in arrays) if unknown else None
        plan = self._compile(training, rows, shapes)
        for buffer, array in zip(plan.inputs, arrays):
            buffer[:rows] = array
        plan.run(rows)
        if training:
            self._step.assign(self._step.numpy() + 1)  # fresh dropout masks next call
        results = []
        for name in sorted(plan.outputs, key=lambda n: int(n[3:])):
            out = plan.outputs[name]
            batched = plan.graph.outputs[name].batched
            results.append((out[:rows] if batched else out).copy())
        return results


def function(inputs: list, outputs: Any, updates: Optional[list] = None, name: Optional[str] = None,
             **kwargs: Any) -> Function:
    if updates:
        raise NotImplementedError("K.function with updates is not supported: train with a "
                                  "model (summon) or write the update as part of a layer")
    if kwargs:
        raise TypeError(f"K.function got unexpected keyword argument(s) {sorted(kwargs)}")
    return Function(list(inputs), outputs)
