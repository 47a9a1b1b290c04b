"""Advanced activations: LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax, ReLU, written with
K so that they fuse with their neighbours."""

from __future__ import annotations

from typing import Any, Optional

from cthulhu import backend as K
from cthulhu import constraints, initializers, regularizers
from cthulhu.layers.base import InputSpec, Layer


class LeakyReLU(Layer):
    """x for x > 0, alpha * x otherwise."""

    supports_masking = True

    def __init__(self, alpha: float = 0.3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs, training=False):
        return K.switch(K.greater(inputs, 0.0), inputs, inputs * self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """x for x > 0, alpha * x otherwise, with a learned alpha per unit (shared along
    ``shared_axes``)."""

    supports_masking = True

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes: Optional[list[int]] = None
        else:
            self.shared_axes = [shared_axes] if isinstance(shared_axes, int) else \
                list(shared_axes)

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            shape[axis - 1] = 1
        self.alpha = self.add_weight("alpha", tuple(shape), self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={
            axis: size for axis, size in enumerate(input_shape)
            if axis and axis not in (self.shared_axes or [])})
        self.built = True

    def call(self, inputs, training=False):
        return K.relu(inputs) - self.alpha * K.relu(-inputs)

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    supports_masking = True

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def call(self, inputs, training=False):
        return K.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ThresholdedReLU(Layer):
    """x for x > theta, 0 otherwise."""

    supports_masking = True

    def __init__(self, theta: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if theta < 0:
            raise ValueError(f"theta of ThresholdedReLU must be >= 0, got {theta}")
        self.theta = float(theta)

    def call(self, inputs, training=False):
        return inputs * K.greater(inputs, self.theta)

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


class Softmax(Layer):
    """softmax(x) along ``axis``."""

    supports_masking = True

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, training=False):
        return K.softmax(inputs, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class ReLU(Layer):
    """max_value-capped, thresholded ReLU with a slope below the threshold:
    f(x) = max_value for x >= max_value, x for threshold <= x < max_value,
    negative_slope * (x - threshold) otherwise."""

    supports_masking = True

    def __init__(self, max_value: Optional[float] = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0:
            raise ValueError(f"max_value of ReLU must be >= 0, got {max_value}")
        if negative_slope < 0:
            raise ValueError(f"negative_slope of ReLU must be >= 0, got {negative_slope}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)

    def call(self, inputs, training=False):
        return K.relu(inputs, alpha=self.negative_slope, max_value=self.max_value,
                      threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}
