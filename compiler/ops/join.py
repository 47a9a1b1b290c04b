"""Joining and splitting along one non-batch axis: concat and its transpose, slice_axis.
Both lower to block copies between strided matrices: the tensor viewed as
(outer, axis * inner) rows, a slice of the axis being a block of columns."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.lower import dims
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder


def _size(shape: Shape, axis: int) -> int:
    """The length of a non-batch axis (always known)."""
    d = shape[axis]
    assert d is not None
    return d


def _axis(attrs: dict, rank: int) -> int:
    axis = attrs["axis"]
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    if axis == 0:
        raise ValueError("joining or slicing along the batch axis is not supported")
    return axis


concat = define_op("concat", "layout")


@concat.shape
def _concat_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    first = inputs[0]
    axis = _axis(attrs, first.rank)
    total = 0
    for v in inputs:
        if v.rank != first.rank or v.dtype != first.dtype or any(
                a != b for i, (a, b) in enumerate(zip(v.shape, first.shape)) if i != axis):
            raise ValueError(f"concat needs inputs that agree except on axis {axis}, got "
                             f"{[x.shape for x in inputs]}")
        total += _size(v.shape, axis)
    shape = list(first.shape)
    shape[axis] = total
    return [(tuple(shape), first.dtype)]


@concat.reference
def _concat_reference(attrs: dict, *arrays: np.ndarray) -> tuple:
    return (np.concatenate(arrays, axis=attrs["axis"]),)


@concat.vjp
def _concat_vjp(b: Builder, node: Node, cts: list) -> list:
    axis = _axis(node.attrs, node.outputs[0].rank)
    grads, start = [], 0
    for v in node.inputs:
        stop = start + _size(v.shape, axis)
        grads.append(b.emit("slice_axis", cts[0], axis=axis, start=start, stop=stop))
        start = stop
    return grads


def _outer_inner(shape: Shape, axis: int) -> tuple[int, int]:
    inner = 1
    for a in range(axis + 1, len(shape)):
        inner *= _size(shape, a)
    return dims(shape[:axis]), inner


@concat.lower
def _concat_lower(lowerer, node: Node) -> None:
    out = node.outputs[0]
    axis = _axis(node.attrs, out.rank)
    outer, inner = _outer_inner(out.shape, axis)
    offset = 0
    for v in node.inputs:
        cols = _size(v.shape, axis) * inner
        lowerer.copy2d(v, out, rows=outer, cols=cols, src_ld=cols, src_offset=0,
                       dst_ld=_size(out.shape, axis) * inner, dst_offset=offset)
        offset += cols


slice_axis = define_op("slice_axis", "layout")


@slice_axis.shape
def _slice_axis_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    (x,) = inputs
    axis = _axis(attrs, x.rank)
    start, stop = attrs["start"], attrs["stop"]
    if not 0 <= start <= stop <= _size(x.shape, axis):
        raise ValueError(f"slice [{start}:{stop}] is out of range for axis size "
                         f"{x.shape[axis]}")
    shape = list(x.shape)
    shape[axis] = stop - start
    return [(tuple(shape), x.dtype)]


@slice_axis.reference
def _slice_axis_reference(attrs: dict, x: np.ndarray) -> tuple:
    index = [slice(None)] * x.ndim
    index[attrs["axis"] % x.ndim] = slice(attrs["start"], attrs["stop"])
    return (x[tuple(index)].copy(),)


@slice_axis.vjp
def _slice_axis_vjp(b: Builder, node: Node, cts: list) -> list:
    # Zeros where the slice did not reach: one pad (a fill and a block copy), not a copy of
    # x's other part for its shape, a broadcast zero and a concat.
    x = node.inputs[0]
    axis = _axis(node.attrs, x.rank)
    start, stop = node.attrs["start"], node.attrs["stop"]
    after = _size(x.shape, axis) - stop
    if start == 0 and after == 0:
        return [cts[0]]
    return [b.emit("pad_axis", cts[0], axis=axis, before=start, after=after)]


@slice_axis.lower
def _slice_axis_lower(lowerer, node: Node) -> None:
    x, out = node.inputs[0], node.outputs[0]
    axis = _axis(node.attrs, x.rank)
    outer, inner = _outer_inner(x.shape, axis)
    cols = (node.attrs["stop"] - node.attrs["start"]) * inner
    lowerer.copy2d(x, out, rows=outer, cols=cols, src_ld=_size(x.shape, axis) * inner,
                   src_offset=node.attrs["start"] * inner, dst_ld=cols, dst_offset=0)
