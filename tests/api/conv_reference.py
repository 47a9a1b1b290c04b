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


def conv2d_transpose(x, kernel, bias, strides, padding, output_padding=None, dilation=(1, 1),
                     data_format="channels_last"):
    """Keras Conv2DTranspose by scattering: every input pixel adds its value times the
    kernel (kh, kw, filters, C) into a full-size output, which is then cropped as
    TensorFlow crops it. x channels last unless data_format says otherwise."""
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    n, h, w, _ = x.shape
    kh, kw, f, _ = kernel.shape
    sh, sw = strides
    dh, dw = dilation
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    out_len = []
    for size, sp, s, i in ((h, span[0], sh, 0), (w, span[1], sw, 1)):
        if output_padding is None:
            out_len.append(size * s + max(sp - s, 0) if padding == "valid" else size * s)
        else:
            pad = sp // 2 if padding == "same" else 0
            out_len.append((size - 1) * s + sp - 2 * pad + output_padding[i])
    full = np.zeros((n, (h - 1) * sh + span[0] + sh, (w - 1) * sw + span[1] + sw, f))
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    full[:, i * sh + a * dh, j * sw + b * dw] += x[:, i, j] @ kernel[a, b].T
    crops = []
    for size, sp, s, o in ((h, span[0], sh, out_len[0]), (w, span[1], sw, out_len[1])):
        total = max((size - 1) * s + sp - o, 0) if padding == "same" else 0
        crops.append(total // 2)
    y = full[:, crops[0]:crops[0] + out_len[0], crops[1]:crops[1] + out_len[1]]
    if bias is not None:
        y = y + bias
    return np.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def depthwise_conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation=1,
                     data_format="channels_last"):
    """Keras DepthwiseConv2D (any rank): channel c convolved with kernel[:, :, c, m] gives output
    channel c * M + m (each channel through conv_nd on its own)."""
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    outs = []
    for c in range(x.shape[-1]):
        for m in range(kernel.shape[-1]):
            outs.append(conv_nd(x[..., c:c + 1], kernel[..., c:c + 1, m:m + 1], None,
                                strides, padding, dilation)[..., 0])
    y = np.stack(outs, axis=-1)
    if bias is not None:
        y = y + bias
    return np.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def separable_conv(x, depthwise, pointwise, bias=None, strides=1, padding="valid",
                   dilation=1, data_format="channels_last"):
    """Keras SeparableConv1D/2D: the depthwise convolution, then a 1x1 convolution."""
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    z = depthwise_conv2d(x, depthwise, None, strides, padding, dilation)
    y = z @ pointwise.reshape(pointwise.shape[-2:])
    if bias is not None:
        y = y + bias
    return np.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def locally_connected(x, kernel, bias, kernel_size, strides=1):
    """Keras LocallyConnected1D/2D (implementation 1, channels last): output position p
    (row-major) is its input window, flattened in (offset, channel) order, times
    kernel[p]."""
    rank = len(kernel_size)
    strides = (strides,) * rank if np.isscalar(strides) else tuple(strides)
    out = [(x.shape[1 + i] - kernel_size[i]) // strides[i] + 1 for i in range(rank)]
    y = np.zeros((x.shape[0], *out, kernel.shape[-1]))
    for p, pos in enumerate(itertools.product(*[range(n) for n in out])):
        window = x[(slice(None),) + tuple(slice(q * s, q * s + k) for q, s, k in
                                          zip(pos, strides, kernel_size))]
        y[(slice(None),) + pos] = window.reshape(len(x), -1) @ kernel[p]
    return y + bias if bias is not None else y
