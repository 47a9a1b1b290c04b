"""Independent numpy recurrences for the recurrent layer tests: the Keras 2 cell formulas
written out step by step (gates i, f, c, o for the LSTM; z, r, h for the GRU)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .conv_reference import conv_nd


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def simple_step(x, states, w, act=np.tanh, **_):
    kernel, rec, bias = w
    h = act(x @ kernel + bias + states[0] @ rec)
    return h, [h]


def gru_step(x, states, w, act=np.tanh, ract=hard_sigmoid, reset_after=False):
    kernel, rec, bias = w
    h = states[0]
    u = h.shape[1]
    if reset_after:
        xs = x @ kernel + bias[0]
        hs = h @ rec + bias[1]
        z = ract(xs[:, :u] + hs[:, :u])
        r = ract(xs[:, u:2 * u] + hs[:, u:2 * u])
        cand = act(xs[:, 2 * u:] + r * hs[:, 2 * u:])
    else:
        xs = x @ kernel + bias
        z = ract(xs[:, :u] + h @ rec[:, :u])
        r = ract(xs[:, u:2 * u] + h @ rec[:, u:2 * u])
        cand = act(xs[:, 2 * u:] + (r * h) @ rec[:, 2 * u:])
    new = z * h + (1 - z) * cand
    return new, [new]


def lstm_gates(pre, c, act=np.tanh, ract=hard_sigmoid):
    u = c.shape[-1]
    i, f, g, o = (pre[..., k * u:(k + 1) * u] for k in range(4))
    c_new = ract(f) * c + ract(i) * act(g)
    h_new = ract(o) * act(c_new)
    return h_new, [h_new, c_new]


def lstm_step(x, states, w, act=np.tanh, ract=hard_sigmoid, **_):
    kernel, rec, bias = w
    h, c = states
    return lstm_gates(x @ kernel + bias + h @ rec, c, act, ract)


def conv_lstm_step(x, states, w, padding="valid", **_):
    kernel, rec, bias = w
    h, c = states
    pre = conv_nd(x, kernel, bias, padding=padding) + conv_nd(h, rec, padding="same")
    return lstm_gates(pre, c)


STEPS = {"simple": simple_step, "gru": gru_step, "lstm": lstm_step,
         "conv_lstm": conv_lstm_step}


def run(step, x, weights, states, mask: Optional[np.ndarray] = None,
        go_backwards: bool = False, **kwargs):
    """(outputs in processing order, final states). At a masked step the states stay and
    the output repeats the previous one (zeros at first), as Keras."""
    steps = x.shape[1]
    outputs = []
    previous = None
    for t in (reversed(range(steps)) if go_backwards else range(steps)):
        out, new = step(x[:, t], states, weights, **kwargs)
        if mask is not None:
            keep = mask[:, t].reshape((-1,) + (1,) * (out.ndim - 1)) != 0
            previous = np.zeros_like(out) if previous is None else previous
            out = np.where(keep, out, previous)
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        states, previous = new, out
        outputs.append(out)
    return np.stack(outputs, axis=1), states


def zeros_states(kind: str, batch: int, shape: tuple) -> list:
    n = 2 if kind in ("lstm", "conv_lstm") else 1
    return [np.zeros((batch,) + shape) for _ in range(n)]


def layer_reference(kind: str, units_shape: tuple, return_sequences=False, go_backwards=False,
                    **kwargs):
    """A harness reference (xs, weights) -> output of a recurrent layer over zero states."""
    def reference(xs, w):
        x = xs[0]
        outs, _ = run(STEPS[kind], x, w, zeros_states(kind, len(x), units_shape),
                      go_backwards=go_backwards, **kwargs)
        return outs if return_sequences else outs[:, -1]
    return reference
