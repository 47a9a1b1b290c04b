"""The reference interpreter: runs a graph node by node on the ops' numpy references.

It is the oracle the fused, planned native execution is checked against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from compiler.ir import Graph, Value
from compiler.ops.registry import get_op


def _check(value: Value, array: np.ndarray, what: str) -> None:
    if array.dtype != np.dtype(value.dtype):
        raise AssertionError(f"{what}: {value!r} should be {value.dtype}, got {array.dtype}")
    if len(array.shape) != value.rank or any(
            d is not None and d != a for d, a in zip(value.shape, array.shape)):
        raise AssertionError(f"{what}: {value!r} should be {value.shape}, got {array.shape}")


def interpret(graph: Graph, inputs: Sequence[np.ndarray],
              params: Sequence[np.ndarray]) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Returns (named outputs, the params after the graph's assigns)."""
    env: dict[int, np.ndarray] = {}
    for kind, values, arrays in (("input", graph.inputs, inputs),
                                 ("param", graph.params, params)):
        if len(values) != len(arrays):
            raise ValueError(f"expected {len(values)} {kind}s, got {len(arrays)}")
        for v, a in zip(values, arrays):
            a = np.asarray(a)
            _check(v, a, kind)
            env[v.id] = a
    for node in graph.nodes:
        op = get_op(node.op)
        assert op.reference_rule is not None
        results = op.reference_rule(node.attrs, *(env[v.id] for v in node.inputs))
        for v, a in zip(node.outputs, results):
            a = np.asarray(a)
            _check(v, a, f"{node.op} output")
            env[v.id] = a
    outputs = {name: env[v.id] for name, v in graph.outputs.items()}
    new_params = {p.id: env[new.id] for p, new in graph.assigns}
    return outputs, [new_params.get(p.id, env[p.id]) for p in graph.params]
