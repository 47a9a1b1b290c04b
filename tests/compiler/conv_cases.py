"""Op cases of the convolution family (compiler/ops/conv.py), for op_cases.cases()."""

from __future__ import annotations


def _normal(*shape):
    return lambda rng, dtype: rng.normal(size=shape).astype(dtype)


def _ints(*shape):
    return lambda rng, dtype: rng.integers(-3, 4, size=shape).astype(dtype)


# (x shape without batch, kernel spatial shape, F, strides, dilation, pads)
GEOMETRIES = [
    ((5, 6, 2), (3, 3), 3, (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((5, 6, 2), (3, 2), 2, (2, 1), (1, 1), ((1, 1), (0, 1))),
    ((6, 5, 1), (2, 2), 2, (1, 1), (2, 1), ((1, 0), (1, 1))),
    ((4, 4, 3), (1, 1), 2, (1, 1), (1, 1), ((0, 0), (0, 0))),   # pointwise path
    ((4, 4, 3), (1, 1), 2, (2, 2), (1, 1), ((0, 0), (0, 0))),
    ((7, 2), (3,), 2, (1,), (2,), ((4, 0),)),                  # 1D, causal-style padding
    ((7, 2), (2,), 3, (3,), (1,), ((0, 1),)),
    ((3, 4, 3, 2), (2, 2, 2), 2, (1, 2, 1), (1, 1, 1), ((0, 1), (1, 0), (0, 0))),
]


def conv_cases(batch: int = 2) -> list:
    out = []
    for spatial_c, kernel, f, strides, dilation, pads in GEOMETRIES:
        from compiler.ops.conv import out_size
        attrs = {"strides": strides, "dilation": dilation, "pads": pads}
        c = spatial_c[-1]
        o = tuple(out_size(s, k, st, d, p) for s, k, st, d, p in
                  zip(spatial_c[:-1], kernel, strides, dilation, pads))
        x = _normal(batch, *spatial_c)
        w = _normal(*kernel, c, f)
        g = _normal(batch, *o, f)
        out.append(("conv", [x, w], {**attrs, "fn": "linear"}, [0], [0, 1]))
        out.append(("conv_input_grad", [g, w], {**attrs, "in_shape": spatial_c[:-1]}, [0],
                    [0, 1]))
        out.append(("conv_kernel_grad", [x, g], {**attrs, "kernel_size": kernel}, [0, 1],
                    [0, 1]))
    attrs = {"strides": (1, 2), "dilation": (1, 1), "pads": ((1, 1), (0, 1))}
    for fn in ("tanh", "softmax", "sigmoid"):
        out.append(("conv", [_normal(2, 4, 5, 2), _normal(2, 3, 2, 3), _normal(3)],
                    {**attrs, "fn": fn}, [0], [0, 1, 2]))
    out.append(("conv", [_normal(2, 6, 3), _normal(3, 3, 2), _normal(2)],
                {"strides": (1,), "dilation": (2,), "pads": ((4, 0),), "fn": "linear"}, [0],
                [0, 1, 2]))
    # Enough samples for several chunks and the threaded im2col / GEMM paths; integer values
    # keep float32 sums exact.
    big = {"strides": (1, 1), "dilation": (1, 1), "pads": ((1, 1), (1, 1))}
    out.append(("conv", [_ints(40, 12, 12, 8), _ints(3, 3, 8, 16), _ints(16)],
                {**big, "fn": "relu"}, [0], []))
    out.append(("conv_input_grad", [_ints(40, 12, 12, 16), _ints(3, 3, 8, 16)],
                {**big, "in_shape": (12, 12)}, [0], []))
    out.append(("conv_kernel_grad", [_ints(40, 12, 12, 8), _ints(40, 12, 12, 16)],
                {**big, "kernel_size": (3, 3)}, [0, 1], []))
    # Parts of several chunks each (the kernel gradient accumulates over chunks).
    many = {"strides": (1, 1), "dilation": (1, 1), "pads": ((1, 1), (1, 1))}
    out.append(("conv_kernel_grad", [_ints(9, 40, 40, 8), _ints(9, 40, 40, 4)],
                {**many, "kernel_size": (3, 3)}, [0, 1], []))
    out.append(("conv_input_grad", [_ints(9, 40, 40, 4), _ints(3, 3, 8, 4)],
                {**many, "in_shape": (40, 40)}, [0], []))
    return out
