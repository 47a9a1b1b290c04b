"""Run single ops through a native plan and through the reference interpreter."""

from __future__ import annotations

import numpy as np

import compiler.ops  # noqa: F401
from compiler.autodiff import grad
from compiler.builder import Builder
from compiler.interpret import interpret
from compiler.ir import Graph, Value
from compiler.plan import Plan


def op_graph(op: str, arrays: list[np.ndarray], attrs: dict, batched: list[int],
             dtype: str) -> tuple[Graph, Builder, list[Value]]:
    b = Builder(dtype)
    inputs = []
    for i, a in enumerate(arrays):
        shape = ((None,) + a.shape[1:]) if i in batched else a.shape
        inputs.append(b.input(shape, str(a.dtype)))
    outs = b.emit(op, *inputs, **attrs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    return b.graph({f"out{i}": v for i, v in enumerate(outs)}), b, inputs


def batch_rows(graph: Graph, arrays: list[np.ndarray]) -> int:
    rows = {a.shape[0] for v, a in zip(graph.inputs, arrays) if v.batched}
    assert len(rows) <= 1
    return rows.pop() if rows else 1


def run_native(graph: Graph, arrays: list[np.ndarray], params=(), extra_capacity: int = 3
               ) -> dict[str, np.ndarray]:
    """Run on the native kernels with a plan larger than the batch (a partial batch)."""
    rows = batch_rows(graph, arrays)
    plan = Plan(graph, list(params), capacity=rows + extra_capacity)
    for v, buf, a in zip(graph.inputs, plan.inputs, arrays):
        if v.batched:
            buf[:rows] = a
        else:
            buf[...] = a
    plan.run(rows)
    return {name: np.array(plan.outputs[name][:rows] if v.batched else plan.outputs[name])
            for name, v in graph.outputs.items()}


def run_reference(graph: Graph, arrays: list[np.ndarray], params=()) -> dict[str, np.ndarray]:
    return interpret(graph, arrays, list(params))[0]


def grad_graph(op: str, arrays: list[np.ndarray], attrs: dict, batched: list[int],
               diff: list[int], cotangents: list[np.ndarray]) -> Graph:
    """loss = sum_i sum(out_i * c_i); outputs: the loss and d loss / d inputs[diff]."""
    graph, b, inputs = op_graph(op, arrays, attrs, batched, "float64")
    loss = None
    floats = [v for v in graph.outputs.values() if v.dtype != "int64"]
    for value, c in zip(floats, cotangents):
        shape = ((None,) + c.shape[1:]) if value.batched else c.shape
        term = b.emit("reduce_sum", b.mul(value, b.input(shape, "float64")),
                      axes=tuple(range(value.rank)), keepdims=False)
        loss = term if loss is None else b.add(loss, term)
    grads = grad(b, loss, [inputs[i] for i in diff])
    outputs = {"loss": loss}
    outputs.update({f"d{i}": g for i, g in zip(diff, grads) if g is not None})
    return b.graph(outputs)


def finite_difference(fn, arrays: list[np.ndarray], i: int, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar fn(arrays) with respect to arrays[i]."""
    out = np.zeros_like(arrays[i])
    for idx in np.ndindex(arrays[i].shape):
        plus = [a.copy() for a in arrays]
        minus = [a.copy() for a in arrays]
        plus[i][idx] += eps
        minus[i][idx] -= eps
        out[idx] = (fn(plus) - fn(minus)) / (2 * eps)
    return out
