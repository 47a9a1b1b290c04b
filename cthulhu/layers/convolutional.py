"""Convolution layers: Cthalpa1D, Cthalpa2D, Cthalpa3D (Keras Conv1D/2D/3D).

All three trace the ``conv`` op (compiler/ops/conv.py), which works channels last; a
channels_first layer transposes its input to channels last and its output back. Kernels
have Keras's layout (*kernel_size, input channels, filters).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from compiler.ops.activation import FORWARD
from cthulhu import activations, constraints, initializers, regularizers
from cthulhu import backend as K
from cthulhu.backend._tracing import _emit, _value, constant_array
from cthulhu.layers.base import InputSpec, Layer
from cthulhu.layers.kernel_args import KernelBiasArgs


def normalize_tuple(value: Any, rank: int, name: str) -> tuple:
    """An int or a sequence of ``rank`` ints, as a tuple of ``rank`` ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * rank
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise ValueError(f"The `{name}` argument must be an int or a tuple of {rank} ints, "
                         f"got {value!r}") from None
    if len(out) != rank:
        raise ValueError(f"The `{name}` argument must be a tuple of {rank} ints, got "
                         f"{value!r}")
    return out


def normalize_data_format(value: Any) -> str:
    data_format = K.image_data_format() if value is None else str(value).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{value!r}")
    return data_format


def conv_pads(padding: str, spatial: tuple, kernel: tuple, strides: tuple,
              dilation: tuple) -> tuple:
    """Zero padding (before, after) per spatial axis, as Keras (TensorFlow) pads: 'same'
    gives ceil(size / stride) outputs with the odd pixel after; 'causal' pads
    (kernel - 1) * dilation before."""
    pads = []
    for size, k, s, d in zip(spatial, kernel, strides, dilation):
        span = (k - 1) * d + 1
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "causal":
            pads.append((span - 1, 0))
        else:
            total = max((math.ceil(size / s) - 1) * s + span - size, 0)
            pads.append((total // 2, total - total // 2))
    return tuple(pads)


def to_channels_last(x, rank: int):
    return K.permute_dimensions(x, (0,) + tuple(range(2, rank + 2)) + (1,))


def to_channels_first(x, rank: int):
    return K.permute_dimensions(x, (0, rank + 1) + tuple(range(1, rank + 1)))


class Cthalpa(KernelBiasArgs, Layer):
    """The N-d convolution (Keras ``_Conv``): ``activation(conv(inputs, kernel) + bias)``."""

    rank = 2
    paddings = ("valid", "same")
    kernel_name = "kernel"

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format=None, dilation_rate=1, groups: int = 1, activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        name = type(self).__name__
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{name} filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate")
        if min(self.kernel_size) < 1 or min(self.strides) < 1 or min(self.dilation_rate) < 1:
            raise ValueError(f"{name} kernel_size, strides and dilation_rate must be >= 1, "
                             f"got {self.kernel_size}, {self.strides}, {self.dilation_rate}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{name}: strides > 1 are not supported together with "
                             f"dilation_rate > 1 (got strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate})")
        self.padding = str(padding).lower()
        if self.padding not in self.paddings:
            raise ValueError(f"{name} padding must be one of {self.paddings}, got {padding!r}")
        self.data_format = normalize_data_format(data_format)
        if int(groups) != 1:
            raise NotImplementedError(f"{name}(groups={groups}): grouped convolutions are not "
                                      f"supported yet (groups=1 only)")
        self.groups = 1
        self._set_kernel_bias_args(activation, use_bias, kernel_initializer, bias_initializer,
                                   kernel_regularizer, bias_regularizer,
                                   activity_regularizer, kernel_constraint, bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def _kernel_shape(self, channels: int) -> tuple:
        return self.kernel_size + (channels, self.filters)

    def _conv_kernel(self):
        """The (*kernel_size, C, filters) kernel the conv op applies."""
        return self.kernel

    def build(self, input_shape: tuple) -> None:
        name = type(self).__name__
        channels = input_shape[self._channel_axis()]
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs to {name} {self.name!r} "
                             f"should be defined. Found None.")
        self.kernel = self.add_weight(self.kernel_name, self._kernel_shape(channels),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis(): channels})
        self.built = True

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        channels_first = self.data_format == "channels_first"
        x = to_channels_last(inputs, self.rank) if channels_first else inputs
        pads = conv_pads(self.padding, tuple(x.shape[1:-1]), self.kernel_size, self.strides,
                         self.dilation_rate)
        # A named activation over the channels (the last axis) runs in the kernel's epilogue.
        fn = activations.serialize(self.activation)
        fused = not channels_first and isinstance(fn, str) and fn in FORWARD
        y = self._convolve(_value(x), pads, fn if fused else "linear")
        if fused:
            return y
        return self.activation(to_channels_first(y, self.rank) if channels_first else y)

    def _bias_inputs(self) -> list:
        return [_value(self.bias)] if self.bias is not None else []

    def _convolve(self, x, pads: tuple, fn: str):
        """fn(conv(x) + bias) on the channels-last input value x."""
        return _emit("conv", x, _value(self._conv_kernel()), *self._bias_inputs(),
                     strides=self.strides, dilation=self.dilation_rate, pads=pads, fn=fn)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      padding=self.padding, data_format=self.data_format,
                      dilation_rate=self.dilation_rate, groups=self.groups,
                      **self._kernel_bias_config())
        return config


class Cthalpa1D(Cthalpa):
    """Cthalpa1D (Keras ``Conv1D``): temporal convolution; padding also 'causal'. Its
    data_format defaults to channels_last (as in Keras), not to K.image_data_format()."""

    rank = 1
    paddings = ("valid", "same", "causal")

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format="channels_last", dilation_rate=1, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)


class Cthalpa2D(Cthalpa):
    """Cthalpa2D (Keras ``Conv2D``): spatial convolution over images."""

    rank = 2


class Cthalpa3D(Cthalpa):
    """Cthalpa3D (Keras ``Conv3D``): convolution over volumes."""

    rank = 3


def deconv_length(size: int, kernel: int, padding: str, output_padding, stride: int,
                  dilation: int) -> int:
    """The output length of a transposed convolution, as Keras computes it."""
    span = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride + max(span - stride, 0) if padding == "valid" else size * stride
    pad = span // 2 if padding == "same" else 0
    return (size - 1) * stride + span - 2 * pad + output_padding


class Conv2DTranspose(Cthalpa2D):
    """Conv2DTranspose (the same name in Keras): the gradient of a convolution with respect
    to its input, as a layer. Kernel (kh, kw, filters, input channels), as in Keras."""

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1),
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)
        if output_padding is not None:
            output_padding = normalize_tuple(output_padding, self.rank, "output_padding")
            if any(p < 0 or p >= s for p, s in zip(output_padding, self.strides)):
                raise ValueError(f"Conv2DTranspose output_padding {output_padding} must be "
                                 f">= 0 and smaller than the strides {self.strides}")
        self.output_padding = output_padding
        if len(set(self.dilation_rate)) > 1:
            raise ValueError(f"Conv2DTranspose needs one dilation rate for both axes (as "
                             f"Keras), got {self.dilation_rate}")

    def _kernel_shape(self, channels: int) -> tuple:
        # Keras's layout: filters before input channels (the forward conv's (in, out)).
        return self.kernel_size + (self.filters, channels)

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        channels_first = self.data_format == "channels_first"
        x = to_channels_last(inputs, self.rank) if channels_first else inputs
        spatial = tuple(x.shape[1:-1])
        out = tuple(deconv_length(n, k, self.padding, None if self.output_padding is None
                                  else self.output_padding[i], s, d)
                    for i, (n, k, s, d) in enumerate(zip(spatial, self.kernel_size,
                                                         self.strides, self.dilation_rate)))
        pads = []
        for n, o, k, s, d in zip(spatial, out, self.kernel_size, self.strides,
                                 self.dilation_rate):
            # TensorFlow pads the forward convolution of the output back to the input.
            total = max((n - 1) * s + (k - 1) * d + 1 - o, 0) if self.padding == "same" else 0
            pads.append((total // 2, total - total // 2))
        y = _emit("conv_input_grad", _value(x), _value(self.kernel), in_shape=out,
                  strides=self.strides, dilation=self.dilation_rate, pads=tuple(pads))
        if self.bias is not None:
            y = y + self.bias
        return self.activation(to_channels_first(y, self.rank) if channels_first else y)

    def get_config(self) -> dict:
        config = super().get_config()
        config["output_padding"] = self.output_padding
        return config


def block_diagonal(depthwise_kernel):
    """The (*k, C, C * M) dense kernel of a (*k, C, M) depthwise kernel: input channel c
    feeds only outputs c * M .. c * M + M - 1. Built in the graph (a product with a constant
    0/1 mask), so its gradient is the mask times the dense kernel's gradient."""
    *k, c, m = depthwise_kernel.shape
    mask = np.eye(c).reshape((1,) * len(k) + (c, c, 1))
    mask = np.ascontiguousarray(np.broadcast_to(mask, tuple(k) + (c, c, m)),
                                dtype=depthwise_kernel.dtype)
    w = _emit("reshape", _value(depthwise_kernel), shape=tuple(k) + (c, 1, m))
    full = _emit("mul", _value(w), constant_array(mask))
    return _emit("reshape", _value(full), shape=tuple(k) + (c, c * m))


class Dendrrah2D(Cthalpa2D):
    """Dendrrah2D (Keras ``DepthwiseConv2D``): each input channel convolved with its own
    ``depth_multiplier`` filters; output channel c * depth_multiplier + m. Weights
    ``depthwise_kernel`` (kh, kw, C, depth_multiplier) and bias, as in Keras.

    Computed as a dense convolution whose kernel is block-diagonal over channels (built in
    the graph from the depthwise kernel, so gradients need no rule of their own): correct,
    but it does C times the multiply-adds of a native depthwise kernel, which is not written
    yet."""

    def __init__(self, kernel_size, strides=(1, 1), padding: str = "valid",
                 depth_multiplier: int = 1, data_format=None, dilation_rate=(1, 1),
                 activation=None, use_bias: bool = True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None,
                 **kwargs: Any) -> None:
        kwargs.pop("filters", None)
        for key in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            kwargs.pop(key, None)
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier < 1:
            raise ValueError(f"Dendrrah2D depth_multiplier must be a positive integer, got "
                             f"{depth_multiplier!r}")
        super().__init__(1, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)

    def build(self, input_shape: tuple) -> None:
        self.filters = input_shape[self._channel_axis()] * self.depth_multiplier
        super().build(input_shape)

    def _kernel_shape(self, channels: int) -> tuple:
        return self.kernel_size + (channels, self.depth_multiplier)

    kernel_name = "depthwise_kernel"

    def _conv_kernel(self):
        return block_diagonal(self.kernel)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("filters", "kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            config.pop(key)
        config.update(depth_multiplier=self.depth_multiplier,
                      depthwise_initializer=initializers.serialize(self.kernel_initializer),
                      depthwise_regularizer=regularizers.serialize(self.kernel_regularizer),
                      depthwise_constraint=constraints.serialize(self.kernel_constraint))
        return config


class SucNaath(Cthalpa):
    """Separable convolution (Keras ``SeparableConv``): a depthwise convolution
    (``depth_multiplier`` filters per input channel, computed as Dendrrah2D computes it)
    followed by a 1x1 convolution to ``filters`` channels, then bias and activation.
    Weights ``depthwise_kernel`` (*k, C, M), ``pointwise_kernel`` (1.., C * M, filters),
    ``bias``, as in Keras."""

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format=None, dilation_rate=1, depth_multiplier: int = 1,
                 activation=None, use_bias: bool = True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, pointwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs: Any) -> None:
        for key in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            kwargs.pop(key, None)  # Keras writes the base class's keys too; they are unused
        if not isinstance(depth_multiplier, (int, np.integer)) or depth_multiplier < 1:
            raise ValueError(f"{type(self).__name__} depth_multiplier must be a positive "
                             f"integer, got {depth_multiplier!r}")
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[self._channel_axis()]
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs to {type(self).__name__} "
                             f"{self.name!r} should be defined. Found None.")
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1,) * self.rank + (channels * self.depth_multiplier,
                                                    self.filters),
            self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis(): channels})
        self.built = True

    def _convolve(self, x, pads: tuple, fn: str):
        depthwise = _emit("conv", x, _value(block_diagonal(self.depthwise_kernel)),
                          strides=self.strides, dilation=self.dilation_rate, pads=pads,
                          fn="linear")
        ones = (1,) * self.rank
        return _emit("conv", _value(depthwise), _value(self.pointwise_kernel),
                     *self._bias_inputs(), strides=ones, dilation=ones,
                     pads=((0, 0),) * self.rank, fn=fn)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("kernel_initializer", "kernel_regularizer", "kernel_constraint", "groups"):
            config.pop(key)
        config.update(depth_multiplier=self.depth_multiplier,
                      depthwise_initializer=initializers.serialize(self.depthwise_initializer),
                      pointwise_initializer=initializers.serialize(self.pointwise_initializer),
                      depthwise_regularizer=regularizers.serialize(self.depthwise_regularizer),
                      pointwise_regularizer=regularizers.serialize(self.pointwise_regularizer),
                      depthwise_constraint=constraints.serialize(self.depthwise_constraint),
                      pointwise_constraint=constraints.serialize(self.pointwise_constraint))
        return config


class SucNaath1D(SucNaath):
    """SucNaath1D (Keras ``SeparableConv1D``); padding also 'causal'; data_format defaults
    to channels_last, as in Keras."""

    rank = 1
    paddings = ("valid", "same", "causal")

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format="channels_last", dilation_rate=1, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)


class SucNaath2D(SucNaath):
    """SucNaath2D (Keras ``SeparableConv2D``)."""

    rank = 2
