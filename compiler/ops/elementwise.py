"""Element-wise ops (numpy broadcasting) and scalar constants.

Each op maps one-to-one onto an instruction of the fused element-wise chain kernel, so the
element-wise fusion pass can merge any connected group of them into one ``fused_elementwise``
node (see compiler/passes/fuse_elementwise.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.registry import OpDef, define_op

if TYPE_CHECKING:
    from compiler.builder import Builder


def broadcast_shapes(*shapes: Shape) -> Shape:
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out: list[Optional[int]] = []
    for dims in zip(*padded):
        sizes = {d for d in dims if d != 1}
        if not sizes:
            out.append(1)
        elif len(sizes) == 1:
            out.append(sizes.pop())
        else:
            raise ValueError(f"shapes {shapes} cannot be broadcast together")
    if any(d is None for d in out[1:]):
        raise ValueError(f"shapes {shapes}: the batch axis must stay first when broadcasting")
    return tuple(out)


def _same_dtype(inputs: list[Value]) -> str:
    dtypes = {v.dtype for v in inputs}
    if len(dtypes) != 1:
        raise ValueError(f"operands have different dtypes {sorted(dtypes)}; cast them first")
    dtype = dtypes.pop()
    if dtype == "int64":
        raise ValueError("element-wise ops work on float32 or float64 values, got int64")
    return dtype


def _elementwise_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    return [(broadcast_shapes(*(v.shape for v in inputs)), _same_dtype(inputs))]


# The numpy function of every element-wise op, shared by the references of single ops and
# of fused chains.  Comparisons return 1.0/0.0 in the operands' dtype.
def _cmp(fn: Callable) -> Callable:
    return lambda a, b: fn(a, b).astype(np.result_type(a, b))


NUMPY_FN: dict[str, Callable] = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "square": np.square,
    "abs": np.abs, "sign": np.sign, "round": np.round, "reciprocal": np.reciprocal,
    "floor": np.floor, "ceil": np.ceil,
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "maximum": np.maximum, "minimum": np.minimum, "pow": np.power,
    "equal": _cmp(np.equal), "not_equal": _cmp(np.not_equal), "greater": _cmp(np.greater),
    "greater_equal": _cmp(np.greater_equal), "less": _cmp(np.less),
    "less_equal": _cmp(np.less_equal),
    "where": lambda c, a, b: np.where(c != 0, a, b),
}
ARITY = {name: (3 if name == "where" else 2 if name in (
    "add", "sub", "mul", "div", "maximum", "minimum", "pow", "equal", "not_equal", "greater",
    "greater_equal", "less", "less_equal") else 1) for name in NUMPY_FN}
ELEMENTWISE_OPS: dict[str, OpDef] = {}


def _lower_single(lowerer, node: Node) -> None:
    program = ((node.op, tuple(range(len(node.inputs))), None),)
    lowerer.elementwise(node, program, stores=(len(node.inputs),))


def _define(name: str, vjp: Optional[Callable], nondiff: str = "") -> None:
    op = define_op(name, "elementwise", nondiff_reason=nondiff)
    op.shape(_elementwise_shape_rule)
    fn = NUMPY_FN[name]

    def reference(attrs: dict, *arrays: np.ndarray) -> tuple:
        return (np.asarray(fn(*arrays)),)

    op.reference(reference)
    op.lower(_lower_single)
    if vjp is not None:
        op.vjp(vjp)
    ELEMENTWISE_OPS[name] = op


def _unbroadcast(b: Builder, grads: list[Optional[Value]], node: Node) -> list[Optional[Value]]:
    return [None if g is None else b.sum_to_shape(g, x.shape)
            for g, x in zip(grads, node.inputs)]


def _zero_grad(b: Builder, node: Node, cts: list) -> list:
    return [None] * len(node.inputs)


# ---- gradient rules (g is the output cotangent, y the output) ----------------------------
def _add_vjp(b: Builder, node: Node, cts: list) -> list:
    return _unbroadcast(b, [cts[0], cts[0]], node)


def _sub_vjp(b: Builder, node: Node, cts: list) -> list:
    return _unbroadcast(b, [cts[0], b.neg(cts[0])], node)


def _mul_vjp(b: Builder, node: Node, cts: list) -> list:
    g, (x, y) = cts[0], node.inputs
    return _unbroadcast(b, [b.mul(g, y), b.mul(g, x)], node)


def _div_vjp(b: Builder, node: Node, cts: list) -> list:
    g, y, out = cts[0], node.inputs[1], node.outputs[0]
    gx = b.emit("div", g, y)
    return _unbroadcast(b, [gx, b.neg(b.mul(gx, out))], node)


def _select_vjp(pick_first: str) -> Callable:
    def vjp(b: Builder, node: Node, cts: list) -> list:
        g, (x, y) = cts[0], node.inputs
        first = b.emit(pick_first, x, y)
        second = b.emit("sub", b.scalar_like(1.0, first), first)
        return _unbroadcast(b, [b.mul(g, first), b.mul(g, second)], node)
    return vjp


def _pow_vjp(b: Builder, node: Node, cts: list) -> list:
    g, (x, p), out = cts[0], node.inputs, node.outputs[0]
    p_minus_1 = b.emit("sub", p, b.scalar_like(1.0, p))
    gx = b.mul(b.mul(g, p), b.emit("pow", x, p_minus_1))
    gp = b.mul(b.mul(g, out), b.emit("log", x))
    return _unbroadcast(b, [gx, gp], node)


def _where_vjp(b: Builder, node: Node, cts: list) -> list:
    g, (cond, _, _) = cts[0], node.inputs
    zero = b.scalar_like(0.0, g)
    return _unbroadcast(b, [None, b.emit("where", cond, g, zero),
                            b.emit("where", cond, zero, g)], node)


def _unary_vjp(local: Callable[[Builder, Value, Value], Value]) -> Callable:
    """Gradient rules of the form g * f'(x), with f'(x) built from the input x and output y."""
    def vjp(b: Builder, node: Node, cts: list) -> list:
        return [b.mul(cts[0], local(b, node.inputs[0], node.outputs[0]))]
    return vjp


_define("add", _add_vjp)
_define("sub", _sub_vjp)
_define("mul", _mul_vjp)
_define("div", _div_vjp)
_define("maximum", _select_vjp("greater_equal"))
_define("minimum", _select_vjp("less_equal"))
_define("pow", _pow_vjp)
_define("where", _where_vjp)
_define("neg", lambda b, node, cts: [b.neg(cts[0])])
_define("exp", _unary_vjp(lambda b, x, y: y))
_define("log", lambda b, node, cts: [b.emit("div", cts[0], node.inputs[0])])
_define("sqrt", _unary_vjp(lambda b, x, y: b.emit("div", b.scalar_like(0.5, y), y)))
_define("square", _unary_vjp(lambda b, x, y: b.mul(b.scalar_like(2.0, x), x)))
_define("abs", _unary_vjp(lambda b, x, y: b.emit("sign", x)))
_define("reciprocal", _unary_vjp(lambda b, x, y: b.neg(b.mul(y, y))))
for _name in ("sign", "round", "floor", "ceil", "equal", "not_equal", "greater",
              "greater_equal", "less", "less_equal"):
    # Piecewise-constant: the gradient is zero almost everywhere, as in Keras.
    _define(_name, _zero_grad)


# ---- constants --------------------------------------------------------------------------
const = define_op("const", "constant", nondiff_reason="a constant has no inputs")


@const.shape
def _const_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    return [((), attrs["dtype"])]


@const.reference
def _const_reference(attrs: dict) -> tuple:
    return (np.array(attrs["value"], dtype=attrs["dtype"]),)


@const.lower
def _const_lower(lowerer, node: Node) -> None:
    lowerer.constant(node.outputs[0], node.attrs["value"])


# ---- fused_elementwise: a chain of the ops above, one pass over memory --------------------
# attrs: program = ((op, args, value), ...) in SSA form over "locals": locals 0..k-1 are the
# node's inputs, step i defines local k+i; ``const`` steps carry their value, ``identity``
# steps (from broadcast_like) carry (source, like). stores = the locals that become outputs.
fused_elementwise = define_op("fused_elementwise", "fused",
                              nondiff_reason="fusion runs after differentiation")


@fused_elementwise.shape
def _fused_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    shape = tuple(attrs["shape"])
    for v in inputs:
        broadcast_shapes(v.shape, shape)
    return [(shape, attrs["dtype"])] * len(attrs["stores"])


def run_program(program, stores, arrays: list[np.ndarray], dtype: str) -> tuple:
    """Evaluate a fused program with numpy (the reference of fused_elementwise)."""
    local = list(arrays)
    for op, args, value in program:
        if op == "const":
            local.append(np.array(value, dtype=dtype))
        elif op == "identity":
            src, like = args
            local.append(np.broadcast_to(local[src], local[like].shape))
        else:
            local.append(np.asarray(NUMPY_FN[op](*(local[a] for a in args))))
    return tuple(np.ascontiguousarray(local[s], dtype=dtype) for s in stores)


@fused_elementwise.reference
def _fused_reference(attrs: dict, *arrays: np.ndarray) -> tuple:
    outs = run_program(attrs["program"], attrs["stores"], list(arrays), attrs["dtype"])
    # Every input broadcasts to the fused shape, so together they give its batch size.
    static = tuple(1 if d is None else d for d in attrs["shape"])
    shape = np.broadcast_shapes(static, *(a.shape for a in arrays))
    return tuple(np.broadcast_to(o, shape).copy() for o in outs)


@fused_elementwise.lower
def _fused_lower(lowerer, node: Node) -> None:
    lowerer.elementwise(node, node.attrs["program"], node.attrs["stores"])
