"""Batch normalization as fused per-channel ops (kernels: cthulhu/_kernels/batchnorm.pyx).

- ``batch_norm_train``: batch statistics (mean, biased variance), normalization, scale and
  shift in one op; outputs (y, mean, var).
- ``batch_norm_infer``: the same affine map from given (moving) statistics.
- ``batch_norm_train_grad`` / ``batch_norm_infer_grad``: their gradients.

The channel axis ``axis`` is a non-batch axis; the tensor is viewed as (outer, channels,
inner) and statistics are taken over outer and inner (the element-wise kernel cannot
broadcast a channel vector across both, hence ops of their own). Optional inputs: gamma when
``scale``, beta when ``center``. The forward ops take ``activation`` ("linear" or "relu",
set by the fuse_batchnorm_relu pass): y is then relu of the normalized value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.lower import Buf, Call, Const, Field, dims
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

_NO_SECOND_ORDER = "second-order gradients through batch normalization are not supported"


def _axis(attrs: dict, rank: int) -> int:
    axis = attrs["axis"]
    if not -rank <= axis < rank or axis % rank == 0:
        raise ValueError(f"batch normalization axis {axis} must be a non-batch axis of a "
                         f"rank-{rank} tensor")
    return axis % rank


def _view(shape: Shape, axis: int) -> tuple[int, int, int]:
    """(outer, channels, inner) as dims (outer scales with the batch)."""
    channels = shape[axis]
    assert channels is not None
    return dims(shape[:axis]), channels, dims(shape[axis + 1:])


def _unpack(attrs: dict, inputs, names: tuple[str, ...]) -> dict:
    """Inputs by name; 'gamma' is present when attrs['scale'], 'beta' when attrs['center'],
    'dmean'/'dvar' when attrs.get('stats_grad')."""
    rest = list(inputs)
    out: dict = {}
    for name in names:
        present = {"gamma": attrs.get("scale"), "beta": attrs.get("center"),
                   "dmean": attrs.get("stats_grad"), "dvar": attrs.get("stats_grad")
                   }.get(name, True)
        out[name] = rest.pop(0) if present else None
    if rest:
        raise ValueError(f"unexpected extra inputs: {len(rest)}")
    return out


def _channel_check(inputs: dict, x: Value, names: tuple[str, ...]) -> int:
    channels = x.shape[_axis_of(inputs, x)]
    for name in names:
        v = inputs.get(name)
        if v is not None and (v.shape != (channels,) or v.dtype != x.dtype):
            raise ValueError(f"{name} must have shape ({channels},) and dtype {x.dtype}, got "
                             f"{v.shape} {v.dtype}")
    assert channels is not None
    return channels


def _axis_of(inputs: dict, x: Value) -> int:
    return _axis(inputs["attrs"], x.rank)


def _ptr(v: Optional[Value]) -> Field:
    return Buf(v) if v is not None else 0


def _np_shape(x: np.ndarray, axis: int) -> tuple:
    return tuple(x.shape[axis] if a == axis else 1 for a in range(x.ndim))


def _np_affine(x, gamma, beta, mean, var, eps, axis):
    shape = _np_shape(x, axis)
    scale = 1.0 / np.sqrt(np.asarray(var, np.float64) + eps)
    if gamma is not None:
        scale = scale * gamma
    shift = -np.asarray(mean, np.float64) * scale + (beta if beta is not None else 0.0)
    return x * scale.reshape(shape) + shift.reshape(shape)


def _relu(attrs: dict) -> bool:
    fn = attrs.get("activation", "linear")
    if fn not in ("linear", "relu"):
        raise ValueError(f"batch normalization fuses only a relu activation, not {fn!r}")
    return fn == "relu"


def _act(attrs: dict, y: np.ndarray) -> np.ndarray:
    return np.maximum(y, 0.0) if _relu(attrs) else y


def _pre_activation_ct(b: Builder, node: Node, ct: Value) -> Value:
    """The cotangent of the normalized value, from that of the (relu) output."""
    if not _relu(node.attrs):
        return ct
    return b.emit("activation_grad", node.outputs[0], ct, fn="relu")


def _grad_attrs(attrs: dict) -> dict:
    return {k: v for k, v in attrs.items() if k != "activation"}


# ---- training mode ----------------------------------------------------------------------
batch_norm_train = define_op("batch_norm_train", "fused")
_TRAIN = ("x", "gamma", "beta")


@batch_norm_train.shape
def _train_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    named = _unpack(attrs, inputs, _TRAIN)
    x = named["x"]
    c = _channel_check({**named, "attrs": attrs}, x, ("gamma", "beta"))
    return [(x.shape, x.dtype), ((c,), x.dtype), ((c,), x.dtype)]


@batch_norm_train.reference
def _train_reference(attrs: dict, *arrays: np.ndarray) -> tuple:
    n = _unpack(attrs, arrays, _TRAIN)
    x = n["x"]
    axis = _axis(attrs, x.ndim)
    axes = tuple(a for a in range(x.ndim) if a != axis)
    mean = x.mean(axis=axes, dtype=np.float64)
    var = ((x - mean.reshape(_np_shape(x, axis))) ** 2).mean(axis=axes, dtype=np.float64)
    y = _act(attrs, _np_affine(x, n["gamma"], n["beta"], mean, var, attrs["epsilon"], axis))
    return y.astype(x.dtype), mean.astype(x.dtype), var.astype(x.dtype)


@batch_norm_train.vjp
def _train_vjp(b: Builder, node: Node, cts: list) -> list:
    n = _unpack(node.attrs, node.inputs, _TRAIN)
    x = n["x"]
    _, mean, var = node.outputs
    if all(ct is None for ct in cts):
        return [None] * len(node.inputs)
    zeros = lambda like: b.emit("broadcast_like", b.const(0.0, x.dtype), like)  # noqa: E731
    dy = _pre_activation_ct(b, node, cts[0]) if cts[0] is not None else zeros(x)
    stats = cts[1] is not None or cts[2] is not None
    ins = [v for v in (x, n["gamma"], mean, var, dy) if v is not None]
    if stats:
        ins += [cts[1] if cts[1] is not None else zeros(mean),
                cts[2] if cts[2] is not None else zeros(var)]
    dx, dgamma, dbeta = b.emit("batch_norm_train_grad", *ins, **_grad_attrs(node.attrs),
                               stats_grad=stats)
    return [dx] + ([dgamma] if node.attrs["scale"] else []) + (
        [dbeta] if node.attrs["center"] else [])


@batch_norm_train.lower
def _train_lower(lowerer, node: Node) -> None:
    n = _unpack(node.attrs, node.inputs, _TRAIN)
    x = n["x"]
    y, mean, var = node.outputs
    outer, channels, inner = _view(x.shape, _axis(node.attrs, x.rank))
    fields: list[Field] = [outer, channels, inner, Buf(x), _ptr(n["gamma"]), _ptr(n["beta"]),
                           Buf(y), Buf(mean), Buf(var), Const(node.attrs["epsilon"]),
                           int(_relu(node.attrs))]
    lowerer.calls.append(Call("bn_train", y.dtype, fields, list(node.inputs), [y, mean, var]))


batch_norm_train_grad = define_op("batch_norm_train_grad", "fused",
                                  nondiff_reason=_NO_SECOND_ORDER)
_TRAIN_GRAD = ("x", "gamma", "mean", "var", "dy", "dmean", "dvar")


@batch_norm_train_grad.shape
def _train_grad_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    named = _unpack(attrs, inputs, _TRAIN_GRAD)
    x = named["x"]
    c = _channel_check({**named, "attrs": attrs}, x, ("gamma", "mean", "var", "dmean", "dvar"))
    if named["dy"].shape != x.shape:
        raise ValueError(f"dy {named['dy'].shape} must match x {x.shape}")
    return [(x.shape, x.dtype), ((c,), x.dtype), ((c,), x.dtype)]


def _np_grads(attrs: dict, n: dict, batch_stats: bool) -> tuple:
    x, gamma, dy = n["x"], n["gamma"], n["dy"]
    axis = _axis(attrs, x.ndim)
    axes = tuple(a for a in range(x.ndim) if a != axis)
    shape = _np_shape(x, axis)
    m = x.size // x.shape[axis]
    mean = np.asarray(n["mean"], np.float64)
    rstd = 1.0 / np.sqrt(np.asarray(n["var"], np.float64) + attrs["epsilon"])
    xhat = (x - mean.reshape(shape)) * rstd.reshape(shape)
    dbeta = dy.sum(axis=axes, dtype=np.float64)
    dgamma = (dy * xhat).sum(axis=axes, dtype=np.float64)
    g = gamma if gamma is not None else 1.0
    k = (rstd * g).reshape(shape)
    if not batch_stats:
        return k * dy, dgamma, dbeta, -(rstd * g) * dbeta, -0.5 * g * dgamma * rstd ** 2
    dx = k * (dy - (dbeta.reshape(shape) + xhat * dgamma.reshape(shape)) / m)
    if n.get("dmean") is not None:
        dx = dx + (n["dmean"].reshape(shape)
                   + 2.0 * n["dvar"].reshape(shape) * (x - mean.reshape(shape))) / m
    return dx, dgamma, dbeta


@batch_norm_train_grad.reference
def _train_grad_reference(attrs: dict, *arrays: np.ndarray) -> tuple:
    n = _unpack(attrs, arrays, _TRAIN_GRAD)
    return tuple(a.astype(n["x"].dtype) for a in _np_grads(attrs, n, True))


@batch_norm_train_grad.lower
def _train_grad_lower(lowerer, node: Node) -> None:
    n = _unpack(node.attrs, node.inputs, _TRAIN_GRAD)
    x = n["x"]
    dx, dgamma, dbeta = node.outputs
    outer, channels, inner = _view(x.shape, _axis(node.attrs, x.rank))
    fields: list[Field] = [outer, channels, inner, Buf(x), _ptr(n["gamma"]), Buf(n["mean"]),
                           Buf(n["var"]), Buf(n["dy"]), _ptr(n["dmean"]), _ptr(n["dvar"]),
                           Buf(dx), Buf(dgamma), Buf(dbeta), Const(node.attrs["epsilon"])]
    lowerer.calls.append(Call("bn_train_grad", dx.dtype, fields, list(node.inputs),
                              [dx, dgamma, dbeta]))


# ---- inference mode ---------------------------------------------------------------------
batch_norm_infer = define_op("batch_norm_infer", "fused")
_INFER = ("x", "gamma", "beta", "mean", "var")


@batch_norm_infer.shape
def _infer_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    named = _unpack(attrs, inputs, _INFER)
    x = named["x"]
    _channel_check({**named, "attrs": attrs}, x, ("gamma", "beta", "mean", "var"))
    return [(x.shape, x.dtype)]


@batch_norm_infer.reference
def _infer_reference(attrs: dict, *arrays: np.ndarray) -> tuple:
    n = _unpack(attrs, arrays, _INFER)
    x = n["x"]
    y = _np_affine(x, n["gamma"], n["beta"], n["mean"], n["var"], attrs["epsilon"],
                   _axis(attrs, x.ndim))
    return (_act(attrs, y).astype(x.dtype),)


@batch_norm_infer.vjp
def _infer_vjp(b: Builder, node: Node, cts: list) -> list:
    if cts[0] is None:
        return [None] * len(node.inputs)
    n = _unpack(node.attrs, node.inputs, _INFER)
    dy = _pre_activation_ct(b, node, cts[0])
    ins = [v for v in (n["x"], n["gamma"], n["mean"], n["var"], dy) if v is not None]
    dx, dgamma, dbeta, dmean, dvar = b.emit("batch_norm_infer_grad", *ins,
                                            **_grad_attrs(node.attrs))
    return [dx] + ([dgamma] if node.attrs["scale"] else []) + (
        [dbeta] if node.attrs["center"] else []) + [dmean, dvar]


@batch_norm_infer.lower
def _infer_lower(lowerer, node: Node) -> None:
    n = _unpack(node.attrs, node.inputs, _INFER)
    x, (y,) = n["x"], node.outputs
    outer, channels, inner = _view(x.shape, _axis(node.attrs, x.rank))
    fields: list[Field] = [outer, channels, inner, Buf(x), _ptr(n["gamma"]), _ptr(n["beta"]),
                           Buf(n["mean"]), Buf(n["var"]), Buf(y), Const(node.attrs["epsilon"]),
                           int(_relu(node.attrs))]
    lowerer.calls.append(Call("bn_infer", y.dtype, fields, list(node.inputs), [y]))


batch_norm_infer_grad = define_op("batch_norm_infer_grad", "fused",
                                  nondiff_reason=_NO_SECOND_ORDER)
_INFER_GRAD = ("x", "gamma", "mean", "var", "dy")


@batch_norm_infer_grad.shape
def _infer_grad_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    named = _unpack(attrs, inputs, _INFER_GRAD)
    x = named["x"]
    c = _channel_check({**named, "attrs": attrs}, x, ("gamma", "mean", "var"))
    if named["dy"].shape != x.shape:
        raise ValueError(f"dy {named['dy'].shape} must match x {x.shape}")
    return [(x.shape, x.dtype)] + [((c,), x.dtype)] * 4


@batch_norm_infer_grad.reference
def _infer_grad_reference(attrs: dict, *arrays: np.ndarray) -> tuple:
    n = _unpack(attrs, arrays, _INFER_GRAD)
    return tuple(np.asarray(a).astype(n["x"].dtype) for a in _np_grads(attrs, n, False))


@batch_norm_infer_grad.lower
def _infer_grad_lower(lowerer, node: Node) -> None:
    n = _unpack(node.attrs, node.inputs, _INFER_GRAD)
    x = n["x"]
    outer, channels, inner = _view(x.shape, _axis(node.attrs, x.rank))
    fields: list[Field] = [outer, channels, inner, Buf(x), _ptr(n["gamma"]), Buf(n["mean"]),
                           Buf(n["var"]), Buf(n["dy"])]
    fields += [Buf(v) for v in node.outputs]
    fields.append(Const(node.attrs["epsilon"]))
    lowerer.calls.append(Call("bn_infer_grad", x.dtype, fields, list(node.inputs),
                              list(node.outputs)))
