"""Dead-code elimination. Invariant: every remaining node contributes to an output/assign."""

from __future__ import annotations

from compiler.ir import Graph


def eliminate_dead_code(graph: Graph) -> Graph:
    needed = {v.id for v in graph.roots()}
    kept = []
    for node in reversed(graph.nodes):
        if any(v.id in needed for v in node.outputs):
            kept.append(node)
            needed.update(v.id for v in node.inputs)
    kept.reverse()
    return graph.replace(nodes=kept)
