"""Optimizer updates, each one fused multi-tensor op over every trainable weight.

Operands: the scalar state first (the int64 iteration count ``step``, counted before this
update; Nadam also its float64 momentum-schedule product ``u_product``), then every weight,
every gradient, then each slot (optimizer state of the shape of its weight) grouped per role;
``k`` says how many weights there are. Outputs: the new weights, then the new slots by role,
then the updated scalar state (Nadam's ``u_product``). Outputs are written in place over the
matching inputs (the lowering aliases them); the plan runs all updates after every other node
and increments the iteration count after them.

The numpy references implement tf-keras 2.x's (non-legacy) optimizers, plus Keras 2's
learning-rate ``decay`` (tf-keras legacy): lr_t = lr / (1 + decay * iterations).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.registry import define_op

_NOT_DIFF = "optimizer updates are not differentiable"

# The scalar state operands every update op starts with, and the slot roles it updates, as a
# function of its attributes. Shared with the lowering and with cthulhu/optimizers.py.
_SCALARS: dict[str, tuple[str, ...]] = {}
_SLOTS: dict[str, Callable[[dict], list[str]]] = {}


def update_layout(op: str, attrs: dict) -> tuple[tuple[str, ...], list[str]]:
    """(scalar state operand names, slot role names) of update op ``op``, in operand order."""
    return _SCALARS[op], _SLOTS[op](attrs)


def _groups(values: list, k: int, n_groups: int) -> list[list]:
    if len(values) != k * n_groups:
        raise ValueError(f"expected {k * n_groups} operands for {k} tensors, got {len(values)}")
    return [values[i * k:(i + 1) * k] for i in range(n_groups)]


def _check_same(groups: list[list[Value]]) -> None:
    for column in zip(*groups):
        first = column[0]
        if first.dtype not in ("float32", "float64"):
            raise ValueError(f"optimizer operands must be float32 or float64, got {first.dtype}")
        for v in column[1:]:
            if v.shape != first.shape or v.dtype != first.dtype:
                raise ValueError(f"optimizer operands differ: {first.shape}/{first.dtype} vs "
                                 f"{v.shape}/{v.dtype}")


_SCALAR_TYPES = {"step": "int64", "u_product": "float64"}
# Scalar state that the op itself updates (outputs after the slots).
UPDATED_SCALARS = ("u_product",)


def lr_t(attrs: dict, step: int) -> float:
    """The decayed learning rate of the update after ``step`` iterations (Keras 2 decay)."""
    return attrs["lr"] / (1.0 + attrs.get("decay", 0.0) * float(step))


# One tensor's update: (attrs, t = iterations + 1, lr_t, w, g, slots by role, scalar state)
# -> (new w, new slots by role). Arrays keep their dtype (float32 math stays float32).
TensorStep = Callable[[dict, float, float, np.ndarray, np.ndarray, dict, dict],
                      tuple[np.ndarray, dict]]


def _define_update(name: str, scalars: tuple[str, ...], slots: Callable[[dict], list[str]],
                   tensor_step: TensorStep, scalar_step: Callable[[dict, float, dict], dict]
                   | None = None) -> None:
    op = define_op(name, "update", nondiff_reason=_NOT_DIFF)
    _SCALARS[name], _SLOTS[name] = scalars, slots

    @op.shape
    def _shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
        head, rest = inputs[:len(scalars)], inputs[len(scalars):]
        for role, v in zip(scalars, head):
            if v.shape != () or v.dtype != _SCALAR_TYPES[role]:
                raise ValueError(f"{name}'s {role} operand must be a {_SCALAR_TYPES[role]} "
                                 f"scalar, got {v.type_str()}")
        if attrs["k"] < 1:
            raise ValueError(f"{name} needs at least one weight")
        groups = _groups(rest, attrs["k"], 2 + len(slots(attrs)))
        _check_same(groups)
        outs = [(v.shape, v.dtype) for group in [groups[0]] + groups[2:] for v in group]
        return outs + [((), _SCALAR_TYPES[s]) for s in scalars if s in UPDATED_SCALARS]

    @op.reference
    def _reference(attrs: dict, *arrays: np.ndarray) -> tuple:
        k, roles = attrs["k"], slots(attrs)
        state = {role: a for role, a in zip(scalars, arrays[:len(scalars)])}
        groups = _groups(list(arrays[len(scalars):]), k, 2 + len(roles))
        t = float(state["step"]) + 1.0
        lr = lr_t(attrs, int(state["step"]))
        if scalar_step is not None:
            state = scalar_step(attrs, t, state)
        new_w: list[np.ndarray] = []
        new_slots: list[list[np.ndarray]] = [[] for _ in roles]
        for i in range(k):
            w, g = groups[0][i], groups[1][i]
            w2, s2 = tensor_step(attrs, t, lr, w, g,
                                 {role: groups[2 + j][i] for j, role in enumerate(roles)},
                                 state)
            new_w.append(np.asarray(w2).astype(w.dtype))
            for j, role in enumerate(roles):
                new_slots[j].append(np.asarray(s2[role]).astype(w.dtype))
        updated = [np.asarray(state[s], _SCALAR_TYPES[s]) for s in scalars
                   if s in UPDATED_SCALARS]
        return tuple(new_w + [a for group in new_slots for a in group] + updated)

    @op.lower
    def _lower(lowerer, node: Node) -> None:
        lowerer.optimizer_update(node)


# ---- SGD with optional momentum and Nesterov --------------------------------------------
# velocity = momentum * velocity - lr_t * g; w += velocity (Nesterov: momentum * velocity -
# lr_t * g). Without momentum: w -= lr_t * g.
def _sgd_step(attrs, t, lr, w, g, s, state):
    if "momentum" not in s:
        return w - lr * g, {}
    momentum = attrs["momentum"]
    v = momentum * s["momentum"] - lr * g
    step = momentum * v - lr * g if attrs["nesterov"] else v
    return w + step, {"momentum": v}


_define_update("sgd_update", ("step",),
               lambda attrs: ["momentum"] if attrs["momentum"] != 0.0 else [], _sgd_step)


# ---- Adam (and AMSGrad) -----------------------------------------------------------------
# m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; amsgrad: vhat = max(vhat, v) replaces v;
# w -= [lr_t sqrt(1 - b2^t) / (1 - b1^t)] m / (sqrt(v) + eps)
def _adam_step(attrs, t, lr, w, g, s, state):
    b1, b2, eps = attrs["beta_1"], attrs["beta_2"], attrs["epsilon"]
    alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
    m = b1 * s["m"] + (1 - b1) * g
    v = b2 * s["v"] + (1 - b2) * g * g
    out = {"m": m, "v": v}
    denom = v
    if attrs["amsgrad"]:
        denom = out["vhat"] = np.maximum(s["vhat"], v)
    return w - alpha * m / (np.sqrt(denom) + eps), out


_define_update("adam_update", ("step",),
               lambda attrs: ["m", "v"] + (["vhat"] if attrs["amsgrad"] else []), _adam_step)


# ---- RMSprop (momentum, centered) -------------------------------------------------------
# v = rho v + (1-rho) g^2; centered: a = rho a + (1-rho) g, d = v - a^2 + eps, else
# d = v + eps; inc = lr_t g / sqrt(d); momentum: mom = momentum mom + inc, w -= mom;
# else w -= inc.
def _rmsprop_slots(attrs: dict) -> list[str]:
    return ["velocity"] + (["momentum"] if attrs["momentum"] > 0 else []) + \
        (["average_gradient"] if attrs["centered"] else [])


def _rmsprop_step(attrs, t, lr, w, g, s, state):
    rho, eps = attrs["rho"], attrs["epsilon"]
    v = rho * s["velocity"] + (1 - rho) * g * g
    out = {"velocity": v}
    if attrs["centered"]:
        a = out["average_gradient"] = rho * s["average_gradient"] + (1 - rho) * g
        denom = v - a * a + eps
    else:
        denom = v + eps
    inc = lr * g / np.sqrt(denom)
    if "momentum" in s:
        inc = out["momentum"] = attrs["momentum"] * s["momentum"] + inc
    return w - inc, out


_define_update("rmsprop_update", ("step",), _rmsprop_slots, _rmsprop_step)


# ---- Adagrad ----------------------------------------------------------------------------
# acc += g^2; w -= lr_t g / sqrt(acc + eps)   (acc starts at initial_accumulator_value)
def _adagrad_step(attrs, t, lr, w, g, s, state):
    acc = s["accumulator"] + g * g
    return w - lr * g / np.sqrt(acc + attrs["epsilon"]), {"accumulator": acc}


_define_update("adagrad_update", ("step",), lambda attrs: ["accumulator"], _adagrad_step)


# ---- Adadelta ---------------------------------------------------------------------------
# ag = rho ag + (1-rho) g^2; delta = -sqrt(ad + eps) g / sqrt(ag + eps);
# ad = rho ad + (1-rho) delta^2; w += lr_t delta
def _adadelta_step(attrs, t, lr, w, g, s, state):
    rho, eps = attrs["rho"], attrs["epsilon"]
    ag = rho * s["accumulated_grad"] + (1 - rho) * g * g
    delta = -np.sqrt(s["accumulated_delta_var"] + eps) * g / np.sqrt(ag + eps)
    ad = rho * s["accumulated_delta_var"] + (1 - rho) * delta * delta
    return w + lr * delta, {"accumulated_grad": ag, "accumulated_delta_var": ad}


_define_update("adadelta_update", ("step",),
               lambda attrs: ["accumulated_grad", "accumulated_delta_var"], _adadelta_step)


# ---- Adamax -----------------------------------------------------------------------------
# m += (g - m)(1-b1); u = max(b2 u, |g|); w -= lr_t m / ((1 - b1^t)(u + eps))
def _adamax_step(attrs, t, lr, w, g, s, state):
    b1, b2, eps = attrs["beta_1"], attrs["beta_2"], attrs["epsilon"]
    m = s["m"] + (g - s["m"]) * (1 - b1)
    u = np.maximum(b2 * s["u"], np.abs(g))
    return w - (lr / (1 - b1**t)) * m / (u + eps), {"m": m, "u": u}


_define_update("adamax_update", ("step",), lambda attrs: ["m", "u"], _adamax_step)


# ---- Nadam ------------------------------------------------------------------------------
# mu(t) = b1 (1 - 0.5 * 0.96^t); P_t = u_product = prod_{s<=t} mu(s) (the op updates it);
# m += (g - m)(1-b1); v += (g^2 - v)(1-b2);
# m_hat = mu(t+1) m / (1 - P_t mu(t+1)) + (1 - mu(t)) g / (1 - P_t); v_hat = v / (1 - b2^t);
# w -= lr_t m_hat / (sqrt(v_hat) + eps)
def nadam_mu(beta_1: float, t: float) -> float:
    return beta_1 * (1.0 - 0.5 * 0.96**t)


def _nadam_scalar_step(attrs: dict, t: float, state: dict) -> dict:
    return {**state, "u_product": float(state["u_product"]) * nadam_mu(attrs["beta_1"], t)}


def _nadam_step(attrs, t, lr, w, g, s, state):
    b1, b2, eps = attrs["beta_1"], attrs["beta_2"], attrs["epsilon"]
    mu, mu_next = nadam_mu(b1, t), nadam_mu(b1, t + 1)
    product = state["u_product"]
    m = s["m"] + (g - s["m"]) * (1 - b1)
    v = s["v"] + (g * g - s["v"]) * (1 - b2)
    m_hat = mu_next * m / (1 - product * mu_next) + (1 - mu) * g / (1 - product)
    v_hat = v / (1 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v}


_define_update("nadam_update", ("step", "u_product"), lambda attrs: ["m", "v"], _nadam_step,
               _nadam_scalar_step)


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
