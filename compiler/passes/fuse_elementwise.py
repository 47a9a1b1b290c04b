"""Element-wise fusion: connected element-wise nodes computing over one shape become one
``fused_elementwise`` node, so intermediates stay in registers instead of memory.

Invariant: every fused group is placed at its last member; values it defines that are used
outside the group are only used after that point; each group fits the kernel's registers.
"""

from __future__ import annotations

from compiler.ir import Graph, Node, Value
from compiler.ops.registry import get_op

MAX_LOCALS = 16  # the chain kernel's register count (EW_MAX_REGISTERS)


class _Group:
    def __init__(self, node: Node, position: int) -> None:
        self.members: list[Node] = [node]
        self.shape = node.outputs[0].shape
        self.dtype = node.outputs[0].dtype
        self.first = position


def _fusable(node: Node) -> bool:
    op = get_op(node.op)
    return (op.group == "elementwise" or node.op == "const") and node.outputs[0].dtype != "int64"


def fuse_elementwise(graph: Graph) -> Graph:
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    consumers = graph.consumers()
    roots = {v.id for v in graph.roots()}
    group_of: dict[int, _Group] = {}  # value id -> group defining it

    def late_enough(group: _Group, at: int) -> bool:
        """Every outside use of the group's values comes after position ``at``."""
        for n in group.members:
            for v in n.outputs:
                for user in consumers.get(v.id, []):
                    if position[id(user)] <= at and user not in group.members:
                        return False
        return True

    groups: list[_Group] = []
    for i, node in enumerate(graph.nodes):
        if not _fusable(node) or node.op == "const":
            continue
        candidates = []
        for v in node.inputs:
            g = group_of.get(v.id)
            if g is not None and g.shape == node.outputs[0].shape and g not in candidates:
                candidates.append(g)
        merged = None
        for g in candidates:
            if not late_enough(g, i - 1):
                continue
            trial = (merged.members if merged else [node]) + g.members
            locals_needed = len(trial) + len(_external(trial))
            if locals_needed > MAX_LOCALS:
                continue
            if merged is None:
                merged = g
                g.members.append(node)
            else:
                merged.members.extend(g.members)
                groups.remove(g)
                for m in g.members:
                    for v in m.outputs:
                        group_of[v.id] = merged
        if merged is None:
            merged = _Group(node, i)
            groups.append(merged)
        for v in node.outputs:
            group_of[v.id] = merged

    const_values = {n.outputs[0].id: n.attrs["value"] for n in graph.nodes if n.op == "const"}
    replacement: dict[int, Node] = {}
    removed: set[int] = set()
    for g in groups:
        if len(g.members) == 1:
            continue
        g.members.sort(key=lambda n: position[id(n)])
        fused = _build(g, consumers, roots, const_values)
        last = g.members[-1]
        replacement[id(last)] = fused
        removed.update(id(m) for m in g.members[:-1])
    nodes = [replacement.get(id(n), n) for n in graph.nodes if id(n) not in removed]
    return graph.replace(nodes=nodes)


def _external(members: list[Node]) -> list[Value]:
    inside = {v.id for n in members for v in n.outputs}
    seen: set[int] = set()
    out = []
    for n in members:
        for v in n.inputs:
            if v.id not in inside and v.id not in seen:
                seen.add(v.id)
                out.append(v)
    return out


def _build(group: _Group, consumers: dict[int, list[Node]], roots: set[int],
           const_values: dict[int, float]) -> Node:
    members = group.members
    external = _external(members)
    inputs = [v for v in external if v.id not in const_values]
    local = {v.id: i for i, v in enumerate(inputs)}
    program: list[tuple] = []

    def define(value: Value, step: tuple) -> None:
        program.append(step)
        local[value.id] = len(inputs) + len(program) - 1

    # Scalar constants feeding the group become const steps of the program.
    for v in external:
        if v.id in const_values:
            define(v, ("const", (), const_values[v.id]))
    for n in members:
        args = tuple(local[v.id] for v in n.inputs)
        define(n.outputs[0], ("identity" if n.op == "broadcast_like" else n.op, args, None))
    outputs = [v for n in members for v in n.outputs
               if v.id in roots or any(u not in members for u in consumers.get(v.id, []))]
    attrs = {"program": tuple(program), "stores": tuple(local[v.id] for v in outputs),
             "shape": group.shape, "dtype": group.dtype}
    return Node("fused_elementwise", tuple(inputs), tuple(outputs), attrs,
                members[-1].origin)
