"""Optimizer updates, each one fused multi-tensor op over every trainable weight.

Inputs and outputs are grouped per role (all weights, then all gradients, then each slot);
``k`` says how many tensors there are. Outputs are written in place over the matching inputs
(the lowering aliases them), and the plan runs all updates after every other node.
"""

from __future__ import annotations

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.registry import define_op

_NOT_DIFF = "optimizer updates are not differentiable"


def _groups(values: list, k: int, n_groups: int) -> list[list]:
    if len(values) != k * n_groups:
        raise ValueError(f"expected {k * n_groups} operands for {k} tensors, got {len(values)}")
    return [values[i * k:(i + 1) * k] for i in range(n_groups)]


def _check_same(groups: list[list[Value]]) -> None:
    for column in zip(*groups):
        first = column[0]
        for v in column[1:]:
            if v.shape != first.shape or v.dtype != first.dtype:
                raise ValueError(f"optimizer operands differ: {first.shape}/{first.dtype} vs "
                                 f"{v.shape}/{v.dtype}")


# ---- SGD with optional momentum and Nesterov --------------------------------------------
sgd_update = define_op("sgd_update", "update", nondiff_reason=_NOT_DIFF)


def _sgd_slots(attrs: dict) -> int:
    return 1 if attrs["momentum"] != 0.0 else 0


@sgd_update.shape
def _sgd_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    k, n_slots = attrs["k"], _sgd_slots(attrs)
    groups = _groups(inputs, k, 2 + n_slots)
    _check_same(groups)
    weights, slots = groups[0], groups[2:]
    return [(v.shape, v.dtype) for group in [weights] + slots for v in group]


@sgd_update.reference
def _sgd_reference(attrs: dict, *arrays: np.ndarray) -> tuple:
    k, lr, momentum = attrs["k"], attrs["lr"], attrs["momentum"]
    groups = _groups(list(arrays), k, 2 + _sgd_slots(attrs))
    weights, grads = groups[0], groups[1]
    if not _sgd_slots(attrs):
        return tuple(w - lr * g for w, g in zip(weights, grads))
    new_w, new_v = [], []
    for w, g, v in zip(weights, grads, groups[2]):
        v = momentum * v - lr * g
        step = momentum * v - lr * g if attrs["nesterov"] else v
        new_w.append((w + step).astype(w.dtype))
        new_v.append(v.astype(w.dtype))
    return tuple(new_w + new_v)


@sgd_update.lower
def _sgd_lower(lowerer, node: Node) -> None:
    lowerer.optimizer_update(node)


# ---- Adam (and AMSGrad) -------------------------------------------------------------------
adam_update = define_op("adam_update", "update", nondiff_reason=_NOT_DIFF)


def _adam_slots(attrs: dict) -> int:
    return 3 if attrs["amsgrad"] else 2


@adam_update.shape
def _adam_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    step, rest = inputs[0], inputs[1:]
    if step.shape != () or step.dtype != "int64":
        raise ValueError("adam_update's first operand must be the int64 iteration count")
    groups = _groups(rest, attrs["k"], 2 + _adam_slots(attrs))
    _check_same(groups)
    return [(v.shape, v.dtype) for group in [groups[0]] + groups[2:] for v in group]


@adam_update.reference
def _adam_reference(attrs: dict, step: np.ndarray, *arrays: np.ndarray) -> tuple:
    k = attrs["k"]
    groups = _groups(list(arrays), k, 2 + _adam_slots(attrs))
    weights, grads, ms, vs = groups[:4]
    vhats = groups[4] if attrs["amsgrad"] else [None] * k
    b1, b2, eps = attrs["beta_1"], attrs["beta_2"], attrs["epsilon"]
    t = float(step) + 1.0
    lr_t = attrs["lr"] * np.sqrt(1 - b2**t) / (1 - b1**t)
    out_w, out_m, out_v, out_vhat = [], [], [], []
    for w, g, m, v, vhat in zip(weights, grads, ms, vs, vhats):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom_v = v
        if vhat is not None:
            vhat = np.maximum(vhat, v)
            denom_v = vhat
            out_vhat.append(vhat.astype(w.dtype))
        out_w.append((w - lr_t * m / (np.sqrt(denom_v) + eps)).astype(w.dtype))
        out_m.append(m.astype(w.dtype))
        out_v.append(v.astype(w.dtype))
    return tuple(out_w + out_m + out_v + out_vhat)


@adam_update.lower
def _adam_lower(lowerer, node: Node) -> None:
    lowerer.optimizer_update(node)


# ---- the iteration counter ---------------------------------------------------------------
increment = define_op("increment", "update", nondiff_reason=_NOT_DIFF)


@increment.shape
def _increment_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    (count,) = inputs
    if count.shape != () or count.dtype != "int64":
        raise ValueError("increment works on an int64 scalar")
    return [((), "int64")]


@increment.reference
def _increment_reference(attrs: dict, count: np.ndarray) -> tuple:
    return (count + 1,)


@increment.lower
def _increment_lower(lowerer, node: Node) -> None:
    lowerer.increment(node)
