"""Core layers of this slice: Daoloth (Dense), Azatoth (Activation), Darkness (Dropout)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cthulhu import activations, constraints, initializers, regularizers
from cthulhu import backend as K
from cthulhu.layers.base import Layer


def _not_yet(layer: str, **args: Any) -> None:
    for name, value in args.items():
        if value is not None:
            raise NotImplementedError(f"{layer}({name}=...) is not supported yet")


class Daoloth(Layer):
    """Daoloth (Keras ``Dense``): ``activation(dot(input, kernel) + bias)``."""

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Daoloth units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) != 2:
            raise NotImplementedError(f"Daoloth on inputs of rank {len(input_shape)} is not "
                                      f"supported yet (only (batch, features))")
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
        self.built = True

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: "
                             f"expected axis -1 of input shape to have value "
                             f"{self.kernel.shape[0]}, but received input with shape "
                             f"{inputs.shape}")
        x = K._emit("matmul", K._value(inputs), K._value(self.kernel), transpose_a=False,
                    transpose_b=False)
        if self.bias is not None:
            x = x + self.bias
        return self.activation(x)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(units=self.units, activation=activations.serialize(self.activation),
                      use_bias=self.use_bias,
                      kernel_initializer=initializers.serialize(self.kernel_initializer),
                      bias_initializer=initializers.serialize(self.bias_initializer),
                      kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
                      bias_regularizer=regularizers.serialize(self.bias_regularizer),
                      activity_regularizer=regularizers.serialize(self.activity_regularizer),
                      kernel_constraint=constraints.serialize(self.kernel_constraint),
                      bias_constraint=constraints.serialize(self.bias_constraint))
        return config


class Azatoth(Layer):
    """Azatoth (Keras ``Activation``): applies an activation function."""

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
    scales the rest by 1/(1-rate); the identity at inference."""

    def __init__(self, rate: float, noise_shape=None, seed: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Darkness rate must be in [0, 1), got {rate}")
        _not_yet("Darkness", noise_shape=noise_shape)
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed
        # One seed per layer, fixed at construction: masks then depend only on the step.
        self._seed = int(seed) if seed is not None else int(np.random.randint(0, 2**31 - 1))

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        return K.dropout(inputs, self.rate, seed=self._seed)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config
