"""Forward fusion of a batch normalization with the ReLU that follows it.

relu(batch_norm_*(x, ...)[0]) becomes one batch_norm_* node with ``activation="relu"``
(its kernels clamp while writing y), when the normalized output has no other user. Runs
before differentiation: the fused op's gradient rule emits the ReLU gradient from its output
and then the batch normalization gradient.
"""

from __future__ import annotations

from compiler.ir import Graph, Node
from compiler.passes.rewrite import use_counts

_BN = ("batch_norm_train", "batch_norm_infer")


def fuse_batchnorm_relu(graph: Graph) -> Graph:
    producer = graph.producers()
    uses = use_counts(graph)
    fused_at: dict[int, Node] = {}  # id(bn node) -> fused node, put where the bn node was
    dropped: set[int] = set()  # ids of the absorbed activation nodes
    for node in graph.nodes:
        if node.op != "activation" or node.attrs["fn"] != "relu":
            continue
        bn = producer.get(node.inputs[0].id)
        if bn is None or bn.op not in _BN or id(bn) in fused_at \
                or bn.attrs.get("activation", "linear") != "linear" \
                or bn.outputs[0] is not node.inputs[0] or uses.get(node.inputs[0].id, 0) != 1:
            continue
        # Users of the relu output come after the relu, hence after the bn node: the fused
        # node takes the bn node's place (its statistics outputs feed nodes before the relu).
        fused_at[id(bn)] = Node(bn.op, bn.inputs, (node.outputs[0],) + bn.outputs[1:],
                                {**bn.attrs, "activation": "relu"}, bn.origin)
        dropped.add(id(node))
    if not fused_at:
        return graph
    nodes = [fused_at.get(id(n), n) for n in graph.nodes if id(n) not in dropped]
    return graph.replace(nodes=nodes)
