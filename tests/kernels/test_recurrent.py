"""The recurrent kernels (cthulhu/_kernels/recurrent.pyx) against the numpy references of
compiler/ops/recurrent.py: every cell (GRU both ways), masks with fully masked rows and masked
steps, go_backwards, zero_output_for_mask, float32 and float64, batch 1 and odd sizes, 1 and 2
threads (bit for bit the same); and fused_rnn traced through K.function / K.gradients."""

from __future__ import annotations

import numpy as np
import pytest
from cthulhu._kernels.blas import gemm_k_blocks_np
from cthulhu._kernels.recurrent import rnn_backward_np, rnn_forward_np

from compiler.ops.recurrent import (
    GATES,
    SAVED_UNITS,
    config_table,
    rnn_grad_reference,
    rnn_reference,
)
from cthulhu import backend as K
from cthulhu.backend._recurrent_fused import fused_rnn
from cthulhu.layers import Input, LuKthu

CELLS = [("simple", False), ("gru", False), ("gru", True), ("lstm", False)]
TOLERANCE = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-11, atol=1e-12)}


def _attrs(cell, reset_after, units, go_backwards=False, zero_output=False, masked=True,
           activation="tanh", recurrent_activation="hard_sigmoid"):
    return dict(cell=cell, units=units, go_backwards=go_backwards, activation=activation,
                recurrent_activation=recurrent_activation, reset_after=reset_after,
                zero_output_for_mask=zero_output, masked=masked,
                recurrent_bias=cell == "gru" and reset_after)


def _inputs(rng, attrs, batch, steps, dtype):
    u, cell = attrs["units"], attrs["cell"]
    g = GATES[cell]
    xp = rng.normal(size=(batch, steps, g * u))
    kernel = rng.normal(size=(u, g * u)) / np.sqrt(u)
    h0 = rng.normal(size=(batch, u))
    c0 = rng.normal(size=(batch, u)) if cell == "lstm" else None
    mask = None
    if attrs["masked"]:
        mask = (rng.random((batch, steps)) > 0.3).astype(float)
        mask[0] = 0                       # a row fully masked
        mask[-1, -1] = mask[-1, 0] = 0    # masked first and last steps
    rb = rng.normal(size=3 * u) if attrs["recurrent_bias"] else None
    return [None if a is None else a.astype(dtype) for a in (xp, kernel, h0, c0, mask, rb)]


def _cotangents(rng, attrs, batch, steps, dtype, with_saved):
    u = attrs["units"]
    width = SAVED_UNITS[attrs["cell"]] * u
    d_c = rng.normal(size=(batch, u)) if attrs["cell"] == "lstm" else None
    d_saved = rng.normal(size=(batch, steps, width)) if with_saved else None
    return [None if a is None else a.astype(dtype) for a in
            (rng.normal(size=(batch, steps, u)), rng.normal(size=(batch, u)), d_c, d_saved)]


def _close(got, want, dtype, what):
    for i, (g, w) in enumerate(zip(got, want)):
        scale = max(1.0, float(np.max(np.abs(w))))
        np.testing.assert_allclose(g / scale, w / scale, **TOLERANCE[dtype],
                                   err_msg=f"{what}: output {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell,reset_after", CELLS)
@pytest.mark.parametrize("go_backwards,zero_output", [(False, False), (True, False),
                                                      (False, True), (True, True)])
@pytest.mark.parametrize("batch", [1, 5])
def test_kernels_match_the_references(cell, reset_after, go_backwards, zero_output, batch,
                                      dtype):
    rng = np.random.default_rng(0)
    steps = 6
    attrs = _attrs(cell, reset_after, 7, go_backwards, zero_output)
    xp, kernel, h0, c0, mask, rb = _inputs(rng, attrs, batch, steps, dtype)
    table = config_table(attrs, steps)
    want = rnn_reference(attrs, xp, kernel, h0, c0, mask, rb)
    y, h, c, saved = rnn_forward_np(table, xp, kernel, h0, c0, mask, rb)
    _close((y, h) + ((c,) if cell == "lstm" else ()) + (saved,), want, dtype, "forward")
    for with_saved in (False, True):
        cts = _cotangents(rng, attrs, batch, steps, dtype, with_saved)
        want = rnn_grad_reference(attrs, kernel.T, saved, mask, *cts)
        dxp, dk, dh0, dc0, drb = rnn_backward_np(table, kernel, saved, mask, *cts,
                                                 recurrent_bias=rb is not None)
        got = [dxp, dk, dh0] + [a for a in (dc0, drb) if a is not None]
        _close(got, want, dtype, f"backward (cotangent of saved: {with_saved})")


@pytest.mark.parametrize("cell,reset_after", CELLS)
def test_absent_mask_cotangents_and_states(cell, reset_after):
    """No mask; only the final state has a cotangent (a layer without return_sequences)."""
    rng = np.random.default_rng(1)
    steps, batch = 3, 4
    attrs = _attrs(cell, reset_after, 5, masked=False, activation="softsign",
                   recurrent_activation="sigmoid")
    xp, kernel, h0, c0, _, rb = _inputs(rng, attrs, batch, steps, np.float64)
    table = config_table(attrs, steps)
    y, h, c, saved = rnn_forward_np(table, xp, kernel, h0, c0, None, rb)
    want = rnn_reference(attrs, xp, kernel, h0, c0, None, rb)
    _close((y, h) + ((c,) if cell == "lstm" else ()) + (saved,), want, np.float64, "forward")
    np.testing.assert_array_equal(y[:, -1], h)
    d_h = rng.normal(size=(batch, 5))
    want = rnn_grad_reference(attrs, kernel.T, saved, d_h_last=d_h)
    dxp, dk, dh0, dc0, drb = rnn_backward_np(table, kernel, saved, d_h=d_h,
                                             recurrent_bias=rb is not None)
    _close([dxp, dk, dh0] + [a for a in (dc0, drb) if a is not None], want, np.float64,
           "backward")


def _same_bits_on_1_and_2_threads(table, xp, kernel, h0, c0, mask, rb, cts):
    """Forward and backward on 1 and 2 threads, which must agree bit for bit; the
    1-thread results (outputs then gradients, absent ones left out)."""
    runs = []
    for nt in (1, 2):
        fwd = rnn_forward_np(table, xp, kernel, h0, c0, mask, rb, n_threads=nt)
        bwd = rnn_backward_np(table, kernel, fwd[3], mask, *cts,
                              recurrent_bias=rb is not None, n_threads=nt)
        runs.append([a for a in fwd + bwd if a is not None])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    return runs


@pytest.mark.parametrize("cell,reset_after", CELLS)
@pytest.mark.parametrize("batch", [33, 70])
def test_parts_on_threads_give_the_same_bits(cell, reset_after, batch):
    """Batches of two or more parts: 1 and 2 threads agree bit for bit, and with the
    reference."""
    rng = np.random.default_rng(2)
    steps = 5
    attrs = _attrs(cell, reset_after, 24, go_backwards=True)
    xp, kernel, h0, c0, mask, rb = _inputs(rng, attrs, batch, steps, np.float32)
    table = config_table(attrs, steps)
    cts = _cotangents(rng, attrs, batch, steps, np.float32, False)
    runs = _same_bits_on_1_and_2_threads(table, xp, kernel, h0, c0, mask, rb, cts)
    want = rnn_reference(attrs, xp, kernel, h0, c0, mask, rb)
    _close(runs[0][:len(want)], want, np.float32, "forward")


@pytest.mark.parametrize("recurrent_activation", ["hard_sigmoid", "sigmoid"])
@pytest.mark.parametrize("cell,reset_after", CELLS)
def test_wide_cells_use_every_tile_and_block(cell, reset_after, recurrent_activation):
    """40 units: the float32 per-step kernel's 16-column panels and a tail, gate widths
    past its k-block of 128 (backward), row tiles of 6 and their remainders (parts of 16
    and 17 rows), the one-pass lstm forward and backward rows (with both recurrent
    activations); against the reference, and 1 and 2 threads agree bit for bit."""
    rng = np.random.default_rng(3)
    steps, batch = 3, 33
    attrs = _attrs(cell, reset_after, 40, recurrent_activation=recurrent_activation)
    xp, kernel, h0, c0, mask, rb = _inputs(rng, attrs, batch, steps, np.float32)
    table = config_table(attrs, steps)
    cts = _cotangents(rng, attrs, batch, steps, np.float32, True)
    runs = _same_bits_on_1_and_2_threads(table, xp, kernel, h0, c0, mask, rb, cts)
    fwd = [a for a in rnn_forward_np(table, xp, kernel, h0, c0, mask, rb) if a is not None]
    _close(fwd, rnn_reference(attrs, xp, kernel, h0, c0, mask, rb), np.float32, "forward")
    want = rnn_grad_reference(attrs, kernel.T, fwd[-1], mask, *cts)
    _close(runs[0][len(fwd):], want, np.float32, "backward")


def test_config_is_checked():
    attrs = _attrs("lstm", False, 3)
    table = config_table(attrs, 2)
    x = np.zeros((2, 2, 12), np.float32)
    k = np.zeros((3, 12), np.float32)
    h = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="c0"):
        rnn_forward_np(table, x, k, h)
    with pytest.raises(ValueError, match="shape"):
        rnn_forward_np(table, x, np.zeros((3, 9), np.float32), h, h)
    with pytest.raises(ValueError, match="entries"):
        rnn_forward_np(table[:5], x, k, h, h)


# ---- through the backend: K.function and K.gradients ------------------------------------
@pytest.fixture
def float64():
    K.set_floatx("float64")
    yield
    K.set_floatx("float32")


@pytest.mark.parametrize("cell,reset_after,go_backwards", [
    ("lstm", False, False), ("gru", True, True), ("gru", False, False), ("simple", False, True)])
def test_fused_rnn_in_a_compiled_function(float64, cell, reset_after, go_backwards):
    rng = np.random.default_rng(3)
    batch, steps, features, u = 5, 4, 3, 4
    g = GATES[cell]
    kernel = K.variable(rng.normal(size=(features, g * u)) * 0.5)
    recurrent = K.variable(rng.normal(size=(u, g * u)) * 0.5)
    bias = K.variable(rng.normal(size=(g * u,)))
    rbias = K.variable(rng.normal(size=(3 * u,))) if reset_after else None
    weights = rng.normal(size=(1, steps, u))

    def run(args):
        x, h0, mask = args
        xp = K.dot(x, kernel) + bias
        y, h, c = fused_rnn(cell, xp, recurrent, h0, h0 * 0.5 if cell == "lstm" else None,
                            mask, go_backwards=go_backwards, recurrent_bias=rbias,
                            reset_after=reset_after, zero_output_for_mask=True)
        return [y, h]

    x, h0, mask = Input((steps, features)), Input((u,)), Input((steps,))
    y, h = LuKthu(run)([x, h0, mask])
    loss = K.sum(y * K.constant(weights)) + K.sum(h * h)
    wrt = [x, h0, recurrent] + ([rbias] if reset_after else [])
    data = [rng.normal(size=(batch, steps, features)), rng.normal(size=(batch, u)),
            (rng.random((batch, steps)) > 0.3).astype(float)]
    data[2][1] = 0
    got_y, got_h = K.function([x, h0, mask], [y, h])(data)
    grads = K.function([x, h0, mask], K.gradients(loss, wrt))(data)

    attrs = _attrs(cell, reset_after, u, go_backwards, zero_output=True)
    xp = data[0] @ K.get_value(kernel) + K.get_value(bias)
    rb = K.get_value(rbias) if reset_after else None
    k = K.get_value(recurrent)
    c0 = data[1] * 0.5 if cell == "lstm" else None
    ref = rnn_reference(attrs, xp, k, data[1], c0, data[2], rb)
    np.testing.assert_allclose(got_y, ref[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_h, ref[1], rtol=1e-12, atol=1e-12)
    d_c = np.zeros_like(data[1]) if cell == "lstm" else None
    dxp, dk, dh0, *rest = rnn_grad_reference(attrs, k.T, ref[-1], data[2],
                                             np.broadcast_to(weights, ref[0].shape),
                                             2 * ref[1], d_c)
    if cell == "lstm":
        dh0 = dh0 + 0.5 * rest.pop(0)
    want = [dxp @ K.get_value(kernel).T, dh0, dk] + rest
    for i, (a, b) in enumerate(zip(grads, want)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"gradient {i}")


def test_fused_rnn_refuses_what_the_kernel_cannot_do():
    with pytest.raises(NotImplementedError, match="activation"):
        _fused_on_variables(activation=lambda t: t * 2)
    with pytest.raises(ValueError, match="c0"):
        _fused_on_variables(cell="lstm")
    with pytest.raises(ValueError, match="recurrent bias"):
        _fused_on_variables(recurrent_bias=K.variable(np.zeros(12)))


def _fused_on_variables(cell="gru", **kwargs):
    xp = K.variable(np.zeros((2, 3, 12)))
    kernel = K.variable(np.zeros((4, 12)))
    h0 = K.variable(np.zeros((2, 4)))
    return fused_rnn(cell, xp, kernel, h0, **kwargs)


def test_fused_rnn_takes_activations_by_name_or_function():
    from cthulhu import activations
    for fn in ("relu", activations.relu, None):
        outputs, h, c = _fused_on_variables(activation=fn, recurrent_activation="sigmoid")
        assert outputs.shape == (2, 3, 4) and h.shape == (2, 4) and c is None


@pytest.mark.parametrize("cell,reset_after", CELLS)
def test_a_long_batch_times_steps_splits_the_weight_gradient(cell, reset_after):
    """B * T = 2048 rows against 48 units: every GEMM of rnn_backward_weights cuts its
    inner dimension into blocks (gemm_split_k, partials in the scratch, which the test
    wrapper fills with NaN first); against the reference, and 1 and 2 threads agree bit for
    bit."""
    rng = np.random.default_rng(4)
    steps, batch, units = 32, 64, 48
    for columns in (units, GATES[cell] * units):   # the narrowest and the widest product
        assert gemm_k_blocks_np(units, columns, batch * steps) > 1
    attrs = _attrs(cell, reset_after, units, recurrent_activation="sigmoid")
    xp, kernel, h0, c0, mask, rb = _inputs(rng, attrs, batch, steps, np.float32)
    table = config_table(attrs, steps)
    cts = _cotangents(rng, attrs, batch, steps, np.float32, False)
    runs = _same_bits_on_1_and_2_threads(table, xp, kernel, h0, c0, mask, rb, cts)
    fwd = [a for a in rnn_forward_np(table, xp, kernel, h0, c0, mask, rb) if a is not None]
    want = rnn_grad_reference(attrs, kernel.T, fwd[-1], mask, *cts)
    _close(runs[0][len(fwd):], want, np.float32, "backward")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell,batch,steps,units,d", [
    ("lstm", 5, 3, 4, 7),        # one block: a single BLAS call
    ("simple", 3, 2, 1, 2),
    ("lstm", 64, 32, 48, 24),    # B * T = 2048 rows: the joint GEMM cuts k (split-k)
    ("simple", 0, 4, 3, 5),      # an empty batch: zero gradients
])
def test_joint_weight_gradients(dtype, cell, batch, steps, units, d):
    """rnn_joint_weights: the input kernel's gradient x^T @ dxp and the recurrent kernel's
    from one GEMM over [x | h_prev] (work buffers NaN-filled by the wrapper): against
    x^T @ dxp and the reference, and the same bits on 1 and 2 threads."""
    rng = np.random.default_rng(5)
    attrs = _attrs(cell, False, units, masked=batch > 0, recurrent_activation="sigmoid")
    xp, kernel, h0, c0, mask, rb = _inputs(rng, attrs, batch, steps, dtype)
    table = config_table(attrs, steps)
    cts = _cotangents(rng, attrs, batch, steps, dtype, False)
    x = rng.normal(size=(batch, steps, d)).astype(dtype)
    saved = rnn_forward_np(table, xp, kernel, h0, c0, mask)[-1]
    runs = [rnn_backward_np(table, kernel, saved, mask, *cts, n_threads=threads, x=x)
            for threads in (1, 2)]
    for a, b in zip(*runs):
        assert (a is None and b is None) or a.tobytes() == b.tobytes()
    dxp, du, dw = runs[0][0], runs[0][1], runs[0][-1]
    if batch == 0:
        assert not du.any() and not dw.any() and dw.shape == (d, dxp.shape[2])
        return
    want = rnn_grad_reference(attrs, kernel.T, saved, mask, *cts)
    _close([dxp, du], want[:2], dtype, "joint")
    _close([dw], [x.reshape(-1, d).T @ want[0].reshape(-1, dxp.shape[2])], dtype, "dw")


def test_joint_weight_gradients_refuse_a_gru():
    attrs = _attrs("gru", False, 3, masked=False)
    rng = np.random.default_rng(6)
    xp, kernel, h0, c0, mask, rb = _inputs(rng, attrs, 2, 3, np.float32)
    table = config_table(attrs, 3)
    saved = rnn_forward_np(table, xp, kernel, h0)[-1]
    with pytest.raises(ValueError, match="simple or lstm"):
        rnn_backward_np(table, kernel, saved, x=np.zeros((2, 3, 4), np.float32))
