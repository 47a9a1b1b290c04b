"""BlacknessFromTheStars (Keras ``BatchNormalization``)."""

from __future__ import annotations

from typing import Any

from cthulhu import backend as K
from cthulhu import constraints, initializers, regularizers
from cthulhu.backend._tracing import _emit, _value
from cthulhu.layers.base import Layer


def _single_axis(axis: Any) -> int:
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise NotImplementedError(f"BlacknessFromTheStars over several axes {list(axis)} "
                                      f"is not supported yet; give one channel axis")
        axis = axis[0]
    return int(axis)


class BlacknessFromTheStars(Layer):
    """Batch normalization (Keras ``BatchNormalization``) over the channel axis ``axis``.

    Training: each channel is normalized with the batch mean and biased variance, and the
    step updates the moving statistics inside the compiled plan, as tf-keras does:
    ``moving -= (moving - batch_stat) * (1 - momentum)`` (biased batch variance).
    Inference (and a layer with ``trainable=False``, as in tf-keras 2): the moving
    statistics. Both are fused native kernels (statistics, normalization, scale and shift in
    one pass per channel). With an input mask in training (an embedding with mask_zero),
    the batch statistics are the masked moments, as tf-keras (channel axis last only).
    Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance."""

    supports_masking = True
    # Axes a wrapper (TimeDistributed) inserts after the batch axis: a positive axis then
    # names the same axis of the wrapped input.
    _extra_axes = 0

    def __init__(self, axis=-1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm: bool = False, renorm_clipping=None, renorm_momentum: float = 0.99,
                 fused=None, virtual_batch_size=None, adjustment=None, synchronized=False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, value, default in (("renorm", renorm, False),
                                     ("renorm_clipping", renorm_clipping, None),
                                     ("virtual_batch_size", virtual_batch_size, None),
                                     ("adjustment", adjustment, None),
                                     ("synchronized", synchronized, False)):
            if value != default:
                raise NotImplementedError(f"BlacknessFromTheStars({name}={value!r}) is not "
                                          f"supported")
        self.axis = _single_axis(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.fused = fused  # accepted for compatibility: the kernels are always fused
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _channel_axis(self, rank: int) -> int:
        axis = self.axis + self._extra_axes if self.axis > 0 else self.axis
        if not -rank <= axis < rank or axis % rank == 0:
            raise ValueError(f"Invalid axis {self.axis} for BlacknessFromTheStars on inputs of "
                             f"rank {rank} (the batch axis cannot be normalized over)")
        return axis % rank

    def build(self, input_shape: tuple) -> None:
        axis = self._channel_axis(len(input_shape))
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined "
                             f"dimension but the layer received an input with shape "
                             f"{tuple(input_shape)}.")
        shape = (channels,)
        self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if self.scale else None
        self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def call(self, inputs: K.Tensor, training: bool = False, mask: Any = None) -> K.Tensor:
        x = _value(inputs)
        attrs = dict(axis=self._channel_axis(x.rank), epsilon=self.epsilon, scale=self.scale,
                     center=self.center)
        affine = [_value(w) for w in (self.gamma, self.beta) if w is not None]
        if not (training and self.trainable):
            return _emit("batch_norm_infer", x, *affine, _value(self.moving_mean),
                         _value(self.moving_variance), **attrs)
        if mask is not None:
            y, mean, var = self._masked(inputs, mask, affine, attrs)
        else:
            y, mean, var = _emit("batch_norm_train", x, *affine, **attrs)
        decay = 1.0 - self.momentum
        trace = K.current_trace()
        for moving, stat in ((self.moving_mean, mean), (self.moving_variance, var)):
            trace.add_update(moving, moving - (moving - stat) * decay)
        return y

    def _masked(self, inputs: K.Tensor, mask: K.Tensor, affine: list, attrs: dict) -> tuple:
        """Training with a mask (from an embedding with mask_zero, or Masking), as tf-keras:
        weighted moments, the mask broadcast over the channel axis (which must be last), then
        the affine map of those statistics (their gradient flows through the moments)."""
        rank = len(inputs.shape)
        if attrs["axis"] != rank - 1 or len(mask.shape) != rank - 1:
            raise NotImplementedError(
                f"BlacknessFromTheStars with a mask normalizes over the last axis only (the "
                f"mask covers the other axes); got axis {self.axis} on inputs of shape "
                f"{inputs.shape} with a mask of shape {mask.shape}")
        weights = K.expand_dims(mask, -1) * K.ones_like(inputs)
        axes = tuple(range(rank - 1))
        # A channel that no kept value reaches gets statistics 0, as tf's div_no_nan.
        count = K.maximum(K.sum(weights, axis=axes), 1e-30)
        mean = K.sum(inputs * weights, axis=axes) / count
        var = K.sum(K.square(inputs - mean) * weights, axis=axes) / count
        y = _emit("batch_norm_infer", _value(inputs), *affine, _value(mean), _value(var),
                  **attrs)
        return y, mean, var

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            axis=self.axis, momentum=self.momentum, epsilon=self.epsilon, center=self.center,
            scale=self.scale,
            beta_initializer=initializers.serialize(self.beta_initializer),
            gamma_initializer=initializers.serialize(self.gamma_initializer),
            moving_mean_initializer=initializers.serialize(self.moving_mean_initializer),
            moving_variance_initializer=initializers.serialize(
                self.moving_variance_initializer),
            beta_regularizer=regularizers.serialize(self.beta_regularizer),
            gamma_regularizer=regularizers.serialize(self.gamma_regularizer),
            beta_constraint=constraints.serialize(self.beta_constraint),
            gamma_constraint=constraints.serialize(self.gamma_constraint))
        return config
