"""The intermediate representation: values, nodes and graphs.

Grammar (one line per node in ``format_graph``)::

    %3:f32[?,16] = matmul(%1, %2) {transpose_a=False, transpose_b=False}

A ``Value`` has a static shape whose first axis may be ``None``: the batch dimension, fixed
only when a plan runs. (Other axes unknown until run time, such as a sequence length, are
concrete here: the engine compiles one graph per input shape, see engine/training.py.)
A ``Node`` applies a registered op to input values and defines its output values. A
``Graph`` lists its nodes in a valid execution order, the values fed per run (``inputs``),
the persistent state it reads (``params``), the named values it returns (``outputs``) and
the state it writes back (``assigns``: param <- new value, applied after every other node
has run).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Optional

Shape = tuple[Optional[int], ...]

DTYPES = ("float32", "float64", "int64")
_SHORT = {"float32": "f32", "float64": "f64", "int64": "i64"}

_ids = itertools.count(1)


class Value:
    """A typed value of the graph; identity is the object (and its unique ``id``)."""

    __slots__ = ("id", "shape", "dtype", "name")

    def __init__(self, shape: Shape, dtype: str, name: str = "") -> None:
        if dtype not in DTYPES:
            raise ValueError(f"unsupported dtype {dtype!r}; expected one of {DTYPES}")
        for axis, dim in enumerate(shape):
            if dim is None and axis != 0:
                raise ValueError(f"only the first (batch) axis may be unknown, got {shape}")
            if dim is not None and (not isinstance(dim, int) or dim < 0):
                raise ValueError(f"bad dimension {dim!r} in shape {shape}")
        self.id = next(_ids)
        self.shape: Shape = tuple(shape)
        self.dtype = dtype
        self.name = name

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def batched(self) -> bool:
        return bool(self.shape) and self.shape[0] is None

    def concrete_shape(self, n_rows: int) -> tuple[int, ...]:
        return tuple(n_rows if d is None else d for d in self.shape)

    def size(self, n_rows: int) -> int:
        total = 1
        for d in self.concrete_shape(n_rows):
            total *= d
        return total

    def type_str(self) -> str:
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        return f"{_SHORT[self.dtype]}[{dims}]"

    def __repr__(self) -> str:
        return f"%{self.id}"


@dataclass(eq=False)
class Node:
    op: str
    inputs: tuple[Value, ...]
    outputs: tuple[Value, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    # Where the node came from (a Keras layer name), for error messages and dumps.
    origin: str = ""

    def attr_key(self) -> tuple:
        return tuple(sorted((k, _hashable(v)) for k, v in self.attrs.items()))


def _hashable(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


@dataclass(eq=False)
class Graph:
    nodes: list[Node]
    inputs: list[Value]
    params: list[Value]
    outputs: dict[str, Value]
    assigns: list[tuple[Value, Value]] = field(default_factory=list)

    def producers(self) -> dict[int, Node]:
        return {v.id: n for n in self.nodes for v in n.outputs}

    def consumers(self) -> dict[int, list[Node]]:
        users: dict[int, list[Node]] = {}
        for n in self.nodes:
            for v in n.inputs:
                users.setdefault(v.id, []).append(n)
        return users

    def roots(self) -> list[Value]:
        """Values that must be computed: named outputs and assigned new values."""
        return list(self.outputs.values()) + [new for _, new in self.assigns]

    def replace(self, **changes: Any) -> Graph:
        fields: dict[str, Any] = dict(nodes=self.nodes, inputs=self.inputs, params=self.params,
                                      outputs=self.outputs, assigns=self.assigns)
        fields.update(changes)
        return Graph(**fields)

    def __str__(self) -> str:
        return format_graph(self)


def _format_attr(v: Any) -> str:
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)) and len(v) > 6:
        return f"<{len(v)} items>"
    return repr(v)


def format_node(node: Node) -> str:
    outs = ", ".join(f"{v!r}:{v.type_str()}" for v in node.outputs)
    args = ", ".join(repr(v) for v in node.inputs)
    attrs = ", ".join(f"{k}={_format_attr(v)}" for k, v in node.attrs.items())
    text = f"{outs} = {node.op}({args})"
    if attrs:
        text += " {" + attrs + "}"
    if node.origin:
        text += f"  # {node.origin}"
    return text


def format_graph(graph: Graph) -> str:
    lines = []
    for kind, values in (("input", graph.inputs), ("param", graph.params)):
        for v in values:
            lines.append(f"{kind} {v!r}:{v.type_str()} {v.name}".rstrip())
    lines.extend(format_node(n) for n in graph.nodes)
    for name, v in graph.outputs.items():
        lines.append(f"output {name} = {v!r}")
    for param, new in graph.assigns:
        lines.append(f"assign {param!r} <- {new!r}")
    return "\n".join(lines)


def get_op(name: str) -> Any:
    """The registered definition of op ``name`` (compiler/ops/registry.py). Imported on use:
    importing compiler.ops runs every op module, and those import the lowering and autodiff
    modules, which look ops up through this function."""
    from compiler.ops.registry import get_op as registered
    return registered(name)
