"""From a model to compiled graphs and plans, one per mode (train, test, predict).

``conjure`` steps, each a function: trace the model's forward pass, attach the loss and
metrics, optimize the forward graph, differentiate, append the optimizer's fused update,
optimize the whole step. ``reference_graph`` builds the same thing with no fusion, for the
reference interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

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


def _forward(model: Any, trace: K.Trace, shapes: Optional[tuple]) -> list[K.Tensor]:
    """Graph inputs x0..xk (in the model's input order, of the given shapes or else the
    model's) and the traced outputs."""
    b = trace.builder
    xs = [K.Tensor(b.input(tuple(shape), name=f"x{i}"), tuple(shape), K.floatx())
          for i, shape in enumerate(shapes or model._input_shapes())]
    return model.trace_forward(xs, trace.training)


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


def build_graph(model: Any, mode: str, shapes: Optional[tuple] = None,
                fusion: bool | None = None, check: bool = False) -> CompiledGraph:
    """The compiled graph of ``mode``; ``shapes``: concrete input shapes (batch axis None)
    for a model whose inputs have axes unknown until run time."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    training = mode == "train"
    b = Builder(K.floatx())
    step = model.optimizer.iterations if training else None
    trace = K.Trace(b, training, step)
    with K.tracing(trace):
        y_preds = _forward(model, trace, shapes)
        if mode == "predict":
            outputs = {f"predictions{i}": y.value for i, y in enumerate(y_preds)}
        else:
            outputs = _losses_and_metrics(model, trace, y_preds)
        # Layer state updates: moving statistics only in training (a test step reads them),
        # stateful RNN states in every mode (see Trace.state_assigns).
        state = trace.state_assigns()
        graph = optimize_forward(b.graph(outputs, state), fusion, check)
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
            graph = b.graph(graph.outputs, list(graph.assigns) + assigns)
        graph = optimize_step(graph, fusion, check)
    return CompiledGraph(graph, list(trace.variables))


def _log_ratio(out: dict, name: str, values: K.Tensor, weights: K.Tensor) -> None:
    """The metric ``name`` as sum(values * weights) over sum(weights) (see loops.Accumulator)."""
    out[name] = K.sum(values * weights).value
    out[name + "/weight"] = K.sum(K.ones_like(values) * weights).value


def _losses_and_metrics(model: Any, trace: K.Trace, y_preds: list[K.Tensor]) -> dict:
    """Targets y_i and sample weights sw_i become graph inputs after the x's, in output
    order; the outputs are named as outputs.log_names lists them."""
    b = trace.builder
    specs = model.output_specs
    total, per_output, metric_values = None, {}, {}
    for i, (spec, y_pred) in enumerate(zip(specs, y_preds)):
        # Shapes from the traced output: its lengths are known here even when the model's
        # output shape has axes unknown until run time.
        target_shape = spec.target_shape_for(tuple(y_pred.shape))
        y_true = K.Tensor(b.input(target_shape, name=f"y{i}"), target_shape, K.floatx())
        shape = spec.sample_weight_shape_for(tuple(y_pred.shape))
        weights = K.Tensor(b.input(shape, name=f"sample_weight{i}"), shape, K.floatx())
        mask = y_pred._mask  # from Masking (or another mask-making layer) upstream
        if len(y_pred.shape) == 1:  # as tf-keras: one value per sample is a (batch, 1) column
            y_pred, y_true = K.expand_dims(y_pred, -1), K.expand_dims(y_true, -1)
        per_sample = losses.per_sample_function(spec.loss)(y_true, y_pred)
        loss = losses.reduce_batch(spec.loss, per_sample, weights, mask)
        per_output[f"{spec.name}_loss"] = loss.value
        weighted = loss if spec.weight == 1.0 else loss * spec.weight
        total = weighted if total is None else total + weighted
        # Metrics are means over samples (and timesteps); with a mask, over the kept ones.
        # Sums are logged with their weight, so that batches combine exactly.
        for name, fn in spec.metrics:
            values = fn(y_true, y_pred)
            if mask is None:
                metric_values[name] = K.mean(values).value
            else:
                _log_ratio(metric_values, name, values, losses.align(mask, values))
        for name, fn in spec.weighted_metrics:
            values = fn(y_true, y_pred)
            w = losses.align(weights, values)
            if mask is not None:
                w = w * losses.align(mask, values)
            _log_ratio(metric_values, name, values, w)
    for penalty in model.regularization_penalties() + trace.penalties:
        total = total + penalty
    outputs = {"loss": total.value}
    if len(specs) > 1:
        outputs.update(per_output)
    outputs.update(metric_values)
    return outputs
