"""N-d convolution (1 to 3 spatial axes), channels last: ``conv`` and its two gradients.

- ``conv(x, w[, b])``: x (batch, *spatial, C), w (*kernel, C, F) -> (batch, *out, F), the
  Keras kernel layout, then ``fn(y + b)`` applied to each chunk's GEMM output while it is in
  cache (the epilogue of the dense GEMM). Attributes: ``strides``, ``dilation``, ``pads``
  (one (before, after) pair of zero padding per spatial axis; the layers turn 'valid',
  'same' and 'causal' into pads) and ``fn``, an activation applied over the last axis.
- ``conv_input_grad(g, w)``: the gradient with respect to x (a transposed convolution);
  attribute ``in_shape``, the spatial shape of x.
- ``conv_kernel_grad(x, g)``: the gradient with respect to w; attribute ``kernel_size``.

The three are bilinear and each one's gradients are the other two, so gradients of any order
stay in this family. All lower to one kernel (cthulhu/_kernels/conv.pyx) that runs one of
two methods: direct (register tiles reading the input in place; float32, 1 or 2 spatial
axes, see direct_scratch) or im2col into a scratch buffer of the arena, chunk of samples by
chunk, then one GEMM per chunk.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Optional

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.activation import FORWARD, _check_fn
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

MAX_SPATIAL = 3
# The batch is cut into PARTS contiguous parts (fewer when it is smaller), each run by one
# thread, chunk of samples by chunk, with its own scratch: one parallel region per call,
# and a cut that depends on the batch size only, never on the thread count.
PARTS = 4
# Bytes of im2col columns per chunk of samples: a GEMM of a few hundred rows or more while
# the columns stay in the core's cache.
CHUNK_BYTES = 1 << 20
# The direct method (conv.pyx): kernels of at most this many taps (its offsets table), and
# the width of its packed kernel panels. It beats im2col + BLAS GEMM where the products are
# short (bench/conv_methods.py, BENCHMARKS.md): at most DIRECT_MAX_DEPTH products per output
# element, and at least DIRECT_MIN_COLUMNS output columns to fill a 16-wide panel.
DIRECT_MAX_TAPS = 64
DIRECT_MAX_DEPTH = 576
DIRECT_MIN_COLUMNS = 8
PANEL = 16
# False: the direct method wherever it can run, faster or not (tests of the kernel).
DIRECT_ONLY_WHERE_FASTER = True


def out_size(size: int, kernel: int, stride: int, dilation: int, pad: tuple) -> int:
    span = (kernel - 1) * dilation + 1
    return (size + pad[0] + pad[1] - span) // stride + 1


def _geometry(attrs: dict, spatial: tuple, kernel: tuple) -> list[int]:
    rank = len(spatial)
    if not 1 <= rank <= MAX_SPATIAL:
        raise ValueError(f"conv supports 1 to {MAX_SPATIAL} spatial axes, got {rank}")
    for key in ("strides", "dilation", "pads"):
        if len(attrs[key]) != rank:
            raise ValueError(f"conv {key} {attrs[key]} does not match {rank} spatial axes")
    if any(s < 1 for s in attrs["strides"]) or any(d < 1 for d in attrs["dilation"]):
        raise ValueError(f"conv strides and dilation must be >= 1, got {attrs['strides']}, "
                         f"{attrs['dilation']}")
    out = [out_size(s, k, st, d, p) for s, k, st, d, p in
           zip(spatial, kernel, attrs["strides"], attrs["dilation"], attrs["pads"])]
    if min(out) < 1:
        raise ValueError(f"conv of spatial shape {spatial} with kernel {kernel} and "
                         f"{attrs} leaves no output")
    return out


def _check_float(*vs: Value) -> str:
    if vs[0].dtype == "int64" or any(v.dtype != vs[0].dtype for v in vs):
        raise ValueError(f"conv needs float operands of one dtype, got {[v.dtype for v in vs]}")
    return vs[0].dtype


# ---- numpy references: explicit loops over kernel offsets on a zero-padded input ------------
def _windows(attrs: dict, kernel: tuple, out: tuple):
    """(kernel offset, slices of the padded input it meets for every output position)."""
    for offset in itertools.product(*[range(k) for k in kernel]):
        slices = tuple(slice(o * d, o * d + (n - 1) * s + 1, s) for o, d, s, n in
                       zip(offset, attrs["dilation"], attrs["strides"], out))
        yield offset, slices


def _padded_shape(attrs: dict, x_shape: tuple) -> tuple:
    return (x_shape[0],) + tuple(s + p[0] + p[1] for s, p in zip(x_shape[1:-1], attrs["pads"])) \
        + (x_shape[-1],)


def _pad(attrs: dict, x: np.ndarray) -> np.ndarray:
    return np.pad(x, [(0, 0)] + [tuple(p) for p in attrs["pads"]] + [(0, 0)])


def _unpad(attrs: dict, xp: np.ndarray) -> np.ndarray:
    return xp[(slice(None),) + tuple(slice(p[0], xp.shape[i + 1] - p[1])
                                     for i, p in enumerate(attrs["pads"]))]


def conv_reference(attrs: dict, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    kernel = w.shape[:-2]
    out = tuple(_geometry(attrs, x.shape[1:-1], kernel))
    xp = _pad(attrs, x)
    y = np.zeros((x.shape[0],) + out + (w.shape[-1],), dtype=np.float64)
    for offset, slices in _windows(attrs, kernel, out):
        y += xp[(slice(None),) + slices] @ w[offset]
    return y.astype(x.dtype)


def input_grad_reference(attrs: dict, g: np.ndarray, w: np.ndarray) -> np.ndarray:
    kernel = w.shape[:-2]
    in_shape = (g.shape[0],) + tuple(attrs["in_shape"]) + (w.shape[-2],)
    dxp = np.zeros(_padded_shape(attrs, in_shape), dtype=np.float64)
    for offset, slices in _windows(attrs, kernel, g.shape[1:-1]):
        dxp[(slice(None),) + slices] += g @ w[offset].T
    return _unpad(attrs, dxp).astype(g.dtype)


def kernel_grad_reference(attrs: dict, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    kernel = tuple(attrs["kernel_size"])
    xp = _pad(attrs, x)
    dw = np.zeros(kernel + (x.shape[-1], g.shape[-1]), dtype=np.float64)
    for offset, slices in _windows(attrs, kernel, g.shape[1:-1]):
        patch = xp[(slice(None),) + slices]
        dw[offset] = patch.reshape(-1, x.shape[-1]).T @ g.reshape(-1, g.shape[-1])
    return dw.astype(x.dtype)


def _base_attrs(attrs: dict) -> dict:
    return {k: attrs[k] for k in ("strides", "dilation", "pads")}


def _plain(attrs: dict) -> dict:
    """The attributes of a conv without epilogue of the same geometry."""
    return {**_base_attrs(attrs), "fn": "linear"}


# ---- conv -------------------------------------------------------------------------------
conv = define_op("conv", "linear")


@conv.shape
def _conv_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    _check_fn(attrs)
    x, w = inputs[:2]
    dtype = _check_float(*inputs)
    if len(inputs) == 3 and inputs[2].shape != (w.shape[-1],):
        raise ValueError(f"conv bias shape {inputs[2].shape} does not match {w.shape[-1]} "
                         f"filters")
    if x.rank != w.rank or x.rank < 3 or x.shape[-1] != w.shape[-2]:
        raise ValueError(f"conv needs x (batch, *spatial, C) and w (*kernel, C, F), got "
                         f"{x.shape} and {w.shape}")
    if any(d is None for d in x.shape[1:]):
        raise ValueError(f"conv needs static spatial dimensions, got {x.shape}")
    out = _geometry(attrs, x.shape[1:-1], w.shape[:-2])
    return [((x.shape[0],) + tuple(out) + (w.shape[-1],), dtype)]


@conv.reference
def _conv_ref(attrs: dict, x: np.ndarray, w: np.ndarray, *bias: np.ndarray) -> tuple:
    z = conv_reference(attrs, x, w).astype(np.float64)
    if bias:
        z = z + bias[0]
    return (np.asarray(FORWARD[attrs["fn"]](z), dtype=x.dtype),)


@conv.vjp
def _conv_vjp(b: Builder, node: Node, cts: list) -> list:
    x, w = node.inputs[:2]
    dz = cts[0]
    if node.attrs["fn"] != "linear":
        dz = b.emit("activation_grad", node.outputs[0], dz, fn=node.attrs["fn"])
    base = _base_attrs(node.attrs)
    grads = [b.emit("conv_input_grad", dz, w, in_shape=tuple(x.shape[1:-1]), **base),
             b.emit("conv_kernel_grad", x, dz, kernel_size=tuple(w.shape[:-2]), **base)]
    if len(node.inputs) == 3:
        grads.append(b.emit("reduce_sum", dz, axes=tuple(range(x.rank - 1)), keepdims=False))
    return grads


@conv.lower
def _conv_lower(lowerer, node: Node) -> None:
    x, w = node.inputs[:2]
    bias = node.inputs[2] if len(node.inputs) == 3 else None
    lowerer.conv(node, 0, x, w, x.shape[1:-1], w.shape[:-2], bias, node.attrs["fn"])


# ---- conv_input_grad(g, w) -> dx ------------------------------------------------------------
conv_input_grad = define_op("conv_input_grad", "linear")


@conv_input_grad.shape
def _input_grad_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    g, w = inputs
    dtype = _check_float(g, w)
    spatial = tuple(attrs["in_shape"])
    if g.rank != w.rank or g.rank != len(spatial) + 2 or g.shape[-1] != w.shape[-1]:
        raise ValueError(f"conv_input_grad got g {g.shape}, w {w.shape}, in_shape {spatial}")
    if tuple(_geometry(attrs, spatial, w.shape[:-2])) != tuple(g.shape[1:-1]):
        raise ValueError(f"conv_input_grad: g {g.shape} is not the output of a conv of "
                         f"{spatial} with kernel {w.shape}")
    return [((g.shape[0],) + spatial + (w.shape[-2],), dtype)]


@conv_input_grad.reference
def _input_grad_ref(attrs: dict, g: np.ndarray, w: np.ndarray) -> tuple:
    return (input_grad_reference(attrs, g, w),)


@conv_input_grad.vjp
def _input_grad_vjp(b: Builder, node: Node, cts: list) -> list:
    (g, w), c = node.inputs, cts[0]
    return [b.emit("conv", c, w, **_plain(node.attrs)),
            b.emit("conv_kernel_grad", c, g, kernel_size=tuple(w.shape[:-2]),
                   **_base_attrs(node.attrs))]


@conv_input_grad.lower
def _input_grad_lower(lowerer, node: Node) -> None:
    g, w = node.inputs
    lowerer.conv(node, 1, g, w, tuple(node.attrs["in_shape"]), w.shape[:-2])


# ---- conv_kernel_grad(x, g) -> dw -----------------------------------------------------------
conv_kernel_grad = define_op("conv_kernel_grad", "linear")


@conv_kernel_grad.shape
def _kernel_grad_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    x, g = inputs
    dtype = _check_float(x, g)
    kernel = tuple(attrs["kernel_size"])
    if x.rank != g.rank or x.rank != len(kernel) + 2 or x.shape[0] != g.shape[0]:
        raise ValueError(f"conv_kernel_grad got x {x.shape}, g {g.shape}, kernel {kernel}")
    if tuple(_geometry(attrs, x.shape[1:-1], kernel)) != tuple(g.shape[1:-1]):
        raise ValueError(f"conv_kernel_grad: g {g.shape} is not the output of a conv of "
                         f"{x.shape} with kernel {kernel}")
    return [(kernel + (x.shape[-1], g.shape[-1]), dtype)]


@conv_kernel_grad.reference
def _kernel_grad_ref(attrs: dict, x: np.ndarray, g: np.ndarray) -> tuple:
    return (kernel_grad_reference(attrs, x, g),)


@conv_kernel_grad.vjp
def _kernel_grad_vjp(b: Builder, node: Node, cts: list) -> list:
    (x, g), c = node.inputs, cts[0]
    base = _base_attrs(node.attrs)
    return [b.emit("conv_input_grad", g, c, in_shape=tuple(x.shape[1:-1]), **base),
            b.emit("conv", x, c, **_plain(node.attrs))]


@conv_kernel_grad.lower
def _kernel_grad_lower(lowerer, node: Node) -> None:
    x, _ = node.inputs
    lowerer.conv(node, 2, x, node.inputs[1], x.shape[1:-1], tuple(node.attrs["kernel_size"]))


def conv_geometry(attrs: dict, spatial: tuple, kernel: tuple, channels: int, filters: int,
                  dtype: str, mode: int) -> tuple[np.ndarray, int]:
    """The kernel's int64 geometry table, padded to 3 spatial axes (leading axes of size 1),
    and the scratch size in elements, for mode 0 (conv), 1 (input gradient) or 2 (kernel
    gradient):
    [S0 S1 S2, C, K0 K1 K2, F, O0 O1 O2, stride x3, dilation x3, pad before x3, chunk,
    parts, direct, pack, part_a, part_b] (the last four: see direct_scratch)."""
    out = _geometry(attrs, tuple(spatial), tuple(kernel))
    lead = MAX_SPATIAL - len(spatial)

    def padded(vals, fill):
        return [fill] * lead + [int(v) for v in vals]
    rows = int(np.prod(out))
    depth = int(np.prod(kernel)) * channels
    itemsize = np.dtype(dtype).itemsize
    chunk = max(1, CHUNK_BYTES // max(1, rows * depth * itemsize))
    im2col_size = PARTS * (chunk * rows * depth + depth * filters)
    direct = direct_scratch(attrs, tuple(spatial), tuple(kernel), channels, filters, dtype,
                            mode)
    geom = (padded(spatial, 1) + [channels] + padded(kernel, 1) + [filters] + padded(out, 1)
            + padded(attrs["strides"], 1) + padded(attrs["dilation"], 1)
            + padded([p[0] for p in attrs["pads"]], 0) + [chunk, PARTS]
            + ([1, *direct] if direct else [0, 0, 0, 0]))
    size = im2col_size if direct is None else max(im2col_size,
                                                  direct[0] + PARTS * (direct[1] + direct[2]))
    return np.array(geom, dtype=np.int64), size


def direct_scratch(attrs: dict, spatial: tuple, kernel: tuple, channels: int, filters: int,
                   dtype: str, mode: int) -> Optional[tuple[int, int, int]]:
    """Whether the direct method (conv.pyx) runs this convolution and, if so, its scratch:
    (packed kernel, first and second buffer of each part), in elements; None when it does
    not (float64, 3 spatial axes, a strided input gradient, 1x1 kernels that need no im2col,
    long products, few output columns). The im2col method is also the fallback on CPUs
    without AVX2 and FMA."""
    taps = int(np.prod(kernel))
    if dtype != "float32" or len(spatial) == 3 or taps > DIRECT_MAX_TAPS:
        return None
    unit = all(s == 1 for s in attrs["strides"])
    if mode == 1 and not unit:
        return None
    depth, columns = (taps * filters, channels) if mode == 1 else (taps * channels, filters)
    pointwise = taps == 1 and unit and all(p == (0, 0) for p in attrs["pads"])
    if DIRECT_ONLY_WHERE_FASTER and (pointwise or depth > DIRECT_MAX_DEPTH
                                     or columns < DIRECT_MIN_COLUMNS):
        return None   # (pointwise: im2col passes the input itself to BLAS)
    lead = 2 - len(spatial)   # 1-D runs as 2-D with one row
    size = [1] * lead + list(spatial)
    kern = [1] * lead + list(kernel)
    dil = [1] * lead + list(attrs["dilation"])
    pads = [(0, 0)] * lead + [tuple(p) for p in attrs["pads"]]
    out = [1] * lead + _geometry(attrs, tuple(spatial), tuple(kernel))
    strides = [1] * lead + list(attrs["strides"])
    reach = [(o - 1) * st + (k - 1) * d + 1 for o, st, k, d in zip(out, strides, kern, dil)]
    is_padded = any(p != (0, 0) for p in pads) or any(r > s for r, s in zip(reach, size))
    padded_input = reach[0] * reach[1] * channels if is_padded else 0
    if mode == 0:
        panels = -(-filters // PANEL)
        return panels * PANEL * taps * channels, padded_input, 0
    if mode == 1:
        panels = -(-channels // PANEL)
        grown = [o + 2 * (k - 1) * d for o, k, d in zip(out, kern, dil)]
        return panels * PANEL * taps * filters, grown[0] * grown[1] * filters, padded_input
    return 0, padded_input, taps * channels * filters
