"""From a model to compiled graphs and plans, one per mode (train, test, predict).

``conjure`` steps, each a function: trace the model's forward pass, attach the loss and
metrics, optimize the forward graph, differentiate, append the optimizer's fused update,
optimize the whole step. ``reference_graph`` builds the same thing with no fusion, for the
reference interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from compiler.autodiff import grad
from compiler.builder import Builder
from compiler.ir import Graph, Value
from compiler.pipeline import optimize_forward, optimize_step
from cthulhu import backend as K
from cthulhu import losses

MODES = ("train", "test", "predict")


@dataclass
class CompiledGraph:
    graph: Graph
    variables: list[K.Variable]  # one per graph param, in order
    metric_names: list[str]


def target_shape(loss_fn: Callable, output_shape: tuple) -> tuple:
    if losses.is_sparse(loss_fn):
        return output_shape[:-1] + (1,)
    return output_shape


def _forward(model: Any, trace: K.Trace) -> tuple[Value, Value]:
    b = trace.builder
    x = K.Tensor(b.input(model.input_shape, name="x"), model.input_shape, K.floatx())
    y_pred = model.trace_forward(x, trace.training)
    return x.value, y_pred


def _constrained(model: Any, trace: K.Trace,
                 assigns: list[tuple[Value, Value]]) -> list[tuple[Value, Value]]:
    """Apply each weight's constraint to its updated value, as Keras does after a step."""
    constraints = model.weight_constraints()
    out = []
    for param, new in assigns:
        var = trace.variable_of(param)
        constraint = constraints.get(id(var)) if var is not None else None
        if constraint is not None:
            new = constraint(K.Tensor(new, new.shape, new.dtype)).value
        out.append((param, new))
    return out


def build_graph(model: Any, mode: str, fusion: bool | None = None,
                check: bool = False) -> CompiledGraph:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    training = mode == "train"
    b = Builder(K.floatx())
    step = model.optimizer.iterations if training else None
    trace = K.Trace(b, training, step)
    metric_names: list[str] = []
    with K.tracing(trace):
        _, y_pred = _forward(model, trace)
        if mode == "predict":
            outputs = {"predictions": y_pred.value}
        else:
            shape = target_shape(model.loss_fn, y_pred.shape)
            y_true = K.Tensor(b.input(shape, name="y"), shape, K.floatx())
            weights = K.Tensor(b.input((None,), name="sample_weight"), (None,), K.floatx())
            per_sample = losses.per_sample_function(model.loss_fn)(y_true, y_pred)
            loss = losses.reduce_batch(model.loss_fn, per_sample, weights)
            for penalty in model.regularization_penalties() + trace.penalties:
                loss = loss + penalty
            outputs = {"loss": loss.value}
            for name, fn in model.metric_fns:
                outputs[name] = K.mean(fn(y_true, y_pred)).value
                metric_names.append(name)
        graph = optimize_forward(b.graph(outputs), fusion, check)
        assigns: list[tuple[Value, Value]] = []
        if training:
            b = Builder.from_graph(graph, K.floatx())
            trace.builder = b
            weights = model.trainable_weights
            if not weights:
                raise ValueError("the model has no trainable weights to train")
            params = [trace.param(w) for w in weights]
            grads = grad(b, graph.outputs["loss"], params)
            grads = [g if g is not None else b.emit("broadcast_like", b.const(0.0, p.dtype), p)
                     for g, p in zip(grads, params)]
            assigns = _constrained(model, trace,
                                   model.optimizer.emit_updates(trace, weights, grads))
            graph = b.graph(graph.outputs, assigns)
        graph = optimize_step(graph, fusion, check)
    return CompiledGraph(graph, list(trace.variables), metric_names)
