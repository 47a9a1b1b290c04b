"""The op registry: every op is defined once, with all its rules beside its definition.

An op file calls ``define_op`` and then registers, right below, the rules of that op:

- ``shape``: (attrs, inputs) -> list of (shape, dtype) of the outputs; raises ValueError.
- ``reference``: the plain numpy implementation, (attrs, *arrays) -> tuple of arrays. It is
  the oracle of the tests and what the reference interpreter runs.
- ``vjp``: the gradient rule, written as IR: (builder, node, output cotangents) -> one
  cotangent Value (or None) per input. Ops that are not differentiable say why instead.
- ``lower``: (lowerer, node) -> None; appends the kernel calls of the node to the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from compiler.builder import Builder
    from compiler.ir import Node, Shape, Value

ShapeRule = Callable[[dict, "list[Value]"], "list[tuple[Shape, str]]"]
VjpRule = Callable[["Builder", "Node", "list[Optional[Value]]"], "list[Optional[Value]]"]
Reference = Callable[..., tuple]
LowerRule = Callable[[Any, "Node"], None]

# Named groups that passes match on.
GROUPS = ("elementwise", "reduction", "linear", "activation", "loss", "random", "layout",
          "update", "constant", "fused")


@dataclass(eq=False)
class OpDef:
    name: str
    group: str
    shape_rule: Optional[ShapeRule] = None
    reference_rule: Optional[Reference] = None
    vjp_rule: Optional[VjpRule] = None
    lower_rule: Optional[LowerRule] = None
    # Why the op has no gradient rule ("" means it must have one).
    nondiff_reason: str = ""
    # For composite ops: (builder, attrs, *inputs) -> outputs, built from other ops.
    expand_rule: Optional[Callable[..., Any]] = None

    def shape(self, fn: ShapeRule) -> ShapeRule:
        self.shape_rule = fn
        return fn

    def reference(self, fn: Reference) -> Reference:
        self.reference_rule = fn
        return fn

    def vjp(self, fn: VjpRule) -> VjpRule:
        self.vjp_rule = fn
        return fn

    def lower(self, fn: LowerRule) -> LowerRule:
        self.lower_rule = fn
        return fn

    def missing_rules(self) -> list[str]:
        missing = [rule for rule in ("shape_rule", "reference_rule", "lower_rule")
                   if getattr(self, rule) is None]
        if self.vjp_rule is None and not self.nondiff_reason:
            missing.append("vjp_rule")
        return missing


REGISTRY: dict[str, OpDef] = {}


def define_op(name: str, group: str, nondiff_reason: str = "") -> OpDef:
    if name in REGISTRY:
        raise ValueError(f"op {name!r} is defined twice")
    if group not in GROUPS:
        raise ValueError(f"unknown op group {group!r}")
    op = OpDef(name, group, nondiff_reason=nondiff_reason)
    REGISTRY[name] = op
    return op


def get_op(name: str) -> OpDef:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no op named {name!r} is registered") from None


def ops_in_group(group: str) -> set[str]:
    return {name for name, op in REGISTRY.items() if op.group == group}


def define_composite(name: str, group: str, expand: Callable[..., Any]) -> OpDef:
    """An op defined by its expansion into other ops (a Python function of a Builder).

    Its gradient is the gradient of the expansion and its kernels are those of the expansion
    (the ``expand_composites`` pass inlines it before fusion); only the shape rule and the
    numpy reference, an independent oracle for the expansion, are written by hand.
    """
    from compiler.autodiff import composite_vjp

    op = define_op(name, group)
    op.expand_rule = expand
    op.vjp(composite_vjp)
    op.lower(lambda lowerer, node: lowerer.expanded(node))
    return op
