"""Tracing: symbolic tensors and the compilation they belong to.

Inside a trace every backend call adds nodes to the graph being compiled; ``_value`` turns
what a user passes (a tensor, a variable, a Python or numpy scalar) into an IR value.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np

from compiler import ops as _ops  # noqa: F401  (registers every op)
from compiler.builder import Builder
from compiler.ir import Value
from cthulhu.backend._config import floatx
from cthulhu.backend._variables import Variable


def int_shape(x: Any) -> tuple:
    if isinstance(x, (Tensor, Variable)):
        return tuple(x.shape)
    return tuple(np.shape(x))


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

