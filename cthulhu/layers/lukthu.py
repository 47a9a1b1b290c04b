"""LuKthu (Keras ``Lambda``): a layer made of a user function of K calls.

The function is traced like any layer's ``call``: what it computes with K functions and tensor
operators becomes IR, differentiated and fused with the rest of the model. What cannot be
traced (numpy on a symbolic tensor, Python ``if`` on its values) fails when the layer is
called on its inputs, naming the layer.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Optional

from cthulhu import backend as K
from cthulhu.layers.base import Layer

_ALLOWED = ("a LuKthu function must compute its output from its input tensors with "
            "cthulhu.backend (K) functions, tensor operators (+ - * / ** comparisons) and "
            "indexing (x[:, 0]); numpy functions, conversion to arrays and Python control flow "
            "on tensor values cannot be compiled into the plan")


class LuKthu(Layer):
    """Wraps ``function(inputs, **arguments)`` as a layer (Keras ``Lambda``).

    ``output_shape`` (a tuple without the batch axis, or a function of the input shape) is
    checked against the traced output; ``mask`` (a function of (inputs, mask)) makes the
    layer support masking and computes its output mask.
    """

    def __init__(self, function: Callable, output_shape: Any = None, mask: Any = None,
                 arguments: Optional[dict] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"LuKthu needs a callable function, got {type(function).__name__}")
        if mask is not None and not callable(mask):
            raise NotImplementedError("LuKthu(mask=...) takes a function of (inputs, mask); a "
                                      "fixed mask tensor is not supported")
        self.function = function
        self.output_shape_spec = output_shape
        self.mask = mask
        self.supports_masking = mask is not None
        self.arguments = dict(arguments or {})
        params = inspect.signature(function).parameters
        self._fn_takes_mask = "mask" in params
        self._fn_takes_training = "training" in params

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        try:
            out = self.function(inputs, **kwargs)
        except K.UntraceableError as err:
            raise K.UntraceableError(f"LuKthu layer {self.name!r} cannot be compiled: "
                                     f"{err}") from err
        except AttributeError as err:
            if "'Tensor' object" not in str(err):
                raise
            raise K.UntraceableError(f"LuKthu layer {self.name!r} cannot be compiled: {err}; "
                                     f"{_ALLOWED}") from err
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        for o in outs:
            if not isinstance(o, K.Tensor):
                raise K.UntraceableError(f"LuKthu layer {self.name!r}: its function returned "
                                         f"{type(o).__name__}, not a symbolic tensor; "
                                         f"{_ALLOWED}")
        self._check_declared_shape(inputs, outs)
        return list(out) if isinstance(out, (list, tuple)) else out

    def _check_declared_shape(self, inputs: Any, outs: list) -> None:
        spec = self.output_shape_spec
        if spec is None:
            return
        xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        in_shapes = [tuple(x.shape) for x in xs]
        if callable(spec):
            declared = spec(in_shapes if isinstance(inputs, (list, tuple)) else in_shapes[0])
        else:
            declared = (in_shapes[0][0],) + tuple(spec)
        several = isinstance(declared, list) or (
            isinstance(declared, tuple) and declared and isinstance(declared[0], tuple))
        declared_list = list(declared) if several else [declared]
        actual = [tuple(o.shape) for o in outs]
        ok = len(declared_list) == len(actual) and all(
            len(d) == len(a) and all(x is None or y is None or x == y for x, y in zip(d, a))
            for d, a in zip(declared_list, actual))
        if not ok:
            raise ValueError(f"LuKthu layer {self.name!r}: output_shape says "
                             f"{declared_list if several else declared_list[0]}, but its "
                             f"function returns {actual if several else actual[0]}")

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return self.mask(inputs, mask) if self.mask is not None else None

    def get_config(self) -> dict:
        """The Keras 2 Lambda config: functions by name, or as bytecode (see
        cthulhu.saving.python_code; loading bytecode from a file needs safe_mode=False)."""
        from cthulhu.saving import python_code
        config = {**super().get_config(), **python_code.function_config(self.function),
                  "arguments": self.arguments}
        spec = self.output_shape_spec
        if callable(spec):
            shape = python_code.function_config(spec)
            config.update(output_shape=shape["function"],
                          output_shape_type=shape["function_type"],
                          output_shape_module=shape["module"])
        else:
            config.update(output_shape=spec, output_shape_type="raw",
                          output_shape_module=None)
        if self.mask is not None:
            mask = python_code.function_config(self.mask)
            config.update(mask=mask["function"], mask_type=mask["function_type"],
                          mask_module=mask["module"])
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: Optional[dict] = None) -> LuKthu:
        from cthulhu.saving import python_code, serialization
        config = dict(config)
        with serialization.loading_options(custom_objects):
            function = python_code.function_from_config(config, "function")
            output_shape = python_code.function_from_config(config, "output_shape")
            mask = python_code.function_from_config(config, "mask")
        for key in ("function", "function_type", "module", "output_shape",
                    "output_shape_type", "output_shape_module", "mask", "mask_type",
                    "mask_module"):
            config.pop(key, None)
        if isinstance(output_shape, list):
            output_shape = tuple(output_shape)
        return cls(function, output_shape=output_shape, mask=mask, **config)
