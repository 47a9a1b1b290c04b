"""Zero padding, cropping and upsampling of sequences, images and volumes:
Xexanoth1D/2D/3D (ZeroPadding), Cropping1D/2D/3D and UbboSathla1D/2D/3D (UpSampling), with
Keras 2's arguments and configs."""

from __future__ import annotations

from typing import Any, Optional

from cthulhu import backend as K
from cthulhu.backend._spatial import crop_axes, pad_axes
from cthulhu.layers.base import InputSpec, Layer
from cthulhu.layers.pooling import data_format_of, normalize_tuple


def _pairs(value: Any, rank: int, name: str) -> tuple:
    """An int, `rank` ints (symmetric) or `rank` pairs -> `rank` (before, after) pairs."""
    if isinstance(value, int):
        pairs = ((value, value),) * rank
    elif rank == 1:
        pairs = (normalize_tuple(value, 2, name),)
    else:
        items = tuple(value)
        if len(items) != rank:
            raise ValueError(f"`{name}` should have {rank} elements, got {value!r}")
        pairs = tuple((v, v) if isinstance(v, int) else normalize_tuple(v, 2, name)
                      for v in items)
    if min(min(p) for p in pairs) < 0:
        raise ValueError(f"`{name}` cannot be negative, got {value!r}")
    return tuple(tuple(int(v) for v in p) for p in pairs)


class _Spatial(Layer):
    rank = 2

    def __init__(self, data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format_of(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self) -> list:
        first = 2 if self.data_format == "channels_first" else 1
        return list(range(first, first + self.rank))

    def get_config(self) -> dict:
        config = {**super().get_config(), "data_format": self.data_format}
        if self.rank == 1:
            del config["data_format"]  # Keras's 1-D layers have none
        return config


class _ZeroPadding(_Spatial):
    def __init__(self, padding: Any = 1, data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self.rank, "padding")

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        return pad_axes(inputs, dict(zip(self._axes(), self.padding)))

    def get_config(self) -> dict:
        padding = self.padding[0] if self.rank == 1 else self.padding
        return {**super().get_config(), "padding": padding}


class Xexanoth1D(_ZeroPadding):
    """Zeros before and after the steps of (batch, steps, features) (ZeroPadding1D)."""

    rank = 1

    def __init__(self, padding: Any = 1, **kwargs: Any) -> None:
        super().__init__(padding, "channels_last", **kwargs)


class Xexanoth2D(_ZeroPadding):
    """Rows and columns of zeros around images (ZeroPadding2D): padding is an int, (rows,
    cols) or ((top, bottom), (left, right))."""

    def __init__(self, padding: Any = (1, 1), data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(padding, data_format, **kwargs)


class Xexanoth3D(_ZeroPadding):
    """Zeros around volumes (ZeroPadding3D)."""

    rank = 3

    def __init__(self, padding: Any = (1, 1, 1), data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(padding, data_format, **kwargs)


class _Cropping(_Spatial):
    def __init__(self, cropping: Any, data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping")

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        return crop_axes(inputs, dict(zip(self._axes(), self.cropping)))

    def get_config(self) -> dict:
        cropping = self.cropping[0] if self.rank == 1 else self.cropping
        return {**super().get_config(), "cropping": cropping}


class Cropping1D(_Cropping):
    """Removes steps at the start and end of (batch, steps, features)."""

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(cropping, "channels_last", **kwargs)


class Cropping2D(_Cropping):
    """Removes rows and columns at the borders of images."""

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Removes the borders of volumes."""

    rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)),
                 data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(cropping, data_format, **kwargs)


class UbboSathla1D(_Spatial):
    """Repeats each step `size` times (UpSampling1D)."""

    rank = 1

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__("channels_last", **kwargs)
        self.size = int(size)
        if self.size < 1:
            raise ValueError(f"size must be >= 1, got {size!r}")

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        return K.repeat_elements(inputs, self.size, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


class UbboSathla2D(_Spatial):
    """Upsamples images by (rows, cols) factors (UpSampling2D): interpolation 'nearest'
    repeats pixels; 'bilinear' is TensorFlow's bilinear resize (half-pixel centres)."""

    def __init__(self, size: Any = (2, 2), data_format: Optional[str] = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(size, 2, "size")
        if min(self.size) < 1:
            raise ValueError(f"size must be positive, got {size!r}")
        if interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"UbboSathla2D supports interpolation 'nearest' and "
                                      f"'bilinear', not {interpolation!r}")
        self.interpolation = interpolation

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        return K.resize_images(inputs, self.size[0], self.size[1], self.data_format,
                               self.interpolation)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size,
                "interpolation": self.interpolation}


class UbboSathla3D(_Spatial):
    """Upsamples volumes by repeating voxels (UpSampling3D)."""

    rank = 3

    def __init__(self, size: Any = (2, 2, 2), data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(size, 3, "size")
        if min(self.size) < 1:
            raise ValueError(f"size must be positive, got {size!r}")

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        return K.resize_volumes(inputs, *self.size, data_format=self.data_format)

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}
