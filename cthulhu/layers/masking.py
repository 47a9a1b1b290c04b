"""Masking: marks the timesteps whose features all equal ``mask_value`` as missing."""

from __future__ import annotations

from typing import Any

from cthulhu import backend as K
from cthulhu.layers.base import Layer


class Masking(Layer):
    """Zeroes the masked timesteps and gives the layers after it (and the loss) a mask:
    a timestep is masked when every feature equals ``mask_value``."""

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def _keep(self, inputs: K.Tensor) -> K.Tensor:
        return K.any(K.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        return inputs * self._keep(inputs)

    def compute_mask(self, inputs: K.Tensor, mask: Any = None) -> K.Tensor:
        return K.squeeze(self._keep(inputs), -1)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_value": self.mask_value}
