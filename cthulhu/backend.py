"""cthulhu.backend (K): backend functions that build compiler IR on symbolic tensors.

Layers, losses, metrics and user code call these functions; inside a trace each call adds
nodes to the graph being compiled, so whatever is written with K is differentiated and fused
like the built-in layers. Weights are ``Variable`` objects that own their numpy storage; in a
trace they appear as the graph's params.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np

from compiler import ops as _ops  # noqa: F401  (registers every op)
from compiler.builder import Builder
from compiler.ir import Value

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"


def _read_config() -> None:
    """Defaults from ~/.cthulhu/cthulhu.json, as Keras reads ~/.keras/keras.json."""
    global _FLOATX, _EPSILON, _IMAGE_DATA_FORMAT
    home = os.environ.get("CTHULHU_HOME") or os.path.join(os.path.expanduser("~"), ".cthulhu")
    path = os.path.join(home, "cthulhu.json")
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError):
        return
    if not isinstance(config, dict):
        return
    _FLOATX = config.get("floatx", _FLOATX) if config.get("floatx") in (
        "float32", "float64") else _FLOATX
    if isinstance(config.get("epsilon"), (int, float)):
        _EPSILON = float(config["epsilon"])
    if config.get("image_data_format") in ("channels_last", "channels_first"):
        _IMAGE_DATA_FORMAT = config["image_data_format"]


_read_config()


def floatx() -> str:
    return _FLOATX


def set_floatx(value: str) -> None:
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}; expected 'float32' or 'float64'")
    _FLOATX = str(value)


def epsilon() -> float:
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    global _IMAGE_DATA_FORMAT
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format!r}")
    _IMAGE_DATA_FORMAT = data_format


# ---- variables --------------------------------------------------------------------------
_uid_counts: dict[str, int] = {}


def get_uid(prefix: str = "") -> int:
    _uid_counts[prefix] = _uid_counts.get(prefix, 0) + 1
    return _uid_counts[prefix]


def reset_uids() -> None:
    _uid_counts.clear()


class Variable:
    """A weight or optimizer slot: owns a C-contiguous numpy array that plans read and update
    in place (so its address must never change: assignment copies into it)."""

    def __init__(self, value: np.ndarray, dtype: Optional[str] = None, name: str = "variable",
                 trainable: bool = True) -> None:
        self._array = np.array(value, dtype=dtype or floatx(), order="C", copy=True)
        self.name = name
        self.trainable = trainable

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> str:
        return str(self._array.dtype)

    @property
    def storage(self) -> np.ndarray:
        """The live array (for plans); use ``numpy()`` for a copy."""
        return self._array

    def numpy(self) -> np.ndarray:
        return self._array.copy()

    def assign(self, value: Any) -> None:
        value = np.asarray(value)
        if value.shape != self._array.shape:
            raise ValueError(f"cannot assign a value of shape {value.shape} to variable "
                             f"{self.name!r} of shape {self._array.shape}")
        np.copyto(self._array, value, casting="unsafe")

    def __repr__(self) -> str:
        return f"<Variable {self.name!r} shape={self.shape} dtype={self.dtype}>"


def variable(value: Any, dtype: Optional[str] = None, name: Optional[str] = None) -> Variable:
    return Variable(np.asarray(value), dtype, name or f"variable_{get_uid('variable')}")


def get_value(x: Variable) -> np.ndarray:
    if not hasattr(x, "numpy"):
        raise TypeError(f"get_value needs a variable (e.g. model.optimizer.lr), got "
                        f"{type(x).__name__}")
    return x.numpy()


def set_value(x: Variable, value: Any) -> None:
    if not hasattr(x, "assign"):
        raise TypeError(f"set_value needs a variable (e.g. model.optimizer.lr), got "
                        f"{type(x).__name__}")
    x.assign(value)


def batch_get_value(xs: list[Variable]) -> list[np.ndarray]:
    return [x.numpy() for x in xs]


def batch_set_value(pairs: list[tuple[Variable, Any]]) -> None:
    for x, value in pairs:
        x.assign(value)


def count_params(x: Variable) -> int:
    return int(np.prod(x.shape))


def int_shape(x: Any) -> tuple:
    if isinstance(x, (Tensor, Variable)):
        return tuple(x.shape)
    return tuple(np.shape(x))


# ---- tracing ----------------------------------------------------------------------------
class Trace:
    """The state of one compilation: the builder, the variables bound as params so far, the
    training flag, and the value of the iteration counter (for random ops)."""

    def __init__(self, builder: Builder, training: bool,
                 step_variable: Optional[Variable] = None) -> None:
        self.builder = builder
        self.training = training
        self.variables: list[Variable] = []
        self._params: dict[int, Value] = {}  # id(variable) -> its param
        self._variables: dict[int, Variable] = {}  # param id -> its variable
        self.step_variable = step_variable
        self.penalties: list[Tensor] = []  # activity regularization terms of this trace

    def variable_of(self, param: Value) -> Optional[Variable]:
        return self._variables.get(param.id)

    def param(self, var: Variable) -> Value:
        value = self._params.get(id(var))
        if value is None:
            value = self.builder.param(var.shape, var.dtype, var.name)
            self._params[id(var)] = value
            self._variables[value.id] = var
            self.variables.append(var)
        return value

    def step(self) -> Value:
        if self.step_variable is None:
            raise RuntimeError("random ops in training need the optimizer's iteration counter")
        return self.param(self.step_variable)


_trace_stack: list[Trace] = []


@contextlib.contextmanager
def tracing(trace: Trace) -> Iterator[Trace]:
    _trace_stack.append(trace)
    try:
        yield trace
    finally:
        _trace_stack.pop()


def current_trace() -> Trace:
    if not _trace_stack:
        raise RuntimeError("backend functions on symbolic tensors must run while a model is "
                           "being compiled or built")
    return _trace_stack[-1]


def learning_phase() -> int:
    return int(current_trace().training) if _trace_stack else 0


class Tensor:
    """A symbolic tensor: a compiler Value inside the current trace.

    ``_cthulhu_shape`` is its Keras shape (batch axis None); ``_cthulhu_history`` is the
    (layer, node_index, tensor_index) that produced it in the layer graph.
    """

    def __init__(self, value: Optional[Value], shape: tuple, dtype: str,
                 history: Optional[tuple] = None, name: str = "") -> None:
        self.value = value
        self._cthulhu_shape = tuple(shape)
        self.dtype = dtype
        self._cthulhu_history = history
        self.name = name

    @property
    def shape(self) -> tuple:
        return self._cthulhu_shape

    def __repr__(self) -> str:
        return f"<cthulhu.Tensor shape={self.shape} dtype={self.dtype} name={self.name!r}>"

    # Arithmetic builds IR.
    def __add__(self, other): return _binary("add", self, other)
    def __radd__(self, other): return _binary("add", other, self)
    def __sub__(self, other): return _binary("sub", self, other)
    def __rsub__(self, other): return _binary("sub", other, self)
    def __mul__(self, other): return _binary("mul", self, other)
    def __rmul__(self, other): return _binary("mul", other, self)
    def __truediv__(self, other): return _binary("div", self, other)
    def __rtruediv__(self, other): return _binary("div", other, self)
    def __pow__(self, other): return _binary("pow", self, other)
    def __neg__(self): return _unary("neg", self)
    def __abs__(self): return _unary("abs", self)


def _wrap(value: Value) -> Tensor:
    return Tensor(value, value.shape, value.dtype)


def is_tensor(x: Any) -> bool:
    return isinstance(x, (Tensor, Variable))


def _value(x: Any, like: Optional[Value] = None) -> Value:
    """The IR value of a tensor, a variable or a Python/numpy scalar."""
    trace = current_trace()
    if isinstance(x, Value):
        return x
    if isinstance(x, Tensor):
        if x.value is None:
            raise ValueError(f"{x!r} is a layer-graph tensor, not part of the graph being "
                             f"compiled")
        return x.value
    if isinstance(x, Variable):
        return trace.param(x)
    if np.ndim(x) == 0:
        dtype = like.dtype if like is not None and like.dtype != "int64" else floatx()
        return trace.builder.const(float(x), dtype)
    raise TypeError(f"expected a symbolic tensor or a scalar, got {type(x).__name__}")


def _emit(op: str, *args: Value, **attrs: Any) -> Any:
    out = current_trace().builder.emit(op, *args, **attrs)
    return tuple(_wrap(v) for v in out) if isinstance(out, tuple) else _wrap(out)


def _binary(op: str, a: Any, b: Any) -> Tensor:
    if not is_tensor(a):
        bv = _value(b)
        return _emit(op, _value(a, bv), bv)
    av = _value(a)
    return _emit(op, av, _value(b, av))


def _unary(op: str, x: Any) -> Tensor:
    return _emit(op, _value(x))


def constant(value: float, dtype: Optional[str] = None) -> Tensor:
    return _wrap(current_trace().builder.const(float(value), dtype or floatx()))


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


def permute_dimensions(x, pattern) -> Tensor:
    """Axes in the order of ``pattern`` (the batch axis must stay first)."""
    return _emit("transpose", _value(x), perm=tuple(int(p) for p in pattern))


def concatenate(tensors: list, axis: int = -1) -> Tensor:
    values = [_value(t) for t in tensors]
    return _emit("concat", *values, axis=int(axis))


def repeat(x, n: int) -> Tensor:
    """(batch, dim) -> (batch, n, dim): the rows repeated n times."""
    value = _value(x)
    if value.rank != 2:
        raise ValueError(f"repeat takes a 2-D tensor, got shape {value.shape}")
    column = _emit("reshape", value, shape=(value.shape[0], 1, value.shape[1]))
    return _emit("broadcast_to", column.value, shape=(value.shape[0], int(n), value.shape[1]))


def switch(condition, then_expression, else_expression) -> Tensor:
    """Element-wise choice: ``then`` where ``condition`` is non-zero, else ``else``."""
    cond = _value(condition)
    then = _value(then_expression, cond)
    return _emit("where", cond, then, _value(else_expression, then))


def one_hot(indices, num_classes: int) -> Tensor:
    """(batch, ...) class indices -> (batch, ..., num_classes) of 0.0 / 1.0."""
    value = _value(indices)
    column = _emit("reshape", value, shape=value.shape + (1,))
    classes = current_trace().builder.emit("iota", length=int(num_classes), dtype=value.dtype)
    return _emit("equal", column.value, classes)


def l2_normalize(x, axis=-1) -> Tensor:
    """x / sqrt(max(sum(x**2, axis), 1e-12)), as Keras."""
    norm2 = sum(square(x), axis=axis, keepdims=True)
    return x / sqrt(maximum(norm2, 1e-12))


def argmax(x, axis=-1) -> Tensor:
    return _reduce("argmax", x, axis, False)


def argmin(x, axis=-1) -> Tensor:
    return _reduce("argmin", x, axis, False)


def reshape(x, shape) -> Tensor:
    value = _value(x)
    shape = tuple(None if d in (None, -1) and i == 0 else d for i, d in enumerate(shape))
    return _emit("reshape", value, shape=shape)


def flatten_last(x) -> Tensor:
    """Drop a trailing axis of length 1: (batch, 1) -> (batch,)."""
    value = _value(x)
    if value.shape and value.shape[-1] == 1:
        return _emit("reshape", value, shape=value.shape[:-1])
    return x


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


def dropout(x, level: float, noise_shape=None, seed: Optional[int] = None) -> Tensor:
    if noise_shape is not None:
        raise NotImplementedError("dropout with noise_shape is not supported yet")
    if not 0.0 <= level < 1.0:
        raise ValueError(f"dropout level must be in [0, 1), got {level}")
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    return _emit("dropout", _value(x), current_trace().step(), rate=float(level), seed=int(seed))


def uniform_like(x, low: float = 0.0, high: float = 1.0, seed: Optional[int] = None):
    """Uniform noise in [low, high) with the shape of ``x``, fresh at every training step."""
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    return _emit("random_uniform", _value(x), current_trace().step(), seed=int(seed),
                 low=float(low), high=float(high))


def normal_like(x, mean: float = 0.0, stddev: float = 1.0, seed: Optional[int] = None):
    """Normal noise with the shape of ``x``, fresh at every training step (counter-based:
    the same for a given seed and step whatever the thread count)."""
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    return _emit("random_normal", _value(x), current_trace().step(), seed=int(seed),
                 mean=float(mean), stddev=float(stddev))


# ---- losses -----------------------------------------------------------------------------
def categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1):
    if from_logits:
        value = _value(output)
        loss, _ = _emit("softmax_xent", value, _value(target, value), sparse=False)
        return loss
    out = _value(output)
    return _emit("categorical_crossentropy", _value(target, out), out, eps=epsilon())


def sparse_categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1):
    out = _value(output)
    target_value = _value(target, out)
    if target_value.dtype != out.dtype:
        target_value = current_trace().builder.emit("cast", target_value, dtype=out.dtype)
    if from_logits:
        loss, _ = _emit("softmax_xent", out, target_value, sparse=True)
        return loss
    return _emit("sparse_categorical_crossentropy", target_value, out, eps=epsilon())


def binary_crossentropy(target, output, from_logits: bool = False):
    if from_logits:
        raise NotImplementedError("binary_crossentropy(from_logits=True) is not supported yet")
    eps = epsilon()
    p = clip(output, eps, 1.0 - eps)
    return -(target * log(p + eps) + (1.0 - target) * log(1.0 - p + eps))
