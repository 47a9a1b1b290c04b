"""The embedding and batch-normalization kernels called directly: bad-index status, and
results that do not depend on the thread count (bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest
from cthulhu._kernels.batchnorm import bn_train_bwd_np, bn_train_fwd_np
from cthulhu._kernels.embedding import gather_rows_np, scatter_add_rows_np


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gather_and_scatter_add_are_thread_count_independent(dtype):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(30, 70)).astype(dtype)
    idx = (rng.integers(0, 30, size=2000) + 0.5).astype(dtype)
    outs = []
    for nt in (1, 2, 3):
        out = np.empty((2000, 70), dtype)
        assert gather_rows_np(table, idx, out, nt) == (0, 0, 0)
        grad = np.full((30, 70), np.nan, dtype)
        scatter_add_rows_np(idx, out, grad, nt)
        outs.append((out, grad))
    np.testing.assert_array_equal(outs[0][0], table[idx.astype(int)])
    want = np.zeros((30, 70))
    np.add.at(want, idx.astype(int), outs[0][0].astype(np.float64))
    np.testing.assert_allclose(outs[0][1], want, rtol=1e-5)
    for out, grad in outs[1:]:
        np.testing.assert_array_equal(out, outs[0][0])
        np.testing.assert_array_equal(grad, outs[0][1])


@pytest.mark.parametrize("bad,value", [(4.0, 4), (-1.0, -1), (np.nan, 0)])
def test_a_bad_index_sets_the_status_and_writes_nothing(bad, value):
    table = np.ones((4, 3), np.float32)
    idx = np.array([0, 3, bad, 1], np.float32)
    out = np.zeros((4, 3), np.float32)
    assert gather_rows_np(table, idx, out, 1) == (1, 2, value)
    assert not out.any()


@pytest.mark.parametrize("shape", [(3000, 40, 1), (200, 6, 5), (60, 5, 100)])
def test_batchnorm_kernels_are_thread_count_independent(shape):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).astype(np.float32) * 3 + 1
    c = shape[1]
    gamma, beta = rng.uniform(0.5, 2, c).astype(np.float32), rng.normal(size=c).astype(
        np.float32)
    dy = rng.normal(size=shape).astype(np.float32)
    results = []
    for nt in (1, 2, 3):
        y, mean, var = np.empty_like(x), np.empty(c, np.float32), np.empty(c, np.float32)
        bn_train_fwd_np(x, gamma, beta, 1e-3, False, y, mean, var, nt)
        dx, dg, db = np.empty_like(x), np.empty(c, np.float32), np.empty(c, np.float32)
        bn_train_bwd_np(x, gamma, mean, var, dy, None, None, 1e-3, dx, dg, db, nt)
        results.append((y, mean, var, dx, dg, db))
    y, mean, var = results[0][:3]
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2)), rtol=1e-5)
    for other in results[1:]:
        for a, b in zip(other, results[0]):
            np.testing.assert_array_equal(a, b)


def test_batchnorm_without_gamma_and_beta_and_with_relu():
    x = np.random.default_rng(2).normal(size=(50, 3, 2))
    y, mean, var = np.empty_like(x), np.empty(3), np.empty(3)
    bn_train_fwd_np(x, None, None, 0.0, True, y, mean, var, 1)
    z = (x - x.mean(axis=(0, 2))[None, :, None]) / x.std(axis=(0, 2))[None, :, None]
    np.testing.assert_allclose(y, np.maximum(z, 0.0), rtol=1e-10, atol=1e-12)
