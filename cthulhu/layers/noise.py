"""Noise layers: GaussianNoise and GaussianDropout, active only in training (regularizers);
the identity at inference."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cthulhu import backend as K
from cthulhu.layers.base import Layer


class _Noise(Layer):
    supports_masking = True

    def __init__(self, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        # One seed per layer, fixed at construction: the noise depends only on the step.
        self._seed = int(seed) if seed is not None else int(np.random.randint(0, 2**31 - 1))


class GaussianNoise(_Noise):
    """Adds zero-centred normal noise of standard deviation ``stddev`` while training."""

    def __init__(self, stddev: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(seed, **kwargs)
        if stddev < 0:
            raise ValueError(f"GaussianNoise stddev must be >= 0, got {stddev}")
        self.stddev = float(stddev)

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        if not training or self.stddev == 0.0:
            return inputs
        return inputs + K.normal_like(inputs, 0.0, self.stddev, self._seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiplies by normal noise of mean 1 and standard deviation sqrt(rate / (1 - rate))
    while training."""

    def __init__(self, rate: float, seed: Optional[int] = None, **kwargs: Any) -> None:
        super().__init__(seed, **kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"GaussianDropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        stddev = float(np.sqrt(self.rate / (1.0 - self.rate)))
        return inputs * K.normal_like(inputs, 1.0, stddev, self._seed)

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Noise):
    """Dropout that keeps the self-normalizing property of SELU networks: dropped units are
    set to SELU's negative saturation value, then an affine map restores mean and variance."""

    def __init__(self, rate: float, noise_shape=None, seed: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(seed, **kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"AlphaDropout rate must be in [0, 1), got {rate}")
        if noise_shape is not None:
            raise NotImplementedError("AlphaDropout(noise_shape=...) is not supported yet")
        self.rate, self.noise_shape = float(rate), noise_shape

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        if not training or self.rate == 0.0:
            return inputs
        alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
        keep = K.greater_equal(K.uniform_like(inputs, 0.0, 1.0, self._seed), self.rate)
        a = ((1.0 - self.rate) * (1.0 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        kept = inputs * keep + alpha_p * (1.0 - keep)
        return a * kept + b

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape,
                "seed": self.seed}
