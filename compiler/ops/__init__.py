"""All op families; importing this package registers every op."""

from compiler.ops import (  # noqa: F401  (imported for their registrations)
    activation,
    conv,
    elementwise,
    join,
    layout,
    linalg,
    losses,
    optim,
    random,
    reduce,
)
from compiler.ops.registry import REGISTRY, OpDef, get_op, ops_in_group

__all__ = ["REGISTRY", "OpDef", "get_op", "ops_in_group"]
