"""Helpers shared by the passes: renaming values and finding single-use chains."""

from __future__ import annotations

from compiler.ir import Graph, Node, Value


def substitute(graph: Graph, mapping: dict[int, Value]) -> Graph:
    """Replace every use of a value id in ``mapping`` by the mapped value."""
    if not mapping:
        return graph

    def get(v: Value) -> Value:
        while v.id in mapping:
            v = mapping[v.id]
        return v

    nodes = [Node(n.op, tuple(get(v) for v in n.inputs), n.outputs, n.attrs, n.origin)
             if any(v.id in mapping for v in n.inputs) else n for n in graph.nodes]
    return graph.replace(nodes=nodes,
                         outputs={k: get(v) for k, v in graph.outputs.items()},
                         assigns=[(p, get(v)) for p, v in graph.assigns])


def use_counts(graph: Graph) -> dict[int, int]:
    """How many times each value is used, counting graph outputs and assigns as uses."""
    counts: dict[int, int] = {}
    for node in graph.nodes:
        for v in node.inputs:
            counts[v.id] = counts.get(v.id, 0) + 1
    for v in graph.roots():
        counts[v.id] = counts.get(v.id, 0) + 1
    return counts
