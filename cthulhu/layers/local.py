"""LuKthu1D / LuKthu2D (Keras LocallyConnected1D / 2D): a convolution whose weights are not
shared, one kernel per output position.

Keras's implementation=1 layout: kernel (output positions, prod(kernel_size) * C, filters)
with patch features in (kernel offset, channel) order, bias (*output shape, filters). The
patches come from the ``conv`` op with a constant one-hot kernel (im2col as a convolution);
each position's product is then an element-wise product with its kernel summed over the
patch axis (no native kernel of its own yet: it holds batch x positions x patch x filters
values, fine for the small layers this is used in)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from cthulhu import backend as K
from cthulhu.backend._tracing import _emit, _value, constant_array
from cthulhu.layers.base import InputSpec, Layer
from cthulhu.layers.convolutional import normalize_data_format, normalize_tuple
from cthulhu.layers.kernel_args import KernelBiasArgs


class _LocallyConnected(KernelBiasArgs, Layer):
    rank = 2

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format=None, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, implementation: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        name = type(self).__name__
        if not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{name} filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        if min(self.kernel_size) < 1 or min(self.strides) < 1:
            raise ValueError(f"{name} kernel_size and strides must be >= 1")
        self.padding = str(padding).lower()
        if self.padding != "valid":
            raise ValueError(f"{name} supports only padding='valid' (as Keras's "
                             f"implementation=1), got {padding!r}")
        self.data_format = normalize_data_format(data_format)
        if self.data_format != "channels_last":
            raise NotImplementedError(f"{name}(data_format='channels_first') is not "
                                      f"supported yet")
        if int(implementation) != 1:
            raise NotImplementedError(f"{name}(implementation={implementation}): only "
                                      f"implementation=1 (its weight layout) is supported")
        self.implementation = 1
        self._set_kernel_bias_args(activation, use_bias, kernel_initializer, bias_initializer,
                                   kernel_regularizer, bias_regularizer,
                                   activity_regularizer, kernel_constraint, bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _out_shape(self, spatial: tuple) -> tuple:
        out = tuple((n - k) // s + 1 for n, k, s in zip(spatial, self.kernel_size, self.strides))
        if min(out) < 1:
            raise ValueError(f"{type(self).__name__} {self.name!r}: input {spatial} leaves no "
                             f"output for kernel {self.kernel_size}")
        return out

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"The channel dimension of the inputs to {type(self).__name__} "
                             f"should be defined. Found None.")
        out = self._out_shape(tuple(input_shape[1:-1]))
        depth = int(np.prod(self.kernel_size)) * channels
        self.kernel = self.add_weight("kernel", (int(np.prod(out)), depth, self.filters),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", out + (self.filters,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        self.built = True

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        channels = inputs.shape[-1]
        out = self._out_shape(tuple(inputs.shape[1:-1]))
        positions, depth = int(np.prod(out)), int(np.prod(self.kernel_size)) * channels
        # One-hot kernel: tap (offset, c) goes to patch feature offset_index * C + c.
        onehot = np.zeros(self.kernel_size + (channels, depth), dtype=inputs.dtype)
        for i, offset in enumerate(itertools.product(*[range(k) for k in self.kernel_size])):
            for c in range(channels):
                onehot[offset + (c, i * channels + c)] = 1.0
        ones = (1,) * self.rank
        patches = _emit("conv", _value(inputs), constant_array(onehot), strides=self.strides,
                        dilation=ones, pads=((0, 0),) * self.rank, fn="linear")
        patches = _emit("reshape", _value(patches), shape=(None, positions, depth, 1))
        products = _emit("mul", _value(patches), _value(self.kernel))
        y = _emit("reduce_sum", _value(products), axes=(2,), keepdims=False)
        y = _emit("reshape", _value(y), shape=(None,) + out + (self.filters,))
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      padding=self.padding, data_format=self.data_format,
                      implementation=self.implementation, **self._kernel_bias_config())
        return config


class LuKthu1D(_LocallyConnected):
    """LuKthu1D (Keras ``LocallyConnected1D``); data_format defaults to channels_last."""

    rank = 1

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format="channels_last", **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, **kwargs)


class LuKthu2D(_LocallyConnected):
    """LuKthu2D (Keras ``LocallyConnected2D``)."""

    rank = 2
