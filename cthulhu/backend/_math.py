"""Element-wise math, reductions and activations on symbolic tensors."""

from __future__ import annotations

import numpy as np

from compiler.ir import Value
from cthulhu.backend._tracing import (
    Tensor,
    _binary,
    _emit,
    _unary,
    _value,
    _wrap,
    current_trace,
)
from cthulhu.backend._variables import Variable, variable


# ---- element-wise math ------------------------------------------------------------------
def square(x): return _unary("square", x)
def sqrt(x): return _unary("sqrt", x)
def exp(x): return _unary("exp", x)
def log(x): return _unary("log", x)
def abs(x): return _unary("abs", x)  # noqa: A001  (the Keras name)
def sign(x): return _unary("sign", x)
def round(x): return _unary("round", x)  # noqa: A001
def maximum(x, y): return _binary("maximum", x, y)
def minimum(x, y): return _binary("minimum", x, y)
def equal(x, y): return _binary("equal", x, y)
def not_equal(x, y): return _binary("not_equal", x, y)
def greater(x, y): return _binary("greater", x, y)
def greater_equal(x, y): return _binary("greater_equal", x, y)
def less(x, y): return _binary("less", x, y)
def less_equal(x, y): return _binary("less_equal", x, y)
def pow(x, a): return _binary("pow", x, a)  # noqa: A001


def clip(x, min_value, max_value):
    if max_value is not None and min_value is not None and max_value < min_value:
        max_value = min_value
    return minimum(maximum(x, min_value), max_value)


def cast(x, dtype: str) -> Tensor:
    value = _value(x)
    if value.dtype == dtype:
        return x if isinstance(x, Tensor) else _wrap(value)
    return _emit("cast", value, dtype=dtype)


# ---- reductions -------------------------------------------------------------------------
def _axes(x: Value, axis) -> tuple[int, ...]:
    from compiler.ops.reduce import normalize_axes
    return normalize_axes(axis, x.rank)


def _reduce(op: str, x, axis, keepdims: bool) -> Tensor:
    value = _value(x)
    axes = _axes(value, axis)
    if axes and list(axes) != list(range(axes[0], axes[-1] + 1)) and op not in (
            "argmax", "argmin"):
        # The kernels reduce adjacent axes: move the reduced axes together first (the
        # batch axis stays first).
        rest = tuple(a for a in range(value.rank) if a not in axes)
        perm = axes + rest if 0 in axes else (0,) + tuple(a for a in rest if a) + axes
        moved = _emit("transpose", value, perm=perm).value
        new_axes = tuple(perm.index(a) for a in axes)
        out = _emit(op, moved, axes=new_axes, keepdims=False)
        if keepdims:
            kept = tuple(1 if a in axes else d for a, d in enumerate(value.shape))
            out = _emit("reshape", out.value, shape=kept)
        return out
    return _emit(op, value, axes=axes, keepdims=bool(keepdims))


def sum(x, axis=None, keepdims=False): return _reduce("reduce_sum", x, axis, keepdims)  # noqa: A001
def mean(x, axis=None, keepdims=False): return _reduce("reduce_mean", x, axis, keepdims)
def max(x, axis=None, keepdims=False): return _reduce("reduce_max", x, axis, keepdims)  # noqa: A001
def min(x, axis=None, keepdims=False): return _reduce("reduce_min", x, axis, keepdims)  # noqa: A001

def switch(condition, then_expression, else_expression) -> Tensor:
    """Element-wise choice: ``then`` where ``condition`` is non-zero, else ``else``."""
    cond = _value(condition)
    then = _value(then_expression, cond)
    return _emit("where", cond, then, _value(else_expression, then))



def l2_normalize(x, axis=-1) -> Tensor:
    """x / sqrt(max(sum(x**2, axis), 1e-12)), as Keras."""
    norm2 = sum(square(x), axis=axis, keepdims=True)
    return x / sqrt(maximum(norm2, 1e-12))


def argmax(x, axis=-1) -> Tensor:
    return _reduce("argmax", x, axis, False)


def argmin(x, axis=-1) -> Tensor:
    return _reduce("argmin", x, axis, False)


# ---- activations ------------------------------------------------------------------------
def _activation(fn: str, x) -> Tensor:
    return _emit("activation", _value(x), fn=fn)


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """x for x >= threshold (capped at max_value), alpha * (x - threshold) below it."""
    if alpha == 0.0 and threshold == 0.0:
        out = _activation("relu", x)
    else:
        below = (x - threshold) * alpha if alpha != 0.0 else 0.0
        out = switch(greater_equal(x, threshold), x, below)
    if max_value is not None:
        out = minimum(out, max_value)
    return out


def sigmoid(x): return _activation("sigmoid", x)
def hard_sigmoid(x): return _activation("hard_sigmoid", x)  # clip(0.2 x + 0.5, 0, 1)
def tanh(x): return _activation("tanh", x)
def softplus(x): return _activation("softplus", x)
def softsign(x): return _activation("softsign", x)


def softmax(x, axis=-1):
    value = _value(x)
    if axis in (-1, value.rank - 1):
        return _activation("softmax", value)  # the fused kernel
    shifted = x - max(x, axis=axis, keepdims=True)
    e = exp(shifted)
    return e / sum(e, axis=axis, keepdims=True)


def elu(x, alpha=1.0):
    if alpha == 1.0:
        return _activation("elu", x)
    return switch(greater(x, 0.0), x, alpha * (exp(minimum(x, 0.0)) - 1.0))


# ---- statistics and logic ---------------------------------------------------------------
def var(x, axis=None, keepdims=False):
    """The population variance (Keras: mean of squared deviations)."""
    deviation = x - mean(x, axis=axis, keepdims=True)
    return mean(square(deviation), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def prod(x, axis=None, keepdims=False):
    return _reduce("reduce_prod", x, axis, keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    """1.0 where some element along the axes is non-zero, else 0.0."""
    return max(not_equal(x, 0.0), axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    """1.0 where every element along the axes is non-zero, else 0.0."""
    return min(not_equal(x, 0.0), axis=axis, keepdims=keepdims)


# ---- filled tensors ---------------------------------------------------------------------
def zeros_like(x, dtype=None, name=None):
    return _filled_like(x, 0.0, dtype)


def ones_like(x, dtype=None, name=None):
    return _filled_like(x, 1.0, dtype)


def _filled_like(x, fill: float, dtype) -> Tensor:
    value = _value(x)
    const = current_trace().builder.const(fill, dtype or value.dtype)
    return _emit("broadcast_like", const, value)


# As in Keras, these three make variables (not tensors).
def zeros(shape, dtype=None, name=None) -> Variable:
    return variable(np.zeros(tuple(shape)), dtype, name)


def ones(shape, dtype=None, name=None) -> Variable:
    return variable(np.ones(tuple(shape)), dtype, name)


def eye(size, dtype=None, name=None) -> Variable:
    rows, cols = (size, size) if isinstance(size, int) else size
    return variable(np.eye(rows, cols), dtype, name)

