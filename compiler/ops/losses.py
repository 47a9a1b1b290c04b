"""Cross-entropy losses: the Keras 2 probability forms, and the fused softmax form.

``categorical_crossentropy`` and ``sparse_categorical_crossentropy`` take probabilities, as
Keras 2 does (normalise, clip to [eps, 1-eps], log). When the probabilities come straight
from a softmax, the ``fuse_softmax_xent`` pass replaces the pair by ``softmax_xent``, which
works on the logits as reference Keras does in that case: no clipping, one pass over the row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.registry import define_composite, define_op

if TYPE_CHECKING:
    from compiler.builder import Builder


def _check_probs(target: Value, output: Value, sparse: bool) -> str:
    if output.rank < 1:
        raise ValueError("cross-entropy needs outputs with a class axis")
    if target.dtype != output.dtype:
        raise ValueError(f"target dtype {target.dtype} differs from output dtype {output.dtype}")
    if sparse:
        want = output.shape[:-1]
        if target.shape not in (want, want + (1,)):
            raise ValueError(f"sparse targets must have shape {want} or {want + (1,)}, "
                             f"got {target.shape}")
    elif target.shape != output.shape:
        raise ValueError(f"targets {target.shape} and outputs {output.shape} differ in shape")
    return output.dtype


def _xent_shape_rule(sparse: bool):
    def rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
        target, output = inputs
        return [(output.shape[:-1], _check_probs(target, output, sparse))]
    return rule


def _clip(b: Builder, x: Value, eps: float) -> Value:
    low, high = b.scalar_like(eps, x), b.scalar_like(1.0 - eps, x)
    return b.emit("minimum", b.emit("maximum", x, low), high)


def _last(v: Value) -> tuple[int, ...]:
    return (v.rank - 1,)


def _cce_expand(b: Builder, attrs: dict, target: Value, output: Value) -> Value:
    total = b.emit("reduce_sum", output, axes=_last(output), keepdims=True)
    probs = _clip(b, b.emit("div", output, total), attrs["eps"])
    picked = b.emit("reduce_sum", b.mul(target, b.emit("log", probs)), axes=_last(output),
                    keepdims=False)
    return b.neg(picked)


def one_hot_mask(b: Builder, labels: Value, n_classes: int, like: Value) -> Value:
    """1.0 where the class axis equals the label: labels (n,) or (n, 1) against (n, c)."""
    column = labels if labels.shape == like.shape[:-1] + (1,) else b.emit(
        "reshape", labels, shape=like.shape[:-1] + (1,))
    classes = b.emit("iota", length=n_classes, dtype=like.dtype)
    return b.emit("equal", column, classes)


def _scce_expand(b: Builder, attrs: dict, target: Value, output: Value) -> Value:
    probs = _clip(b, output, attrs["eps"])
    total = b.emit("reduce_sum", probs, axes=_last(output), keepdims=False)
    n_classes = output.shape[-1]
    assert n_classes is not None
    mask = one_hot_mask(b, target, n_classes, output)
    picked = b.emit("reduce_sum", b.mul(mask, probs), axes=_last(output), keepdims=False)
    return b.emit("sub", b.emit("log", total), b.emit("log", picked))


cce = define_composite("categorical_crossentropy", "loss", _cce_expand)
cce.shape(_xent_shape_rule(sparse=False))


@cce.reference
def _cce_reference(attrs: dict, target: np.ndarray, output: np.ndarray) -> tuple:
    eps = attrs["eps"]
    probs = np.clip(output / output.sum(axis=-1, keepdims=True), eps, 1 - eps)
    return (-(target * np.log(probs)).sum(axis=-1),)


scce = define_composite("sparse_categorical_crossentropy", "loss", _scce_expand)
scce.shape(_xent_shape_rule(sparse=True))


@scce.reference
def _scce_reference(attrs: dict, target: np.ndarray, output: np.ndarray) -> tuple:
    probs = np.clip(output, attrs["eps"], 1 - attrs["eps"])
    labels = target.reshape(output.shape[:-1]).astype(np.int64)
    picked = np.take_along_axis(probs, labels[..., None], axis=-1)[..., 0]
    return ((np.log(probs.sum(axis=-1)) - np.log(picked)).astype(output.dtype),)


# ---- softmax_xent(logits, target) -> (loss per row, probabilities) ------------------------
softmax_xent = define_op("softmax_xent", "fused")


@softmax_xent.shape
def _softmax_xent_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    logits, target = inputs
    if logits.rank != 2:
        raise ValueError(f"softmax_xent takes (rows, classes) logits, got {logits.shape}")
    dtype = _check_probs(target, logits, attrs["sparse"])
    return [(logits.shape[:-1], dtype), (logits.shape, dtype)]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _dense_target(target: np.ndarray, like: np.ndarray, sparse: bool) -> np.ndarray:
    if not sparse:
        return target
    labels = target.reshape(like.shape[:-1]).astype(np.int64)
    return (labels[..., None] == np.arange(like.shape[-1])).astype(like.dtype)


@softmax_xent.reference
def _softmax_xent_reference(attrs: dict, logits: np.ndarray, target: np.ndarray) -> tuple:
    log_p = _log_softmax(logits)
    t = _dense_target(target, logits, attrs["sparse"])
    return (-(t * log_p).sum(axis=-1), np.exp(log_p))


@softmax_xent.vjp
def _softmax_xent_vjp(b: Builder, node: Node, cts: list) -> list:
    g_loss, g_probs = cts
    logits, target = node.inputs
    probs = node.outputs[1]
    dz = None
    if g_loss is not None:
        dz = b.emit("softmax_xent_grad", probs, target, g_loss, sparse=node.attrs["sparse"])
    if g_probs is not None:
        extra = b.emit("activation_grad", probs, g_probs, fn="softmax")
        dz = extra if dz is None else b.add(dz, extra)
    return [dz, None]


@softmax_xent.lower
def _softmax_xent_lower(lowerer, node: Node) -> None:
    lowerer.softmax_xent(node)


softmax_xent_grad = define_op("softmax_xent_grad", "fused",
                              nondiff_reason="second-order cross-entropy is not supported yet")


@softmax_xent_grad.shape
def _softmax_xent_grad_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    probs, target, g_loss = inputs
    _check_probs(target, probs, attrs["sparse"])
    if g_loss.shape != probs.shape[:-1]:
        raise ValueError(f"loss cotangent {g_loss.shape} does not match rows {probs.shape[:-1]}")
    return [(probs.shape, probs.dtype)]


@softmax_xent_grad.reference
def _softmax_xent_grad_reference(attrs: dict, probs: np.ndarray, target: np.ndarray,
                                 g_loss: np.ndarray) -> tuple:
    t = _dense_target(target, probs, attrs["sparse"])
    return (g_loss[..., None] * (probs * t.sum(axis=-1, keepdims=True) - t),)


@softmax_xent_grad.lower
def _softmax_xent_grad_lower(lowerer, node: Node) -> None:
    lowerer.softmax_xent_grad(node)
