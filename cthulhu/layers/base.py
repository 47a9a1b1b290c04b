"""The layer anatomy: ``__init__`` keeps the config, ``build`` makes the weights, ``call``
emits IR through the backend, ``get_config`` round-trips. Calling a layer on a layer-graph
tensor records the call (its node) and infers the output shape by tracing ``call`` once on
a throwaway graph, so shapes always agree with what the compiler will build.
"""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any, Optional

import numpy as np

from compiler.builder import Builder
from cthulhu import backend as K

# Stand-in sizes for axes unknown until run time when a layer is called on a layer-graph
# tensor (see Layer._probe_outputs); far apart, so that strides and pooling tell them apart.
_STAND_IN_SIZES = (53, 89)


def _has_unknown_axes(shape: tuple) -> bool:
    return any(d is None for d in shape[1:])


def _stand_in(shape: tuple, size: int) -> tuple:
    return shape[:1] + tuple(size if d is None else d for d in shape[1:])


def _merge_sizes(a: tuple, b: tuple) -> tuple:
    return tuple(x if x == y else None for x, y in zip(a, b))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def _call_takes_mask(cls: type) -> bool:
    return "mask" in inspect.signature(cls.call).parameters


def _normalize_shape(shape: Any, what: str) -> tuple:
    if isinstance(shape, int):
        shape = (shape,)
    try:
        shape = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a tuple of ints, got {shape!r}") from None
    if any(d is not None and d < 0 for d in shape):
        raise ValueError(f"{what} has a negative dimension: {shape}")
    return shape


class InputSpec:
    """What a layer accepts (Keras ``InputSpec``): a rank (``ndim``, or ``min_ndim`` /
    ``max_ndim``) and sizes of some axes (``axes``: {axis: size}), checked on every call."""

    def __init__(self, ndim: Optional[int] = None, min_ndim: Optional[int] = None,
                 max_ndim: Optional[int] = None, axes: Optional[dict] = None) -> None:
        self.ndim, self.min_ndim, self.max_ndim = ndim, min_ndim, max_ndim
        self.axes = dict(axes or {})

    def check(self, layer_name: str, index: int, shape: tuple) -> None:
        where = f"Input {index} of layer {layer_name!r} is incompatible with the layer"
        rank = len(shape)
        for bound, ok in (("ndim", self.ndim is None or rank == self.ndim),
                          ("min_ndim", self.min_ndim is None or rank >= self.min_ndim),
                          ("max_ndim", self.max_ndim is None or rank <= self.max_ndim)):
            if not ok:
                raise ValueError(f"{where}: expected {bound}={getattr(self, bound)}, found "
                                 f"ndim={rank}. Full shape received: {tuple(shape)}")
        for axis, size in self.axes.items():
            if not -rank <= axis < rank or shape[axis] not in (None, size):
                raise ValueError(f"{where}: expected axis {axis} of input shape to have value "
                                 f"{size}, but received input with shape {tuple(shape)}")


class Node:
    """One call of a layer in the layer graph: which tensors went in and came out."""

    def __init__(self, layer: Layer, inputs: list[K.Tensor], outputs: list[K.Tensor]) -> None:
        self.layer, self.inputs, self.outputs = layer, inputs, outputs


class Layer:
    """Base class of every layer (Keras ``Layer``)."""

    _ALLOWED = {"input_shape", "batch_input_shape", "batch_size", "dtype", "name", "trainable",
                "input_dim", "weights"}
    # Whether a mask on the inputs may reach this layer (it passes through unless
    # compute_mask says otherwise); a masked input to a layer without it is an error.
    supports_masking = False
    # An InputSpec, or a list of them (one per input), or None: checked before call.
    input_spec: Any = None
    # Models nested as layers: the masks their call attaches to the outputs are kept.
    _masks_from_call = False

    def __init__(self, **kwargs: Any) -> None:
        unknown = set(kwargs) - self._ALLOWED
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{sorted(unknown)}")
        self.name = kwargs.get("name") or self._unique_name()
        self.trainable = kwargs.get("trainable", True)
        self.dtype = kwargs.get("dtype") or K.floatx()
        self.built = False
        self._trainable_weights: list[K.Variable] = []
        self._non_trainable_weights: list[K.Variable] = []
        self._regularized: list[tuple[K.Variable, Any]] = []  # (weight, regularizer)
        self.constraints: dict[int, Any] = {}  # id(weight) -> constraint
        self.activity_regularizer: Any = None
        self._inbound_nodes: list[Node] = []
        self._returns_list = False
        self._initial_weights = kwargs.get("weights")
        self.batch_input_shape: Optional[tuple] = None
        if "batch_input_shape" in kwargs:
            self.batch_input_shape = _normalize_shape(kwargs["batch_input_shape"],
                                                      "batch_input_shape")
        elif "input_shape" in kwargs:
            self.batch_input_shape = (kwargs.get("batch_size"),) + _normalize_shape(
                kwargs["input_shape"], "input_shape")
        elif "input_dim" in kwargs:
            self.batch_input_shape = (kwargs.get("batch_size"), int(kwargs["input_dim"]))

    def _unique_name(self) -> str:
        base = _snake(type(self).__name__)
        uid = K.get_uid(base)
        return base if uid == 1 else f"{base}_{uid - 1}"

    # ---- weights ------------------------------------------------------------------------
    def add_weight(self, name: str, shape: tuple, initializer: Any = "glorot_uniform",
                   trainable: bool = True, dtype: Optional[str] = None, regularizer: Any = None,
                   constraint: Any = None) -> K.Variable:
        from cthulhu import constraints, initializers, regularizers
        init = initializers.get(initializer)
        value = init(tuple(shape), dtype=dtype or self.dtype)
        var = K.Variable(value, dtype or self.dtype, f"{self.name}/{name}", trainable)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(var)
        if regularizer is not None:
            self._regularized.append((var, regularizers.get(regularizer)))
        if constraint is not None:
            self.constraints[id(var)] = constraints.get(constraint)
        return var

    def regularization_penalties(self) -> list:
        """The weight penalties of this layer, as tensors of the current trace."""
        return [reg(var) for var, reg in self._regularized]

    @property
    def trainable_weights(self) -> list[K.Variable]:
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[K.Variable]:
        if self.trainable:
            return list(self._non_trainable_weights)
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    @property
    def weights(self) -> list[K.Variable]:
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: list) -> None:
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f"Layer {self.name!r} expects {len(params)} weight arrays, but "
                             f"the given list has {len(weights)}")
        for var, value in zip(params, weights):
            if np.shape(value) != var.shape:
                raise ValueError(f"Layer {self.name!r} weight {var.name!r} has shape "
                                 f"{var.shape}, but the given array has shape "
                                 f"{np.shape(value)}")
        for var, value in zip(params, weights):
            var.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"You tried to call count_params on layer {self.name!r}, but the "
                             f"layer isn't built yet")
        return int(sum(np.prod(w.shape) for w in self.weights))

    # ---- the anatomy --------------------------------------------------------------------
    def build(self, input_shape: tuple) -> None:
        self.built = True

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        return inputs

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the outputs (a 0/1 tensor, or None): by default the input mask."""
        return mask if self.supports_masking else None

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Shape inference by tracing ``call`` on a throwaway graph. A list of shapes stands
        for several inputs; several outputs give a list of shapes."""
        several = isinstance(input_shape, list)
        shapes = [tuple(s) for s in (input_shape if several else [input_shape])]
        outs = self._probe_outputs(shapes, [None] * len(shapes), several, call_only=True)
        if self._returns_list:
            return [tuple(o.shape) for o in outs]
        return tuple(outs[0].shape)

    def _ensure_built(self, input_shape: tuple) -> None:
        if not self.built:
            self.build(list(input_shape) if isinstance(input_shape, list) else
                       tuple(input_shape))
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def _call_arguments(self, inputs: Any, kwargs: dict) -> Any:
        """Keyword arguments of a call (``layer(x, initial_state=s)``): a layer that takes
        some folds them into its inputs (they become inputs of its node, as in Keras) and
        returns those inputs; ``training=None`` and ``mask=None`` change nothing."""
        given = sorted(k for k, v in kwargs.items() if v is not None
                       or k not in ("training", "mask"))
        if given:
            raise NotImplementedError(f"calling layer {self.name!r} ({type(self).__name__}) "
                                      f"with {given} is not supported yet")
        return inputs

    def __call__(self, inputs: Any, **kwargs: Any) -> Any:
        if kwargs:
            inputs = self._call_arguments(inputs, kwargs)
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        for t in tensors:
            if not isinstance(t, K.Tensor):
                raise TypeError(f"Layer {self.name!r} was called on {type(t).__name__}; "
                                f"layers are called on symbolic tensors (from Input or "
                                f"another layer)")
        if tensors and tensors[0].value is not None:  # inside a trace: emit IR directly
            return self.trace_call(inputs, K.current_trace().training)
        several = isinstance(inputs, (list, tuple))
        traced = self._trace_layer_graph_call(tensors, several)
        index = len(self._inbound_nodes)
        outs = []
        for i, t in enumerate(traced):
            out = K.Tensor(None, t.shape, self.dtype, (self, index, i), f"{self.name}/output_{i}")
            if t._mask is not None:  # only its shape matters in the layer graph
                out._mask = K.Tensor(None, t._mask.shape, t._mask.dtype)
            outs.append(out)
        self._inbound_nodes.append(Node(self, tensors, outs))
        return outs if len(outs) > 1 or self._returns_list else outs[0]

    def _trace_layer_graph_call(self, tensors: list[K.Tensor], several: bool) -> list:
        """The outputs (with their masks) of this layer on placeholders shaped like
        ``tensors``, traced on a throwaway graph: shapes always agree with the compiler."""
        masks = [None if t._mask is None else tuple(t._mask.shape) for t in tensors]
        return self._probe_outputs([tuple(t.shape) for t in tensors], masks, several)

    def _probe_outputs(self, shapes: list[tuple], mask_shapes: list, several: bool,
                       call_only: bool = False) -> list[K.Tensor]:
        """Output tensors (shapes and mask shapes only) of a throwaway trace. Axes unknown
        until run time (a sequence length, beyond the batch axis) are traced twice, with two
        stand-in sizes: an output axis whose size differs between the two is unknown too."""
        known = [s for s in shapes + mask_shapes if s is not None]
        if not any(_has_unknown_axes(s) for s in known):
            return self._trace_once(shapes, mask_shapes, several, call_only)
        if self.input_spec is not None:
            self._check_input_spec([K.Tensor(None, s, self.dtype) for s in shapes])
        # The weights follow the real shapes, whatever the stand-in sizes.
        self._ensure_built(shapes if several else shapes[0])
        first, second = (
            self._trace_once([_stand_in(s, size) for s in shapes],
                             [None if m is None else _stand_in(m, size) for m in mask_shapes],
                             several, call_only)
            for size in _STAND_IN_SIZES)
        merged = []
        for a, b in zip(first, second):
            out = K.Tensor(None, _merge_sizes(a.shape, b.shape), a.dtype)
            if a._mask is not None:
                out._mask = K.Tensor(None, _merge_sizes(a._mask.shape, b._mask.shape),
                                     a._mask.dtype)
            merged.append(out)
        return merged

    def _trace_once(self, shapes: list[tuple], mask_shapes: list, several: bool,
                    call_only: bool) -> list[K.Tensor]:
        trace = K.Trace(Builder(self.dtype), training=False)
        with K.tracing(trace):
            xs = []
            for shape, mask_shape in zip(shapes, mask_shapes):
                x = K.Tensor(trace.builder.input(shape, self.dtype), shape, self.dtype)
                if mask_shape is not None:
                    x._mask = K.Tensor(trace.builder.input(mask_shape, K.floatx()),
                                       mask_shape, K.floatx())
                xs.append(x)
            if call_only:  # compute_output_shape: the call alone, as Keras's
                self._ensure_built(shapes if several else shapes[0])
                trace.builder.origin = self.name
                out = self.call(xs if several else xs[0], training=False)
            else:
                out = self.trace_call(xs if several else xs[0], training=False)
        self._returns_list = isinstance(out, (list, tuple))
        return list(out) if self._returns_list else [out]

    def trace_call(self, x: Any, training: bool) -> Any:
        """Emit this layer's IR into the current trace (x: a tensor or a list of them); the
        input masks go to ``call`` (if it takes ``mask``) and the output masks come from
        ``compute_mask``."""
        several = isinstance(x, (list, tuple))
        xs = list(x) if several else [x]
        self._check_input_spec(xs)
        self._ensure_built([t.shape for t in xs] if several else x.shape)
        self._check_input_spec(xs)  # build may have fixed axis sizes
        masks = [t._mask for t in xs]
        mask = masks if several else masks[0]
        masked = any(m is not None for m in masks)
        if masked and not self.supports_masking:
            raise TypeError(f"Layer {self.name!r} ({type(self).__name__}) does not support "
                            f"masking, but was passed an input mask. Masks come from a "
                            f"Masking layer (or an embedding with mask_zero=True) and flow "
                            f"through layers that support them; put this layer where no mask "
                            f"reaches it")
        trace = K.current_trace()
        saved, trace.builder.origin = trace.builder.origin, self.name
        try:
            kwargs = {"mask": mask} if _call_takes_mask(type(self)) else {}
            out = self.call(x, training=training, **kwargs)
            if self.activity_regularizer is not None and isinstance(out, K.Tensor):
                # Keras divides the activity penalty by the batch size.
                penalty = self.activity_regularizer(out)
                trace.penalties.append(penalty / K.Tensor(trace.builder.emit(
                    "dim_size", out.value, axes=(0,)), (), out.dtype))
            if self._masks_from_call:
                return out
            return self._with_masks(out, self.compute_mask(x, mask))
        finally:
            trace.builder.origin = saved

    def _check_input_spec(self, xs: list) -> None:
        specs = self.input_spec
        if specs is None:
            return
        specs = specs if isinstance(specs, (list, tuple)) else [specs] * len(xs)
        for i, (spec, x) in enumerate(zip(specs, xs)):
            if spec is not None:
                spec.check(self.name, i, tuple(x.shape))

    @staticmethod
    def _with_masks(out: Any, out_mask: Any) -> Any:
        """The outputs, each carrying its mask (new tensor objects: an output may be an
        input object, whose own mask must not change)."""
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        out_masks = list(out_mask) if isinstance(out_mask, (list, tuple)) else \
            [out_mask] * len(outs)
        if all(m is None for m in out_masks) and all(o._mask is None for o in outs):
            return out
        marked = []
        for o, m in zip(outs, out_masks):
            t = K.Tensor(o.value, o.shape, o.dtype, o._cthulhu_history, o.name)
            t._mask = m
            marked.append(t)
        return marked if isinstance(out, (list, tuple)) else marked[0]

    def get_config(self) -> dict:
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "dtype": self.dtype}
        if self.batch_input_shape is not None:
            config["batch_input_shape"] = self.batch_input_shape
        return config

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class InputLayer(Layer):
    """The layer behind ``Input``: it has no weights and passes its tensor through.

    ``sparse=True`` is accepted: scipy.sparse data is densified batch by batch as it is fed
    (for any input, as Keras 2 does). ``input_tensor`` (a numpy array) makes the input a
    fixed value, fed whenever the model runs, so no data is passed for it (Keras 2 feeds no
    placeholder for an input wrapping a tensor)."""

    def __init__(self, input_shape=None, batch_size=None, batch_input_shape=None,
                 dtype=None, name=None, sparse=False, input_tensor=None,
                 **kwargs: Any) -> None:
        if name is None:
            uid = K.get_uid("input")
            name = f"input_{uid}"
        self.sparse = bool(sparse)
        self.fixed_value: Optional[np.ndarray] = None
        if input_tensor is not None:
            self.fixed_value = _fixed_input(input_tensor)
            if batch_input_shape is None and input_shape is None:
                input_shape = self.fixed_value.shape[1:]
        if batch_input_shape is None:
            if input_shape is None:
                raise ValueError("InputLayer needs input_shape or batch_input_shape")
            batch_input_shape = (batch_size,) + _normalize_shape(input_shape, "shape")
        super().__init__(batch_input_shape=batch_input_shape, dtype=dtype, name=name, **kwargs)
        if self.fixed_value is not None:
            want, got = self.batch_input_shape, self.fixed_value.shape
            if len(want) != len(got) or any(w is not None and w != g
                                            for w, g in zip(want, got)):
                raise ValueError(f"Input tensor of shape {got} does not match the input shape "
                                 f"{want}")
        self.built = True
        self.output = K.Tensor(None, self.batch_input_shape, self.dtype, (self, 0, 0), name)
        self._inbound_nodes.append(Node(self, [], [self.output]))

    def get_config(self) -> dict:
        return {"batch_input_shape": self.batch_input_shape, "dtype": self.dtype,
                "sparse": self.sparse, "name": self.name}


def _fixed_input(tensor: Any) -> np.ndarray:
    if isinstance(tensor, K.Variable):
        raise NotImplementedError("Input(tensor=...) with a variable is not supported: the "
                                  "input would not follow the variable's updates; pass a "
                                  "numpy array (a fixed input value)")
    value = np.asarray(tensor)
    if value.dtype.kind not in "biuf" or value.ndim == 0:
        raise TypeError(f"Input(tensor=...) takes a numpy array with a batch axis (a fixed "
                        f"input value) or the tensor of another Input, got {type(tensor).__name__}")
    return value


def Input(shape=None, batch_shape=None, name=None, dtype=None, sparse=False,
          tensor=None) -> K.Tensor:
    """``Input()`` instantiates a symbolic tensor that starts a layer graph (Keras Input).

    ``tensor`` may be a numpy array, a fixed input value fed at every run (pass no data for
    this input), or the tensor of another Input, which is then returned as it is."""
    if isinstance(tensor, K.Tensor):
        return _existing_input(tensor, shape, batch_shape, dtype)
    if shape is None and batch_shape is None and tensor is None:
        raise ValueError("Please provide to Input either a `shape` or a `batch_shape` argument")
    layer = InputLayer(input_shape=shape, batch_input_shape=batch_shape, dtype=dtype, name=name,
                       sparse=sparse, input_tensor=tensor)
    return layer.output


def _existing_input(tensor: K.Tensor, shape, batch_shape, dtype) -> K.Tensor:
    history = tensor._cthulhu_history
    if tensor.value is not None or history is None or not isinstance(history[0], InputLayer):
        raise NotImplementedError(
            "Input(tensor=...) takes a numpy array (a fixed input value) or the tensor of "
            "another Input; making a model input of another layer's output or of a tensor "
            "inside a trace is not supported")
    want = batch_shape if batch_shape is not None else (
        None if shape is None else (None,) + _normalize_shape(shape, "shape"))
    if want is not None and tuple(want) != tuple(tensor.shape):
        raise ValueError(f"Input(tensor=...) of shape {tensor.shape} does not match the "
                         f"given shape {tuple(want)}")
    if dtype is not None and dtype != tensor.dtype:
        raise ValueError(f"Input(tensor=...) has dtype {tensor.dtype}, not {dtype}")
    return tensor
