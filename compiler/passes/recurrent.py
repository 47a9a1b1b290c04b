"""Recurrent weight gradients: the input kernel's gradient of a simple or lstm sequence,
``matmul(x, dxp, transpose_a=True)`` over the sequence's input projection gradient dxp,
joins the recurrent kernel's gradient in ``rnn_sequence_grad`` (attr ``input_kernel``): the
kernel computes both as one GEMM, which packs dxp once (compiler/ops/recurrent.py).
GRU keeps the separate product (its recurrent gradient is two GEMMs over parts of dxp).
Invariant: no matmul with transpose_a reads output 0 of a simple or lstm rnn_sequence_grad.
"""

from __future__ import annotations

from compiler.ir import Graph, Node, Value
from compiler.passes.rewrite import substitute


def _input_kernel_grad(node: Node, producer: dict[int, Node]) -> Node | None:
    """The rnn_sequence_grad whose dxp ``node`` multiplies as x^T @ dxp, if any."""
    if node.op != "matmul" or not node.attrs["transpose_a"] or node.attrs["transpose_b"]:
        return None
    x, dxp = node.inputs
    grad = producer.get(dxp.id)
    if grad is None or grad.op != "rnn_sequence_grad" or grad.outputs[0] is not dxp:
        return None
    if grad.attrs["cell"] == "gru" or grad.attrs.get("input_kernel"):
        return None
    if x.rank != 3 or x.shape[:2] != dxp.shape[:2] or x.dtype != dxp.dtype:
        return None
    return grad


def join_rnn_kernel_grads(graph: Graph) -> Graph:
    producer = graph.producers()
    joined: dict[int, Node] = {}  # id(rnn_sequence_grad node) -> the node with input_kernel
    mapping: dict[int, Value] = {}
    dropped: set[int] = set()
    for node in graph.nodes:
        grad = _input_kernel_grad(node, producer)
        if grad is None or id(grad) in joined:
            continue
        dw = Value(node.outputs[0].shape, node.outputs[0].dtype)
        joined[id(grad)] = Node("rnn_sequence_grad", grad.inputs + (node.inputs[0],),
                                grad.outputs + (dw,), {**grad.attrs, "input_kernel": True},
                                grad.origin)
        mapping[node.outputs[0].id] = dw
        dropped.add(id(node))
    nodes = [joined.get(id(n), n) for n in graph.nodes if id(n) not in dropped]
    return substitute(graph.replace(nodes=nodes), mapping)
