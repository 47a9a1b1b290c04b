"""Core layers of this slice: Daoloth (Dense), Azatoth (Activation), Darkness (Dropout)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cthulhu import activations, regularizers
from cthulhu import backend as K
from cthulhu.backend._random import resolve_noise_shape
from cthulhu.backend._tracing import _emit, _value
from cthulhu.layers.base import InputSpec, Layer
from cthulhu.layers.kernel_args import KernelBiasArgs


def _not_yet(layer: str, **args: Any) -> None:
    for name, value in args.items():
        if value is not None:
            raise NotImplementedError(f"{layer}({name}=...) is not supported yet")


class Daoloth(KernelBiasArgs, Layer):
    """Daoloth (Keras ``Dense``): ``activation(dot(input, kernel) + bias)``. On inputs of
    rank > 2 the kernel applies to the last axis: (batch, d0, d1) -> (batch, d0, units), as
    one GEMM over batch * d0 rows (the fused GEMM + bias + activation kernel)."""

    supports_masking = True

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Daoloth units must be a positive integer, got {units!r}")
        self.units = int(units)
        self._set_kernel_bias_args(activation, use_bias, kernel_initializer, bias_initializer,
                                   kernel_regularizer, bias_regularizer,
                                   activity_regularizer, kernel_constraint, bias_constraint)

    input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: tuple) -> None:
        if input_shape[-1] is None:
            raise ValueError(f"The last dimension of the inputs to Daoloth {self.name!r} "
                             f"should be defined. Found None.")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_shape[-1]})
        self.built = True

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        x = _emit("matmul", _value(inputs), _value(self.kernel), transpose_a=False,
                    transpose_b=False)
        if self.bias is not None:
            x = x + self.bias
        return self.activation(x)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(units=self.units, **self._kernel_bias_config())
        return config


class Azatoth(Layer):
    """Azatoth (Keras ``Activation``): applies an activation function."""

    supports_masking = True

    def __init__(self, activation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        return self.activation(inputs)

    def get_config(self) -> dict:
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Darkness(Layer):
    """Darkness (Keras ``Dropout``): zeroes a fraction ``rate`` of inputs while training and
    scales the rest by 1/(1-rate); the identity at inference. ``noise_shape`` (None entries
    taken from the input) shares one draw along the axes where it is 1."""

    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Darkness rate must be in [0, 1), got {rate}")
        self.rate = rate
        if noise_shape is not None:
            noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
        self.noise_shape = noise_shape
        self.seed = seed
        # One seed per layer, fixed at construction: masks then depend only on the step.
        self._seed = int(seed) if seed is not None else int(np.random.randint(0, 2**31 - 1))

    def _noise_shape(self, input_shape: tuple):
        """The noise shape for an input shape (None: one draw per element)."""
        return self.noise_shape

    def build(self, input_shape: tuple) -> None:
        noise_shape = self._noise_shape(tuple(input_shape))
        if noise_shape is not None:  # a clear error at model build, not at the first step
            resolve_noise_shape(tuple(input_shape), noise_shape)
        self.built = True

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        return K.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs.shape),
                         seed=self._seed)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config


class Flatten(Layer):
    """Flattens every axis but the batch axis."""

    input_spec = InputSpec(min_ndim=1)

    def __init__(self, data_format=None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        self.data_format = data_format

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        if self.data_format == "channels_first" and len(inputs.shape) > 2:
            # Keras moves the channels last first, so weights keep their order.
            rank = len(inputs.shape)
            inputs = K.permute_dimensions(inputs, (0,) + tuple(range(2, rank)) + (1,))
        if any(d is None for d in inputs.shape[1:]):
            raise ValueError(f"The shape of the input to Flatten is not fully defined (got "
                             f"{inputs.shape[1:]}). Make sure to pass a complete input_shape.")
        return K.reshape(inputs, (None, int(np.prod(inputs.shape[1:]))))

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes the non-batch axes to ``target_shape`` (one entry may be -1)."""

    def __init__(self, target_shape, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError("Can only specify one unknown dimension (-1) in Reshape")

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        size = int(np.prod(inputs.shape[1:]))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        shape = self.target_shape
        if -1 in shape:
            if known == 0 or size % known:
                raise ValueError(f"total size of new array must be unchanged: cannot reshape "
                                 f"{inputs.shape[1:]} into {self.target_shape}")
            shape = tuple(size // known if d == -1 else d for d in shape)
        elif known != size:
            raise ValueError(f"total size of new array must be unchanged: cannot reshape "
                             f"{inputs.shape[1:]} into {self.target_shape}")
        return K.reshape(inputs, (None,) + shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_shape": self.target_shape}


class ActivityRegularization(Layer):
    """Adds l1 * sum(|x|) + l2 * sum(x^2) of its input (per batch sample) to the loss."""

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.l1, self.l2 = float(l1), float(l2)
        self.activity_regularizer = regularizers.L1L2(l1=self.l1, l2=self.l2)

    def get_config(self) -> dict:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


class RepeatVector(Layer):
    """Repeats its (batch, features) input n times: (batch, n, features)."""

    input_spec = InputSpec(ndim=2)

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"RepeatVector n must be a positive integer, got {n!r}")
        self.n = int(n)

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        if len(inputs.shape) != 2:
            raise ValueError(f"RepeatVector takes inputs of shape (batch, features), got "
                             f"{inputs.shape}")
        return K.repeat(inputs, self.n)

    def get_config(self) -> dict:
        return {**super().get_config(), "n": self.n}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is 1-indexed, e.g. (2, 1) swaps the first two."""

    def __init__(self, dims, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_spec = InputSpec(ndim=len(tuple(dims)) + 1)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Invalid permutation `dims` for Permute Layer: {dims}. The set "
                             f"of indices in `dims` must be consecutive and start from 1.")

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        if len(self.dims) != len(inputs.shape) - 1:
            raise ValueError(f"Permute dims {self.dims} do not match inputs of shape "
                             f"{inputs.shape}")
        return K.permute_dimensions(inputs, (0,) + self.dims)

    def get_config(self) -> dict:
        return {**super().get_config(), "dims": self.dims}
