"""Reverse-mode differentiation over the IR: gradients are emitted as more IR.

Nodes are visited in reverse order; each node whose outputs carry a cotangent and whose
inputs depend on a requested value calls its op's vjp rule. Cotangents meeting at a fan-out
are summed with ``add`` nodes. Inputs that do not lead back to a requested value get none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from compiler.ir import Node, Value, get_op

if TYPE_CHECKING:
    from compiler.builder import Builder


def _depends_on(nodes: list[Node], sources: list[Value]) -> set[int]:
    reached = {v.id for v in sources}
    for node in nodes:
        if any(v.id in reached for v in node.inputs):
            reached.update(v.id for v in node.outputs)
    return reached


def backprop(b: Builder, nodes: list[Node], seeds: dict[int, Value],
             wrt: list[Value]) -> list[Optional[Value]]:
    """Cotangents of ``wrt`` given cotangents ``seeds`` (value id -> Value) of later values."""
    live = _depends_on(nodes, wrt)
    cotangent: dict[int, Value] = dict(seeds)
    for node in reversed(nodes):
        cts = [cotangent.get(v.id) for v in node.outputs]
        if all(ct is None for ct in cts) or not any(v.id in live for v in node.inputs):
            continue
        op = get_op(node.op)
        if op.vjp_rule is None:
            raise NotImplementedError(
                f"cannot differentiate through {node.op!r} (from {node.origin or 'the graph'}): "
                f"{op.nondiff_reason}")
        saved_origin, b.origin = b.origin, node.origin
        try:
            grads = op.vjp_rule(b, node, cts)
        finally:
            b.origin = saved_origin
        for x, g in zip(node.inputs, grads):
            if g is None or x.id not in live:
                continue
            if g.shape != x.shape:
                raise AssertionError(f"vjp of {node.op} gave {g.shape} for input {x.shape}")
            previous = cotangent.get(x.id)
            cotangent[x.id] = g if previous is None else b.add(previous, g)
    return [cotangent.get(v.id) for v in wrt]


def grad(b: Builder, loss: Value, wrt: list[Value]) -> list[Optional[Value]]:
    """Gradients of the scalar ``loss`` with respect to ``wrt``, appended to ``b``."""
    if loss.shape != ():
        raise ValueError(f"the loss must be a scalar, got shape {loss.shape}")
    seed = b.const(1.0, loss.dtype)
    return backprop(b, list(b.nodes), {loss.id: seed}, wrt)


def composite_vjp(b: Builder, node: Node, cts: list) -> list:
    """The vjp of a composite op: expand it again and differentiate the expansion."""
    expand = get_op(node.op).expand_rule
    assert expand is not None
    start = len(b.nodes)
    outs = expand(b, node.attrs, *node.inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    seeds = {o.id: ct for o, ct in zip(outs, cts) if ct is not None}
    return backprop(b, b.nodes[start:], seeds, list(node.inputs))
