"""Pooling (K.pool1d / pool2d / pool3d, Keras's signatures): one native op per call."""

from __future__ import annotations

from typing import Optional

from cthulhu.backend._config import image_data_format
from cthulhu.backend._tracing import Tensor, _emit, _value


def _data_format(data_format: Optional[str]) -> str:
    data_format = data_format or image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    return data_format


def pool(x, pool_size, strides, padding: str = "valid", data_format: Optional[str] = None,
         pool_mode: str = "max") -> Tensor:
    """Max or average pooling over the len(pool_size) spatial axes of x."""
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise NotImplementedError(f"pooling padding {padding!r} is not supported (use 'valid' "
                                  f"or 'same')")
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"pool_mode must be 'max' or 'avg', got {pool_mode!r}")
    attrs = dict(pool_size=tuple(int(k) for k in pool_size),
                 strides=tuple(int(s) for s in strides), padding=padding,
                 channels_first=_data_format(data_format) == "channels_first")
    if pool_mode == "max":
        return _emit("max_pool", _value(x), **attrs)[0]
    return _emit("avg_pool", _value(x), **attrs)


def pool1d(x, pool_size, strides=None, padding="valid", data_format=None, pool_mode="max"):
    pool_size = (pool_size,) if isinstance(pool_size, int) else pool_size
    strides = pool_size if strides is None else ((strides,) if isinstance(strides, int)
                                                 else strides)
    return pool(x, pool_size, strides, padding, data_format, pool_mode)


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    return pool(x, pool_size, strides, padding, data_format, pool_mode)


def pool3d(x, pool_size, strides=(1, 1, 1), padding="valid", data_format=None,
           pool_mode="max"):
    return pool(x, pool_size, strides, padding, data_format, pool_mode)
