"""fused_rnn: a SimpleRNN, GRU or LSTM cell run over a whole sequence as one fused op.

The recurrent layers call it (when their cell is a built-in one) instead of unrolling the
cell with K.rnn: the compiler's ``rnn_sequence`` op (compiler/ops/recurrent.py) runs every
timestep in one native call, and its gradient is one fused backward pass through time.
Gate layouts, masks and GRU reset_after are Keras's (see that module).
"""

from __future__ import annotations

from typing import Any, Optional

from compiler.ops.activation import FORWARD
from compiler.ops.recurrent import GATES
from cthulhu.backend._tracing import Tensor, _emit, _value


def _activation_name(what: str, fn: Any) -> str:
    """The kernel's name for an activation given by name, as None (linear) or as one of
    cthulhu.activations' functions."""
    from cthulhu import activations
    if fn is None:
        return "linear"
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", None)
    if isinstance(name, str) and name in FORWARD and (
            isinstance(fn, str) or getattr(activations, name, None) is fn):
        return name
    raise NotImplementedError(
        f"fused_rnn: the fused recurrent kernel has no {what} {fn!r}; it runs the built-in "
        f"activations {', '.join(FORWARD)} (unroll the cell with K.rnn for others)")


def fused_rnn(cell: str, xp: Any, recurrent_kernel: Any, h0: Any, c0: Any = None,
              mask: Any = None, *, go_backwards: bool = False, activation: Any = "tanh",
              recurrent_activation: Any = "hard_sigmoid", recurrent_bias: Any = None,
              reset_after: bool = False, zero_output_for_mask: bool = False
              ) -> tuple[Tensor, Tensor, Optional[Tensor]]:
    """(outputs (batch, T, u) in processing order, final h, final c for lstm else None).

    xp (batch, T, G*u) is the input projection of every timestep (x @ kernel + input bias);
    recurrent_kernel (u, G*u); h0, c0 (batch, u); mask (batch, T) of 0/1 or None;
    recurrent_bias (3u,) for gru with reset_after only."""
    if cell not in GATES:
        raise ValueError(f"fused_rnn: unknown cell {cell!r}; expected one of {list(GATES)}")
    lstm = cell == "lstm"
    if (c0 is not None) != lstm:
        raise ValueError("fused_rnn: c0 is required for an lstm and only for an lstm")
    if recurrent_bias is not None and not (cell == "gru" and reset_after):
        raise ValueError("fused_rnn: a recurrent bias belongs to gru with reset_after=True")
    xv = _value(xp)
    kernel = _value(recurrent_kernel, xv)
    inputs = [xv, kernel, _value(h0, xv)] + ([_value(c0, xv)] if lstm else [])
    if mask is not None:
        mv = _value(mask, xv)
        if mv.dtype != xv.dtype:
            mv = _emit("cast", mv, dtype=xv.dtype).value
        inputs.append(mv)
    if recurrent_bias is not None:
        inputs.append(_value(recurrent_bias, xv))
    outs = _emit("rnn_sequence", *inputs, cell=cell, units=int(kernel.shape[0]),
                 go_backwards=bool(go_backwards),
                 activation=_activation_name("activation", activation),
                 recurrent_activation=_activation_name("recurrent_activation",
                                                       recurrent_activation),
                 reset_after=bool(reset_after) and cell == "gru",
                 zero_output_for_mask=bool(zero_output_for_mask), masked=mask is not None,
                 recurrent_bias=recurrent_bias is not None)
    return outs[0], outs[1], (outs[2] if lstm else None)
