"""Layout ops: reshape (a view, no copy) and cast."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from compiler.ir import DTYPES, Node, Shape, Value
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

reshape = define_op("reshape", "layout")


@reshape.shape
def _reshape_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    (x,) = inputs
    shape = tuple(attrs["shape"])
    if x.batched != (bool(shape) and shape[0] is None):
        raise ValueError(f"reshape {x.shape} -> {shape} must keep the batch axis first")
    known_in = int(np.prod([d for d in x.shape if d is not None]))
    known_out = int(np.prod([d for d in shape if d is not None]))
    if known_in != known_out:
        raise ValueError(f"cannot reshape {x.shape} into {shape}")
    return [(shape, x.dtype)]


@reshape.reference
def _reshape_reference(attrs: dict, x: np.ndarray) -> tuple:
    shape = tuple(-1 if d is None else d for d in attrs["shape"])
    return (x.reshape(shape),)


@reshape.vjp
def _reshape_vjp(b: Builder, node: Node, cts: list) -> list:
    return [b.emit("reshape", cts[0], shape=node.inputs[0].shape)]


@reshape.lower
def _reshape_lower(lowerer, node: Node) -> None:
    lowerer.alias(node.outputs[0], node.inputs[0])


cast = define_op("cast", "layout")


@cast.shape
def _cast_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    if attrs["dtype"] not in DTYPES:
        raise ValueError(f"cannot cast to {attrs['dtype']!r}")
    return [(inputs[0].shape, attrs["dtype"])]


@cast.reference
def _cast_reference(attrs: dict, x: np.ndarray) -> tuple:
    return (x.astype(attrs["dtype"]),)


@cast.vjp
def _cast_vjp(b: Builder, node: Node, cts: list) -> list:
    x = node.inputs[0]
    if x.dtype == "int64":
        return [None]
    return [b.emit("cast", cts[0], dtype=x.dtype)]


@cast.lower
def _cast_lower(lowerer, node: Node) -> None:
    lowerer.cast(node)


iota = define_op("iota", "constant", nondiff_reason="a constant has no inputs")


@iota.shape
def _iota_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    if attrs["length"] < 0:
        raise ValueError("iota length must be >= 0")
    return [((attrs["length"],), attrs["dtype"])]


@iota.reference
def _iota_reference(attrs: dict) -> tuple:
    return (np.arange(attrs["length"], dtype=attrs["dtype"]),)


@iota.lower
def _iota_lower(lowerer, node: Node) -> None:
    lowerer.constant_array(node.outputs[0], _iota_reference(node.attrs)[0])


# ---- transpose: permute the axes (the batch axis stays first) -----------------------------
transpose = define_op("transpose", "layout")


@transpose.shape
def _transpose_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    (x,) = inputs
    perm = tuple(attrs["perm"])
    if sorted(perm) != list(range(x.rank)):
        raise ValueError(f"perm {perm} is not a permutation of the {x.rank} axes")
    if not 1 <= x.rank <= 5:
        raise ValueError("transpose supports 1 to 5 axes")
    if x.batched and perm[0] != 0:
        raise ValueError("the batch axis must stay first when permuting")
    return [(tuple(x.shape[p] for p in perm), x.dtype)]


@transpose.reference
def _transpose_reference(attrs: dict, x: np.ndarray) -> tuple:
    return (np.ascontiguousarray(x.transpose(attrs["perm"])),)


@transpose.vjp
def _transpose_vjp(b: Builder, node: Node, cts: list) -> list:
    inverse = tuple(int(i) for i in np.argsort(node.attrs["perm"]))
    return [b.emit("transpose", cts[0], perm=inverse)]


@transpose.lower
def _transpose_lower(lowerer, node: Node) -> None:
    lowerer.transpose(node)
