"""Structural checks of a graph, run after every pass in tests and under CTHULHU_DEBUG."""

from __future__ import annotations

from compiler.ir import Graph, format_node
from compiler.ops.registry import REGISTRY


class GraphError(Exception):
    pass


def verify(graph: Graph, stage: str = "") -> None:
    """Every value is defined once before use, ops exist and shape rules agree."""
    where = f" after {stage}" if stage else ""
    defined = {v.id for v in graph.inputs} | {v.id for v in graph.params}
    if len(defined) != len(graph.inputs) + len(graph.params):
        raise GraphError(f"an input or param is listed twice{where}")
    for node in graph.nodes:
        text = format_node(node)
        op = REGISTRY.get(node.op)
        if op is None:
            raise GraphError(f"unknown op in `{text}`{where}")
        for v in node.inputs:
            if v.id not in defined:
                raise GraphError(f"{v!r} is used before it is defined in `{text}`{where}")
        assert op.shape_rule is not None
        try:
            expected = op.shape_rule(node.attrs, list(node.inputs))
        except ValueError as err:
            raise GraphError(f"shape rule rejects `{text}`{where}: {err}") from None
        actual = [(v.shape, v.dtype) for v in node.outputs]
        if expected != actual:
            raise GraphError(f"`{text}` should produce {expected}{where}")
        for v in node.outputs:
            if v.id in defined:
                raise GraphError(f"{v!r} is defined twice, again in `{text}`{where}")
            defined.add(v.id)
    for value in graph.roots():
        if value.id not in defined:
            raise GraphError(f"output {value!r} is never defined{where}")
    params = {p.id for p in graph.params}
    for param, new in graph.assigns:
        if param.id not in params:
            raise GraphError(f"assign to {param!r}, which is not a param{where}")
        if (param.shape, param.dtype) != (new.shape, new.dtype):
            raise GraphError(f"assign {param!r} <- {new!r} changes its type{where}")
