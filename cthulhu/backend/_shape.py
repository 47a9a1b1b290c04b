"""Shape and layout: reshape, indexing, permute, concatenate, stack, repeat, tile, one_hot.

The compiler's shapes know one unknown axis, the first (batch) one, and it must stay first:
functions that would move or merge it raise NotImplementedError and say what to use instead.
"""

from __future__ import annotations

import numpy as np

from cthulhu.backend._tracing import BatchSize, Tensor, _emit, _value, _wrap, current_trace


def permute_dimensions(x, pattern) -> Tensor:
    """Axes in the order of ``pattern`` (the batch axis must stay first)."""
    return _emit("transpose", _value(x), perm=tuple(int(p) for p in pattern))


def concatenate(tensors: list, axis: int = -1) -> Tensor:
    values = [_value(t) for t in tensors]
    return _emit("concat", *values, axis=int(axis))


def repeat(x, n: int) -> Tensor:
    """(batch, dim) -> (batch, n, dim): the rows repeated n times."""
    value = _value(x)
    if value.rank != 2:
        raise ValueError(f"repeat takes a 2-D tensor, got shape {value.shape}")
    column = _emit("reshape", value, shape=(value.shape[0], 1, value.shape[1]))
    return _emit("broadcast_to", column.value, shape=(value.shape[0], int(n), value.shape[1]))




def one_hot(indices, num_classes: int) -> Tensor:
    """(batch, ...) class indices -> (batch, ..., num_classes) of 0.0 / 1.0."""
    value = _value(indices)
    column = _emit("reshape", value, shape=value.shape + (1,))
    classes = current_trace().builder.emit("iota", length=int(num_classes), dtype=value.dtype)
    return _emit("equal", column.value, classes)



def reshape(x, shape) -> Tensor:
    """Keras reshape: one entry may be -1 (inferred); the batch axis is given as -1, None
    or K.shape(x)[0]."""
    value = _value(x)
    shape = [None if isinstance(d, BatchSize) or (d in (None, -1) and i == 0 and value.batched)
             else d for i, d in enumerate(shape)]
    if -1 in shape:
        known = int(np.prod([d for d in value.shape if d is not None]))
        rest = int(np.prod([d for d in shape if d not in (None, -1)]))
        if rest == 0 or known % rest:
            raise ValueError(f"cannot reshape {value.shape} into {tuple(shape)}")
        shape[shape.index(-1)] = known // rest
    return _emit("reshape", value, shape=tuple(shape))


def _check_not_batch(value, axis: int, what: str) -> int:
    axis = axis % value.rank if value.rank else 0
    if value.batched and axis == 0:
        raise NotImplementedError(f"{what} along the batch axis (axis 0) is not supported: the "
                                  f"batch axis must stay first and whole")
    return axis


def expand_dims(x, axis: int = -1) -> Tensor:
    value = _value(x)
    axis = axis % (value.rank + 1)
    if value.batched and axis == 0:
        raise NotImplementedError("expand_dims before the batch axis is not supported: the "
                                  "batch axis must stay first")
    return _emit("reshape", value, shape=value.shape[:axis] + (1,) + value.shape[axis:])


def squeeze(x, axis: int) -> Tensor:
    value = _value(x)
    axis = _check_not_batch(value, axis, "squeeze")
    if value.shape[axis] != 1:
        raise ValueError(f"cannot squeeze axis {axis} of size {value.shape[axis]} (shape "
                         f"{value.shape}); it must have size 1")
    return _emit("reshape", value, shape=value.shape[:axis] + value.shape[axis + 1:])


def stack(tensors: list, axis: int = 0) -> Tensor:
    values = [_value(t) for t in tensors]
    axis = axis % (values[0].rank + 1)
    return concatenate([expand_dims(_wrap(v), axis) for v in values], axis=axis)


def repeat_elements(x, rep: int, axis: int) -> Tensor:
    """Each slice along ``axis`` repeated ``rep`` times: [a, b] -> [a, a, b, b]."""
    value = _value(x)
    axis = _check_not_batch(value, axis, "repeat_elements")
    shape = value.shape
    split = shape[:axis + 1] + (1,) + shape[axis + 1:]
    wide = shape[:axis + 1] + (int(rep),) + shape[axis + 1:]
    column = _emit("reshape", value, shape=split)
    spread = _emit("broadcast_to", column.value, shape=wide)
    out = shape[:axis] + (shape[axis] * int(rep),) + shape[axis + 1:]
    return _emit("reshape", spread.value, shape=out)


def tile(x, n) -> Tensor:
    """``x`` repeated ``n[i]`` times along each axis i (the batch axis only once)."""
    value = _value(x)
    reps = [int(n)] * value.rank if isinstance(n, int) else [int(r) for r in n]
    if len(reps) != value.rank:
        raise ValueError(f"tile needs one repetition count per axis of {value.shape}, got {n}")
    if value.batched and reps[0] != 1:
        raise NotImplementedError("tiling along the batch axis is not supported: the batch "
                                  "axis must stay whole")
    out = _wrap(value)
    for axis, r in enumerate(reps):
        if r != 1:
            out = concatenate([out] * r, axis=axis)
    return out


def flatten(x) -> Tensor:
    """All elements in one axis (for tensors without a batch axis: variables, constants)."""
    value = _value(x)
    if value.batched:
        raise NotImplementedError("flatten of a tensor with a batch axis would merge the batch "
                                  "axis into the others, which is not supported; use "
                                  "K.batch_flatten(x) (one row per sample), or reduce over "
                                  "all axes directly (K.sum(x))")
    return _emit("reshape", value, shape=(int(np.prod(value.shape)),))


def batch_flatten(x) -> Tensor:
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)."""
    value = _value(x)
    return _emit("reshape", value, shape=value.shape[:1] + (int(np.prod(value.shape[1:])),))


def slice_tensor(x: Tensor, key) -> Tensor:
    """``x[key]`` with integers, slices of step 1, ``...`` and ``None``; the batch axis can
    only be taken whole (``x[:, ...]``)."""
    value = _value(x)
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = sum(k is not None and k is not Ellipsis for k in key)
    if used > value.rank:
        raise IndexError(f"too many indices for a tensor of shape {value.shape}")
    if Ellipsis in key:
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (value.rank - used) + key[at + 1:]
    else:
        key = key + (slice(None),) * (value.rank - used)
    out_shape: list = []
    axis = 0
    for k in key:
        if k is None:
            out_shape.append(1)
            continue
        dim = value.shape[axis]
        if isinstance(k, slice):
            start, stop, step = k.indices(dim) if dim is not None else (0, 0, 1)
            if dim is None and k != slice(None):
                raise NotImplementedError("slicing the batch axis is not supported: index it "
                                          "whole (x[:, ...])")
            if step != 1:
                raise NotImplementedError(f"slices with a step ({k}) are not supported")
            if dim is not None and (start, stop) != (0, dim):
                value = _emit("slice_axis", value, axis=axis, start=start,
                              stop=max(start, stop)).value
            out_shape.append(value.shape[axis])
        else:
            if dim is None:
                raise NotImplementedError("indexing the batch axis with an integer is not "
                                          "supported: index it whole (x[:, ...])")
            i = int(k)
            if not -dim <= i < dim:
                raise IndexError(f"index {i} is out of range for axis {axis} of size {dim}")
            i %= dim
            value = _emit("slice_axis", value, axis=axis, start=i, stop=i + 1).value
        axis += 1
    if tuple(out_shape) == value.shape:
        return _wrap(value)
    return _emit("reshape", value, shape=tuple(out_shape))


def flatten_last(x) -> Tensor:
    """Drop a trailing axis of length 1: (batch, 1) -> (batch,)."""
    value = _value(x)
    if value.shape and value.shape[-1] == 1:
        return _emit("reshape", value, shape=value.shape[:-1])
    return x


