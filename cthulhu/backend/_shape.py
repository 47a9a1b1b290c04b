"""Shape and layout: reshape, permute, concatenate, repeat, one_hot."""

from __future__ import annotations

from cthulhu.backend._tracing import Tensor, _emit, _value, current_trace


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
    value = _value(x)
    shape = tuple(None if d in (None, -1) and i == 0 else d for i, d in enumerate(shape))
    return _emit("reshape", value, shape=shape)


def flatten_last(x) -> Tensor:
    """Drop a trailing axis of length 1: (batch, 1) -> (batch,)."""
    value = _value(x)
    if value.shape and value.shape[-1] == 1:
        return _emit("reshape", value, shape=value.shape[:-1])
    return x


