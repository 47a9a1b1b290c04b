"""Keras activations as one op family, and their gradients computed from the output alone.

Because every gradient is a function of the output y (not the input), the forward pass may
overwrite its input, and the dense epilogue keeps only y alive for the backward pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


FORWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "tanh": np.tanh,
    "softmax": _softmax,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "softplus": lambda x: np.logaddexp(0, x),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "exponential": np.exp,
}

# d(act)/dx as a function of y = act(x); softmax is handled separately (it mixes a row).
DERIVATIVE_FROM_OUTPUT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda y: np.ones_like(y),
    "relu": lambda y: (y > 0).astype(y.dtype),
    "sigmoid": lambda y: y * (1 - y),
    "hard_sigmoid": lambda y: np.where((y > 0) & (y < 1), 0.2, 0.0).astype(y.dtype),
    "tanh": lambda y: 1 - y * y,
    "elu": lambda y: np.where(y > 0, 1, y + 1).astype(y.dtype),
    "selu": lambda y: np.where(y > 0, SELU_SCALE, y + SELU_SCALE * SELU_ALPHA).astype(y.dtype),
    "softplus": lambda y: -np.expm1(-y),
    "softsign": lambda y: (1 - np.abs(y)) ** 2,
    "exponential": lambda y: y,
}
ACTIVATIONS = tuple(FORWARD)


def activation_grad_reference(fn: str, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    if fn == "softmax":
        return y * (dy - np.sum(dy * y, axis=-1, keepdims=True))
    return dy * DERIVATIVE_FROM_OUTPUT[fn](y)


def _check_fn(attrs: dict) -> None:
    if attrs["fn"] not in FORWARD:
        raise ValueError(f"unknown activation {attrs['fn']!r}; known: {', '.join(ACTIVATIONS)}")


# ---- activation(x) ----------------------------------------------------------------------
activation = define_op("activation", "activation")


@activation.shape
def _activation_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    _check_fn(attrs)
    (x,) = inputs
    if attrs["fn"] == "softmax" and x.rank < 1:
        raise ValueError("softmax needs at least one axis")
    return [(x.shape, x.dtype)]


@activation.reference
def _activation_reference(attrs: dict, x: np.ndarray) -> tuple:
    return (np.asarray(FORWARD[attrs["fn"]](x), dtype=x.dtype),)


@activation.vjp
def _activation_vjp(b: Builder, node: Node, cts: list) -> list:
    if node.attrs["fn"] == "linear":
        return [cts[0]]
    return [b.emit("activation_grad", node.outputs[0], cts[0], fn=node.attrs["fn"])]


@activation.lower
def _activation_lower(lowerer, node: Node) -> None:
    lowerer.activation(node)


# ---- activation_grad(y, dy) ---------------------------------------------------------------
activation_grad = define_op(
    "activation_grad", "activation",
    nondiff_reason="second-order gradients through activations are not supported yet")


@activation_grad.shape
def _activation_grad_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    _check_fn(attrs)
    y, dy = inputs
    if y.shape != dy.shape or y.dtype != dy.dtype:
        raise ValueError("activation_grad needs y and dy of one shape and dtype")
    return [(y.shape, y.dtype)]


@activation_grad.reference
def _activation_grad_reference(attrs: dict, y: np.ndarray, dy: np.ndarray) -> tuple:
    return (np.asarray(activation_grad_reference(attrs["fn"], y, dy), dtype=y.dtype),)


@activation_grad.lower
def _activation_grad_lower(lowerer, node: Node) -> None:
    lowerer.activation_grad(node, bias_grad=None)


# ---- activation_grad_bias(y, dy) -> (dx, sum of dx over all axes but the last) ------------
activation_grad_bias = define_op(
    "activation_grad_bias", "fused",
    nondiff_reason="fused backward ops appear only after differentiation")


@activation_grad_bias.shape
def _activation_grad_bias_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    ((shape, dtype),) = _activation_grad_shape_rule(attrs, inputs)
    if len(shape) < 2:
        raise ValueError("activation_grad_bias works on (..., units) values")
    return [(shape, dtype), (shape[-1:], dtype)]


@activation_grad_bias.reference
def _activation_grad_bias_reference(attrs: dict, y: np.ndarray, dy: np.ndarray) -> tuple:
    dx = np.asarray(activation_grad_reference(attrs["fn"], y, dy), dtype=y.dtype)
    return (dx, dx.sum(axis=tuple(range(dx.ndim - 1))))


@activation_grad_bias.lower
def _activation_grad_bias_lower(lowerer, node: Node) -> None:
    lowerer.activation_grad(node, bias_grad=node.outputs[1])
