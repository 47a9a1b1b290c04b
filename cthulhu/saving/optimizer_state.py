"""Optimizer state (iteration count and slots) in the ``optimizer_weights`` group.

cthulhu writes tf-keras 2.x's layout, so reference Keras restores it: ``iteration:0``, then
the slots in the order tf-keras's optimizers create them, named
``<optimizer>/<slot>/<layer>/<weight>:0``. Reading also takes the legacy Keras 2 layouts
(``<optimizer>/<layer>/<weight>/<slot>:0``, or unnamed ``[iterations] + one group per
slot``). In every layout the k-th value of a slot belongs to the k-th trainable weight, so
slots are matched by their slot name and rank, not by layer names."""

from __future__ import annotations

from typing import Any

import numpy as np

from compiler.ops.optim import update_layout
from cthulhu.saving import h5_attrs
from cthulhu.saving.errors import SaveFileError

# The slot groups of each optimizer, in tf-keras's creation order: inside a group the slots
# alternate weight by weight; groups follow one another.
_GROUPS: dict[str, list[list[str]]] = {
    "SGD": [["momentum"]], "Adam": [["m", "v"], ["vhat"]],
    "RMSprop": [["velocity"], ["momentum"], ["average_gradient"]],
    "Adagrad": [["accumulator"]], "Adadelta": [["accumulated_grad", "accumulated_delta_var"]],
    "Adamax": [["m", "u"]], "Nadam": [["m", "v"]],
}
# tf-keras's name of a slot where it differs from cthulhu's role name.
_WRITTEN_AS = {("SGD", "momentum"): "m"}
# Other names of slots in files (tf-keras, legacy Keras 2) -> cthulhu role.
_ALIASES = {
    "SGD": {"m": "momentum"},
    "RMSprop": {"rms": "velocity", "mg": "average_gradient"},
    "Adadelta": {"accum_grad": "accumulated_grad", "accum_var": "accumulated_delta_var"},
    "Adamax": {"v": "u"},
}
# The legacy (Keras 2 / tf-keras legacy) name of a slot where it differs from cthulhu's.
_LEGACY_WRITTEN_AS = {("RMSprop", "velocity"): "rms", ("RMSprop", "average_gradient"): "mg",
                      ("Adadelta", "accumulated_grad"): "accum_grad",
                      ("Adadelta", "accumulated_delta_var"): "accum_var",
                      ("Adamax", "u"): "v"}
_ITERATION_NAMES = ("iteration", "iterations", "iter")
_IGNORED = ("momentum_cache",)  # legacy Nadam's schedule product: recomputed from iterations


def _kind(optimizer: Any) -> str:
    return type(optimizer).__name__


def active_roles(optimizer: Any) -> list[str]:
    attrs = {"k": 1, "lr": optimizer.learning_rate, "decay": optimizer.decay,
             **optimizer._update_attrs()}
    return update_layout(optimizer._op, attrs)[1]


def _written_order(optimizer: Any, weights: list) -> list[tuple[str, Any]]:
    """(role, weight) in the order tf-keras lists its optimizer variables."""
    roles = set(active_roles(optimizer))
    order = []
    for group in _GROUPS.get(_kind(optimizer), [active_roles(optimizer)]):
        group = [r for r in group if r in roles]
        order += [(role, w) for w in weights for role in group]
    return order


def uses_legacy_layout(optimizer: Any) -> bool:
    """Keras 2's learning-rate ``decay`` exists only in tf-keras's legacy optimizers, which
    lay their state out differently: an optimizer with decay is written for those."""
    return bool(optimizer.decay)


def write_state(root: Any, optimizer: Any, weights: list) -> None:
    """The iteration count and every slot (created at its initial value if training has not
    made it yet, which is exactly the state a first step would start from)."""
    from cthulhu.saving.h5_weights import weight_name, write_array
    group = root.create_group("optimizer_weights")
    values = [optimizer.iterations.numpy()]
    kind = _kind(optimizer)
    if uses_legacy_layout(optimizer):  # [iter] + each slot for every weight in turn
        names = [f"{optimizer.name}/iter:0"]
        for role in active_roles(optimizer):
            slot = _LEGACY_WRITTEN_AS.get((kind, role), role)
            for var in weights:
                names.append(f"{optimizer.name}/{weight_name(var).split(':')[0]}/{slot}:0")
                values.append(optimizer.slot(var, role).numpy())
    else:
        names = ["iteration:0"]
        for role, var in _written_order(optimizer, weights):
            slot = _WRITTEN_AS.get((kind, role), role)
            names.append(f"{optimizer.name}/{slot}/{weight_name(var)}")
            values.append(optimizer.slot(var, role).numpy())
    h5_attrs.write_names(group.attrs, "weight_names", names)
    for name, value in zip(names, values):
        write_array(group, name, value)


def _role_of(optimizer: Any, name: str, roles: list[str]) -> Any:
    """'iteration', a role, 'ignore', or None when the name says nothing."""
    parts = name.split(":")[0].split("/")
    aliases = _ALIASES.get(_kind(optimizer), {})
    if parts[-1] in _ITERATION_NAMES:
        return "iteration"
    if parts[-1] in _IGNORED:
        return "ignore"
    candidates = [parts[1]] if len(parts) > 2 else []  # tf-keras: <opt>/<slot>/<weight...>
    candidates.append(parts[-1])                      # legacy:   <opt>/<weight...>/<slot>
    for part in candidates:
        role = aliases.get(part, part)
        if role in roles:
            return role
    return None


def read_state(root: Any, path: str) -> list[tuple[str, np.ndarray]]:
    from cthulhu.saving.h5_weights import _read_array
    group = root["optimizer_weights"]
    try:
        names = h5_attrs.read_names(group.attrs, "weight_names")
    except KeyError:
        raise SaveFileError(f"{path}: the optimizer_weights group has no weight_names") from None
    return [(name, _read_array(group, name, "optimizer_weights", path)) for name in names]


def _split(optimizer: Any, saved: list[tuple[str, np.ndarray]], k: int, path: str):
    roles = active_roles(optimizer)
    tagged = [(_role_of(optimizer, name, roles), name, value) for name, value in saved]
    if len(saved) > 1 and all(tag is None for tag, _, _ in tagged[1:]):
        # Unnamed legacy layout: [iterations] + each slot's k values in turn; Keras 2.2's
        # Adam also wrote placeholder AMSGrad slots after them, which mean nothing here.
        tagged = [("iteration", saved[0][0], saved[0][1])] + [
            (roles[i // k] if k and i < k * len(roles) else "ignore", n, v)
            for i, (n, v) in enumerate(saved[1:])]
    unknown = [name for tag, name, _ in tagged if tag is None]
    if unknown:
        raise SaveFileError(f"{path}: optimizer weights {unknown} do not belong to a "
                            f"{_kind(optimizer)} optimizer (slots: {roles})")
    iteration = [v for tag, _, v in tagged if tag == "iteration"]
    by_role = {role: [(n, v) for tag, n, v in tagged if tag == role] for role in roles}
    return iteration, by_role


def assign_state(optimizer: Any, weights: list, saved: list[tuple[str, np.ndarray]],
                 path: str) -> None:
    """Check everything, then set the iteration count and the slots."""
    iteration, by_role = _split(optimizer, saved, len(weights), path)
    if len(iteration) > 1:
        raise SaveFileError(f"{path}: several iteration counts in optimizer_weights")
    pairs = []
    if any(by_role.values()):  # a state saved before any step may hold only the count
        for role, values in by_role.items():
            if len(values) != len(weights):
                raise SaveFileError(
                    f"{path}: optimizer slot {role!r} has {len(values)} value(s) but the "
                    f"model has {len(weights)} trainable weight(s)")
            for var, (name, value) in zip(weights, values):
                if tuple(value.shape) != tuple(var.shape):
                    raise SaveFileError(
                        f"{path}: shape mismatch in optimizer weight {name!r}: the model's "
                        f"weight {var.name!r} has shape {tuple(var.shape)}, the file has "
                        f"{tuple(value.shape)}")
                pairs.append((optimizer.slot(var, role), value))
    if iteration:
        count = int(np.asarray(iteration[0]))
        optimizer.iterations.assign(np.int64(count))
        _restore_schedule(optimizer, count)
    for var, value in pairs:
        var.assign(value)


def _restore_schedule(optimizer: Any, count: int) -> None:
    """Nadam's momentum-schedule product is a function of the iteration count; files do not
    hold it (tf-keras does not save it), so it is recomputed the way the steps advance it."""
    if not hasattr(optimizer, "u_product"):
        return
    from compiler.ops.optim import nadam_mu
    product = 1.0
    for step in range(1, count + 1):
        product = product * nadam_mu(optimizer.beta_1, float(step))
    optimizer.u_product.assign(np.float64(product))
