"""Products and transposition: dot, batch_dot, transpose (Keras 2 semantics).

Built from the IR ops ``matmul`` (which views a tensor of rank > 2 as a matrix of its
leading axes), ``batch_matmul``, ``transpose`` and ``reshape``. The IR keeps an unknown
batch axis first, so products that would move it elsewhere raise NotImplementedError.
"""

from __future__ import annotations

import numpy as np

from compiler.ir import Value
from cthulhu.backend._tracing import Tensor, _emit, _value, _wrap


def _reshape(v: Value, shape: tuple) -> Value:
    return v if v.shape == tuple(shape) else _emit("reshape", v, shape=tuple(shape)).value


def _transpose(v: Value, perm: tuple) -> Value:
    if tuple(perm) == tuple(range(v.rank)):
        return v
    return _emit("transpose", v, perm=tuple(perm)).value


def dot(x, y) -> Tensor:
    """Contracts the last axis of x with the second-to-last axis of y (the last if y has
    rank 2): (batch, n, m) . (m, k) -> (batch, n, k); (batch, m) . (p, m, k) ->
    (batch, p, k)."""
    xv, yv = _value(x), _value(y)
    if xv.rank < 2 or yv.rank < 2:
        raise ValueError(f"K.dot takes tensors of rank >= 2, got shapes {xv.shape} and "
                         f"{yv.shape}")
    if yv.batched:
        raise NotImplementedError(
            f"K.dot({xv.shape}, {yv.shape}): the right operand has the batch axis, so the "
            f"result would not have it first; use K.batch_dot for per-sample products")
    m = yv.shape[-2]
    if xv.shape[-1] != m:
        raise ValueError(f"K.dot: incompatible shapes {xv.shape} and {yv.shape} (axis -1 of "
                         f"x must equal axis -2 of y)")
    if yv.rank == 2:
        return _emit("matmul", xv, yv, transpose_a=False, transpose_b=False)
    # y (y0, ..., m, k) -> (m, y0 * ... * k): one product, then split the columns.
    r = yv.rank
    y_t = _transpose(yv, (r - 2,) + tuple(range(r - 2)) + (r - 1,))
    y2 = _reshape(y_t, (m, int(np.prod(y_t.shape[1:]))))
    out = _emit("matmul", xv, y2, transpose_a=False, transpose_b=False).value
    return _wrap(_reshape(out, xv.shape[:-1] + yv.shape[:-2] + yv.shape[-1:]))


def _batch_axes(axes, x_rank: int, y_rank: int) -> tuple[int, int]:
    if axes is None:
        axes = (x_rank - 1, y_rank - 1 if y_rank == 2 else y_rank - 2)
    elif isinstance(axes, (int, np.integer)):
        axes = (int(axes), int(axes))
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError(f"batch_dot axes must be an int or a pair of ints, got {axes}")
    ax, ay = (int(a) + r if int(a) < 0 else int(a) for a, r in zip(axes, (x_rank, y_rank)))
    if not (0 < ax < x_rank and 0 < ay < y_rank):
        raise ValueError(f"batch_dot axes {axes} must name non-batch axes of tensors of rank "
                         f"{x_rank} and {y_rank}")
    return ax, ay


def batch_dot(x, y, axes=None) -> Tensor:
    """Per-sample dot product: for each index of axis 0, contracts x's axis axes[0] with y's
    axis axes[1]. The result has x's remaining axes, then y's (without the batch axis);
    a rank-1 result becomes (batch, 1), as in Keras."""
    xv, yv = _value(x), _value(y)
    if xv.rank < 2 or yv.rank < 2:
        raise ValueError(f"batch_dot takes tensors of rank >= 2, got shapes {xv.shape} and "
                         f"{yv.shape}")
    if xv.shape[0] != yv.shape[0]:
        raise ValueError(f"batch_dot: the batch axes differ: {xv.shape} and {yv.shape}")
    ax, ay = _batch_axes(axes, xv.rank, yv.rank)
    if xv.shape[ax] != yv.shape[ay]:
        raise ValueError(f"batch_dot: cannot contract axis {ax} of {xv.shape} with axis {ay} "
                         f"of {yv.shape}: the sizes differ")
    k = xv.shape[ax]
    free_x = [i for i in range(1, xv.rank) if i != ax]
    free_y = [i for i in range(1, yv.rank) if i != ay]
    m = int(np.prod([xv.shape[i] for i in free_x]))
    n = int(np.prod([yv.shape[i] for i in free_y]))
    batch = xv.shape[0]
    # x as (batch, m, k), or (batch, k, m) read transposed when the contracted axis is 1.
    transpose_a = ax == 1 and xv.rank > 2
    order_x = [0, ax] + free_x if transpose_a else [0] + free_x + [ax]
    x3 = _reshape(_transpose(xv, tuple(order_x)), (batch, k, m) if transpose_a else
                  (batch, m, k))
    # y as (batch, k, n), or (batch, n, k) read transposed when the contracted axis is last.
    transpose_b = ay == yv.rank - 1 and ay != 1
    order_y = [0] + free_y + [ay] if transpose_b else [0, ay] + free_y
    y3 = _reshape(_transpose(yv, tuple(order_y)), (batch, n, k) if transpose_b else
                  (batch, k, n))
    out = _emit("batch_matmul", x3, y3, transpose_a=transpose_a, transpose_b=transpose_b)
    shape = (batch,) + tuple(xv.shape[i] for i in free_x) + tuple(yv.shape[i] for i in free_y)
    return _wrap(_reshape(out.value, shape if len(shape) > 1 else (batch, 1)))


def transpose(x) -> Tensor:
    """All axes reversed. A tensor whose first axis is the batch axis cannot be transposed
    (the batch axis must stay first): use K.permute_dimensions on the other axes."""
    v = _value(x)
    if v.batched:
        raise NotImplementedError(
            f"K.transpose of a tensor of shape {v.shape} would move the batch axis away from "
            f"the front, which cthulhu does not represent; use K.permute_dimensions(x, (0, ...)) "
            f"to reorder the other axes")
    if v.rank < 2:
        return x if isinstance(x, Tensor) else _wrap(v)
    return _wrap(_transpose(v, tuple(range(v.rank - 1, -1, -1))))


def gather(reference, indices) -> Tensor:
    """Rows of ``reference`` (a weight or constant, (n, ...)) picked by integer-valued
    ``indices`` (truncated toward zero, as a cast to int): shape indices.shape +
    reference.shape[1:]. One native row gather; its gradient is a sparse scatter-add of rows.
    An index outside [0, n) stops the plan with an IndexError, as Keras raises."""
    ref = _value(reference)
    if ref.batched:
        raise NotImplementedError("gather from a tensor with a batch axis is not supported; "
                                  "the reference must be a weight or a constant")
    idx = _value(indices, ref)
    if idx.dtype != ref.dtype:
        idx = _emit("cast", idx, dtype=ref.dtype).value
    return _emit("gather", ref, idx)
