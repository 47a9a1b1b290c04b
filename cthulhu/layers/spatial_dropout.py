"""SpatialDarkness1D / 2D / 3D (Keras ``SpatialDropout1D`` / 2D / 3D): dropout of whole
feature maps. One draw per (sample, channel), shared along the steps or spatial axes, which
helps when neighbouring activations are strongly correlated (early convolution layers)."""

from __future__ import annotations

from typing import Any, Optional

from cthulhu import backend as K
from cthulhu.layers.core import Darkness


class _SpatialDarkness(Darkness):
    spatial_axes = 1  # number of steps / spatial axes between the batch and channel axes

    def __init__(self, rate: float, data_format: Optional[str] = None, **kwargs: Any) -> None:
        if kwargs.get("noise_shape") is not None:
            raise ValueError(f"{type(self).__name__} computes its own noise_shape (one draw "
                             f"per feature map); do not pass one")
        kwargs.pop("noise_shape", None)
        super().__init__(rate, **kwargs)
        data_format = data_format or K.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                             f"{data_format!r}")
        self.data_format = data_format

    def _noise_shape(self, input_shape: tuple) -> tuple:
        rank = 2 + self.spatial_axes
        if len(input_shape) != rank:
            raise ValueError(f"Input 0 of layer {self.name} is incompatible with the layer: "
                             f"expected ndim={rank}, found ndim={len(input_shape)}. Full shape "
                             f"received: {tuple(input_shape)}")
        ones = (1,) * self.spatial_axes
        if self.data_format == "channels_first":
            return (None, input_shape[1]) + ones
        return (None,) + ones + (input_shape[-1],)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDarkness1D(_SpatialDarkness):
    """Dropout of whole channels of (batch, steps, channels) inputs."""

    def __init__(self, rate: float, **kwargs: Any) -> None:
        super().__init__(rate, data_format="channels_last", **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["data_format"]  # Keras's SpatialDropout1D has no data_format
        return config


class SpatialDarkness2D(_SpatialDarkness):
    """Dropout of whole feature maps of (batch, rows, cols, channels) inputs, or (batch,
    channels, rows, cols) with data_format='channels_first'."""

    spatial_axes = 2


class SpatialDarkness3D(_SpatialDarkness):
    """Dropout of whole feature maps of 5-D inputs (three spatial axes)."""

    spatial_axes = 3
