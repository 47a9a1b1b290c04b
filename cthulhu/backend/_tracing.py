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
        # Layer state written when the plan runs: (variable, its new value), applied after
        # the step. BatchNorm's moving statistics change in training steps only; the states
        # of stateful RNNs after every run (training, evaluation, prediction), as in Keras.
        self.state_updates: list[tuple[Variable, Value]] = []
        self._every_mode: set[int] = set()  # ids of the variables updated in every mode

    def add_update(self, var: Variable, new: Any, every_mode: bool = False) -> None:
        """Register ``var <- new`` (a tensor of this trace) to happen when the compiled step
        runs; only a training trace applies them, unless ``every_mode``. A variable updated
        twice (a layer called twice) keeps the last update, as the later assignment wins in
        Keras."""
        value = _value(new)
        if tuple(value.shape) != tuple(var.shape) or value.dtype != var.dtype:
            raise ValueError(f"update of {var.name!r}: new value {value.shape} {value.dtype} "
                             f"does not match the variable {var.shape} {var.dtype}")
        self.state_updates = [(v, n) for v, n in self.state_updates if v is not var]
        self.state_updates.append((var, value))
        if every_mode:
            self._every_mode.add(id(var))
        else:
            self._every_mode.discard(id(var))

    def state_assigns(self) -> list[tuple[Value, Value]]:
        """The updates this trace applies, as graph assigns (param, new value): all of them
        in training, those registered for every mode otherwise."""
        return [(self.param(var), new) for var, new in self.state_updates
                if self.training or id(var) in self._every_mode]

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


_eager: Optional[Trace] = None


def current_trace() -> Trace:
    """The compilation in progress or, outside any, the eager trace: a graph of its own in
    which backend calls on variables and constants are recorded for ``K.eval``."""
    global _eager
    if _trace_stack:
        return _trace_stack[-1]
    if _eager is None:
        _eager = Trace(Builder(floatx()), training=False)
    return _eager


def in_trace() -> bool:
    """Whether a model (or a layer's shape inference) is being traced right now."""
    return bool(_trace_stack)


def eval(x: Any) -> np.ndarray:  # noqa: A001  (the Keras name)
    """The value of a variable, or of an expression of variables and constants built outside
    a model (run by the reference interpreter)."""
    if isinstance(x, Variable):
        return x.numpy()
    if not isinstance(x, Tensor) or x.value is None:
        raise TypeError(f"K.eval needs a variable or an expression of variables and "
                        f"constants; {x!r} is part of a layer graph (use K.function or "
                        f"model.predict to compute it on data)")
    trace = current_trace()
    if trace is not _eager or in_trace():
        raise UntraceableError(f"K.eval cannot evaluate {x!r} while a model is being "
                               f"compiled: its value depends on the data")
    from compiler.interpret import interpret
    from compiler.passes.dce import eliminate_dead_code
    graph = eliminate_dead_code(trace.builder.graph({"value": x.value}))
    storage = {id(p): trace.variable_of(p) for p in graph.params}
    outputs, _ = interpret(graph, [], [storage[id(p)].numpy() for p in graph.params])
    return outputs["value"]


class UntraceableError(TypeError):
    """User code asked a symbolic tensor for a value it only has when the plan runs."""


_WHAT_IS_ALLOWED = ("symbolic tensors are traced into the compiled plan: compute with "
                    "cthulhu.backend (K) functions, tensor operators (+ - * / ** comparisons) "
                    "and indexing (x[:, 0])")

# numpy ufuncs that have a traced equivalent (so that np_array + tensor works).
_UFUNC_OPS = {"add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "div",
              "divide": "div", "power": "pow", "maximum": "maximum", "minimum": "minimum",
              "less": "less", "less_equal": "less_equal", "greater": "greater",
              "greater_equal": "greater_equal"}


class Tensor:
    """A symbolic tensor: a compiler Value inside the current trace.

    ``_cthulhu_shape`` is its Keras shape (batch axis None); ``_cthulhu_history`` is the
    (layer, node_index, tensor_index) that produced it in the layer graph; ``_mask`` is its
    Keras mask (a Tensor of 0.0/1.0 over the leading axes, or None).
    """

    def __init__(self, value: Optional[Value], shape: tuple, dtype: str,
                 history: Optional[tuple] = None, name: str = "") -> None:
        self.value = value
        self._cthulhu_shape = tuple(shape)
        self.dtype = dtype
        self._cthulhu_history = history
        self.name = name
        self._mask: Optional[Tensor] = None
        self._eager = False  # built outside any model (see _import_eager)

    @property
    def shape(self) -> tuple:
        return self._cthulhu_shape

    @property
    def ndim(self) -> int:
        return len(self._cthulhu_shape)

    def __repr__(self) -> str:
        return f"<cthulhu.Tensor shape={self.shape} dtype={self.dtype} name={self.name!r}>"

    # Arithmetic and comparison build IR.
    def __add__(self, other): return _binary("add", self, other)
    def __radd__(self, other): return _binary("add", other, self)
    def __sub__(self, other): return _binary("sub", self, other)
    def __rsub__(self, other): return _binary("sub", other, self)
    def __mul__(self, other): return _binary("mul", self, other)
    def __rmul__(self, other): return _binary("mul", other, self)
    def __truediv__(self, other): return _binary("div", self, other)
    def __rtruediv__(self, other): return _binary("div", other, self)
    def __pow__(self, other): return _binary("pow", self, other)
    def __rpow__(self, other): return _binary("pow", other, self)
    def __neg__(self): return _unary("neg", self)
    def __abs__(self): return _unary("abs", self)
    def __lt__(self, other): return _binary("less", self, other)
    def __le__(self, other): return _binary("less_equal", self, other)
    def __gt__(self, other): return _binary("greater", self, other)
    def __ge__(self, other): return _binary("greater_equal", self, other)

    def __getitem__(self, key):
        from cthulhu.backend._shape import slice_tensor
        return slice_tensor(self, key)

    # What has no meaning before the plan runs fails with an explanation.
    def _untraceable(self, what: str, hint: str = "") -> UntraceableError:
        return UntraceableError(f"{what} of a symbolic tensor {self.shape} is not known while "
                                f"the model is built{hint}; {_WHAT_IS_ALLOWED}")

    def __array__(self, *args, **kwargs):
        raise self._untraceable("the array value", " (it cannot become a numpy array)")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        op = _UFUNC_OPS.get(ufunc.__name__)
        if method != "__call__" or op is None or kwargs:
            raise UntraceableError(f"numpy.{ufunc.__name__} cannot be applied to a symbolic "
                                   f"tensor; {_WHAT_IS_ALLOWED}")
        return _binary(op, *inputs)

    def __bool__(self):
        raise self._untraceable("the truth value", " (use K.switch to choose element-wise)")

    def __float__(self):
        raise self._untraceable("the value")

    def __int__(self):
        raise self._untraceable("the value")

    def __index__(self):
        raise self._untraceable("the value")

    def __iter__(self):
        raise self._untraceable("the values", " (it cannot be iterated over)")


class BatchSize:
    """``K.shape(x)[0]``: the number of samples, known only when the plan runs. Shape
    arguments accept it for the batch axis; in arithmetic it is a scalar tensor."""

    def __init__(self, of: Value) -> None:
        self.of = of

    def tensor(self) -> Tensor:
        return _wrap(current_trace().builder.emit("dim_size", self.of, axes=(0,)))

    def __repr__(self) -> str:
        return "<cthulhu.BatchSize>"

    def __add__(self, other): return self.tensor() + other
    def __radd__(self, other): return other + self.tensor()
    def __sub__(self, other): return self.tensor() - other
    def __rsub__(self, other): return other - self.tensor()
    def __mul__(self, other): return self.tensor() * other
    def __rmul__(self, other): return other * self.tensor()
    def __truediv__(self, other): return self.tensor() / other
    def __rtruediv__(self, other): return other / self.tensor()


def shape(x: Any) -> tuple:
    """The shape of ``x``; the batch axis is a ``BatchSize`` (its size at run time)."""
    value = _value(x)
    return tuple(BatchSize(value) if d is None else d for d in value.shape)


def ndim(x: Any) -> int:
    return len(int_shape(x))


def dtype(x: Any) -> str:
    return str(x.dtype)


def _wrap(value: Value) -> Tensor:
    tensor = Tensor(value, value.shape, value.dtype)
    tensor._eager = not _trace_stack
    return tensor


def _import_eager(value: Value) -> Value:
    """A value of the eager trace (an expression of variables and constants built outside
    any model), replayed into the current trace so that a model can use it."""
    from compiler.passes.dce import eliminate_dead_code
    assert _eager is not None
    trace = current_trace()
    graph = eliminate_dead_code(_eager.builder.graph({"value": value}))
    mapping: dict[int, Value] = {}
    for param in graph.params:
        var = _eager.variable_of(param)
        assert var is not None
        mapping[param.id] = trace.param(var)
    for node in graph.nodes:
        outs = trace.builder.emit(node.op, *(mapping[v.id] for v in node.inputs), **node.attrs)
        for old, new in zip(node.outputs, outs if isinstance(outs, tuple) else (outs,)):
            mapping[old.id] = new
    return mapping[value.id]


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
        if x._eager and _trace_stack:
            return _import_eager(x.value)
        return x.value
    if isinstance(x, Variable):
        return trace.param(x)
    if isinstance(x, BatchSize):
        return x.tensor().value  # type: ignore[return-value]
    if isinstance(x, (int, float, np.number, np.ndarray, list, tuple)):
        dtype = like.dtype if like is not None and like.dtype != "int64" else floatx()
        if np.ndim(x) == 0:
            return trace.builder.const(float(x), dtype)
        return constant_array(np.asarray(x, dtype=dtype))
    raise TypeError(f"expected a symbolic tensor, a variable, a number or an array, got "
                    f"{type(x).__name__}")


def constant_array(array: np.ndarray) -> Value:
    """An array constant of the current trace: a non-trainable variable that no model owns,
    bound as a param (the IR's constants are scalars)."""
    var = Variable(array, str(array.dtype), "constant", trainable=False)
    return current_trace().param(var)


def _emit(op: str, *args: Value, **attrs: Any) -> Any:
    out = current_trace().builder.emit(op, *args, **attrs)
    return tuple(_wrap(v) for v in out) if isinstance(out, tuple) else _wrap(out)


def _on_layer_graph(*xs: Any) -> bool:
    """Whether an operator meets a layer-graph tensor outside a trace (it then becomes a
    layer, see _deferred)."""
    return not _trace_stack and any(isinstance(x, Tensor) and x.value is None for x in xs)


def _binary(op: str, a: Any, b: Any) -> Tensor:
    if _on_layer_graph(a, b):
        from cthulhu.backend._deferred import as_layer
        return as_layer(_binary, (op, a, b), {}, name=op)
    if not is_tensor(a):
        bv = _value(b)
        return _emit(op, _value(a, bv), bv)
    av = _value(a)
    return _emit(op, av, _value(b, av))


def _unary(op: str, x: Any) -> Tensor:
    if _on_layer_graph(x):
        from cthulhu.backend._deferred import as_layer
        return as_layer(_unary, (op, x), {}, name=op)
    return _emit(op, _value(x))


def constant(value: Any, dtype: Optional[str] = None, shape: Optional[tuple] = None,
             name: Optional[str] = None) -> Tensor:
    """A constant tensor (a scalar, or an array filled from ``value`` when ``shape`` is
    given)."""
    array = np.asarray(value, dtype=dtype or floatx())
    if shape is not None:
        array = np.broadcast_to(array, tuple(shape)).copy()
    if array.ndim == 0:
        return _wrap(current_trace().builder.const(float(array), str(array.dtype)))
    return _wrap(constant_array(array))

