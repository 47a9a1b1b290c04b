"""The op spec table: for each op, inputs in its domain and attributes.

Each case: (op, [input makers], attrs, batched input indices, differentiable input indices).
An input maker takes (rng, dtype) and returns an array. Batched inputs get a None first axis
in the graph, so plans run them at their run-time batch size.
"""

from __future__ import annotations

import numpy as np

from compiler.ops.activation import ACTIVATIONS, FORWARD

from .conv_cases import conv_cases


def normal(*shape):
    return lambda rng, dtype: rng.normal(size=shape).astype(dtype)


def positive(*shape):
    return lambda rng, dtype: rng.uniform(0.5, 2.0, size=shape).astype(dtype)


def away_from_zero(*shape):
    def make(rng, dtype):
        x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        return x.astype(dtype)
    return make


def away_from_integers(*shape):
    """Values whose rounding is not on a knife edge (finite differences stay clean)."""
    return lambda rng, dtype: (rng.integers(-3, 3, size=shape) + rng.uniform(0.1, 0.4, size=shape)
                               ).astype(dtype)


def distinct(*shape):
    """Values with no ties and gaps wide enough for finite differences of max/min."""
    def make(rng, dtype):
        n = int(np.prod(shape))
        return (rng.permutation(n).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)
                ).astype(dtype)
    return make


def with_zeros(*shape):
    """Values near 1 in size, with some rows holding one zero and some two (for prod)."""
    def make(rng, dtype):
        x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        flat = x.reshape(shape[0], -1)
        flat[0, 1] = 0.0
        flat[-1, :2] = 0.0
        return x.astype(dtype)
    return make


def small_integers(*shape):
    return lambda rng, dtype: rng.integers(-3, 4, size=shape).astype(dtype)


def mask(*shape):
    return lambda rng, dtype: rng.integers(0, 2, size=shape).astype(dtype)


def probabilities(*shape):
    def make(rng, dtype):
        p = rng.uniform(0.1, 1.0, size=shape)
        return (p / p.sum(axis=-1, keepdims=True)).astype(dtype)
    return make


def labels(rows, classes):
    return lambda rng, dtype: rng.integers(0, classes, size=(rows,)).astype(dtype)


def activation_output(fn, *shape):
    """y = act(x) for x away from kinks, so gradients from y are well defined."""
    def make(rng, dtype):
        x = rng.uniform(0.2, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        return np.asarray(FORWARD[fn](x)).astype(dtype)
    return make


UNARY = {"neg": normal, "exp": normal, "log": positive, "sqrt": positive, "square": normal,
         "abs": away_from_zero, "sign": away_from_zero, "round": away_from_integers,
         "reciprocal": away_from_zero, "floor": away_from_integers,
         "ceil": away_from_integers}
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "pow", "equal", "not_equal",
          "greater", "greater_equal", "less", "less_equal"]
BROADCASTS = [((4, 5), (4, 5)), ((4, 5), (5,)), ((4, 1), (4, 5)), ((), (4, 5)),
              ((3, 4, 5), (1, 1, 5)), ((3, 4, 5), (3, 1, 1))]
COMPARISONS = ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal")


def _binary_makers(op, a_shape, b_shape):
    if op in ("div",):
        return [normal(*a_shape), away_from_zero(*b_shape)]
    if op == "pow":
        return [positive(*a_shape), normal(*b_shape)]
    if op in COMPARISONS:
        # Distinct values (and some exact ties for the comparisons) keep gradients clean.
        def tie_b(rng, dtype, shape=b_shape):
            return np.round(rng.normal(size=shape) * 2).astype(dtype) / 2
        return [lambda rng, dtype, s=a_shape: (np.round(rng.normal(size=s) * 2) / 2 + 0.05
                                                * rng.choice([-1, 0, 1], size=s)
                                                ).astype(dtype), tie_b]
    return [normal(*a_shape), normal(*b_shape)]


def cases():
    out = []
    for op, maker in UNARY.items():
        out.append((op, [maker(4, 5)], {}, [], [0]))
        out.append((op, [maker(6, 3)], {}, [0], [0]))
    for op in BINARY:
        for a_shape, b_shape in BROADCASTS:
            diff = [] if op in COMPARISONS else [0, 1]
            out.append((op, _binary_makers(op, a_shape, b_shape), {}, [], diff))
        out.append((op, _binary_makers(op, (4, 5), (5,)), {}, [0],
                    [] if op in COMPARISONS else [0, 1]))
    out.append(("where", [mask(4, 5), normal(4, 5), normal(5,)], {}, [], [1, 2]))
    out.append(("broadcast_like", [normal(1, 5), normal(4, 5)], {}, [1], [0]))
    out.append(("broadcast_like", [normal(4, 1), normal(4, 5)], {}, [], [0]))
    out.append(("broadcast_to", [normal(4, 1, 3)], {"shape": (None, 5, 3)}, [0], [0]))
    out.append(("concat", [normal(4, 2), normal(4, 3), normal(4, 1)], {"axis": 1}, [0, 1, 2],
                [0, 1, 2]))
    out.append(("concat", [normal(3, 2, 4), normal(3, 1, 4)], {"axis": -2}, [0, 1], [0, 1]))
    out.append(("transpose", [normal(4, 2, 3)], {"perm": (0, 2, 1)}, [0], [0]))
    out.append(("transpose", [normal(2, 3, 4, 5)], {"perm": (3, 1, 0, 2)}, [], [0]))
    out.append(("transpose", [normal(3, 4)], {"perm": (1, 0)}, [], [0]))
    # Several 16 x 16 tiles of the 2-D path, partial ones on both sides.
    out.append(("transpose", [normal(37, 21)], {"perm": (1, 0)}, [], [0]))
    out.append(("slice_axis", [normal(4, 6)], {"axis": 1, "start": 2, "stop": 5}, [0], [0]))
    out.append(("slice_axis", [normal(3, 4, 5)], {"axis": 2, "start": 0, "stop": 2}, [], [0]))
    out.append(("broadcast_to", [normal(1, 3)], {"shape": (4, 3)}, [], [0]))
    for op in ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min"):
        maker = distinct if op in ("reduce_max", "reduce_min") else normal
        for axes in ((0,), (1,), (2,), (0, 1), (1, 2), (0, 1, 2)):
            for keepdims in (False, True):
                out.append((op, [maker(3, 4, 5)], {"axes": axes, "keepdims": keepdims}, [],
                            [0]))
        out.append((op, [maker(6, 5)], {"axes": (0,), "keepdims": False}, [0], [0]))
        out.append((op, [maker(6, 5)], {"axes": (1,), "keepdims": True}, [0], [0]))
    for axes in ((1,), (2,), (1, 2), (0, 1, 2)):
        out.append(("reduce_prod", [away_from_zero(3, 4, 5)], {"axes": axes, "keepdims": False},
                    [0] if 0 not in axes else [], [0]))
    out.append(("reduce_prod", [with_zeros(3, 4)], {"axes": (1,), "keepdims": True}, [], [0]))
    out.append(("reduce_prod", [with_zeros(3, 2, 2)], {"axes": (1, 2), "keepdims": False}, [0],
                [0]))
    for op in ("argmax", "argmin"):
        for axes in ((0,), (1,)):
            out.append((op, [distinct(4, 5)], {"axes": axes, "keepdims": False}, [], []))
    out.append(("reshape", [normal(6, 4)], {"shape": (None, 2, 2)}, [0], [0]))
    out.append(("reshape", [normal(3, 4)], {"shape": (2, 6)}, [], [0]))
    out.append(("cast", [normal(4, 3)], {"dtype": "float64"}, [], [0]))
    out.append(("cast", [normal(4, 3)], {"dtype": "float32"}, [0], []))
    out.append(("dim_size", [normal(6, 5)], {"axes": (0, 1)}, [0], []))
    out.append(("dim_size", [normal(6, 5)], {"axes": (1,)}, [], []))
    out.append(("iota", [], {"length": 7, "dtype": "float32"}, [], []))
    out.append(("const", [], {"value": 2.5, "dtype": "float64"}, [], []))
    for fn in ACTIVATIONS:
        out.append(("activation", [away_from_zero(5, 7)], {"fn": fn}, [0], [0]))
        out.append(("activation_grad", [activation_output(fn, 5, 7), normal(5, 7)], {"fn": fn},
                    [0, 1], []))
        out.append(("activation_grad_bias", [activation_output(fn, 5, 7), normal(5, 7)],
                    {"fn": fn}, [0, 1], []))
        out.append(("dense", [normal(5, 4), normal(4, 3), normal(3)], {"fn": fn}, [0],
                    [0, 1, 2]))
    out.append(("dense", [normal(5, 4), normal(4, 3)], {"fn": "tanh"}, [0], [0, 1]))
    # The bias gradient of a convolution: the sum over every axis but the last; enough rows
    # for the threaded path.
    for fn in ("relu", "softmax"):
        out.append(("activation_grad_bias", [activation_output(fn, 3, 4, 2, 5),
                                             normal(3, 4, 2, 5)], {"fn": fn}, [0, 1], []))
    out.append(("activation_grad_bias", [activation_output("relu", 16, 12, 12, 8),
                                         normal(16, 12, 12, 8)], {"fn": "relu"}, [0, 1], []))
    # A long inner dimension: the kernel cuts it in blocks (blas.pxd gemm_split_k). Small
    # integers: every partial sum is exact in float32, whatever the order of the additions.
    out.append(("dense", [small_integers(16, 4096), small_integers(4096, 64),
                          small_integers(64)], {"fn": "relu"}, [0], []))
    for ta in (False, True):
        for tb in (False, True):
            a = (3, 4) if ta else (4, 3)
            b = (5, 3) if tb else (3, 5)
            out.append(("matmul", [normal(*a), normal(*b)],
                        {"transpose_a": ta, "transpose_b": tb}, [], [0, 1]))
    out.append(("matmul", [normal(6, 3), normal(6, 2)],
                {"transpose_a": True, "transpose_b": False}, [0, 1], [0, 1]))
    # Operands of rank > 2 are (leading axes, last axis) matrices.
    out.append(("matmul", [normal(4, 2, 3), normal(3, 5)],
                {"transpose_a": False, "transpose_b": False}, [0], [0, 1]))
    out.append(("matmul", [normal(4, 2, 3), normal(5, 3)],
                {"transpose_a": False, "transpose_b": True}, [0], [0, 1]))
    out.append(("matmul", [normal(4, 2, 3), normal(4, 2, 5)],
                {"transpose_a": True, "transpose_b": False}, [0, 1], [0, 1]))
    out.append(("matmul", [normal(2, 3, 4), normal(2, 3, 5)],
                {"transpose_a": True, "transpose_b": False}, [], [0, 1]))
    out.append(("dense", [normal(4, 2, 3, 5), normal(5, 3), normal(3)], {"fn": "softmax"},
                [0], [0, 1, 2]))
    for ta in (False, True):
        for tb in (False, True):
            a = (4, 2, 3) if ta else (4, 3, 2)
            b = (4, 5, 2) if tb else (4, 2, 5)
            out.append(("batch_matmul", [normal(*a), normal(*b)],
                        {"transpose_a": ta, "transpose_b": tb}, [0, 1], [0, 1]))
    out.append(("batch_matmul", [normal(3, 1, 4), normal(3, 4, 1)],
                {"transpose_a": False, "transpose_b": False}, [], [0, 1]))
    # Items large enough for the threaded path; integer values keep float32 sums exact.
    out.append(("batch_matmul", [small_integers(2, 200, 150), small_integers(2, 150, 150)],
                {"transpose_a": False, "transpose_b": False}, [0, 1], []))
    out.append(("categorical_crossentropy", [probabilities(5, 4), probabilities(5, 4)],
                {"eps": 1e-7}, [0, 1], [1]))
    out.append(("sparse_categorical_crossentropy", [labels(5, 4), probabilities(5, 4)],
                {"eps": 1e-7}, [0, 1], [1]))
    out.append(("softmax_xent", [normal(5, 4), probabilities(5, 4)], {"sparse": False}, [0, 1],
                [0]))
    out.append(("softmax_xent", [normal(5, 4), labels(5, 4)], {"sparse": True}, [0, 1], [0]))
    out.append(("softmax_xent_grad", [probabilities(5, 4), probabilities(5, 4), normal(5)],
                {"sparse": False}, [0, 1, 2], []))
    out.append(("softmax_xent_grad", [probabilities(5, 4), labels(5, 4), normal(5)],
                {"sparse": True}, [0, 1, 2], []))
    step = lambda rng, dtype: np.array(5, dtype=np.int64)  # noqa: E731
    out.append(("dropout", [normal(6, 5), step], {"rate": 0.3, "seed": 7}, [0], [0]))
    out.append(("random_uniform", [normal(7, 5), step],
                {"seed": 3, "low": -1.0, "high": 2.0}, [0], []))
    out.append(("random_uniform", [normal(300, 301), step],
                {"seed": 9, "low": 0.0, "high": 1.0}, [], []))
    out.append(("random_normal", [normal(7, 5), step],
                {"seed": 11, "mean": 1.0, "stddev": 0.5}, [0], []))
    out.append(("random_normal", [normal(300, 301), step],
                {"seed": 2, "mean": 0.0, "stddev": 2.0}, [], []))
    out.append(("dropout", [normal(40, 50), step], {"rate": 0.5, "seed": 2**40}, [], []))
    # Noise of a static shape: its batch axis from `like`, or no `like` at all.
    out.append(("random_uniform", [normal(6, 5, 4), step],
                {"seed": 4, "low": 0.0, "high": 1.0, "shape": (None, 1, 4)}, [0], []))
    out.append(("random_uniform", [normal(6, 5), step],
                {"seed": 4, "low": -2.0, "high": 0.5, "shape": (1, 5)}, [0], []))
    out.append(("random_normal", [step],
                {"seed": 8, "mean": 0.5, "stddev": 3.0, "shape": (3, 7), "dtype": "float64"},
                [], []))
    out.append(("random_uniform", [step],
                {"seed": 8, "low": 0.0, "high": 1.0, "shape": (2, 9), "dtype": "float32"},
                [], []))
    out += pool_cases()
    out.append(("pad_axis", [normal(4, 3, 2)], {"axis": 1, "before": 2, "after": 1}, [0], [0]))
    out.append(("pad_axis", [normal(3, 4, 2)], {"axis": -1, "before": 0, "after": 3}, [], [0]))
    out.append(("pad_axis", [normal(2, 3, 4, 2)], {"axis": 2, "before": 1, "after": 0}, [0],
                [0]))
    out.extend(embedding_and_normalization_cases())
    out.extend(conv_cases())
    out.extend(recurrent_cases())
    return out


def pool_cases():
    """Pooling: every padding, overlapping and gapped windows, 1-D to 3-D, both layouts."""
    out = []
    geoms = [((2,), (2,), "valid", (6, 7, 3)), ((3,), (2,), "same", (6, 7, 3)),
             ((2, 2), (2, 2), "valid", (3, 5, 4, 2)), ((3, 2), (1, 2), "same", (3, 5, 4, 2)),
             ((2, 3), (3, 1), "valid", (3, 5, 6, 4)), ((2, 2), (2, 2), "same", (2, 5, 5, 3)),
             ((2, 2, 2), (1, 2, 1), "same", (2, 3, 4, 3, 2)),
             ((2, 1, 2), (2, 1, 2), "valid", (2, 4, 3, 4, 2))]
    for pool, strides, padding, shape in geoms:
        for channels_first in (False, True):
            attrs = {"pool_size": pool, "strides": strides, "padding": padding,
                     "channels_first": channels_first}
            out.append(("max_pool", [distinct(*shape)], attrs, [0], [0]))
            out.append(("avg_pool", [normal(*shape)], attrs, [0], [0]))
    # The gradient ops on their own (their gradients are the forward ops).
    attrs = {"pool_size": (3, 2), "strides": (1, 2), "padding": "same",
             "channels_first": False, "in_shape": (5, 4, 2)}
    pooled = (3, 5, 2, 2)

    def argmaxes(rng, dtype):
        return rng.integers(0, 20, size=pooled).astype(np.int64)
    out.append(("avg_pool_grad", [normal(*pooled)], attrs, [0], [0]))
    out.append(("max_pool_grad", [normal(*pooled), argmaxes], attrs, [0, 1], [0]))
    gather = {k: v for k, v in attrs.items() if k != "in_shape"}
    out.append(("max_pool_gather", [normal(3, 5, 4, 2), argmaxes], gather, [0, 1], [0]))
    # Ties: the first maximum in row-major window order wins, as in TensorFlow.
    out.append(("max_pool", [small_integers(4, 6, 6, 3)],
                {"pool_size": (3, 3), "strides": (1, 1), "padding": "same",
                 "channels_first": False}, [0], []))
    # Ties across more channels than one block of the kernel (64) and an odd tail.
    out.append(("max_pool", [small_integers(3, 6, 5, 67)],
                {"pool_size": (2, 2), "strides": (2, 2), "padding": "same",
                 "channels_first": False}, [0], []))
    # Large enough for the threaded path.
    out.append(("max_pool", [distinct(16, 24, 24, 16)],
                {"pool_size": (2, 2), "strides": (2, 2), "padding": "valid",
                 "channels_first": False}, [0], []))
    out.append(("avg_pool", [normal(16, 8, 24, 24)],
                {"pool_size": (3, 3), "strides": (2, 2), "padding": "same",
                 "channels_first": True}, [0], []))
    return out


def indices(rows, *shape):
    """Integer-valued indices into a table of ``rows`` rows, some with a fraction (truncated
    toward zero, as a cast to int)."""
    def make(rng, dtype):
        idx = rng.integers(0, rows, size=shape).astype(np.float64)
        return (idx + rng.choice([0.0, 0.25], size=shape)).astype(dtype)
    return make


def embedding_and_normalization_cases() -> list:
    out = []
    out.append(("gather", [normal(7, 3), indices(7, 5, 4)], {}, [1], [0]))
    out.append(("gather", [normal(6, 2, 3), indices(6, 5)], {}, [1], [0]))
    out.append(("gather", [normal(5, 4), indices(5, 3)], {}, [], [0]))
    # Enough work for the threaded paths.
    out.append(("gather", [normal(50, 300), indices(50, 200)], {}, [1], []))
    out.append(("scatter_add", [indices(7, 5, 4), normal(5, 4, 3)], {"rows": 7}, [0, 1], [1]))
    out.append(("scatter_add", [indices(4, 300), normal(300, 200)], {"rows": 4}, [0, 1], []))
    for axis, shape in ((-1, (6, 4)), (-1, (5, 3, 4)), (1, (4, 3, 2, 2)), (2, (4, 2, 3))):
        c = shape[axis]
        for scale, center in ((True, True), (False, True), (True, False), (False, False)):
            ins = [normal(*shape)] + [positive(c)] * scale + [normal(c)] * center
            out.append(("batch_norm_train", ins, {"axis": axis, "epsilon": 1e-3,
                                                  "scale": scale, "center": center},
                        [0], list(range(len(ins)))))
        bn = {"axis": axis, "epsilon": 1e-3, "scale": True, "center": True}
        out.append(("batch_norm_train_grad", [normal(*shape), positive(c), normal(c),
                                              positive(c), normal(*shape)], bn, [0, 4], []))
        out.append(("batch_norm_train_grad", [normal(*shape), positive(c), normal(c),
                                              positive(c), normal(*shape), normal(c),
                                              normal(c)], {**bn, "stats_grad": True},
                    [0, 4], []))
        out.append(("batch_norm_infer", [normal(*shape), positive(c), normal(c), normal(c),
                                         positive(c)], bn, [0], [0, 1, 2, 3, 4]))
        out.append(("batch_norm_infer", [normal(*shape), normal(c), positive(c)],
                    {**bn, "scale": False, "center": False}, [0], [0, 1, 2]))
        out.append(("batch_norm_infer_grad", [normal(*shape), positive(c), normal(c),
                                              positive(c), normal(*shape)], bn, [0, 4], []))
    out.append(("batch_norm_train_grad", [normal(6, 4), normal(4), positive(4), normal(6, 4)],
                {"axis": -1, "epsilon": 1e-3, "scale": False, "center": True}, [0, 3], []))
    out.append(("batch_norm_infer_grad", [normal(6, 4), normal(4), positive(4), normal(6, 4)],
                {"axis": -1, "epsilon": 1e-3, "scale": False, "center": True}, [0, 3], []))
    # A following ReLU fused in (both walks of the kernels).
    for shape, axis in (((6, 4), -1), ((4, 2, 70), 1)):
        c = shape[axis]
        bn = {"axis": axis, "epsilon": 1e-3, "scale": True, "center": True,
              "activation": "relu"}
        out.append(("batch_norm_train", [normal(*shape), positive(c), normal(c)], bn, [0],
                    [0, 1, 2]))
        out.append(("batch_norm_infer", [normal(*shape), positive(c), normal(c), normal(c),
                                         positive(c)], bn, [0], [0, 1, 2, 3, 4]))
    # Enough work for the threaded paths: row-wise blocks (small inner sizes) and per-channel
    # walks (inner >= 64).
    for shape, axis in (((300, 8, 30), 1), ((120, 4, 80), 1), ((2000, 40), -1)):
        c = shape[axis]
        bn = {"axis": axis, "epsilon": 1e-3, "scale": True, "center": True}
        out.append(("batch_norm_train", [normal(*shape), positive(c), normal(c)], bn, [0], []))
        out.append(("batch_norm_infer", [normal(*shape), positive(c), normal(c), normal(c),
                                         positive(c)], bn, [0], []))
        out.append(("batch_norm_train_grad", [normal(*shape), positive(c), normal(c),
                                              positive(c), normal(*shape), normal(c),
                                              normal(c)], {**bn, "stats_grad": True},
                    [0, 4], []))
        out.append(("batch_norm_infer_grad", [normal(*shape), positive(c), normal(c),
                                              positive(c), normal(*shape)], bn, [0, 4], []))
    return out


def step_mask(batch, steps):
    """0/1 steps with the first row fully masked and the last one not masked at all."""
    def make(rng, dtype):
        m = (rng.random((batch, steps)) > 0.35).astype(dtype)
        m[0] = 0
        m[-1] = 1
        return m
    return make


def recurrent_cases() -> list:
    """rnn_sequence for each cell (and both GRU variants), with and without masks, in both
    directions; rnn_sequence_grad on saved values of the right ranges."""
    from compiler.ops.recurrent import GATES, SAVED_UNITS

    out = []
    configs = [("simple", False, dict(activation="tanh")),
               ("simple", False, dict(activation="softmax", go_backwards=True)),
               ("gru", False, dict()), ("gru", True, dict(go_backwards=True)),
               ("gru", True, dict(recurrent_bias=False, recurrent_activation="sigmoid")),
               ("lstm", False, dict()),
               ("lstm", False, dict(go_backwards=True, zero_output_for_mask=True,
                                    activation="relu", recurrent_activation="sigmoid"))]
    batch, steps, u = 3, 4, 3
    for cell, reset_after, extra in configs:
        for masked in (False, True):
            g = GATES[cell]
            attrs = dict(cell=cell, units=u, go_backwards=False, activation="tanh",
                         recurrent_activation="hard_sigmoid", reset_after=reset_after,
                         zero_output_for_mask=False, masked=masked,
                         recurrent_bias=cell == "gru" and reset_after)
            attrs.update(extra)
            makers = [normal(batch, steps, g * u), normal(u, g * u), normal(batch, u)]
            batched = [0, 2]
            if cell == "lstm":
                makers.append(normal(batch, u))
                batched.append(3)
            if masked:
                makers.append(step_mask(batch, steps))
                batched.append(len(makers) - 1)
            if attrs["recurrent_bias"]:
                makers.append(normal(3 * u))
            diff = [i for i in range(len(makers)) if not (masked and i == batched[-1])]
            out.append(("rnn_sequence", makers, attrs, batched, diff))
            if cell == "simple" and extra.get("activation") == "softmax":
                continue
            # The gradient op alone, from saved values in (0, 1) (every activation here has
            # its derivative there), every cotangent given.
            seeds = ("outputs", "h_last") + (("c_last",) if cell == "lstm" else ()) + (
                "saved",)
            width = SAVED_UNITS[cell] * u
            ins = [normal(g * u, u),
                   lambda rng, dtype, w=width: rng.uniform(0.05, 0.95, (batch, steps, w)
                                                           ).astype(dtype)]
            ins += [step_mask(batch, steps)] * masked + [normal(batch, steps, u),
                                                        normal(batch, u)]
            ins += [normal(batch, u)] * (cell == "lstm") + [normal(batch, steps, width)]
            out.append(("rnn_sequence_grad", ins, {**attrs, "seeds": seeds},
                        list(range(1, len(ins))), []))
            if cell != "gru":   # with the input kernel's gradient (x of 5 features)
                ins_x = ins + [normal(batch, steps, 5)]
                out.append(("rnn_sequence_grad", ins_x,
                            {**attrs, "seeds": seeds, "input_kernel": True},
                            list(range(1, len(ins_x))), []))
    # Enough rows for two parts run on two threads.
    attrs = dict(cell="lstm", units=16, go_backwards=False, activation="tanh",
                 recurrent_activation="hard_sigmoid", reset_after=False,
                 zero_output_for_mask=False, masked=True, recurrent_bias=False)
    out.append(("rnn_sequence", [normal(40, 5, 64), normal(16, 64), normal(40, 16),
                                 normal(40, 16), step_mask(40, 5)], attrs, [0, 2, 3, 4], []))
    return out


def case_id(case) -> str:
    op, makers, attrs, batched, _ = case
    short = ",".join(f"{k}={v}" for k, v in attrs.items() if k != "dtype")
    return f"{op}[{short}]b{''.join(map(str, batched))}"
