"""``adam_rows_update``: the Adam step of one weight whose gradient is a scatter-add of rows
(an embedding table's gradient), without building that gradient.

Operands: the int64 iteration count ``step`` (before this update), the weight w (rows, ...),
the float indices idx and the gradient rows dy (idx.shape + w.shape[1:]) whose
``scatter_add`` is the gradient, then the slots m, v (and vhat with amsgrad). Outputs: the new
w, m, v (vhat), written in place. It means exactly ``adam_update`` (k=1) of
``scatter_add(idx, dy)``: every row's m and v decay and every row moves (Keras's dense Adam),
the rows no index hits with a zero gradient. compiler/passes/sparse_update.py introduces it;
the kernel (cthulhu/_kernels/optim.pyx ``adam_rows_update``) gives the dense path's results
bit for bit.
"""

from __future__ import annotations

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.lower import Buf, Call, dims
from compiler.ops.optim import update_layout
from compiler.ops.registry import define_op, get_op

ADAM_HYPER = ("lr", "beta_1", "beta_2", "epsilon", "decay")

adam_rows_update = define_op("adam_rows_update", "update",
                             nondiff_reason="optimizer updates are not differentiable")


def slot_roles(attrs: dict) -> list[str]:
    return update_layout("adam_update", {**attrs, "k": 1})[1]


@adam_rows_update.shape
def _shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    step, w, idx, dy, *slots = inputs
    if step.shape != () or step.dtype != "int64":
        raise ValueError(f"adam_rows_update's step operand must be an int64 scalar, got "
                         f"{step.type_str()}")
    if w.batched or w.rank < 1 or w.dtype not in ("float32", "float64"):
        raise ValueError(f"adam_rows_update needs a float table without a batch axis, got "
                         f"{w.type_str()}")
    if idx.dtype != w.dtype or dy.dtype != w.dtype or dy.shape != idx.shape + w.shape[1:]:
        raise ValueError(f"adam_rows_update needs indices and rows of the table's dtype, rows "
                         f"of shape indices.shape + {w.shape[1:]}, got {idx.type_str()} and "
                         f"{dy.type_str()}")
    if len(slots) != len(slot_roles(attrs)):
        raise ValueError(f"adam_rows_update expects the slots {slot_roles(attrs)}")
    for s in slots:
        if (s.shape, s.dtype) != (w.shape, w.dtype):
            raise ValueError(f"adam_rows_update's slots must be {w.type_str()}, got "
                             f"{s.type_str()}")
    return [(w.shape, w.dtype)] * (1 + len(slots))


@adam_rows_update.reference
def _reference(attrs: dict, step: np.ndarray, w: np.ndarray, idx: np.ndarray, dy: np.ndarray,
               *slots: np.ndarray) -> tuple:
    # By definition: the dense update of the scatter-added gradient.
    scatter, adam = get_op("scatter_add").reference_rule, get_op("adam_update").reference_rule
    assert scatter is not None and adam is not None
    (g,) = scatter({"rows": w.shape[0]}, idx, dy)
    return adam({**attrs, "k": 1}, step, w, g, *slots)


@adam_rows_update.lower
def _lower(lowerer, node: Node) -> None:
    step, w, idx, dy, *slots = node.inputs
    for out, state in zip(node.outputs, [w] + slots):
        lowerer.alias(out, state)
    hyper = Value((len(ADAM_HYPER),), "float64")
    lowerer.constant_array(hyper, np.array([node.attrs.get(h, 0.0) for h in ADAM_HYPER]))
    # Two int64 per index: the positions sorted by row, and the sort's other buffer.
    scratch = Value(idx.shape[:1] + (2 * abs(dims(idx.shape[1:])),), "int64") if idx.batched \
        else Value((2 * dims(idx.shape),), "int64")
    width = abs(dims(w.shape[1:]))
    vhat = slots[2] if len(slots) > 2 else None
    lowerer.calls.append(Call(
        "adam_rows", w.dtype,
        [dims(idx.shape), width, dims(w.shape[:1]), Buf(w), Buf(idx), Buf(dy), Buf(slots[0]),
         Buf(slots[1]), Buf(vhat) if vhat is not None else 0, Buf(scratch), Buf(step),
         Buf(hyper)],
        [w, idx, dy, step, hyper] + slots, [w, scratch] + slots))
