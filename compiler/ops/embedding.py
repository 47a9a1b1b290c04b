"""Row gathers by float-valued indices (embedding lookups) and their transpose, a sparse
scatter-add of rows into a zero table. Indices are truncated toward zero, as a cast to int
does; an index outside the table stops the plan with an IndexError (the executor's status,
see cthulhu/_kernels/executor.pyx), and the numpy reference raises the same error."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.lower import Buf, Call, dims
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder


def _width(shape: Shape) -> int:
    width = 1
    for d in shape:
        assert d is not None
        width *= d
    return width


def _indices(idx: np.ndarray, rows: int) -> np.ndarray:
    """Truncated integer indices; raises IndexError as the kernel does for a bad one."""
    flat = np.asarray(idx, dtype=np.float64).reshape(-1)
    bad = ~((flat > -1.0) & (flat < rows))
    if bad.any():
        i = int(np.argmax(bad))
        value = int(flat[i]) if np.isfinite(flat[i]) else 0
        raise IndexError(f"indices[{i}] = {value} is not in [0, {rows})")
    return flat.astype(np.int64)


gather = define_op("gather", "layout")


@gather.shape
def _gather_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    table, idx = inputs
    if table.batched or table.rank < 1:
        raise ValueError("gather needs a table of rank >= 1 without a batch axis")
    if idx.dtype != table.dtype:
        raise ValueError(f"gather indices must have the table's dtype {table.dtype} (float "
                         f"values holding integers), got {idx.dtype}")
    return [(idx.shape + table.shape[1:], table.dtype)]


@gather.reference
def _gather_reference(attrs: dict, table: np.ndarray, idx: np.ndarray) -> tuple:
    rows = _indices(idx, table.shape[0])
    return (table[rows].reshape(idx.shape + table.shape[1:]),)


@gather.vjp
def _gather_vjp(b: Builder, node: Node, cts: list) -> list:
    table, idx = node.inputs
    if cts[0] is None:
        return [None, None]
    return [b.emit("scatter_add", idx, cts[0], rows=table.shape[0]), None]


@gather.lower
def _gather_lower(lowerer, node: Node) -> None:
    (table, idx), (out,) = node.inputs, node.outputs
    lowerer.calls.append(Call("gather", out.dtype, [dims(idx.shape), _width(table.shape[1:]),
                                                    dims(table.shape[:1]), Buf(table), Buf(idx),
                                                    Buf(out)], [table, idx], [out]))


scatter_add = define_op("scatter_add", "layout")


@scatter_add.shape
def _scatter_add_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    idx, dy = inputs
    rows = int(attrs["rows"])
    if dy.shape[:idx.rank] != idx.shape or idx.dtype != dy.dtype:
        raise ValueError(f"scatter_add needs rows of shape indices.shape + row shape, got "
                         f"indices {idx.shape} and rows {dy.shape}")
    return [((rows,) + dy.shape[idx.rank:], dy.dtype)]


@scatter_add.reference
def _scatter_add_reference(attrs: dict, idx: np.ndarray, dy: np.ndarray) -> tuple:
    rows = attrs["rows"]
    flat = np.asarray(idx, dtype=np.float64).reshape(-1)
    keep = (flat > -1.0) & (flat < rows)
    values = dy.reshape((flat.size,) + dy.shape[idx.ndim:])
    out = np.zeros((rows,) + dy.shape[idx.ndim:], dtype=dy.dtype)
    np.add.at(out, flat[keep].astype(np.int64), values[keep])
    return (out,)


@scatter_add.vjp
def _scatter_add_vjp(b: Builder, node: Node, cts: list) -> list:
    idx = node.inputs[0]
    if cts[0] is None:
        return [None, None]
    return [None, b.emit("gather", cts[0], idx)]


@scatter_add.lower
def _scatter_add_lower(lowerer, node: Node) -> None:
    (idx, dy), (out,) = node.inputs, node.outputs
    lowerer.calls.append(Call("scatter_add", out.dtype, [dims(idx.shape), _width(out.shape[1:]),
                                                         dims(out.shape[:1]), Buf(idx), Buf(dy),
                                                         Buf(out)], [idx, dy], [out]))
