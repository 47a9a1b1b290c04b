"""Layer-harness cases of the pooling layers, with numpy references written from Keras's
definitions: windows over the input padded with NaN ('same': TensorFlow's placement, the
smaller half before), the max or the mean of the non-NaN elements."""

from __future__ import annotations

import numpy as np

from cthulhu import layers


def np_pool(x, pool, strides, padding, channels_first, mode):
    if channels_first:
        x = np.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    pads, outs = [], []
    for n, k, s in zip(spatial, pool, strides):
        if padding == "same":
            out = -(-n // s)
            total = max((out - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        else:
            out = (n - k) // s + 1
            pads.append((0, 0))
        outs.append(out)
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=np.nan)
    y = np.zeros((len(x),) + tuple(outs) + (x.shape[-1],))
    axes = tuple(range(1, 1 + len(spatial)))
    for o in np.ndindex(*outs):
        window = tuple(slice(i * s, i * s + k) for i, s, k in zip(o, strides, pool))
        block = xp[(slice(None),) + window + (slice(None),)]
        y[(slice(None),) + o] = (np.nanmax if mode == "max" else np.nanmean)(block, axis=axes)
    return np.moveaxis(y, -1, 1) if channels_first else y


# (rank, input shape without batch, pool_size, strides, padding)
GEOMETRIES = [
    (1, (7, 3), 2, None, "valid"), (1, (7, 3), 3, 2, "same"), (1, (6, 2), 2, 1, "same"),
    (2, (5, 4, 2), (2, 2), None, "valid"), (2, (5, 4, 2), (3, 2), (1, 2), "same"),
    (2, (5, 5, 2), (2, 2), (2, 2), "same"), (2, (6, 5, 2), (2, 3), (3, 1), "valid"),
    (3, (3, 4, 4, 2), (2, 2, 2), None, "valid"), (3, (3, 4, 3, 2), (2, 3, 2), (1, 2, 2), "same"),
]
MAX = {1: layers.Mlandoth1D, 2: layers.Mlandoth2D, 3: layers.Mlandoth3D}
AVG = {1: layers.AiuebGnshal1D, 2: layers.AiuebGnshal2D, 3: layers.AiuebGnshal3D}
GLOBAL_MAX = {1: layers.GhrothMlandoth1D, 2: layers.GhrothMlandoth2D,
              3: layers.GhrothMlandoth3D}
GLOBAL_AVG = {1: layers.GrothAiuebGnshal1D, 2: layers.GrothAiuebGnshal2D,
              3: layers.GrothAiuebGnshal3D}


def _tuple(v, rank):
    return (v,) * rank if isinstance(v, int) else tuple(v)


def _pool_case(rank, shape, pool, strides, padding, data_format, mode):
    cls = (MAX if mode == "max" else AVG)[rank]
    cf = data_format == "channels_first"
    k = _tuple(pool, rank)
    s = k if strides is None else _tuple(strides, rank)
    name = f"{cls.__name__.lower()}_{'x'.join(map(str, k))}_s{''.join(map(str, s))}_{padding}"
    name += "_cf" if cf else ""
    shape = (shape[-1],) + shape[:-1] if cf else shape  # shapes are given channels last

    def make():
        return cls(pool_size=pool, strides=strides, padding=padding, data_format=data_format)

    def reference(xs, w):
        return np_pool(xs[0], k, s, padding, cf, mode)
    return (name, make, [shape], reference)


def _global_case(rank, shape, data_format, mode, keepdims=False):
    cls = (GLOBAL_MAX if mode == "max" else GLOBAL_AVG)[rank]
    cf = data_format == "channels_first"
    axes = tuple(range(2, 2 + rank)) if cf else tuple(range(1, 1 + rank))
    fn = np.max if mode == "max" else np.mean
    shape = (shape[-1],) + shape[:-1] if cf else shape
    name = f"{cls.__name__.lower()}{'_cf' if cf else ''}{'_keepdims' if keepdims else ''}"
    return (name, lambda: cls(data_format=data_format, keepdims=keepdims), [shape],
            lambda xs, w: fn(xs[0], axis=axes, keepdims=keepdims))


def pooling_cases():
    out = []
    for rank, shape, pool, strides, padding in GEOMETRIES:
        for data_format in ("channels_last", "channels_first"):
            for mode in ("max", "avg"):
                out.append(_pool_case(rank, shape, pool, strides, padding, data_format, mode))
    for rank, shape in ((1, (5, 3)), (2, (3, 4, 2)), (3, (2, 3, 2, 3))):
        for data_format in ("channels_last", "channels_first"):
            for mode in ("max", "avg"):
                out.append(_global_case(rank, shape, data_format, mode))
        out.append(_global_case(rank, shape, "channels_last", "avg", keepdims=True))
    return out
