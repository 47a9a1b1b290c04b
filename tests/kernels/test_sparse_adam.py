"""adam_rows_update: Adam on a table whose gradient is a scatter-add of rows, without the dense
gradient. Against a numpy reference (float64 formulas) and, bit for bit, against the dense
path it replaces (scatter_add_rows + adam_update); plus the row sort it is built on."""

import numpy as np
import pytest
from cthulhu._kernels.embedding import rows_in_order_np, scatter_add_rows_np
from cthulhu._kernels.optim import adam_rows_update_np, adam_update_np

DTYPES = [np.float32, np.float64]
THREADS = [1, 2]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)


def _indices(rng, rows, n, dtype):
    """Duplicates, a row hit many times, fractional values (truncated) and indices out of
    range (skipped: NaN, -1, rows); rows 0 and rows - 1 always hit."""
    idx = rng.integers(0, rows, n).astype(np.float64)
    if n >= 12:
        idx[:4] = [0, rows - 1, 0.75, rows - 0.5]
        idx[4:8] = 1 % rows                      # one row hit four times
        idx[8:11] = [np.nan, -1.0, rows]         # skipped
    return idx.astype(dtype)


def _reference(w, idx, dy, m, v, vhat, steps, lr, b1=0.9, b2=0.999, eps=1e-7):
    """Keras's dense Adam in float64 on the scatter-added gradient, every row every step."""
    w, m, v = w.astype(np.float64), m.astype(np.float64), v.astype(np.float64)
    vhat = None if vhat is None else vhat.astype(np.float64)
    flat = idx.astype(np.float64)
    keep = (flat > -1) & (flat < len(w))
    for t, rows in enumerate(dy, start=1):
        g = np.zeros_like(w)
        np.add.at(g, flat[keep].astype(np.int64), rows[keep].astype(np.float64))
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        denom = v
        if vhat is not None:
            vhat = denom = np.maximum(vhat, v)
        w = w - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(denom) + eps)
    return w, m, v, vhat


def _state(rng, rows, width, dtype, amsgrad):
    w = rng.standard_normal((rows, width)).astype(dtype)
    m = (rng.standard_normal((rows, width)) * 0.1).astype(dtype)
    # v away from 0: m / sqrt(v) would amplify float32 rounding beyond tol() otherwise
    v = (0.01 + np.abs(rng.standard_normal((rows, width))) * 0.1).astype(dtype)
    vhat = (v * 1.5).astype(dtype) if amsgrad else None
    return w, m, v, vhat


def _copy(arrays):
    return [None if a is None else a.copy() for a in arrays]


# (rows, width, indices): few rows hit many times, many rows hit at most once, a width over
# the kernel's 256-column chunk, one row, no index at all.
SHAPES = [(7, 5, 60), (500, 3, 40), (300, 270, 30), (1, 4, 5), (50, 6, 0), (2000, 16, 256)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("rows,width,n", SHAPES)
def test_matches_numpy_and_the_dense_path_bit_for_bit(dtype, nt, amsgrad, rows, width, n):
    rng = np.random.default_rng(rows + width + n)
    state = _state(rng, rows, width, dtype, amsgrad)
    sparse, dense = _copy(state), _copy(state)
    idx = _indices(rng, rows, n, dtype)
    dys = [(rng.standard_normal((n, width))).astype(dtype) for _ in range(4)]
    g = np.zeros((rows, width), dtype)
    for t, dy in enumerate(dys, start=1):
        w, m, v, vhat = sparse
        adam_rows_update_np(w, idx, dy, m, v, vhat, lr=0.01, step=t, n_threads=nt)
        w, m, v, vhat = dense
        scatter_add_rows_np(idx, dy, g, nt)
        adam_update_np(w, g, m, v, vhat, lr=0.01, step=t, n_threads=nt)
    for got, same in zip(sparse, dense):
        if got is not None:
            np.testing.assert_array_equal(got, same)
    for got, want in zip(sparse, _reference(*state[:1], idx, dys, *state[1:], steps=4,
                                            lr=0.01)):
        if got is not None:
            np.testing.assert_allclose(got, want, **tol(dtype))


def test_rows_never_hit_still_decay_and_move():
    rng = np.random.default_rng(1)
    w, m, v, _ = _state(rng, 10, 3, np.float64, False)
    w0, m0, v0 = w.copy(), m.copy(), v.copy()
    idx = np.array([2.0, 2.0, 7.0])
    adam_rows_update_np(w, idx, rng.standard_normal((3, 3)), m, v, lr=0.1, step=3)
    untouched = [0, 1, 3, 4, 5, 6, 8, 9]
    np.testing.assert_allclose(m[untouched], 0.9 * m0[untouched], rtol=1e-15)
    np.testing.assert_allclose(v[untouched], 0.999 * v0[untouched], rtol=1e-15)
    assert np.all(w[untouched] != w0[untouched])


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_and_two_threads_agree_bit_for_bit(dtype):
    idx = _indices(np.random.default_rng(2), 3001, 700, dtype)
    dys = [np.random.default_rng(t).standard_normal((700, 24)).astype(dtype) for t in range(3)]
    results = []
    for nt in THREADS:
        state = _state(np.random.default_rng(3), 3001, 24, dtype, True)
        for t, dy in enumerate(dys, start=1):
            adam_rows_update_np(state[0], idx, dy, *state[1:], step=t, n_threads=nt)
        results.append(state)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows", [1, 2, 255, 256, 257, 20000, 70000])
def test_rows_in_order_is_a_stable_sort_of_the_valid_indices(dtype, rows):
    rng = np.random.default_rng(rows)
    idx = (rng.integers(0, rows, 3000) + rng.uniform(0, 0.9, 3000)).astype(dtype)
    idx[::97] = np.nan
    idx[1::89] = rows
    idx[2::83] = -0.5                            # truncates to row 0
    flat = idx.astype(np.float64)
    valid = np.flatnonzero((flat > -1) & (flat < rows))
    want = valid[np.argsort(flat[valid].astype(np.int64), kind="stable")]
    np.testing.assert_array_equal(rows_in_order_np(idx, rows), want)


def test_checks_its_arguments():
    w, m, v = np.zeros((4, 3)), np.zeros((4, 3)), np.zeros((4, 3))
    with pytest.raises(ValueError, match="dy"):
        adam_rows_update_np(w, np.zeros(2), np.zeros((3, 3)), m, v)
    with pytest.raises(ValueError, match="idx"):
        adam_rows_update_np(w, np.zeros(2, np.float32), np.zeros((2, 3)), m, v)
    with pytest.raises(ValueError, match="step"):
        adam_rows_update_np(w, np.zeros(2), np.zeros((2, 3)), m, v, step=0)
