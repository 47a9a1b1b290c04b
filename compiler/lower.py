"""Lowering: an optimized graph becomes a flat list of kernel calls over planned buffers.

Each op's ``lower`` rule calls one method of ``Lowerer`` below, which records a ``Call``: the
kernel, its dtype, its fields (ints, buffers, float constants) and the values it reads and
writes. Storage is then planned (compiler/memplan.py) and ``compiler/plan.py`` encodes the
calls into the executor's tables.

Sizes that depend on the batch are "dims": an int >= 0 is fixed; an int < 0 means
(-dim) * n_rows at run time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np

from compiler.ir import Graph, Node, Shape, Value, get_op

DTYPE_CODE = {"float32": 0, "float64": 1, "int64": 2}


def dims(shape: Shape) -> int:
    """The element count of ``shape`` as a dim (negative when it scales with the batch)."""
    total, batched = 1, False
    for d in shape:
        if d is None:
            batched = True
        else:
            total *= d
    return -total if batched else total


def _matrix_dims(v: Value, transpose: bool) -> tuple[int, int]:
    """(rows, cols) as dims of op(v) for v viewed as (all leading axes, last axis)."""
    rows, cols = dims(v.shape[:-1]), dims(v.shape[-1:])
    return (cols, rows) if transpose else (rows, cols)


@dataclass(frozen=True)
class Buf:
    value: Value


@dataclass(frozen=True)
class Const:
    value: float


Field = Union[int, Buf, Const]


@dataclass
class EwProgram:
    """The side tables of one element-wise chain call."""

    rows: list[tuple[int, int, int, int, int]]  # (op, dst, a, b, c); const a = Const index
    operands: list[Value]
    bcast: list[tuple[int, int]]  # encoded (red, inner) per operand
    consts: list[float]


@dataclass
class Call:
    kernel: str
    dtype: str
    fields: list[Field]
    reads: list[Value]
    writes: list[Value]
    note: str = ""
    ew: Optional[EwProgram] = None
    flops: int = 0  # multiply-adds x 2; per batch row when flops_per_row
    flops_per_row: bool = False


def _broadcast_pair(operand: Shape, out: Shape) -> tuple[int, int]:
    """(red, inner) such that operand element = out element's (i // (red*inner))*inner + i%inner."""
    rank = len(out)
    s = (1,) * (rank - len(operand)) + tuple(operand)
    kinds = []
    for sd, od in zip(s, out):
        if od == 1:
            kinds.append("any")
        elif sd == od:
            kinds.append("keep")
        else:
            kinds.append("bcast")
    if "bcast" not in kinds:
        return 1, 1
    first = kinds.index("bcast")
    last = rank - 1 - kinds[::-1].index("bcast")
    if "keep" in kinds[first:last + 1]:
        raise NotImplementedError(
            f"broadcasting {operand} to {out} needs two separate broadcast axis ranges, which "
            f"the element-wise kernel does not support yet")
    return dims(out[first:last + 1]), dims(out[last + 1:])


def _split_k_scratch(m: int, n: int, k: int, dtype: str) -> Optional[Value]:
    """Room for the partial products of a GEMM whose long inner dimension the kernel may cut
    (blas.pxd gemm_split_k), or None when its static sizes never allow that."""
    if k < 0 or (m < 0 and n < 0):
        return None
    blas = importlib.import_module("cthulhu._kernels.blas")
    blocks = blas.split_k_max_blocks_np(k, max(d for d in (m, n) if d >= 0))
    if blocks <= 1:
        return None
    size = (blocks - 1) * abs(m) * abs(n)
    return Value((None, size) if min(m, n) < 0 else (size,), dtype)


def _codes() -> Any:
    """The kernels' integer codes (imported late: the interpreter needs no native code)."""
    return importlib.import_module("cthulhu._kernels.codes")


def _phase_of(graph: Graph) -> dict[Node, int]:
    """Execution phase of each node (a stable sort by phase keeps a valid order).

    Optimizer updates write state in place, so they run after every node that does not need
    them (0); then the updates (1); then what reads updated values, such as weight
    constraints (2); the iteration counter moves last (3), after everything that reads it.
    """
    after_update: set[int] = set()
    phase: dict[Node, int] = {}
    for node in graph.nodes:
        if node.op == "increment":
            phase[node] = 3
        elif get_op(node.op).group == "update":
            phase[node] = 1
            after_update.update(v.id for v in node.outputs)
        elif any(v.id in after_update for v in node.inputs):
            phase[node] = 2
            after_update.update(v.id for v in node.outputs)
        else:
            phase[node] = 0
    return phase


# Optimizer update op -> (executor kernel, its slot fields in order (0 when the op has no such
# slot), its float hyper-parameters in order). See cthulhu/_kernels/executor.pyx.
_UPDATE_KERNELS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "sgd_update": ("sgd", ("momentum",), ("lr", "momentum")),
    "adam_update": ("adam", ("m", "v", "vhat"), ("lr", "beta_1", "beta_2", "epsilon")),
    "rmsprop_update": ("rmsprop", ("velocity", "momentum", "average_gradient"),
                       ("lr", "rho", "momentum", "epsilon")),
    "adagrad_update": ("adagrad", ("accumulator",), ("lr", "epsilon")),
    "adadelta_update": ("adadelta", ("accumulated_grad", "accumulated_delta_var"),
                        ("lr", "rho", "epsilon")),
    "adamax_update": ("adamax", ("m", "u"), ("lr", "beta_1", "beta_2", "epsilon")),
    "nadam_update": ("nadam", ("m", "v"), ("lr", "beta_1", "beta_2", "epsilon")),
}


class Lowerer:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.aliases: dict[int, Value] = {}  # value id -> value whose storage it shares
        # Values whose contents are known when the plan is built, and those contents.
        self.constants: dict[int, tuple[Value, np.ndarray]] = {}

    # ---- driving ------------------------------------------------------------------------
    def lower_graph(self, graph: Graph) -> None:
        for node in sorted(graph.nodes, key=_phase_of(graph).__getitem__):
            self.lower_node(node)
        for param, new in graph.assigns:
            if self.root(new) is not param:
                self.calls.append(Call("cast", param.dtype, [dims(param.shape), Buf(new),
                                       Buf(param), DTYPE_CODE[new.dtype],
                                       DTYPE_CODE[param.dtype]], [new], [param], "assign"))

    def lower_node(self, node: Node) -> None:
        rule = get_op(node.op).lower_rule
        assert rule is not None, node.op
        start = len(self.calls)
        rule(self, node)
        for call in self.calls[start:]:
            call.note = call.note or f"{node.op}" + (f" ({node.origin})" if node.origin else "")

    def root(self, v: Value) -> Value:
        while v.id in self.aliases:
            v = self.aliases[v.id]
        return v

    # ---- storage ------------------------------------------------------------------------
    def alias(self, out: Value, src: Value) -> None:
        self.aliases[out.id] = src

    def constant(self, out: Value, value: float) -> None:
        self.constants[out.id] = (out, np.array(value, dtype=out.dtype))

    def constant_array(self, out: Value, array: np.ndarray) -> None:
        self.constants[out.id] = (out, np.ascontiguousarray(array, dtype=out.dtype))

    def fill_scalar(self, out: Value, count: int, per_row: bool) -> None:
        self.calls.append(Call("fill", out.dtype, [1, Buf(out), Const(count), int(per_row)],
                               [], [out]))

    # ---- kernels ------------------------------------------------------------------------
    def gemm(self, node: Node, bias: Optional[Value], fn: str) -> None:
        a, b = node.inputs[:2]
        ta = bool(node.attrs.get("transpose_a", False))
        tb = bool(node.attrs.get("transpose_b", False))
        # An operand of rank > 2 is the matrix (all leading axes, last axis).
        m, k = _matrix_dims(a, ta)
        n = _matrix_dims(b, tb)[1]
        out = node.outputs[0]
        reads = [a, b] + ([bias] if bias is not None else [])
        scratch = _split_k_scratch(m, n, k, out.dtype)
        self.calls.append(Call(
            "gemm", out.dtype,
            [int(ta), int(tb), m, n, k, Buf(a), Buf(b), Buf(out),
             Buf(bias) if bias is not None else 0, _codes().ACTIVATIONS[fn],
             Buf(scratch) if scratch is not None else 0],
            reads, [out] + ([scratch] if scratch is not None else []),
            flops=2 * abs(m) * abs(n) * abs(k), flops_per_row=min(m, n, k) < 0))

    def conv(self, node: Node, mode: int, a: Value, b: Value, spatial: tuple, kernel: tuple,
             bias: Optional[Value] = None, fn: str = "linear") -> None:
        """compiler/ops/conv.py: mode 0 conv(x, w) (with its bias + activation epilogue),
        1 input grad (g, w), 2 kernel grad (x, g). The geometry is an int64 constant table;
        the kernel's working buffers (im2col columns, or the direct method's packed kernel
        and padded samples) go to an arena scratch."""
        from compiler.ops.conv import conv_geometry
        out = node.outputs[0]
        # The kernel operand (mode 2: the gradient g) gives the filters; C is x's last axis.
        channels = int(b.shape[-2] if mode == 1 else a.shape[-1])  # type: ignore[arg-type]
        filters = int(b.shape[-1])  # type: ignore[arg-type]
        geom, size = conv_geometry(node.attrs, spatial, kernel, channels, filters, out.dtype,
                                   mode)
        table = Value((len(geom),), "int64")
        self.constant_array(table, geom)
        scratch = Value((size,), out.dtype)
        # Per sample: output pixels x kernel pixels x C x F, whichever the mode.
        macs = int(np.prod(geom[8:11])) * int(np.prod(kernel)) * channels * filters
        self.calls.append(Call("conv", out.dtype, [mode, Buf(table), Buf(a), Buf(b), Buf(out),
                                                   Buf(scratch),
                                                   Buf(bias) if bias is not None else 0,
                                                   _codes().ACTIVATIONS[fn]],
                               [a, b, table] + ([bias] if bias is not None else []),
                               [out, scratch], flops=2 * macs,
                               flops_per_row=True))

    def batch_gemm(self, node: Node) -> None:
        """One GEMM per index of the first axis of rank-3 operands."""
        (a, b), (out,) = node.inputs, node.outputs
        ta, tb = bool(node.attrs["transpose_a"]), bool(node.attrs["transpose_b"])
        _, m, n = out.shape
        k = a.shape[1] if ta else a.shape[2]
        assert m is not None and n is not None and k is not None
        batch = dims(out.shape[:1])
        self.calls.append(Call("batch_gemm", out.dtype, [int(ta), int(tb), batch, m, n, k,
                                                         Buf(a), Buf(b), Buf(out)],
                               [a, b], [out], flops=2 * abs(batch) * m * n * k,
                               flops_per_row=batch < 0))

    def _rows_cols(self, v: Value) -> tuple[int, int]:
        cols = v.shape[-1] if v.rank else 1
        assert cols is not None
        return dims(v.shape[:-1]), cols

    def activation(self, node: Node) -> None:
        (x,), (y,) = node.inputs, node.outputs
        rows, cols = self._rows_cols(x)
        self.calls.append(Call("activation", y.dtype, [_codes().ACTIVATIONS[node.attrs["fn"]], rows,
                               cols, Buf(x), Buf(y)], [x], [y]))

    def activation_grad(self, node: Node, bias_grad: Optional[Value]) -> None:
        (y, dy), dx = node.inputs, node.outputs[0]
        rows, cols = self._rows_cols(y)
        fields: list[Field] = [_codes().ACTIVATIONS[node.attrs["fn"]], rows, cols, Buf(y),
                               Buf(dy), Buf(dx)]
        writes = [dx]
        if bias_grad is not None:
            # The column sums' per-block partials (activations.pxd act_bwd_bias).
            activations = importlib.import_module("cthulhu._kernels.activations")
            partials = Value((activations.COLSUM_PARTIALS_PER_COLUMN * cols,), "float64")
            fields += [Buf(bias_grad), Buf(partials)]
            writes += [bias_grad, partials]
        self.calls.append(Call("activation_grad", dx.dtype, fields, [y, dy], writes))

    def elementwise(self, node: Node, program, stores) -> None:
        shape = node.outputs[0].shape
        inputs = list(node.inputs)
        operands: list[Value] = []
        bcast: list[tuple[int, int]] = []
        consts: list[float] = []
        rows: list[tuple[int, int, int, int, int]] = []
        reg_of: dict[int, int] = {}  # local -> register
        next_reg = 0

        def new_reg() -> int:
            nonlocal next_reg
            next_reg += 1
            if next_reg > 16:
                raise NotImplementedError("element-wise group needs more than 16 registers")
            return next_reg - 1

        def load(local: int) -> int:
            if local not in reg_of:
                v = inputs[local]
                operands.append(v)
                bcast.append(_broadcast_pair(v.shape, shape))
                reg_of[local] = new_reg()
                rows.append((0, reg_of[local], len(operands) - 1, 0, 0))
            return reg_of[local]

        EW_OPS = _codes().EW_OPS

        for step, (op, args, value) in enumerate(program):
            local = len(inputs) + step
            if op == "identity":
                src = args[0]
                reg_of[local] = load(src) if src < len(inputs) else reg_of[src]
                continue
            if op == "const":
                reg_of[local] = new_reg()
                consts.append(float(value))
                rows.append((EW_OPS["const"], reg_of[local], len(consts) - 1, 0, 0))
                continue
            regs = [load(a) if a < len(inputs) else reg_of[a] for a in args] + [0, 0]
            reg_of[local] = new_reg()
            rows.append((EW_OPS[op], reg_of[local], regs[0], regs[1], regs[2]))
        for out, local in zip(node.outputs, stores):
            if local < len(inputs):
                load(local)
            operands.append(out)
            bcast.append((1, 1))
            rows.append((EW_OPS["store"], len(operands) - 1, reg_of[local], 0, 0))
        n_inputs = len(operands) - len(node.outputs)
        self.calls.append(Call("ew", node.outputs[0].dtype, [dims(shape)], operands[:n_inputs],
                               list(node.outputs), ew=EwProgram(rows, operands, bcast, consts)))

    def reduce(self, node: Node, kind: str) -> None:
        (x,), (y,) = node.inputs, node.outputs
        axes = node.attrs["axes"]
        if axes and list(axes) != list(range(axes[0], axes[-1] + 1)):
            raise NotImplementedError(f"reducing over non-adjacent axes {axes} is not "
                                      f"supported yet")
        first = axes[0] if axes else x.rank
        last = axes[-1] + 1 if axes else x.rank
        self.calls.append(Call("reduce", y.dtype, [_codes().REDUCTIONS[kind], dims(x.shape[:first]),
                               dims(x.shape[first:last]), dims(x.shape[last:]), Buf(x),
                               Buf(y)], [x], [y]))

    def copy2d(self, src: Value, dst: Value, rows: int, cols: int, src_ld: int,
               src_offset: int, dst_ld: int, dst_offset: int) -> None:
        """dst[r, dst_offset + j] = src[r, src_offset + j] over (rows, cols), row strides
        src_ld / dst_ld (elements). Several calls may fill parts of one dst."""
        self.calls.append(Call("copy2d", dst.dtype, [rows, cols, Buf(src), src_ld, src_offset,
                                                     Buf(dst), dst_ld, dst_offset],
                               [src], [dst]))

    def transpose(self, node: Node) -> None:
        (x,), (y,) = node.inputs, node.outputs
        pad = 5 - x.rank
        fields: list[Field] = [x.rank, Buf(x), Buf(y)]
        fields += [dims((d,)) for d in x.shape] + [1] * pad
        fields += [int(p) for p in node.attrs["perm"]] + list(range(x.rank, 5))
        self.calls.append(Call("transpose", y.dtype, fields, [x], [y]))

    def cast(self, node: Node) -> None:
        (x,), (y,) = node.inputs, node.outputs
        self.calls.append(Call("cast", y.dtype, [dims(x.shape), Buf(x), Buf(y),
                               DTYPE_CODE[x.dtype], DTYPE_CODE[y.dtype]], [x], [y]))

    def softmax_xent(self, node: Node) -> None:
        (z, t), (loss, probs) = node.inputs, node.outputs
        rows, cols = self._rows_cols(z)
        self.calls.append(Call("softmax_xent", z.dtype, [int(node.attrs["sparse"]), rows, cols,
                               Buf(z), Buf(t), Buf(probs), Buf(loss)], [z, t], [probs, loss]))

    def softmax_xent_grad(self, node: Node) -> None:
        (probs, t, g), (dz,) = node.inputs, node.outputs
        rows, cols = self._rows_cols(probs)
        self.calls.append(Call("softmax_xent_grad", dz.dtype, [int(node.attrs["sparse"]), rows,
                               cols, Buf(probs), Buf(t), Buf(g), Buf(dz)], [probs, t, g], [dz]))

    def random_normal(self, node: Node) -> None:
        step, (y,) = node.inputs[1], node.outputs
        self.calls.append(Call("normal", y.dtype, [dims(y.shape), Buf(y), Buf(step),
                               int(node.attrs["seed"]), Const(node.attrs["mean"]),
                               Const(node.attrs["stddev"])], [step], [y]))

    def noise(self, node: Node, a: float, b: float) -> None:
        """random_uniform (low a, high b) or random_normal (mean a, stddev b)."""
        kernel = {"random_uniform": "uniform", "random_normal": "normal"}[node.op]
        step, (y,) = node.inputs[-1], node.outputs
        self.calls.append(Call(kernel, y.dtype, [dims(y.shape), Buf(y), Buf(step),
                               int(node.attrs["seed"]), Const(a), Const(b)], [step], [y]))

    def dropout(self, node: Node) -> None:
        (x, step), (y,) = node.inputs, node.outputs
        self.calls.append(Call("dropout", y.dtype, [dims(x.shape), Buf(x), Buf(y), Buf(step),
                               int(node.attrs["seed"]), Const(node.attrs["rate"])],
                               [x, step], [y]))

    def optimizer_update(self, node: Node) -> None:
        """One in-place kernel call per weight (Nadam: after one call advancing its schedule
        product). Fields: size, W, G, the slots (0 when absent), the scalar state addresses,
        the hyper-parameters, decay (SGD keeps its older field order)."""
        # Imported here: compiler.ops imports this module (a top-level import is a cycle).
        from compiler.ops.optim import UPDATED_SCALARS, update_layout
        attrs, k = node.attrs, node.attrs["k"]
        scalars, roles = update_layout(node.op, attrs)
        ins, outs = list(node.inputs), list(node.outputs)
        state = dict(zip(scalars, ins[:len(scalars)]))
        rest = ins[len(scalars):]
        # Updated scalar state lives in place too (outputs after the weights and slots).
        for role, out in zip([s for s in scalars if s in UPDATED_SCALARS],
                             outs[(1 + len(roles)) * k:]):
            self.alias(out, state[role])
        if node.op == "nadam_update":
            product, step = state["u_product"], state["step"]
            self.calls.append(Call("nadam_schedule", "float64",
                                   [Buf(product), Buf(step), Const(attrs["beta_1"])],
                                   [product, step], [product]))
        if node.op not in _UPDATE_KERNELS:
            raise NotImplementedError(f"no kernel for optimizer update {node.op!r}")
        kernel, slot_fields, hyper = _UPDATE_KERNELS[node.op]
        decay = Const(attrs.get("decay", 0.0))
        for i in range(k):
            w, g = rest[i], rest[k + i]
            slots = {role: rest[(2 + s) * k + i] for s, role in enumerate(roles)}
            self.alias(outs[i], w)
            for s, role in enumerate(roles):
                self.alias(outs[(1 + s) * k + i], slots[role])
            slot_bufs: list[Field] = [Buf(slots[r]) if r in slots else 0 for r in slot_fields]
            consts: list[Field] = [Const(attrs[name]) for name in hyper]
            head: list[Field] = [dims(w.shape), Buf(w), Buf(g)]
            if node.op == "sgd_update":
                fields = head + slot_bufs + consts + [int(attrs["nesterov"]),
                                                      Buf(state["step"]), decay]
            else:
                fields = head + slot_bufs + [Buf(v) for v in state.values()] + consts + [decay]
            slot_values = list(slots.values())
            self.calls.append(Call(kernel, w.dtype, fields,
                                   [w, g] + slot_values + list(state.values()),
                                   [w] + slot_values))

    def increment(self, node: Node) -> None:
        (count,), (out,) = node.inputs, node.outputs
        self.alias(out, count)
        self.calls.append(Call("increment", "int64", [Buf(count)], [count], [count]))

    def expanded(self, node: Node) -> None:
        from compiler.builder import Builder  # here: builder -> ops -> lower would be a cycle
        expand = get_op(node.op).expand_rule
        assert expand is not None
        b = Builder()
        b.origin = node.origin
        outs = expand(b, node.attrs, *node.inputs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        for sub in b.nodes:
            self.lower_node(sub)
        for out, sub_out in zip(node.outputs, outs):
            self.alias(out, sub_out)


def lower(graph: Graph) -> Lowerer:
    lowerer = Lowerer()
    lowerer.lower_graph(graph)
    return lowerer
