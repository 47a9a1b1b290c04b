"""Inline composite ops. Invariant: no op with an expansion rule remains."""

from __future__ import annotations

from compiler.builder import Builder
from compiler.ir import Graph, Value
from compiler.ops.registry import get_op
from compiler.passes.rewrite import substitute


def expand_composites(graph: Graph) -> Graph:
    b = Builder()
    mapping: dict[int, Value] = {}
    for node in graph.nodes:
        expand = get_op(node.op).expand_rule
        if expand is None:
            b.nodes.append(node)
            continue
        b.origin = node.origin
        outs = expand(b, node.attrs, *(mapping.get(v.id, v) for v in node.inputs))
        outs = outs if isinstance(outs, tuple) else (outs,)
        mapping.update({v.id: o for v, o in zip(node.outputs, outs)})
    return substitute(graph.replace(nodes=b.nodes), mapping)
