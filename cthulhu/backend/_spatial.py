"""Spatial padding and resizing (Keras's temporal_padding, spatial_2d_padding,
spatial_3d_padding, resize_images, resize_volumes) and the bilinear resize of UpSampling2D.

Padding is one pad_axis op (a zero fill and a block copy) per padded axis; nearest
resizing repeats elements (a broadcast); bilinear resizing is a linear map along each
spatial axis, so it is two products with small interpolation matrices."""

from __future__ import annotations

from typing import Optional

from cthulhu.backend._config import image_data_format
from cthulhu.backend._shape import permute_dimensions, repeat_elements
from cthulhu.backend._tracing import Tensor, _emit, _value, current_trace


def _spatial_axes(rank: int, n: int, data_format: Optional[str]) -> list[int]:
    data_format = data_format or image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    first = 2 if data_format == "channels_first" else 1
    if rank != n + 2:
        raise ValueError(f"expected a tensor of rank {n + 2}, got rank {rank}")
    return list(range(first, first + n))


def pad_axes(x, pads: dict) -> Tensor:
    """Zeros around the axes of x: pads maps an axis to (before, after)."""
    out = x
    for axis, (before, after) in sorted(pads.items()):
        if before or after:
            out = _emit("pad_axis", _value(out), axis=int(axis), before=int(before),
                        after=int(after))
    return out


def crop_axes(x, crops: dict) -> Tensor:
    """x without crops[axis] = (before, after) elements at the ends of each axis."""
    out = x
    for axis, (before, after) in sorted(crops.items()):
        if before or after:
            size = _value(out).shape[axis]
            if before + after >= size:
                raise ValueError(f"cropping ({before}, {after}) leaves nothing of axis {axis} "
                                 f"of size {size}")
            out = _emit("slice_axis", _value(out), axis=int(axis), start=int(before),
                        stop=int(size - after))
    return out


def temporal_padding(x, padding=(1, 1)) -> Tensor:
    return pad_axes(x, {1: tuple(padding)})


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None) -> Tensor:
    axes = _spatial_axes(_value(x).rank, 2, data_format)
    return pad_axes(x, dict(zip(axes, padding)))


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None) -> Tensor:
    axes = _spatial_axes(_value(x).rank, 3, data_format)
    return pad_axes(x, dict(zip(axes, padding)))


def _nearest(x, sizes: dict) -> Tensor:
    out = x
    for axis, size in sorted(sizes.items()):
        if size != 1:
            out = repeat_elements(out, int(size), axis)
    return out


def _along_last(x, n_in: int, scale: int) -> Tensor:
    """x @ W over the last axis, W (n_in, n_in * scale) TensorFlow's bilinear resize of one
    axis (half-pixel centres, sources clamped to the input): hat weights
    max(0, 1 - |s_i - j|). W is built in the graph from iota (constant folding may evaluate
    it), so it is no variable of the model."""
    value = _value(x)
    b, dtype = current_trace().builder, value.dtype

    def c(v: float):
        return b.const(float(v), dtype)
    n_out = n_in * scale
    i = b.emit("iota", length=n_out, dtype=dtype)
    src = b.emit("sub", b.emit("div", b.emit("add", i, c(0.5)), c(scale)), c(0.5))
    src = b.emit("minimum", b.emit("maximum", src, c(0.0)), c(n_in - 1))
    j = b.emit("reshape", b.emit("iota", length=n_in, dtype=dtype), shape=(n_in, 1))
    dist = b.emit("abs", b.emit("sub", b.emit("reshape", src, shape=(1, n_out)), j))
    weights = b.emit("maximum", b.emit("sub", c(1.0), dist), c(0.0))  # (n_in, n_out)
    return _emit("matmul", value, weights, transpose_a=False, transpose_b=False)


def _bilinear(x, height_factor: int, width_factor: int, channels_first: bool) -> Tensor:
    value = _value(x)
    if channels_first:  # (n, c, h, w): columns are last; rows after one transpose
        _, _, h, w = value.shape
        out = _along_last(x, w, width_factor)
        out = _along_last(permute_dimensions(out, (0, 1, 3, 2)), h, height_factor)
        return permute_dimensions(out, (0, 1, 3, 2))
    _, h, w, _ = value.shape
    out = _along_last(permute_dimensions(x, (0, 2, 3, 1)), h, height_factor)
    out = _along_last(permute_dimensions(out, (0, 3, 2, 1)), w, width_factor)
    return permute_dimensions(out, (0, 1, 3, 2))


def resize_images(x, height_factor: int, width_factor: int, data_format=None,
                  interpolation: str = "nearest") -> Tensor:
    axes = _spatial_axes(_value(x).rank, 2, data_format)
    if interpolation == "nearest":
        return _nearest(x, {axes[0]: height_factor, axes[1]: width_factor})
    if interpolation == "bilinear":
        return _bilinear(x, int(height_factor), int(width_factor), axes[0] == 2)
    raise NotImplementedError(f"interpolation {interpolation!r} is not supported (use "
                              f"'nearest' or 'bilinear')")


def resize_volumes(x, depth_factor: int, height_factor: int, width_factor: int,
                   data_format=None) -> Tensor:
    axes = _spatial_axes(_value(x).rank, 3, data_format)
    return _nearest(x, dict(zip(axes, (depth_factor, height_factor, width_factor))))
