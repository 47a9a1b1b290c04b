"""Forward fusions, run before differentiation so the fused ops' own gradient rules give
fused backward kernels too.

- ``fuse_softmax_xent``: cross-entropy of a softmax becomes ``softmax_xent`` on the logits.
- ``fuse_dense``: activation(matmul(x, w) + b) becomes one ``dense`` node (GEMM + epilogue).
Invariant after both: no fusable pattern whose intermediates have other users remains.
"""

from __future__ import annotations

from compiler.ir import Graph, Node, Value
from compiler.passes.rewrite import substitute, use_counts

_XENT = {"categorical_crossentropy": False, "sparse_categorical_crossentropy": True}


def fuse_softmax_xent(graph: Graph) -> Graph:
    producer = graph.producers()
    mapping: dict[int, Value] = {}
    nodes: list[Node] = []
    replaced: dict[int, Node] = {}
    for node in graph.nodes:
        if node.op in _XENT:
            target, probs = node.inputs
            soft = producer.get(probs.id)
            if soft is not None and soft.op == "activation" and soft.attrs["fn"] == "softmax" \
                    and soft.inputs[0].rank == 2:
                fused = replaced.get(soft.outputs[0].id)
                if fused is None or fused.inputs[1] is not target \
                        or fused.attrs["sparse"] != _XENT[node.op]:
                    loss, new_probs = Value(node.outputs[0].shape, node.outputs[0].dtype), \
                        Value(probs.shape, probs.dtype)
                    fused = Node("softmax_xent", (soft.inputs[0], target), (loss, new_probs),
                                 {"sparse": _XENT[node.op]}, node.origin)
                    replaced[probs.id] = fused
                    nodes.append(fused)
                mapping[node.outputs[0].id] = fused.outputs[0]
                mapping[probs.id] = fused.outputs[1]
                continue
        nodes.append(node)
    # The softmax node now has no users; softmax_xent must run where the loss ran, which is
    # after everything its inputs need, so the order stays valid.
    return substitute(graph.replace(nodes=nodes), mapping)


def fuse_dense(graph: Graph) -> Graph:
    producer = graph.producers()
    uses = use_counts(graph)
    absorbed: set[int] = set()  # ids of nodes folded into a later dense node
    replacement: dict[int, Node] = {}  # id(node) -> dense node taking its place

    def single_use_producer(v: Value, op: str) -> Node | None:
        node = producer.get(v.id)
        if node is not None and node.op == op and uses.get(v.id, 0) == 1:
            return node
        return None

    for node in graph.nodes:
        fn, z = "linear", None
        if node.op == "activation" and node.inputs[0].rank >= 2:
            fn, z = node.attrs["fn"], node.inputs[0]
        elif node.op == "add":
            z = node.outputs[0]
        else:
            continue
        add = single_use_producer(z, "add") if node.op == "activation" else node
        bias = None
        mm_value = z
        if add is not None:
            a, b = add.inputs
            if b.rank == 1 and producer.get(a.id) is not None:
                mm_value, bias = a, b
            elif a.rank == 1 and producer.get(b.id) is not None:
                mm_value, bias = b, a
            else:
                add = None
        mm = single_use_producer(mm_value, "matmul")
        if mm is None or mm.attrs["transpose_a"] or mm.attrs["transpose_b"] \
                or mm.inputs[1].rank != 2 \
                or (bias is not None and bias.shape != (mm.outputs[0].shape[-1],)):
            continue
        if node.op == "add" and add is None:
            continue
        inputs = mm.inputs + ((bias,) if bias is not None else ())
        dense = Node("dense", inputs, node.outputs, {"fn": fn}, node.origin)
        replacement[id(node)] = dense
        absorbed.add(id(mm))
        if add is not None and add is not node:
            absorbed.add(id(add))
    nodes = [replacement.get(id(n), n) for n in graph.nodes if id(n) not in absorbed]
    return graph.replace(nodes=nodes)
