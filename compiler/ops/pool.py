"""Pooling ops over 1 to 3 spatial axes: max_pool (with the argmax indices its gradient
scatters to), avg_pool (the mean over the valid, non-padded window elements, as TensorFlow)
and their gradients, which are adjoint pairs so that every rule stays linear IR.

Attributes: pool_size and strides (one int per spatial axis), padding 'valid' or 'same'
(TensorFlow's placement: the smaller half of the padding before), channels_first. The
gradient ops also carry in_shape, the input shape without its batch axis. Kernels see a
channels-last (outer, D, H, W, C) view; channels_first is the same view with C = 1 and the
channels folded into outer, so it needs no transpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.lower import Buf, Call, Field, dims
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

GEOMETRY = ("pool_size", "strides", "padding", "channels_first")


@dataclass(frozen=True)
class Geometry:
    outer: Shape            # the axes folded into the kernel's outer axis (batch first)
    channels: int           # the kernel's channel count (1 for channels_first)
    spatial: tuple          # input spatial sizes
    out: tuple              # output spatial sizes
    pad: tuple              # padding before each spatial axis


def out_size(length: int, k: int, s: int, padding: str) -> tuple[int, int]:
    """(output length, padding before) along one axis."""
    if padding == "valid":
        return (length - k) // s + 1 if length >= k else 0, 0
    out = -(-length // s)
    return out, max((out - 1) * s + k - length, 0) // 2


def geometry(attrs: dict, shape: Shape) -> Geometry:
    ks, ss, padding = tuple(attrs["pool_size"]), tuple(attrs["strides"]), attrs["padding"]
    r = len(ks)
    if not 1 <= r <= 3 or len(ss) != r:
        raise ValueError(f"pool_size {ks} and strides {ss} must give 1 to 3 spatial axes")
    if len(shape) != r + 2:
        raise ValueError(f"{r}-D pooling needs inputs of rank {r + 2}, got shape {shape}")
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    if min(ks + ss) < 1:
        raise ValueError(f"pool_size {ks} and strides {ss} must be positive")
    if None in shape[1:]:
        raise ValueError(f"only the batch axis may be unknown, got shape {shape}")
    known = tuple(int(d) for d in shape[1:] if d is not None)
    if attrs["channels_first"]:
        outer, channels, spatial = shape[:2], 1, known[1:]
    else:
        outer, channels, spatial = shape[:1], known[-1], known[:-1]
    sizes = [out_size(n, k, s, padding) for n, k, s in zip(spatial, ks, ss)]
    out = tuple(o for o, _ in sizes)
    if min(out) < 1:
        raise ValueError(f"pool_size {ks} does not fit the input's spatial shape {spatial} "
                         f"with padding 'valid'")
    return Geometry(tuple(outer), channels, tuple(spatial), out, tuple(p for _, p in sizes))


def pooled_shape(attrs: dict, shape: Shape) -> Shape:
    g = geometry(attrs, shape)
    if attrs["channels_first"]:
        return g.outer + g.out
    return g.outer + g.out + (g.channels,)


def _input_shape(attrs: dict, batch) -> Shape:
    return (batch,) + tuple(attrs["in_shape"])


def _array_shape(attrs: dict, batch: int) -> tuple[int, ...]:
    return (batch,) + tuple(int(d) for d in attrs["in_shape"])


def _pooled_tail(attrs: dict, shape: tuple) -> tuple[int, ...]:
    """The pooled shape of a channels-last array, without its batch axis."""
    out = pooled_shape({**attrs, "channels_first": False}, (None,) + tuple(shape[1:]))
    return tuple(int(d) for d in out[1:] if d is not None)


def _geom_attrs(attrs: dict) -> dict:
    return {k: attrs[k] for k in GEOMETRY}


# ---- numpy references: channels-last (outer, *spatial, C) arrays, windows one by one -----
def _channels_last(attrs: dict, x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if attrs["channels_first"] else x


def _back(attrs: dict, y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(y, -1, 1) if attrs["channels_first"] else y)


def _windows(attrs: dict, spatial: tuple):
    """(output index, tuple of slices of the input window clipped to the input)."""
    ks, ss = attrs["pool_size"], attrs["strides"]
    sizes = [out_size(n, k, s, attrs["padding"]) for n, k, s in zip(spatial, ks, ss)]
    for o in np.ndindex(*[n for n, _ in sizes]):
        window = []
        for a, (oi, (_, pad)) in enumerate(zip(o, sizes)):
            lo = oi * ss[a] - pad
            window.append(slice(max(lo, 0), min(lo + ks[a], spatial[a])))
        yield o, tuple(window)


def _max_reference(attrs: dict, x: np.ndarray) -> tuple:
    xl = _channels_last(attrs, x)
    spatial = xl.shape[1:-1]
    out_shape = _pooled_tail(attrs, xl.shape)
    y = np.zeros((len(xl),) + out_shape, x.dtype)
    idx = np.zeros(y.shape, np.int64)
    flat = np.arange(int(np.prod(spatial))).reshape(spatial)
    for o, window in _windows(attrs, spatial):
        block = xl[(slice(None),) + window + (slice(None),)]
        block = block.reshape(len(xl), -1, xl.shape[-1])
        first = np.argmax(block, axis=1)  # numpy also takes the first maximum
        y[(slice(None),) + o] = np.take_along_axis(block, first[:, None], 1)[:, 0]
        idx[(slice(None),) + o] = flat[window].reshape(-1)[first]
    if attrs["channels_first"]:
        return _back(attrs, y), _back(attrs, idx)
    return y, idx


def _avg_reference(attrs: dict, x: np.ndarray) -> tuple:
    xl = _channels_last(attrs, x)
    spatial = xl.shape[1:-1]
    out_shape = _pooled_tail(attrs, xl.shape)
    y = np.zeros((len(xl),) + out_shape, x.dtype)
    for o, window in _windows(attrs, spatial):
        y[(slice(None),) + o] = xl[(slice(None),) + window + (slice(None),)].mean(
            axis=tuple(range(1, 1 + len(spatial))))
    return (_back(attrs, y),)


def _max_grad_reference(attrs: dict, dy: np.ndarray, idx: np.ndarray) -> tuple:
    shape = _array_shape(attrs, len(dy))
    dxl = np.zeros(_channels_last(attrs, np.zeros(shape)).shape, dy.dtype)
    n, c = len(dxl), dxl.shape[-1]
    flat = dxl.reshape(n, -1, c)
    g, i = _channels_last(attrs, dy).reshape(n, -1, c), _channels_last(attrs, idx).reshape(n, -1, c)
    for b in range(n):
        for ch in range(c):
            np.add.at(flat[b, :, ch], i[b, :, ch], g[b, :, ch])
    return (_back(attrs, dxl),)


def _gather_reference(attrs: dict, x: np.ndarray, idx: np.ndarray) -> tuple:
    xl, il = _channels_last(attrs, x), _channels_last(attrs, idx)
    n, c = len(xl), xl.shape[-1]
    y = np.take_along_axis(xl.reshape(n, -1, c), il.reshape(n, -1, c), axis=1)
    return (_back(attrs, y.reshape(il.shape)),)


def _avg_grad_reference(attrs: dict, dy: np.ndarray) -> tuple:
    shape = _array_shape(attrs, len(dy))
    dxl = np.zeros(_channels_last(attrs, np.zeros(shape)).shape, dy.dtype)
    g = _channels_last(attrs, dy)
    rank = dxl.ndim - 2
    for o, window in _windows(attrs, dxl.shape[1:-1]):
        count = int(np.prod([w.stop - w.start for w in window]))
        view = dxl[(slice(None),) + window + (slice(None),)]
        view += (g[(slice(None),) + o] / count).reshape((len(g),) + (1,) * rank + (-1,))
    return (_back(attrs, dxl),)


# ---- lowering -------------------------------------------------------------------------------
def _pack(values: tuple, fill: int) -> int:
    """Three 21-bit fields, spatial axes right-aligned (1-D and 2-D lead with `fill`)."""
    v = (fill,) * (3 - len(values)) + tuple(values)
    for d in v:
        if not 0 <= d < 1 << 21:
            raise NotImplementedError(f"pooling sizes must be below 2**21, got {d}")
    return v[0] | v[1] << 21 | v[2] << 42


def _lower(lowerer, node: Node, kernel: str, x_shape: Shape, bufs: list) -> None:
    attrs = node.attrs
    g = geometry(attrs, x_shape)
    if int(np.prod(g.spatial)) >= 1 << 31:  # the max_pool kernel keeps int32 offsets
        raise NotImplementedError(f"pooling inputs must have fewer than 2**31 positions, got "
                                  f"{g.spatial}")
    fields: list[Field] = [dims(g.outer), g.channels, _pack(g.spatial, 1), _pack(g.out, 1),
              _pack(tuple(attrs["pool_size"]), 1), _pack(tuple(attrs["strides"]), 1),
              _pack(g.pad, 0)]
    fields += [Buf(v) for v in bufs]
    reads = [v for v in node.inputs]
    out = node.outputs
    work = abs(dims(g.outer)) * g.channels * int(np.prod(g.out)) * int(np.prod(attrs["pool_size"]))
    lowerer.calls.append(Call(kernel, out[0].dtype, fields, reads, list(out), flops=work,
                              flops_per_row=dims(g.outer) < 0))


def _check(attrs: dict, x: Value) -> None:
    if x.dtype not in ("float32", "float64"):
        raise ValueError(f"pooling works on float values, got {x.dtype}")


# ---- max_pool(x) -> (y, argmax indices) ---------------------------------------------------
max_pool = define_op("max_pool", "layout")


@max_pool.shape
def _max_pool_shape(attrs: dict, inputs: list[Value]) -> list:
    (x,) = inputs
    _check(attrs, x)
    shape = pooled_shape(attrs, x.shape)
    return [(shape, x.dtype), (shape, "int64")]


max_pool.reference(_max_reference)


@max_pool.vjp
def _max_pool_vjp(b: Builder, node: Node, cts: list) -> list:
    if cts[0] is None:
        return [None]
    x = node.inputs[0]
    return [b.emit("max_pool_grad", cts[0], node.outputs[1], in_shape=x.shape[1:],
                   **_geom_attrs(node.attrs))]


@max_pool.lower
def _max_pool_lower(lowerer, node: Node) -> None:
    _lower(lowerer, node, "max_pool", node.inputs[0].shape, [node.inputs[0], *node.outputs])


# ---- max_pool_grad(dy, idx) = dx: dy added at the argmax of each window ------------------
max_pool_grad = define_op("max_pool_grad", "layout")


@max_pool_grad.shape
def _max_pool_grad_shape(attrs: dict, inputs: list[Value]) -> list:
    dy, idx = inputs
    shape = _input_shape(attrs, dy.shape[0])
    if pooled_shape(attrs, shape) != dy.shape or idx.shape != dy.shape or idx.dtype != "int64":
        raise ValueError(f"max_pool_grad: dy {dy.shape} and int64 idx {idx.shape} must have "
                         f"the pooled shape of {shape}")
    return [(shape, dy.dtype)]


max_pool_grad.reference(_max_grad_reference)


@max_pool_grad.vjp
def _max_pool_grad_vjp(b: Builder, node: Node, cts: list) -> list:
    return [b.emit("max_pool_gather", cts[0], node.inputs[1], **_geom_attrs(node.attrs)), None]


@max_pool_grad.lower
def _max_pool_grad_lower(lowerer, node: Node) -> None:
    shape = _input_shape(node.attrs, node.inputs[0].shape[0])
    _lower(lowerer, node, "max_pool_bwd", shape, [*node.inputs, node.outputs[0]])


# ---- max_pool_gather(x, idx): x read at the argmax positions (adjoint of max_pool_grad) ----
max_pool_gather = define_op("max_pool_gather", "layout")


@max_pool_gather.shape
def _max_pool_gather_shape(attrs: dict, inputs: list[Value]) -> list:
    x, idx = inputs
    if pooled_shape(attrs, x.shape) != idx.shape or idx.dtype != "int64":
        raise ValueError(f"max_pool_gather: int64 idx {idx.shape} must have the pooled shape "
                         f"of {x.shape}")
    return [(idx.shape, x.dtype)]


max_pool_gather.reference(_gather_reference)


@max_pool_gather.vjp
def _max_pool_gather_vjp(b: Builder, node: Node, cts: list) -> list:
    x = node.inputs[0]
    return [b.emit("max_pool_grad", cts[0], node.inputs[1], in_shape=x.shape[1:],
                   **_geom_attrs(node.attrs)), None]


@max_pool_gather.lower
def _max_pool_gather_lower(lowerer, node: Node) -> None:
    _lower(lowerer, node, "max_pool_gather", node.inputs[0].shape,
           [*node.inputs, node.outputs[0]])


# ---- avg_pool(x) and avg_pool_grad(dy), adjoint of each other ------------------------------
avg_pool = define_op("avg_pool", "layout")


@avg_pool.shape
def _avg_pool_shape(attrs: dict, inputs: list[Value]) -> list:
    (x,) = inputs
    _check(attrs, x)
    return [(pooled_shape(attrs, x.shape), x.dtype)]


avg_pool.reference(_avg_reference)


@avg_pool.vjp
def _avg_pool_vjp(b: Builder, node: Node, cts: list) -> list:
    x = node.inputs[0]
    return [b.emit("avg_pool_grad", cts[0], in_shape=x.shape[1:], **_geom_attrs(node.attrs))]


@avg_pool.lower
def _avg_pool_lower(lowerer, node: Node) -> None:
    _lower(lowerer, node, "avg_pool", node.inputs[0].shape,
           [node.inputs[0], node.outputs[0]])


avg_pool_grad = define_op("avg_pool_grad", "layout")


@avg_pool_grad.shape
def _avg_pool_grad_shape(attrs: dict, inputs: list[Value]) -> list:
    (dy,) = inputs
    shape = _input_shape(attrs, dy.shape[0])
    if pooled_shape(attrs, shape) != dy.shape:
        raise ValueError(f"avg_pool_grad: dy {dy.shape} must have the pooled shape of {shape}")
    return [(shape, dy.dtype)]


avg_pool_grad.reference(_avg_grad_reference)


@avg_pool_grad.vjp
def _avg_pool_grad_vjp(b: Builder, node: Node, cts: list) -> list:
    return [b.emit("avg_pool", cts[0], **_geom_attrs(node.attrs))]


@avg_pool_grad.lower
def _avg_pool_grad_lower(lowerer, node: Node) -> None:
    shape = _input_shape(node.attrs, node.inputs[0].shape[0])
    _lower(lowerer, node, "avg_pool_bwd", shape, [node.inputs[0], node.outputs[0]])
