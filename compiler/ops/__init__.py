"""All op families; importing this package registers every op."""

from compiler.ops import (  # noqa: F401  (imported for their registrations)
    activation,
    conv,
    elementwise,
    embedding,
    join,
    layout,
    linalg,
    losses,
    normalization,
    optim,
    pad,
    pool,
    random,
    recurrent,
    reduce,
    sparse_update,
)
from compiler.ops.registry import REGISTRY, OpDef, get_op, ops_in_group

__all__ = ["REGISTRY", "OpDef", "get_op", "ops_in_group"]
