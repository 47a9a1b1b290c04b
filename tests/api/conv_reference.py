"""An independent numpy convolution for the layer tests: explicit loops over output
positions, each a np.tensordot of one dilated window of the zero-padded input with the kernel."""

from __future__ import annotations

import itertools

import numpy as np

ACTIVATIONS = {None: lambda z: z, "linear": lambda z: z, "relu": lambda z: np.maximum(z, 0),
               "tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z))}


def _padding(mode: str, size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    extent = dilation * (k - 1) + 1
    if mode == "valid":
        return 0, 0
    if mode == "causal":
        return dilation * (k - 1), 0
    out = -(-size // stride)  # TensorFlow 'SAME': ceil(size / stride) outputs
    need = max(0, (out - 1) * stride + extent - size)
    return need // 2, need - need // 2


def conv_nd(x, kernel, bias=None, strides=1, padding="valid", dilation=1,
            data_format="channels_last", activation=None):
    """x (batch, *spatial, C) or channels first; kernel (*k, C, F)."""
    rank = kernel.ndim - 2
    strides = (strides,) * rank if np.isscalar(strides) else tuple(strides)
    dilation = (dilation,) * rank if np.isscalar(dilation) else tuple(dilation)
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    pads = [_padding(padding, x.shape[1 + i], kernel.shape[i], strides[i], dilation[i])
            for i in range(rank)]
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    out_shape = [(xp.shape[1 + i] - dilation[i] * (kernel.shape[i] - 1) - 1) // strides[i] + 1
                 for i in range(rank)]
    y = np.zeros((x.shape[0], *out_shape, kernel.shape[-1]))
    for pos in itertools.product(*[range(n) for n in out_shape]):
        window = xp[(slice(None),) + tuple(
            slice(p * s, p * s + d * (k - 1) + 1, d)
            for p, s, d, k in zip(pos, strides, dilation, kernel.shape[:rank]))]
        y[(slice(None),) + pos] = np.tensordot(window, kernel,
                                               axes=(list(range(1, rank + 2)),
                                                     list(range(rank + 1))))
    if bias is not None:
        y = y + bias
    if data_format == "channels_first":
        y = np.moveaxis(y, -1, 1)
    return ACTIVATIONS[activation](y)
