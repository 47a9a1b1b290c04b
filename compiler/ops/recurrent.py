"""Recurrent sequences: a SimpleRNN, GRU or LSTM cell run over every timestep as one op.

``rnn_sequence(xp, recurrent_kernel, h0[, c0][, mask][, recurrent_bias])``:

- xp (batch, T, G*u): the input projection of every timestep (x @ kernel + input bias),
  computed by the caller in one GEMM; G = 1 (simple), 3 (gru: z, r, h), 4 (lstm: i, f, c, o).
- recurrent_kernel (u, G*u); h0, c0 (batch, u) (c0 for lstm only); mask (batch, T), 0 or
  nonzero (attr ``masked``); recurrent_bias (3u,) for gru with reset_after only (attr
  ``recurrent_bias``).
- attrs: cell, units, go_backwards, activation, recurrent_activation, reset_after,
  zero_output_for_mask, masked, recurrent_bias.

Outputs: the output sequence (batch, T, u) in processing order (reversed with
go_backwards, as in Keras), the final h (and c for lstm), and ``saved`` (batch, T, W): per
timestep in time order, the post-activation gates, the states entering the step and what
the backward pass needs besides (layout in cthulhu/_kernels/recurrent.pxd).

Masks follow Keras's backend rnn: at a masked step the states keep their value and the
output repeats the previous output (zeros before the first step), or is zero with
zero_output_for_mask. GRU reset_after=False: h~ = act(xp_h + (r * h) @ U_h); reset_after:
h~ = act(xp_h + r * (h @ U_h + rb_h)), and z, r also get rb. h = z * h + (1 - z) * h~.
LSTM: c = f * c + i * act(xp_c + h @ U_c), h = o * act(c).

``rnn_sequence_grad`` is the whole backward pass through time as one op (its gradient is
not needed: no second derivatives of recurrent layers). With attr ``input_kernel`` (simple
and lstm; set by compiler/passes/recurrent.py) it also takes x (batch, T, d), the input of
the input projection, and ends its outputs with d kernel = x^T @ dxp (d, G*u), computed
with the recurrent kernel's gradient as one GEMM.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Optional

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.lower import Buf, Call, Field, dims
from compiler.ops.activation import FORWARD, activation_grad_reference
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

GATES = {"simple": 1, "gru": 3, "lstm": 4}
# Width of one timestep of ``saved``, in units.
SAVED_UNITS = {"simple": 2, "gru": 5, "lstm": 7}
CELL_CODES = {"simple": 0, "gru": 1, "lstm": 2}  # RnnCell in recurrent.pxd
# The forward outputs that may carry a cotangent, and the name of each in ``seeds``.
SEEDS = ("outputs", "h_last", "c_last", "saved")
_ATTRS = ("cell", "units", "go_backwards", "activation", "recurrent_activation",
          "reset_after", "zero_output_for_mask", "masked", "recurrent_bias")


def _lstm(attrs: dict) -> bool:
    return attrs["cell"] == "lstm"


def _input_names(attrs: dict) -> list[str]:
    return (["xp", "recurrent_kernel", "h0"] + ["c0"] * _lstm(attrs)
            + ["mask"] * bool(attrs["masked"])
            + ["recurrent_bias"] * bool(attrs["recurrent_bias"]))


def _grad_input_names(attrs: dict) -> list[str]:
    return ["recurrent_kernel_t", "saved"] + ["mask"] * bool(attrs["masked"]) + [
        f"d_{name}" for name in attrs["seeds"]] + ["x"] * bool(attrs.get("input_kernel"))


def _unpack(names: list[str], inputs) -> dict:
    if len(inputs) != len(names):
        raise ValueError(f"expected inputs ({', '.join(names)}), got {len(inputs)} inputs")
    return dict(zip(names, inputs))


def _check_attrs(attrs: dict) -> int:
    """The units, after checking the attributes."""
    missing = [a for a in _ATTRS if a not in attrs]
    if missing:
        raise ValueError(f"missing attributes {missing}")
    if attrs["cell"] not in GATES:
        raise ValueError(f"unknown cell {attrs['cell']!r}; known: {', '.join(GATES)}")
    for key in ("activation", "recurrent_activation"):
        if attrs[key] not in FORWARD:
            raise ValueError(f"unknown {key} {attrs[key]!r}")
    if attrs["recurrent_bias"] and not (attrs["cell"] == "gru" and attrs["reset_after"]):
        raise ValueError("a recurrent bias belongs to gru with reset_after=True only")
    units = int(attrs["units"])
    if units < 1:
        raise ValueError(f"units must be >= 1, got {units}")
    return units


def _check_value(name: str, v: Value, shape: Shape, dtype: str) -> None:
    if v.shape != shape or v.dtype != dtype:
        raise ValueError(f"{name} must be {dtype}{list(shape)}, got {v.dtype}{list(v.shape)}")


def _check_sequence(attrs: dict, named: dict, batch_steps: Shape, dtype: str) -> int:
    """Checks what the forward and the backward share; returns the units."""
    u = _check_attrs(attrs)
    if batch_steps[1] is None or batch_steps[1] < 1:
        raise ValueError(f"the sequence needs at least one timestep, got shape {batch_steps}")
    gu = GATES[attrs["cell"]] * u
    if "recurrent_kernel" in named:
        _check_value("recurrent_kernel", named["recurrent_kernel"], (u, gu), dtype)
    else:
        _check_value("recurrent_kernel_t", named["recurrent_kernel_t"], (gu, u), dtype)
    if "mask" in named:
        _check_value("mask", named["mask"], batch_steps, dtype)
    return u


# ---- the numpy references (plain loops over time: the oracles) -------------------------
def _steps(attrs: dict, steps: int) -> list[int]:
    """Timesteps in processing order."""
    order = list(range(steps))
    return order[::-1] if attrs["go_backwards"] else order


def _keep(mask: Optional[np.ndarray], t: int) -> np.ndarray:
    """(batch, 1) booleans: where the step is masked (the state is kept)."""
    if mask is None:
        return np.zeros((1, 1), bool)
    return (mask[:, t] == 0)[:, None]


def rnn_reference(attrs: dict, xp, kernel, h0, c0=None, mask=None, rb=None) -> tuple:
    """(outputs, h_last, [c_last,] saved) of one sequence, step by step."""
    act, ract = FORWARD[attrs["activation"]], FORWARD[attrs["recurrent_activation"]]
    cell, u = attrs["cell"], int(attrs["units"])
    batch, steps, gu = xp.shape
    y = np.zeros((batch, steps, u), xp.dtype)
    saved = np.zeros((batch, steps, SAVED_UNITS[cell] * u), xp.dtype)
    h, c, previous = h0, c0, np.zeros((batch, u), xp.dtype)
    for k, t in enumerate(_steps(attrs, steps)):
        x, s = xp[:, t], saved[:, t]
        s[:, gu:gu + u] = h
        cn = None
        if cell == "lstm":
            z = x + h @ kernel
            i, f, o = ract(z[:, :u]), ract(z[:, u:2 * u]), ract(z[:, 3 * u:])
            g = act(z[:, 2 * u:3 * u])
            cn = f * c + i * g
            tc = act(cn)
            hn = o * tc
            s[:, :gu] = np.concatenate([i, f, g, o], axis=1)
            s[:, gu + u:] = np.concatenate([c, tc], axis=1)
        elif cell == "gru":
            if attrs["reset_after"]:
                rec = h @ kernel + (rb if rb is not None else 0)
                zg, r = ract(x[:, :u] + rec[:, :u]), ract(x[:, u:2 * u] + rec[:, u:2 * u])
                extra = rec[:, 2 * u:]
                hc = act(x[:, 2 * u:] + r * extra)
            else:
                rec = h @ kernel[:, :2 * u]
                zg, r = ract(x[:, :u] + rec[:, :u]), ract(x[:, u:2 * u] + rec[:, u:])
                extra = r * h
                hc = act(x[:, 2 * u:] + extra @ kernel[:, 2 * u:])
            hn = zg * h + (1 - zg) * hc
            s[:, :gu] = np.concatenate([zg, r, hc], axis=1)
            s[:, gu + u:] = extra
        else:
            hn = act(x + h @ kernel)
            s[:, :gu] = hn
        keep = _keep(mask, t)
        out = np.where(keep, 0 if attrs["zero_output_for_mask"] else previous, hn)
        y[:, k] = out
        previous = out
        h = np.where(keep, h, hn)
        if cn is not None:
            c = np.where(keep, c, cn)
    return (y, h) + ((c,) if cell == "lstm" else ()) + (saved,)


def rnn_grad_reference(attrs: dict, kernel_t, saved, mask=None, d_outputs=None, d_h_last=None,
                       d_c_last=None, d_saved=None) -> tuple:
    """(dxp, d recurrent_kernel, dh0, [dc0,] [d recurrent_bias]) by backpropagation
    through the steps of ``rnn_reference``, given the transposed recurrent kernel."""
    cell, u = attrs["cell"], int(attrs["units"])
    batch, steps, _ = saved.shape
    gu = GATES[cell] * u
    dt = saved.dtype

    def ract_grad(y, dy):
        return activation_grad_reference(attrs["recurrent_activation"], y, dy)

    def act_grad(y, dy):
        return activation_grad_reference(attrs["activation"], y, dy)

    zero = np.zeros((batch, u), dt)
    dxp = np.zeros((batch, steps, gu), dt)
    dk = np.zeros(kernel_t.shape[::-1], dt)
    drb = np.zeros(3 * u, dt)
    dh = d_h_last if d_h_last is not None else zero
    dc = d_c_last if d_c_last is not None else zero
    carried = zero
    order = _steps(attrs, steps)
    for k in reversed(range(steps)):
        t = order[k]
        s = saved[:, t]
        cs = d_saved[:, t] if d_saved is not None else np.zeros_like(s)
        hp = s[:, gu:gu + u]
        m = 1.0 - _keep(mask, t).astype(dt)
        gy = (d_outputs[:, k] if d_outputs is not None else zero) + carried
        dhn = m * (dh + gy)
        carried = zero if attrs["zero_output_for_mask"] else (1 - m) * gy
        dh_prev = (1 - m) * dh + cs[:, gu:gu + u]
        if cell == "lstm":
            i, f, g, o = (s[:, j * u:(j + 1) * u] for j in range(4))
            cp, tc = s[:, 5 * u:6 * u], s[:, 6 * u:]
            dcn = m * dc + act_grad(tc, dhn * o + cs[:, 6 * u:])
            dpost = [dcn * g, dcn * cp, dcn * i, dhn * tc]
            dpre = np.concatenate(
                [fn(y, d + cs[:, j * u:(j + 1) * u])
                 for j, (fn, y, d) in enumerate(zip((ract_grad, ract_grad, act_grad, ract_grad),
                                                    (i, f, g, o), dpost))], axis=1)
            dc = (1 - m) * dc + dcn * f + cs[:, 5 * u:6 * u]
            drec, lhs = dpre, hp
            dh = dh_prev + dpre @ kernel_t
        elif cell == "gru":
            zg, r, hc, extra = s[:, :u], s[:, u:2 * u], s[:, 2 * u:gu], s[:, gu + u:]
            dz = ract_grad(zg, dhn * (hp - hc) + cs[:, :u])
            dph = act_grad(hc, dhn * (1 - zg) + cs[:, 2 * u:gu])
            dh_prev = dh_prev + dhn * zg
            if attrs["reset_after"]:
                dr = ract_grad(r, dph * extra + cs[:, u:2 * u])
                drec = np.concatenate([dz, dr, dph * r + cs[:, gu + u:]], axis=1)
                drb += drec.sum(axis=0)
                dk += hp.T @ drec
                dh = dh_prev + drec @ kernel_t
            else:
                drh = dph @ kernel_t[2 * u:] + cs[:, gu + u:]
                dr = ract_grad(r, drh * hp + cs[:, u:2 * u])
                dzr = np.concatenate([dz, dr], axis=1)
                dk[:, :2 * u] += hp.T @ dzr
                dk[:, 2 * u:] += extra.T @ dph
                dh = dh_prev + drh * r + dzr @ kernel_t[:2 * u]
            dpre = np.concatenate([dz, dr, dph], axis=1)
            drec = None
        else:
            dpre = act_grad(s[:, :u], dhn + cs[:, :u])
            drec, lhs = dpre, hp
            dh = dh_prev + dpre @ kernel_t
        if drec is not None:
            dk += lhs.T @ drec
        dxp[:, t] = dpre
    out = (dxp, dk, dh) + ((dc,) if cell == "lstm" else ())
    return tuple(np.asarray(a, dt) for a in out + ((drb,) if attrs["recurrent_bias"] else ()))


# ---- lowering ---------------------------------------------------------------------------
def config_table(attrs: dict, steps: int) -> np.ndarray:
    """The int64 config table the kernels read (rnn_config in recurrent.pxd)."""
    codes = importlib.import_module("cthulhu._kernels.codes").ACTIVATIONS
    return np.array([CELL_CODES[attrs["cell"]], int(attrs["units"]), steps,
                     int(attrs["go_backwards"]), int(attrs["reset_after"]),
                     int(attrs["zero_output_for_mask"]), codes[attrs["activation"]],
                     codes[attrs["recurrent_activation"]]], dtype=np.int64)


def _table_and_scratch(lowerer, attrs: dict, saved: Value, backward: bool
                       ) -> tuple[Value, Value, Value]:
    """The config table (a constant), an arena scratch sized by the kernels and the
    kernels' pack buffer (the recurrent kernel in the per-step GEMM's layout)."""
    kernels = importlib.import_module("cthulhu._kernels.recurrent")
    steps = saved.shape[1]
    assert steps is not None
    table = config_table(attrs, steps)
    table_value = Value((len(table),), "int64")
    lowerer.constant_array(table_value, table)
    per_row = kernels.scratch_per_row_np(table)[int(backward)]
    pack = Value((kernels.pack_size_np(table),), saved.dtype)
    return table_value, Value(saved.shape[:1] + (per_row,), saved.dtype), pack


def _ptr(v: Optional[Value]) -> Field:
    return Buf(v) if v is not None else 0


def _flops(attrs: dict, saved: Value) -> tuple[int, bool]:
    """Multiply-adds x 2 of the recurrent GEMMs (per batch row when batched)."""
    u = int(attrs["units"])
    steps = saved.shape[1]
    assert steps is not None
    per_row = 2 * steps * u * GATES[attrs["cell"]] * u
    rows = saved.shape[0]
    return (per_row, True) if rows is None else (per_row * rows, False)


# ---- rnn_sequence -----------------------------------------------------------------------
rnn_sequence = define_op("rnn_sequence", "fused")


@rnn_sequence.shape
def _shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    named = _unpack(_input_names(attrs), inputs)
    xp = named["xp"]
    if xp.rank != 3:
        raise ValueError(f"xp must be (batch, timesteps, gates * units), got {xp.shape}")
    u = _check_sequence(attrs, named, xp.shape[:2], xp.dtype)
    gu = GATES[attrs["cell"]] * u
    if xp.shape[2] != gu:
        raise ValueError(f"xp's last axis must be {gu} for a {attrs['cell']} cell of {u} "
                         f"units, got {xp.shape[2]}")
    state = (xp.shape[0], u)
    for name in ("h0", "c0"):
        if name in named:
            _check_value(name, named[name], state, xp.dtype)
    if "recurrent_bias" in named:
        _check_value("recurrent_bias", named["recurrent_bias"], (3 * u,), xp.dtype)
    out = [(xp.shape[:2] + (u,), xp.dtype), (state, xp.dtype)]
    if _lstm(attrs):
        out.append((state, xp.dtype))
    return out + [(xp.shape[:2] + (SAVED_UNITS[attrs["cell"]] * u,), xp.dtype)]


@rnn_sequence.reference
def _reference(attrs: dict, *arrays: np.ndarray) -> tuple:
    named = _unpack(_input_names(attrs), arrays)
    return rnn_reference(attrs, named["xp"], named["recurrent_kernel"], named["h0"],
                         named.get("c0"), named.get("mask"), named.get("recurrent_bias"))


@rnn_sequence.vjp
def _vjp(b: Builder, node: Node, cts: list) -> list:
    attrs = node.attrs
    names = _input_names(attrs)
    named = _unpack(names, node.inputs)
    outputs = ["outputs", "h_last"] + ["c_last"] * _lstm(attrs) + ["saved"]
    seeds = [(name, ct) for name, ct in zip(outputs, cts) if ct is not None]
    if not seeds:
        return [None] * len(names)
    # The backward multiplies by U^T at every step: it takes U^T, transposed once.
    kernel_t = b.emit("transpose", named["recurrent_kernel"], perm=(1, 0))
    ins = [kernel_t, node.outputs[-1]] + (
        [named["mask"]] if attrs["masked"] else []) + [ct for _, ct in seeds]
    grads = list(b.emit("rnn_sequence_grad", *ins, **attrs,
                        seeds=tuple(name for name, _ in seeds)))
    by_input = {"xp": grads[0], "recurrent_kernel": grads[1], "h0": grads[2]}
    if _lstm(attrs):
        by_input["c0"] = grads[3]
    if attrs["recurrent_bias"]:
        by_input["recurrent_bias"] = grads[-1]
    return [by_input.get(name) for name in names]


@rnn_sequence.lower
def _lower(lowerer, node: Node) -> None:
    named = _unpack(_input_names(node.attrs), node.inputs)
    outs = list(node.outputs)
    y, h_last, saved = outs[0], outs[1], outs[-1]
    c_last = outs[2] if _lstm(node.attrs) else None
    table, scratch, pack = _table_and_scratch(lowerer, node.attrs, saved, backward=False)
    fields: list[Field] = [Buf(table), dims(saved.shape[:1])]
    fields += [_ptr(named.get(name)) for name in ("xp", "recurrent_kernel", "h0", "c0", "mask",
                                                  "recurrent_bias")]
    fields += [Buf(y), Buf(h_last), _ptr(c_last), Buf(saved), Buf(scratch), Buf(pack)]
    flops, per_row = _flops(node.attrs, saved)
    lowerer.calls.append(Call("rnn_forward", y.dtype, fields, list(node.inputs) + [table],
                              outs + [scratch, pack], flops=flops, flops_per_row=per_row))


# ---- rnn_sequence_grad ------------------------------------------------------------------
rnn_sequence_grad = define_op(
    "rnn_sequence_grad", "fused",
    nondiff_reason="second derivatives of recurrent sequences are not supported")


@rnn_sequence_grad.shape
def _grad_shape(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    if any(name not in SEEDS for name in attrs.get("seeds", ())) or not attrs.get("seeds"):
        raise ValueError(f"seeds must name some of {SEEDS}, got {attrs.get('seeds')}")
    named = _unpack(_grad_input_names(attrs), inputs)
    saved = named["saved"]
    if saved.rank != 3:
        raise ValueError(f"saved must be (batch, timesteps, width), got {saved.shape}")
    u = _check_sequence(attrs, named, saved.shape[:2], saved.dtype)
    dt, cell = saved.dtype, attrs["cell"]
    _check_value("saved", saved, saved.shape[:2] + (SAVED_UNITS[cell] * u,), dt)
    state = (saved.shape[0], u)
    expected = {"d_outputs": saved.shape[:2] + (u,), "d_h_last": state, "d_c_last": state,
                "d_saved": saved.shape}
    if "c_last" in attrs["seeds"] and not _lstm(attrs):
        raise ValueError("only an lstm has a c_last")
    for name, shape in expected.items():
        if name in named:
            _check_value(name, named[name], shape, dt)
    gu = GATES[cell] * u
    out = [(saved.shape[:2] + (gu,), dt), ((u, gu), dt), (state, dt)]
    if _lstm(attrs):
        out.append((state, dt))
    if attrs["recurrent_bias"]:
        out.append(((3 * u,), dt))
    if attrs.get("input_kernel"):
        if cell == "gru":
            raise ValueError("input_kernel is for simple and lstm cells")
        x = named["x"]
        if x.rank != 3 or x.shape[:2] != saved.shape[:2] or x.dtype != dt:
            raise ValueError(f"x must be {dt}[{saved.shape[0]}, {saved.shape[1]}, d], got "
                             f"{x.dtype}{list(x.shape)}")
        out.append(((x.shape[2], gu), dt))
    return out


@rnn_sequence_grad.reference
def _grad_reference(attrs: dict, *arrays: np.ndarray) -> tuple:
    named = _unpack(_grad_input_names(attrs), arrays)
    grads = rnn_grad_reference(attrs, named["recurrent_kernel_t"], named["saved"],
                               named.get("mask"), named.get("d_outputs"),
                               named.get("d_h_last"), named.get("d_c_last"),
                               named.get("d_saved"))
    if not attrs.get("input_kernel"):
        return grads
    x, dxp = named["x"], grads[0]
    return grads + ((x.reshape(-1, x.shape[2]).T @ dxp.reshape(-1, dxp.shape[2])
                     ).astype(dxp.dtype),)


@rnn_sequence_grad.lower
def _grad_lower(lowerer, node: Node) -> None:
    attrs = node.attrs
    named = _unpack(_grad_input_names(attrs), node.inputs)
    saved, kernel_t = named["saved"], named["recurrent_kernel_t"]
    outs = list(node.outputs)
    dxp, dkernel, dh0 = outs[:3]
    dc0 = outs[3] if _lstm(attrs) else None
    drb = outs[3 + _lstm(attrs)] if attrs["recurrent_bias"] else None
    dw = outs[-1] if attrs.get("input_kernel") else None
    table, scratch, pack = _table_and_scratch(lowerer, attrs, saved, backward=True)
    batch = dims(saved.shape[:1])
    flops, per_row = _flops(attrs, saved)
    fields: list[Field] = [Buf(table), batch, Buf(kernel_t), _ptr(named.get("mask")),
                           Buf(saved)]
    fields += [_ptr(named.get(f"d_{name}")) for name in SEEDS]
    fields += [Buf(dxp), Buf(dh0), _ptr(dc0), Buf(scratch), Buf(pack)]
    lowerer.calls.append(Call("rnn_backward", dxp.dtype, fields,
                              [v for v in node.inputs if v is not named.get("x")] + [table],
                              [dxp, dh0] + ([dc0] if dc0 is not None else []) + [scratch, pack],
                              flops=flops, flops_per_row=per_row))
    fields = [Buf(table), batch, Buf(saved), Buf(dxp), Buf(scratch), Buf(dkernel), _ptr(drb)]
    reads, writes = [table, saved, dxp, scratch], [dkernel] + ([drb] if drb is not None else [])
    if dw is not None:   # both kernels' gradients as one GEMM (rnn_joint_weights)
        x, u = named["x"], int(attrs["units"])
        d, steps = int(x.shape[2]), int(saved.shape[1])
        kernels = importlib.import_module("cthulhu._kernels.recurrent")
        rows_work = Value(saved.shape[:1] + (steps * (d + u),), dxp.dtype)
        fixed_work = Value((kernels.joint_weights_fixed_size_np(config_table(attrs, steps),
                                                                d),), dxp.dtype)
        fields += [Buf(x), d, Buf(rows_work), Buf(fixed_work), Buf(dw)]
        reads.append(x)
        writes += [dw, rows_work, fixed_work]
        flops = flops * (d + u) // u
    lowerer.calls.append(Call("rnn_backward_weights", dxp.dtype, fields, reads, writes,
                              flops=flops, flops_per_row=per_row))
