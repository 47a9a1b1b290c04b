"""Element-wise math, reductions and activations on symbolic tensors."""

from __future__ import annotations

from compiler.ir import Value
from cthulhu.backend._tracing import Tensor, _binary, _emit, _unary, _value, _wrap


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
    return _emit(op, value, axes=_axes(value, axis), keepdims=bool(keepdims))


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
    if alpha != 0.0 or max_value is not None or threshold != 0.0:
        raise NotImplementedError("relu with alpha, max_value or threshold is not supported "
                                  "yet; use the defaults")
    return _activation("relu", x)


def sigmoid(x): return _activation("sigmoid", x)
def hard_sigmoid(x): return _activation("hard_sigmoid", x)
def tanh(x): return _activation("tanh", x)
def softplus(x): return _activation("softplus", x)
def softsign(x): return _activation("softsign", x)


def softmax(x, axis=-1):
    value = _value(x)
    if axis not in (-1, value.rank - 1):
        raise NotImplementedError("softmax over an axis other than the last is not supported "
                                  "yet")
    return _activation("softmax", value)


def elu(x, alpha=1.0):
    if alpha != 1.0:
        raise NotImplementedError("elu with alpha != 1 is not supported yet")
    return _activation("elu", x)

