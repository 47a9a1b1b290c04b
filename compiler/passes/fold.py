"""Constant folding. Invariant: no node other than ``const`` has only scalar-constant inputs
and scalar outputs, and ``dim_size`` of static axes is a constant."""

from __future__ import annotations

import numpy as np

from compiler.ir import Graph, Node, Value
from compiler.ops.reduce import static_dim_size
from compiler.ops.registry import get_op
from compiler.passes.rewrite import substitute


def _const_node(like: Value, value: float) -> Node:
    return Node("const", (), (like,), {"value": float(value), "dtype": like.dtype})


def fold_constants(graph: Graph) -> Graph:
    consts: dict[int, np.ndarray] = {}
    nodes: list[Node] = []
    for node in graph.nodes:
        if node.op == "const":
            consts[node.outputs[0].id] = np.array(node.attrs["value"], node.attrs["dtype"])
            nodes.append(node)
            continue
        if node.op == "dim_size":
            count, batched = static_dim_size(node.inputs[0], node.attrs["axes"])
            if not batched:
                consts[node.outputs[0].id] = np.array(count, dtype=node.outputs[0].dtype)
                nodes.append(_const_node(node.outputs[0], count))
                continue
        foldable = (node.inputs and all(v.id in consts for v in node.inputs)
                    and all(v.shape == () for v in node.outputs)
                    and get_op(node.op).group in ("elementwise", "reduction"))
        if foldable:
            rule = get_op(node.op).reference_rule
            assert rule is not None
            results = rule(node.attrs, *(consts[v.id] for v in node.inputs))
            for v, r in zip(node.outputs, results):
                consts[v.id] = np.asarray(r)
                nodes.append(_const_node(v, float(r)))
            continue
        nodes.append(node)
    return graph.replace(nodes=nodes)


def simplify_algebra(graph: Graph) -> Graph:
    """x*1, 1*x, x+0, 0+x, x-0 and x/1 become x when no broadcasting is involved."""
    values = {n.outputs[0].id: n.attrs["value"] for n in graph.nodes if n.op == "const"}
    identities = {"mul": (1.0, (0, 1)), "add": (0.0, (0, 1)), "sub": (0.0, (1,)),
                  "div": (1.0, (1,))}
    mapping: dict[int, Value] = {}
    for node in graph.nodes:
        if node.op not in identities:
            continue
        neutral, positions = identities[node.op]
        for pos in positions:
            other = node.inputs[1 - pos]
            if (values.get(node.inputs[pos].id) == neutral
                    and other.shape == node.outputs[0].shape):
                mapping[node.outputs[0].id] = other
                break
    return substitute(graph, mapping)
