"""Matrix products: ``matmul``, ``batch_matmul`` and the fused ``dense`` (GEMM + bias +
activation epilogue).

``matmul`` views an operand of rank > 2 as a matrix whose rows are all its leading axes
(row-major storage makes that a free view, the batch axis included): (batch, n, k) @ (k, m)
is one GEMM of batch * n rows, which is how Dense applies to inputs of rank > 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.activation import FORWARD, _check_fn
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

matmul = define_op("matmul", "linear")


def _flat(dims: tuple) -> tuple[int, bool]:
    """(product of the known dims, whether the batch axis is among them)."""
    return int(np.prod([d for d in dims if d is not None])), None in dims


@matmul.shape
def _matmul_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    a, b = inputs
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]
    if a.rank < 2 or b.rank < 2:
        raise ValueError(f"matmul takes operands of rank >= 2, got {a.shape} and {b.shape}")
    if tb and b.rank != 2:
        raise ValueError(f"a transposed right operand must have rank 2, got {b.shape}")
    if ta and tb and a.rank != 2:
        raise ValueError(f"with both operands transposed the left one must have rank 2, got "
                         f"{a.shape}")
    # Leading axes of the result, and the contracted extent of each side.
    lead, k_a = ((a.shape[-1],), a.shape[:-1]) if ta else (a.shape[:-1], a.shape[-1:])
    k_b, n = ((b.shape[1],), b.shape[0]) if tb else (b.shape[:-1], b.shape[-1])
    if _flat(k_a) != _flat(k_b):
        raise ValueError(f"inner dimensions differ: {k_a} vs {k_b}")
    if a.dtype != b.dtype or a.dtype == "int64":
        raise ValueError(f"matmul needs two float operands of one dtype, got {a.dtype}, {b.dtype}")
    if n is None:
        raise ValueError("the batch axis of a product must come first")
    return [(tuple(lead) + (n,), a.dtype)]


def _matrix(x: np.ndarray, t: bool) -> np.ndarray:
    x = x.reshape(-1, x.shape[-1])
    return x.T if t else x


@matmul.reference
def _matmul_reference(attrs: dict, a: np.ndarray, b: np.ndarray) -> tuple:
    ta = attrs["transpose_a"]
    out = _matrix(a, ta) @ _matrix(b, attrs["transpose_b"])
    return (out if ta else out.reshape(a.shape[:-1] + out.shape[-1:]),)


def _like(b: Builder, v: Value, like: Value) -> Value:
    return v if v.shape == like.shape else b.emit("reshape", v, shape=like.shape)


@matmul.vjp
def _matmul_vjp(b: Builder, node: Node, cts: list) -> list:
    g, (x, w) = cts[0], node.inputs
    ta, tb = node.attrs["transpose_a"], node.attrs["transpose_b"]
    if ta:
        dx = b.emit("matmul", w, g, transpose_a=tb, transpose_b=True)
    else:
        dx = b.emit("matmul", g, w, transpose_a=False, transpose_b=not tb)
    if tb:
        dw = b.emit("matmul", g, x, transpose_a=True, transpose_b=ta)
    else:
        dw = b.emit("matmul", x, g, transpose_a=not ta, transpose_b=False)
    return [_like(b, dx, x), _like(b, dw, w)]


@matmul.lower
def _matmul_lower(lowerer, node: Node) -> None:
    lowerer.gemm(node, bias=None, fn="linear")


# ---- batch_matmul(a, b): one product per index of the first axis ---------------------------
batch_matmul = define_op("batch_matmul", "linear")


def _batch_operand(v: Value, t: bool) -> tuple[Optional[int], int, int]:
    if v.rank != 3:
        raise ValueError(f"batch_matmul takes rank-3 operands, got shape {v.shape}")
    rows, cols = v.shape[1], v.shape[2]
    assert rows is not None and cols is not None
    return (v.shape[0],) + ((cols, rows) if t else (rows, cols))


@batch_matmul.shape
def _batch_matmul_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    a, b = inputs
    (ba, m, k1), (bb, k2, n) = (_batch_operand(a, attrs["transpose_a"]),
                                _batch_operand(b, attrs["transpose_b"]))
    if ba != bb:
        raise ValueError(f"the first (batch) axes differ: {ba} vs {bb}")
    if k1 != k2:
        raise ValueError(f"inner dimensions differ: {k1} vs {k2}")
    if a.dtype != b.dtype or a.dtype == "int64":
        raise ValueError(f"batch_matmul needs two float operands of one dtype, got {a.dtype}, "
                         f"{b.dtype}")
    return [((ba, m, n), a.dtype)]


@batch_matmul.reference
def _batch_matmul_reference(attrs: dict, a: np.ndarray, b: np.ndarray) -> tuple:
    a = a.swapaxes(1, 2) if attrs["transpose_a"] else a
    b = b.swapaxes(1, 2) if attrs["transpose_b"] else b
    return (np.ascontiguousarray(np.matmul(a, b)),)


@batch_matmul.vjp
def _batch_matmul_vjp(b: Builder, node: Node, cts: list) -> list:
    # The rank-2 rules, item by item.
    g, (x, w) = cts[0], node.inputs
    ta, tb = node.attrs["transpose_a"], node.attrs["transpose_b"]
    if ta:
        dx = b.emit("batch_matmul", w, g, transpose_a=tb, transpose_b=True)
    else:
        dx = b.emit("batch_matmul", g, w, transpose_a=False, transpose_b=not tb)
    if tb:
        dw = b.emit("batch_matmul", g, x, transpose_a=True, transpose_b=ta)
    else:
        dw = b.emit("batch_matmul", x, g, transpose_a=not ta, transpose_b=False)
    return [dx, dw]


@batch_matmul.lower
def _batch_matmul_lower(lowerer, node: Node) -> None:
    lowerer.batch_gemm(node)


# ---- dense(x, w[, b]) = activation(x @ w + b): produced by the dense fusion pass ---------
dense = define_op("dense", "fused")


@dense.shape
def _dense_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    _check_fn(attrs)
    x, w = inputs[:2]
    if x.rank < 2 or w.rank != 2 or x.shape[-1] != w.shape[0]:
        raise ValueError(f"dense needs x (..., k) and w (k, m), got {x.shape} and {w.shape}")
    if len(inputs) == 3 and inputs[2].shape != (w.shape[1],):
        raise ValueError(f"bias shape {inputs[2].shape} does not match {w.shape[1]} units")
    return [(x.shape[:-1] + (w.shape[1],), x.dtype)]


@dense.reference
def _dense_reference(attrs: dict, x: np.ndarray, w: np.ndarray, *bias: np.ndarray) -> tuple:
    z = x @ w
    if bias:
        z = z + bias[0]
    return (np.asarray(FORWARD[attrs["fn"]](z), dtype=x.dtype),)


@dense.vjp
def _dense_vjp(b: Builder, node: Node, cts: list) -> list:
    x, w = node.inputs[:2]
    dz = cts[0]
    if node.attrs["fn"] != "linear":
        dz = b.emit("activation_grad", node.outputs[0], dz, fn=node.attrs["fn"])
    grads = [b.emit("matmul", dz, w, transpose_a=False, transpose_b=True),
             b.emit("matmul", x, dz, transpose_a=True, transpose_b=False)]
    if len(node.inputs) == 3:
        grads.append(b.emit("reduce_sum", dz, axes=tuple(range(x.rank - 1)), keepdims=False))
    return grads


@dense.lower
def _dense_lower(lowerer, node: Node) -> None:
    bias = node.inputs[2] if len(node.inputs) == 3 else None
    lowerer.gemm(node, bias=bias, fn=node.attrs["fn"])
