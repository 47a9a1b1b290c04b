"""The direct convolution method (conv.pyx, float32, 1-D and 2-D) against the numpy
references of compiler/ops/conv.py and against the im2col + GEMM method, over geometries
that reach every edge of its tiles: partial 6-row tiles and 16-column panels, one channel,
padding on either side (cropped input gradients), strides, dilations, 1-D kernels, a
batch cut into parts."""

from __future__ import annotations

import numpy as np
import pytest

from compiler.ops import conv as conv_ops
from compiler.ops.conv import (
    conv_geometry,
    conv_reference,
    input_grad_reference,
    kernel_grad_reference,
    out_size,
)
from cthulhu._kernels import conv as conv_kernels
from tests.compiler.harness import op_graph, run_native

pytestmark = pytest.mark.skipif(not conv_kernels.direct_available(),
                                reason="the direct method needs a CPU with AVX2 and FMA")

# (input spatial shape + (C,), kernel, F, strides, dilation, pads)
GEOMETRIES = [
    ((28, 28, 1), (3, 3), 32, (1, 1), (1, 1), ((0, 0), (0, 0))),     # W3's first conv
    ((12, 12, 32), (3, 3), 64, (1, 1), (1, 1), ((0, 0), (0, 0))),    # W3's second, smaller
    ((9, 11, 5), (3, 3), 17, (1, 1), (1, 1), ((1, 1), (1, 1))),      # 'same', odd everything
    ((9, 8, 3), (2, 3), 5, (1, 1), (2, 1), ((1, 0), (0, 2))),        # dilation, uneven pads
    ((10, 9, 4), (3, 2), 20, (2, 3), (1, 1), ((0, 1), (1, 0))),      # strides (no input grad)
    ((7, 7, 7), (1, 1), 9, (1, 1), (1, 1), ((0, 0), (0, 0))),        # pointwise
    ((7, 7, 9), (1, 1), 9, (2, 1), (1, 1), ((0, 0), (1, 0))),        # 1x1, strided, padded
    ((13, 6), (3,), 16, (1,), (2,), ((4, 0),)),                      # 1-D causal
    ((15, 3), (5,), 33, (2,), (1,), ((2, 2),)),                      # 1-D strided 'same'
    ((8, 8, 2), (8, 8), 3, (1, 1), (1, 1), ((0, 0), (0, 0))),        # 64 taps, one output
]


DIRECT_FIELD = 22   # of the geometry table (conv_geometry)


def _run(op: str, arrays: list[np.ndarray], attrs: dict, batched: list[int]) -> np.ndarray:
    graph, _, _ = op_graph(op, arrays, attrs, batched, "float32")
    return run_native(graph, arrays)["out0"]


def _direct_field(op: str, arrays: list[np.ndarray], attrs: dict) -> int:
    mode = ["conv", "conv_input_grad", "conv_kernel_grad"].index(op)
    x_like, other = arrays
    spatial = attrs["in_shape"] if mode == 1 else x_like.shape[1:-1]
    kernel = attrs["kernel_size"] if mode == 2 else other.shape[:-2]
    channels = other.shape[-2] if mode == 1 else x_like.shape[-1]
    geom, _ = conv_geometry(attrs, spatial, kernel, channels, other.shape[-1], "float32", mode)
    return int(geom[DIRECT_FIELD])


def _both_methods(op, arrays, attrs, batched):
    try:
        conv_kernels.set_direct_enabled(False)
        im2col = _run(op, arrays, attrs, batched)
    finally:
        conv_kernels.set_direct_enabled(True)
    return _run(op, arrays, attrs, batched), im2col


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}k{g[1]}s{g[3]}d{g[4]}")
@pytest.mark.parametrize("batch", [1, 7])
def test_direct_method_matches_numpy_and_im2col(geometry, batch, monkeypatch):
    # wherever the direct method can run, not only where it is the faster one
    monkeypatch.setattr(conv_ops, "DIRECT_ONLY_WHERE_FASTER", False)
    spatial_c, kernel, f, strides, dilation, pads = geometry
    attrs = {"strides": strides, "dilation": dilation, "pads": pads}
    c = spatial_c[-1]
    out = tuple(out_size(s, k, st, d, p) for s, k, st, d, p in
                zip(spatial_c[:-1], kernel, strides, dilation, pads))
    rng = np.random.default_rng(batch)
    x = rng.normal(size=(batch,) + spatial_c).astype(np.float32)
    w = rng.normal(size=kernel + (c, f)).astype(np.float32)
    g = rng.normal(size=(batch,) + out + (f,)).astype(np.float32)
    x64, w64, g64 = (a.astype(np.float64) for a in (x, w, g))
    checks = [("conv", [x, w], {**attrs, "fn": "linear"}, [0], conv_reference(attrs, x64, w64)),
              ("conv_kernel_grad", [x, g], {**attrs, "kernel_size": kernel}, [0, 1],
               kernel_grad_reference({**attrs, "kernel_size": kernel}, x64, g64))]
    if all(s == 1 for s in strides):   # the direct input gradient is for stride 1
        in_attrs = {**attrs, "in_shape": spatial_c[:-1]}
        checks.append(("conv_input_grad", [g, w], in_attrs, [0],
                       input_grad_reference(in_attrs, g64, w64)))
    for op, arrays, op_attrs, batched, expected in checks:
        assert _direct_field(op, arrays, op_attrs) == 1, op
        direct, im2col = _both_methods(op, arrays, op_attrs, batched)
        scale = np.abs(expected).max() + 1
        np.testing.assert_allclose(direct, expected, rtol=0, atol=2e-5 * scale, err_msg=op)
        np.testing.assert_allclose(direct, im2col, rtol=0, atol=2e-5 * scale, err_msg=op)


def test_the_compiler_chooses_the_direct_method_where_it_applies():
    attrs = {"strides": (1, 1), "dilation": (1, 1), "pads": ((0, 0), (0, 0))}
    direct_field = DIRECT_FIELD
    for mode in (0, 1, 2):
        geom, _ = conv_geometry(attrs, (26, 26), (3, 3), 32, 64, "float32", mode)
        assert geom[direct_field] == 1
        geom, _ = conv_geometry(attrs, (26, 26), (3, 3), 32, 64, "float64", mode)
        assert geom[direct_field] == 0
    strided = {**attrs, "strides": (2, 2)}
    assert conv_geometry(strided, (26, 26), (3, 3), 32, 64, "float32", 0)[0][direct_field] == 1
    assert conv_geometry(strided, (26, 26), (3, 3), 32, 64, "float32", 1)[0][direct_field] == 0
    cube = {"strides": (1,) * 3, "dilation": (1,) * 3, "pads": ((0, 0),) * 3}
    assert conv_geometry(cube, (5, 5, 5), (3, 3, 3), 8, 8, "float32", 0)[0][direct_field] == 0
    assert conv_geometry(attrs, (20, 20), (9, 9), 2, 8, "float32", 0)[0][direct_field] == 0
    # pointwise (im2col needs no columns), long products, a narrow output: BLAS is faster
    assert conv_geometry(attrs, (9, 9), (1, 1), 64, 64, "float32", 0)[0][direct_field] == 0
    assert conv_geometry(attrs, (9, 9), (3, 3), 128, 64, "float32", 0)[0][direct_field] == 0
    assert conv_geometry(attrs, (9, 9), (3, 3), 1, 32, "float32", 1)[0][direct_field] == 0
