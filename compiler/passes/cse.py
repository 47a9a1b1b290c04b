"""Common-subexpression elimination. Invariant: no two nodes apply the same op with the same
attributes to the same inputs (optimizer updates excepted: they write state)."""

from __future__ import annotations

from compiler.ir import Graph, Value
from compiler.ops.registry import get_op
from compiler.passes.rewrite import substitute


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    seen: dict[tuple, tuple[Value, ...]] = {}
    mapping: dict[int, Value] = {}
    kept = []
    for node in graph.nodes:
        inputs = tuple(mapping.get(v.id, v) for v in node.inputs)
        if get_op(node.op).group == "update":
            kept.append(node)
            continue
        key = (node.op, tuple(v.id for v in inputs), node.attr_key())
        previous = seen.get(key)
        if previous is None:
            seen[key] = node.outputs
            kept.append(node)
        else:
            mapping.update({v.id: p for v, p in zip(node.outputs, previous)})
    return substitute(graph.replace(nodes=kept), mapping)
