"""Matrix products: ``matmul`` and the fused ``dense`` (GEMM + bias + activation epilogue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.activation import FORWARD, _check_fn
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

matmul = define_op("matmul", "linear")


def _op_shape(v: Value, transpose: bool) -> tuple:
    if v.rank != 2:
        raise ValueError(f"matmul takes rank-2 operands, got shape {v.shape}")
    return v.shape[::-1] if transpose else v.shape


@matmul.shape
def _matmul_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    a, b = inputs
    (m, k1), (k2, n) = _op_shape(a, attrs["transpose_a"]), _op_shape(b, attrs["transpose_b"])
    if k1 != k2:
        raise ValueError(f"inner dimensions differ: {k1} vs {k2}")
    if a.dtype != b.dtype or a.dtype == "int64":
        raise ValueError(f"matmul needs two float operands of one dtype, got {a.dtype}, {b.dtype}")
    if n is None and m is not None:
        raise ValueError("the batch axis of a product must come first")
    return [((m, n), a.dtype)]


def _apply(x: np.ndarray, t: bool) -> np.ndarray:
    return x.T if t else x


@matmul.reference
def _matmul_reference(attrs: dict, a: np.ndarray, b: np.ndarray) -> tuple:
    return (_apply(a, attrs["transpose_a"]) @ _apply(b, attrs["transpose_b"]),)


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
    return [dx, dw]


@matmul.lower
def _matmul_lower(lowerer, node: Node) -> None:
    lowerer.gemm(node, bias=None, fn="linear")


# ---- dense(x, w[, b]) = activation(x @ w + b): produced by the dense fusion pass ---------
dense = define_op("dense", "fused")


@dense.shape
def _dense_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    _check_fn(attrs)
    x, w = inputs[:2]
    if x.rank != 2 or w.rank != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"dense needs x (n, k) and w (k, m), got {x.shape} and {w.shape}")
    if len(inputs) == 3 and inputs[2].shape != (w.shape[1],):
        raise ValueError(f"bias shape {inputs[2].shape} does not match {w.shape[1]} units")
    return [((x.shape[0], w.shape[1]), x.dtype)]


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
        grads.append(b.emit("reduce_sum", dz, axes=(0,), keepdims=False))
    return grads


@dense.lower
def _dense_lower(lowerer, node: Node) -> None:
    bias = node.inputs[2] if len(node.inputs) == 3 else None
    lowerer.gemm(node, bias=bias, fn=node.attrs["fn"])
