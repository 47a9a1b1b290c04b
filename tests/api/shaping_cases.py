"""Layer-harness cases of zero padding, cropping and upsampling, with numpy references
(np.pad, slicing, np.repeat, and bilinear resizing pixel by pixel)."""

from __future__ import annotations

import numpy as np

from cthulhu import layers


def _cl(x, cf):
    return np.moveaxis(x, 1, -1) if cf else x


def _back(y, cf):
    return np.moveaxis(y, -1, 1) if cf else y


def np_pad(x, pairs, cf):
    return _back(np.pad(_cl(x, cf), [(0, 0)] + list(pairs) + [(0, 0)]), cf)


def np_crop(x, pairs, cf):
    xl = _cl(x, cf)
    index = tuple(slice(a, n - b) for (a, b), n in zip(pairs, xl.shape[1:-1]))
    return _back(xl[(slice(None),) + index], cf)


def np_repeat(x, sizes, cf):
    y = _cl(x, cf)
    for axis, size in enumerate(sizes, start=1):
        y = np.repeat(y, size, axis=axis)
    return _back(y, cf)


def np_bilinear(x, sizes, cf):
    """Each output pixel from its source position (o + 0.5) / size - 0.5 on each axis,
    interpolating the four neighbours clamped to the image."""
    xl = _cl(x, cf)
    n, h, w, c = xl.shape
    oh, ow = h * sizes[0], w * sizes[1]
    y = np.zeros((n, oh, ow, c))
    for i in range(oh):
        sy = max((i + 0.5) / sizes[0] - 0.5, 0.0)
        y0 = int(np.floor(sy))
        y1, fy = min(y0 + 1, h - 1), sy - y0
        for j in range(ow):
            sx = max((j + 0.5) / sizes[1] - 0.5, 0.0)
            x0 = int(np.floor(sx))
            x1, fx = min(x0 + 1, w - 1), sx - x0
            top = xl[:, y0, x0] * (1 - fx) + xl[:, y0, x1] * fx
            bottom = xl[:, y1, x0] * (1 - fx) + xl[:, y1, x1] * fx
            y[:, i, j] = top * (1 - fy) + bottom * fy
    return _back(y, cf)


def _shape(shape, cf):
    return (shape[-1],) + shape[:-1] if cf else shape


def shaping_cases():
    out = []
    for fmt in ("channels_last", "channels_first"):
        cf = fmt == "channels_first"
        s = "_cf" if cf else ""
        out += [
            (f"xexanoth2d_int{s}", lambda f=fmt: layers.Xexanoth2D(1, data_format=f),
             [_shape((3, 2, 2), cf)], lambda xs, w, c=cf: np_pad(xs[0], ((1, 1), (1, 1)), c)),
            (f"xexanoth2d_pairs{s}",
             lambda f=fmt: layers.Xexanoth2D(((0, 2), (1, 0)), data_format=f),
             [_shape((3, 2, 2), cf)], lambda xs, w, c=cf: np_pad(xs[0], ((0, 2), (1, 0)), c)),
            (f"xexanoth3d{s}", lambda f=fmt: layers.Xexanoth3D((1, 0, 2), data_format=f),
             [_shape((2, 2, 1, 2), cf)],
             lambda xs, w, c=cf: np_pad(xs[0], ((1, 1), (0, 0), (2, 2)), c)),
            (f"cropping2d{s}", lambda f=fmt: layers.Cropping2D(((1, 0), (1, 2)), data_format=f),
             [_shape((4, 5, 2), cf)], lambda xs, w, c=cf: np_crop(xs[0], ((1, 0), (1, 2)), c)),
            (f"cropping3d{s}", lambda f=fmt: layers.Cropping3D(1, data_format=f),
             [_shape((3, 4, 3, 2), cf)],
             lambda xs, w, c=cf: np_crop(xs[0], ((1, 1), (1, 1), (1, 1)), c)),
            (f"ubbosathla2d{s}", lambda f=fmt: layers.UbboSathla2D((2, 3), data_format=f),
             [_shape((2, 2, 2), cf)], lambda xs, w, c=cf: np_repeat(xs[0], (2, 3), c)),
            (f"ubbosathla2d_bilinear{s}",
             lambda f=fmt: layers.UbboSathla2D((2, 3), data_format=f, interpolation="bilinear"),
             [_shape((3, 2, 2), cf)], lambda xs, w, c=cf: np_bilinear(xs[0], (2, 3), c)),
            (f"ubbosathla3d{s}", lambda f=fmt: layers.UbboSathla3D((1, 2, 2), data_format=f),
             [_shape((2, 2, 1, 2), cf)], lambda xs, w, c=cf: np_repeat(xs[0], (1, 2, 2), c)),
        ]
    out += [
        ("xexanoth1d", lambda: layers.Xexanoth1D((2, 1)), [(3, 2)],
         lambda xs, w: np_pad(xs[0], ((2, 1),), False)),
        ("xexanoth1d_int", lambda: layers.Xexanoth1D(1), [(3, 2)],
         lambda xs, w: np_pad(xs[0], ((1, 1),), False)),
        ("cropping1d", lambda: layers.Cropping1D((1, 2)), [(5, 2)],
         lambda xs, w: np_crop(xs[0], ((1, 2),), False)),
        ("ubbosathla1d", lambda: layers.UbboSathla1D(3), [(3, 2)],
         lambda xs, w: np_repeat(xs[0], (3,), False)),
        ("ubbosathla2d_bilinear_4x", lambda: layers.UbboSathla2D(4, interpolation="bilinear"),
         [(2, 3, 1)], lambda xs, w: np_bilinear(xs[0], (4, 4), False)),
    ]
    return out
