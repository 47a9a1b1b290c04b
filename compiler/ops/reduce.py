"""Reductions over a contiguous run of axes, broadcasting back, and run-time sizes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder


def normalize_axes(axes, rank: int) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(rank))
    if isinstance(axes, int):
        axes = (axes,)
    out = []
    for axis in axes:
        if not -rank <= axis < rank:
            raise ValueError(f"axis {axis} is out of range for rank {rank}")
        out.append(axis % rank)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {tuple(axes)}")
    return tuple(sorted(out))


def reduced_shape(shape: Shape, axes: tuple[int, ...], keepdims: bool) -> Shape:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduce_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    (x,) = inputs
    axes = attrs["axes"]
    if tuple(axes) != normalize_axes(axes, x.rank):
        raise ValueError(f"axes {axes} must be sorted, unique and non-negative")
    if x.dtype == "int64":
        raise ValueError("reductions work on float values")
    return [(reduced_shape(x.shape, axes, attrs["keepdims"]), x.dtype)]


def _keep(b: Builder, g: Value, node: Node) -> Value:
    """The cotangent reshaped to the keepdims shape, ready to broadcast against the input."""
    x = node.inputs[0]
    shape = reduced_shape(x.shape, node.attrs["axes"], True)
    if g.shape == shape or g.shape == ():  # a scalar broadcasts as it is
        return g
    return b.emit("reshape", g, shape=shape)


def _sum_vjp(b: Builder, node: Node, cts: list) -> list:
    return [b.emit("broadcast_like", _keep(b, cts[0], node), node.inputs[0])]


def _mean_vjp(b: Builder, node: Node, cts: list) -> list:
    x = node.inputs[0]
    count = b.emit("dim_size", x, axes=node.attrs["axes"])
    return [b.emit("broadcast_like", b.emit("div", _keep(b, cts[0], node), count), x)]


def _extremum_vjp(b: Builder, node: Node, cts: list) -> list:
    # Ties share the gradient equally, as TensorFlow does.
    x, y = node.inputs[0], node.outputs[0]
    axes = node.attrs["axes"]
    hit = b.emit("equal", x, _keep(b, y, node))
    n_hits = b.emit("reduce_sum", hit, axes=axes, keepdims=True)
    return [b.mul(b.emit("div", hit, n_hits), _keep(b, cts[0], node))]


def _prod_vjp(b: Builder, node: Node, cts: list) -> list:
    """d prod / d x_i = the product of the other elements, exact when some are zero: with
    no zero it is prod / x_i; with one zero it is the product of the non-zeros at the zero
    and 0 elsewhere; with more it is 0."""
    x = node.inputs[0]
    axes = node.attrs["axes"]
    zero, one = b.const(0.0, x.dtype), b.const(1.0, x.dtype)
    is_zero = b.emit("equal", x, zero)
    n_zeros = b.emit("reduce_sum", is_zero, axes=axes, keepdims=True)
    safe = b.emit("where", is_zero, one, x)
    others = b.emit("reduce_prod", safe, axes=axes, keepdims=True)
    at_zero = b.emit("where", b.emit("equal", n_zeros, one), others, zero)
    elsewhere = b.emit("where", b.emit("equal", n_zeros, zero),
                       b.emit("div", others, safe), zero)
    local = b.emit("where", is_zero, at_zero, elsewhere)
    return [b.mul(local, _keep(b, cts[0], node))]


def _zero_vjp(b: Builder, node: Node, cts: list) -> list:
    return [None]


_NUMPY: dict[str, Callable[..., Any]] = {
    "reduce_sum": np.sum, "reduce_mean": np.mean, "reduce_prod": np.prod, "reduce_max": np.max,
    "reduce_min": np.min, "argmax": np.argmax, "argmin": np.argmin}
_VJP = {"reduce_sum": _sum_vjp, "reduce_mean": _mean_vjp, "reduce_prod": _prod_vjp,
        "reduce_max": _extremum_vjp, "reduce_min": _extremum_vjp, "argmax": _zero_vjp,
        "argmin": _zero_vjp}
KERNEL_KIND = {"reduce_sum": "sum", "reduce_mean": "mean", "reduce_prod": "prod",
               "reduce_max": "max", "reduce_min": "min", "argmax": "argmax", "argmin": "argmin"}


def _make_reference(name: str):
    fn = _NUMPY[name]

    def reference(attrs: dict, x: np.ndarray) -> tuple:
        axes = attrs["axes"]
        if name in ("argmax", "argmin"):
            (axis,) = axes
            out = fn(x, axis=axis)
            if attrs["keepdims"]:
                out = np.expand_dims(out, axis)
            return (np.asarray(out, dtype=x.dtype),)
        return (np.asarray(fn(x, axis=axes, keepdims=attrs["keepdims"]), dtype=x.dtype),)
    return reference


def _lower_reduce(lowerer, node: Node) -> None:
    lowerer.reduce(node, KERNEL_KIND[node.op])


for _name in _NUMPY:
    _op = define_op(_name, "reduction")
    _op.shape(_reduce_shape_rule)
    _op.reference(_make_reference(_name))
    _op.vjp(_VJP[_name])
    _op.lower(_lower_reduce)


# ---- broadcast_like: x broadcast to the shape of `like` (whose values are not read) -------
broadcast_like = define_op("broadcast_like", "elementwise")


@broadcast_like.shape
def _broadcast_like_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    x, like = inputs
    from compiler.ops.elementwise import broadcast_shapes
    if broadcast_shapes(x.shape, like.shape) != like.shape:
        raise ValueError(f"cannot broadcast {x.shape} to {like.shape}")
    return [(like.shape, x.dtype)]


@broadcast_like.reference
def _broadcast_like_reference(attrs: dict, x: np.ndarray, like: np.ndarray) -> tuple:
    return (np.broadcast_to(x, like.shape).copy(),)


@broadcast_like.vjp
def _broadcast_like_vjp(b: Builder, node: Node, cts: list) -> list:
    return [b.sum_to_shape(cts[0], node.inputs[0].shape), None]


@broadcast_like.lower
def _broadcast_like_lower(lowerer, node: Node) -> None:
    lowerer.elementwise(node, (("identity", (0,), None),), stores=(2,))


# ---- broadcast_to: x broadcast to a static shape (its batch axis, if any, kept) ----------
broadcast_to = define_op("broadcast_to", "layout")


@broadcast_to.shape
def _broadcast_to_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    (x,) = inputs
    shape = tuple(attrs["shape"])
    from compiler.ops.elementwise import broadcast_shapes
    if (shape[:1] == (None,)) != x.batched or broadcast_shapes(x.shape, shape) != shape:
        raise ValueError(f"cannot broadcast {x.shape} to {shape}")
    return [(shape, x.dtype)]


@broadcast_to.reference
def _broadcast_to_reference(attrs: dict, x: np.ndarray) -> tuple:
    shape = tuple(x.shape[0] if d is None else d for d in attrs["shape"])
    return (np.broadcast_to(x, shape).copy(),)


@broadcast_to.vjp
def _broadcast_to_vjp(b: Builder, node: Node, cts: list) -> list:
    return [b.sum_to_shape(cts[0], node.inputs[0].shape)]


@broadcast_to.lower
def _broadcast_to_lower(lowerer, node: Node) -> None:
    lowerer.elementwise(node, (("identity", (0,), None),), stores=(1,))


# ---- dim_size: the number of elements along some axes, known only when the plan runs -----
dim_size = define_op("dim_size", "constant")


@dim_size.shape
def _dim_size_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    (x,) = inputs
    return [((), x.dtype if x.dtype != "int64" else "float64")]


@dim_size.vjp
def _dim_size_vjp(b: Builder, node: Node, cts: list) -> list:
    return [None]  # a size does not change with the values of its input


@dim_size.reference
def _dim_size_reference(attrs: dict, x: np.ndarray) -> tuple:
    count = int(np.prod([x.shape[a] for a in attrs["axes"]]))
    dtype = x.dtype if x.dtype != np.int64 else np.float64
    return (np.array(count, dtype=dtype),)


def static_dim_size(x: Value, axes: tuple[int, ...]) -> tuple[int, bool]:
    """(count, depends_on_batch): the count is count * n_rows when it depends on the batch."""
    count, batched = 1, False
    for axis in axes:
        dim: Optional[int] = x.shape[axis]
        if dim is None:
            batched = True
        else:
            count *= dim
    return count, batched


@dim_size.lower
def _dim_size_lower(lowerer, node: Node) -> None:
    count, batched = static_dim_size(node.inputs[0], node.attrs["axes"])
    lowerer.fill_scalar(node.outputs[0], count, per_row=batched)
