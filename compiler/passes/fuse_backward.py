"""Backward fusion: an activation gradient whose result is summed over every axis but the
last (the bias gradient of a dense or convolution layer) becomes one ``activation_grad_bias``
node computing both in one pass. Invariant: no activation_grad feeds a reduce_sum over all
the leading axes of its value."""

from __future__ import annotations

from compiler.ir import Graph, Node, Value
from compiler.passes.rewrite import substitute


def fuse_bias_grad(graph: Graph) -> Graph:
    producer = graph.producers()
    fused: dict[int, Node] = {}  # id(activation_grad node) -> fused node
    mapping: dict[int, Value] = {}
    dropped: set[int] = set()
    for node in graph.nodes:
        if node.op != "reduce_sum" or node.attrs["keepdims"]:
            continue
        grad = producer.get(node.inputs[0].id)
        if grad is None or grad.op != "activation_grad" or grad.outputs[0].rank < 2:
            continue
        if tuple(node.attrs["axes"]) != tuple(range(grad.outputs[0].rank - 1)):
            continue
        if id(grad) in fused:
            mapping[node.outputs[0].id] = fused[id(grad)].outputs[1]
        else:
            db = Value(node.outputs[0].shape, node.outputs[0].dtype)
            fused[id(grad)] = Node("activation_grad_bias", grad.inputs,
                                   (grad.outputs[0], db), dict(grad.attrs), grad.origin)
            mapping[node.outputs[0].id] = db
        dropped.add(id(node))
    nodes = [fused.get(id(n), n) for n in graph.nodes if id(n) not in dropped]
    return substitute(graph.replace(nodes=nodes), mapping)
