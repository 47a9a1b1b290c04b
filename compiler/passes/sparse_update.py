"""Sparse Adam: a weight whose gradient is a ``scatter_add`` of rows (an embedding table) used
by nothing but its Adam update leaves the fused ``adam_update`` for an ``adam_rows_update``
that reads the rows instead of a zero-filled dense gradient (compiler/ops/sparse_update.py).
The other weights keep the multi-tensor update; clipped gradients (clipnorm / clipvalue put
nodes between the scatter-add and the update) and other optimizers keep the dense path.
Invariant: no adam_update reads a single-use scatter_add.
"""

from __future__ import annotations

from compiler.ir import Graph, Node, Value
from compiler.ops.optim import update_layout
from compiler.passes.rewrite import use_counts


def fuse_sparse_adam(graph: Graph) -> Graph:
    producer = graph.producers()
    uses = use_counts(graph)

    def rows_gradient(g: Value) -> Node | None:
        node = producer.get(g.id)
        return node if node is not None and node.op == "scatter_add" and uses[g.id] == 1 \
            else None

    nodes: list[Node] = []
    for node in graph.nodes:
        if node.op != "adam_update":
            nodes.append(node)
            continue
        k = node.attrs["k"]
        roles = update_layout(node.op, node.attrs)[1]
        step, rest = node.inputs[0], node.inputs[1:]
        # Per weight i: its operands (w, g, slots...) and outputs (w, slots...).
        operands = [[rest[(j * k) + i] for j in range(2 + len(roles))] for i in range(k)]
        results = [[node.outputs[j * k + i] for j in range(1 + len(roles))] for i in range(k)]
        scatters = [rows_gradient(ops[1]) for ops in operands]
        if not any(scatters):
            nodes.append(node)
            continue
        attrs = {key: value for key, value in node.attrs.items() if key != "k"}
        dense = [i for i in range(k) if scatters[i] is None]
        if dense:
            nodes.append(Node(node.op, (step,) + tuple(
                operands[i][j] for j in range(2 + len(roles)) for i in dense),
                tuple(results[i][j] for j in range(1 + len(roles)) for i in dense),
                {**attrs, "k": len(dense)}, node.origin))
        for i, scatter in enumerate(scatters):
            if scatter is not None:
                w, _, *slots = operands[i]
                idx, dy = scatter.inputs
                nodes.append(Node("adam_rows_update", (step, w, idx, dy, *slots),
                                  tuple(results[i]), dict(attrs), scatter.origin))
    # The scatter_adds are left to dead-code elimination.
    return graph.replace(nodes=nodes)
