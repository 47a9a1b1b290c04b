"""Pooling layers: Mlandoth1D/2D/3D (MaxPooling), AiuebGnshal1D/2D/3D (AveragePooling),
GhrothMlandoth1D/2D/3D (GlobalMaxPooling) and GrothAiuebGnshal1D/2D/3D
(GlobalAveragePooling), with Keras 2's arguments and configs."""

from __future__ import annotations

from typing import Any, Optional

from cthulhu import backend as K
from cthulhu.layers.base import InputSpec, Layer


def normalize_tuple(value: Any, n: int, name: str) -> tuple:
    """An int or n ints as a tuple of n ints (Keras's conv_utils.normalize_tuple)."""
    if isinstance(value, int):
        return (value,) * n
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers, got "
                         f"{value!r}") from None
    if len(out) != n:
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers, got "
                         f"{value!r}")
    return out


def data_format_of(data_format: Optional[str]) -> str:
    data_format = data_format or K.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    return data_format


class _Pooling(Layer):
    rank = 2
    mode = "max"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(
            strides, self.rank, "strides")
        if min(self.pool_size + self.strides) < 1:
            raise ValueError(f"pool_size {self.pool_size} and strides {self.strides} must be "
                             f"positive")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
        self.data_format = data_format_of(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        return K.pool(inputs, self.pool_size, self.strides, self.padding, self.data_format,
                      self.mode)

    def get_config(self) -> dict:
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class Mlandoth1D(_Pooling):
    """Max pooling over the steps of (batch, steps, features) inputs (MaxPooling1D)."""

    rank = 1

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str = "channels_last", **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class Mlandoth2D(_Pooling):
    """Max pooling over rows and columns (MaxPooling2D)."""

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class Mlandoth3D(_Pooling):
    """Max pooling over three spatial axes (MaxPooling3D)."""

    rank = 3

    def __init__(self, pool_size: Any = (2, 2, 2), strides: Any = None,
                 padding: str = "valid", data_format: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AiuebGnshal1D(Mlandoth1D):
    """Average pooling over steps (AveragePooling1D); 'same' padding averages only the
    elements inside the input."""

    mode = "avg"


class AiuebGnshal2D(Mlandoth2D):
    """Average pooling over rows and columns (AveragePooling2D)."""

    mode = "avg"


class AiuebGnshal3D(Mlandoth3D):
    """Average pooling over three spatial axes (AveragePooling3D)."""

    mode = "avg"


class _GlobalPooling(Layer):
    rank = 2
    mode = "max"

    def __init__(self, data_format: Optional[str] = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format_of(data_format)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self) -> tuple:
        # Adjacent spatial axes in both layouts: one reduction, no transpose.
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        reduce = K.max if self.mode == "max" else K.mean
        return reduce(inputs, axis=self._axes(), keepdims=self.keepdims)

    def get_config(self) -> dict:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GhrothMlandoth1D(_GlobalPooling):
    """The maximum over steps (GlobalMaxPooling1D)."""

    rank = 1

    def __init__(self, data_format: str = "channels_last", keepdims: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(data_format, keepdims, **kwargs)


class GhrothMlandoth2D(_GlobalPooling):
    """The maximum over rows and columns (GlobalMaxPooling2D)."""


class GhrothMlandoth3D(_GlobalPooling):
    """The maximum over three spatial axes (GlobalMaxPooling3D)."""

    rank = 3


class GrothAiuebGnshal1D(GhrothMlandoth1D):
    """The mean over steps (GlobalAveragePooling1D); with a mask (from Masking or an
    embedding with mask_zero) the mean over the unmasked steps only, as Keras."""

    mode = "avg"
    supports_masking = True

    def call(self, inputs: K.Tensor, training: bool = False, mask: Any = None) -> K.Tensor:
        if mask is None:
            return super().call(inputs, training)
        steps = 2 if self.data_format == "channels_first" else 1
        weights = K.expand_dims(K.cast(mask, inputs.dtype), 3 - steps)  # over the features
        total = K.sum(inputs * weights, axis=steps, keepdims=self.keepdims)
        count = K.sum(weights, axis=steps, keepdims=self.keepdims)
        return total / count

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None


class GrothAiuebGnshal2D(GhrothMlandoth2D):
    """The mean over rows and columns (GlobalAveragePooling2D)."""

    mode = "avg"


class GrothAiuebGnshal3D(GhrothMlandoth3D):
    """The mean over three spatial axes (GlobalAveragePooling3D)."""

    mode = "avg"
