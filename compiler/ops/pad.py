"""pad_axis: zeros before and after one non-batch axis (the adjoint of slice_axis).

Lowered to a zero fill of the output and one strided block copy of the input: the tensor
viewed as (outer, axis * inner) rows, as for concat and slice_axis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.lower import Buf, Call, Const, dims
from compiler.ops.join import _axis, _outer_inner, _size
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

pad_axis = define_op("pad_axis", "layout")


@pad_axis.shape
def _pad_axis_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    (x,) = inputs
    axis = _axis(attrs, x.rank)
    before, after = int(attrs["before"]), int(attrs["after"])
    if before < 0 or after < 0:
        raise ValueError(f"padding must be >= 0, got ({before}, {after})")
    shape = list(x.shape)
    shape[axis] = _size(x.shape, axis) + before + after
    return [(tuple(shape), x.dtype)]


@pad_axis.reference
def _pad_axis_reference(attrs: dict, x: np.ndarray) -> tuple:
    widths = [(0, 0)] * x.ndim
    widths[attrs["axis"] % x.ndim] = (attrs["before"], attrs["after"])
    return (np.pad(x, widths),)


@pad_axis.vjp
def _pad_axis_vjp(b: Builder, node: Node, cts: list) -> list:
    x = node.inputs[0]
    axis = _axis(node.attrs, x.rank)
    start = node.attrs["before"]
    return [b.emit("slice_axis", cts[0], axis=axis, start=start,
                   stop=start + _size(x.shape, axis))]


@pad_axis.lower
def _pad_axis_lower(lowerer, node: Node) -> None:
    x, out = node.inputs[0], node.outputs[0]
    axis = _axis(node.attrs, x.rank)
    outer, inner = _outer_inner(x.shape, axis)
    cols = _size(x.shape, axis) * inner
    lowerer.calls.append(Call("fill", out.dtype, [dims(out.shape), Buf(out), Const(0.0), 0],
                              [], [out]))
    lowerer.copy2d(x, out, rows=outer, cols=cols, src_ld=cols, src_offset=0,
                   dst_ld=_size(out.shape, axis) * inner,
                   dst_offset=node.attrs["before"] * inner)
