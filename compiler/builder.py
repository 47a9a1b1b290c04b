"""The graph builder: the one place where nodes are created and their shapes inferred."""

from __future__ import annotations

from typing import Any, Optional

from compiler.ir import Graph, Node, Shape, Value
from compiler.ops.registry import get_op


class Builder:
    """Appends nodes in execution order; every node's outputs come from its shape rule."""

    def __init__(self, floatx: str = "float32") -> None:
        self.floatx = floatx
        self.nodes: list[Node] = []
        self.inputs: list[Value] = []
        self.params: list[Value] = []
        self.origin = ""  # name of the Keras layer being traced, recorded on each node

    @classmethod
    def from_graph(cls, graph: Graph, floatx: str = "float32") -> Builder:
        """A builder that continues appending after the nodes of ``graph``."""
        b = cls(floatx)
        b.nodes, b.inputs, b.params = list(graph.nodes), list(graph.inputs), list(graph.params)
        return b

    # ---- leaves -------------------------------------------------------------------------
    def input(self, shape: Shape, dtype: Optional[str] = None, name: str = "") -> Value:
        value = Value(shape, dtype or self.floatx, name)
        self.inputs.append(value)
        return value

    def param(self, shape: Shape, dtype: Optional[str] = None, name: str = "") -> Value:
        value = Value(shape, dtype or self.floatx, name)
        self.params.append(value)
        return value

    def const(self, value: float, dtype: Optional[str] = None) -> Value:
        return self.emit("const", value=float(value), dtype=dtype or self.floatx)

    # ---- nodes --------------------------------------------------------------------------
    def emit_node(self, op: str, inputs: tuple[Value, ...], attrs: dict[str, Any]) -> Node:
        rule = get_op(op).shape_rule
        assert rule is not None, op
        try:
            out_types = rule(attrs, list(inputs))
        except ValueError as err:
            where = f" in layer {self.origin!r}" if self.origin else ""
            shapes = ", ".join(v.type_str() for v in inputs)
            raise ValueError(f"{op}({shapes}){where}: {err}") from None
        outputs = tuple(Value(shape, dtype) for shape, dtype in out_types)
        node = Node(op, tuple(inputs), outputs, dict(attrs), self.origin)
        self.nodes.append(node)
        return node

    def emit(self, op: str, *inputs: Value, **attrs: Any) -> Any:
        """Emit one node; returns its output Value, or a tuple when it has several."""
        node = self.emit_node(op, tuple(inputs), attrs)
        return node.outputs[0] if len(node.outputs) == 1 else node.outputs

    # ---- helpers used by gradient rules ---------------------------------------------------
    def add(self, a: Value, b: Value) -> Value:
        return self.emit("add", a, b)

    def mul(self, a: Value, b: Value) -> Value:
        return self.emit("mul", a, b)

    def neg(self, a: Value) -> Value:
        return self.emit("neg", a)

    def scalar_like(self, value: float, like: Value) -> Value:
        return self.const(value, like.dtype)

    def sum_to_shape(self, x: Value, shape: Shape) -> Value:
        """Undo numpy broadcasting: sum ``x`` over the axes that broadcasting created."""
        if x.shape == tuple(shape):
            return x
        lead = x.rank - len(shape)
        axes = list(range(lead))
        for axis, dim in enumerate(shape):
            if dim == 1 and x.shape[lead + axis] != 1:
                axes.append(lead + axis)
        if axes:
            x = self.emit("reduce_sum", x, axes=tuple(axes), keepdims=True)
        if x.shape != tuple(shape):
            x = self.emit("reshape", x, shape=tuple(shape))
        return x

    def graph(self, outputs: dict[str, Value],
              assigns: Optional[list[tuple[Value, Value]]] = None) -> Graph:
        return Graph(list(self.nodes), list(self.inputs), list(self.params), dict(outputs),
                     list(assigns or []))
