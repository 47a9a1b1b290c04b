import numpy as np
import pytest
from cthulhu._kernels.losses import softmax_xent_bwd_np, softmax_xent_fwd_np

DTYPES = [np.float32, np.float64]
THREADS = [1, 2]
SHAPES = [(0, 4), (1, 1), (1, 5), (7, 3), (33, 10), (5, 300), (7001, 10)]


def tol(dtype):
    if dtype == np.float32:
        return dict(rtol=1e-5, atol=1e-6)
    return dict(rtol=1e-12, atol=1e-14)


def ref_fwd(z, t, sparse):
    z = z.astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    logp = z - lse
    if sparse:
        loss = -logp[np.arange(z.shape[0]), t.astype(np.int64)]
    else:
        loss = -(t.astype(np.float64) * logp).sum(axis=1)
    return np.exp(logp), loss


def make(shape, dtype, sparse, seed=0, normalized=True):
    rng = np.random.default_rng(seed)
    z = (3 * rng.standard_normal(shape)).astype(dtype)
    if sparse:
        t = rng.integers(0, shape[1], shape[0]).astype(dtype)
    else:
        t = rng.random(shape)
        if normalized:
            t /= t.sum(axis=1, keepdims=True)
        t = t.astype(dtype)
    return z, t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("nt", THREADS)
def test_fwd(dtype, shape, sparse, nt):
    z, t = make(shape, dtype, sparse)
    prob = np.full(shape, np.nan, dtype)
    loss = np.full(shape[0], np.nan, dtype)
    softmax_xent_fwd_np(z, t, prob, loss, sparse=sparse, n_threads=nt)
    p_ref, l_ref = ref_fwd(z, t, sparse)
    np.testing.assert_allclose(prob, p_ref, **tol(dtype))
    np.testing.assert_allclose(loss, l_ref, **tol(dtype))
    # prob aliasing logits gives the same result
    z2 = z.copy()
    loss2 = np.empty_like(loss)
    softmax_xent_fwd_np(z2, t, z2, loss2, sparse=sparse, n_threads=nt)
    np.testing.assert_array_equal(z2, prob)
    np.testing.assert_allclose(loss2, loss, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fwd_extreme_logits(dtype):
    z = np.array([[1000.0, -1000.0, 0.0], [-1e4, -1e4 + 1, -1e4 + 2]], dtype)
    t = np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5]], dtype)
    prob = np.empty_like(z)
    loss = np.empty(2, dtype)
    softmax_xent_fwd_np(z, t, prob, loss)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(prob))
    np.testing.assert_allclose(loss[0], 2000.0, rtol=1e-6)
    _, l_ref = ref_fwd(z, t, False)
    np.testing.assert_allclose(loss, l_ref, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_out_of_range_is_nan(dtype):
    z, _ = make((5, 4), dtype, True)
    t = np.array([0, 4, -1, np.nan, 3], dtype)
    prob = np.empty_like(z)
    loss = np.empty(5, dtype)
    softmax_xent_fwd_np(z, t, prob, loss, sparse=True)
    assert np.isnan(loss[[1, 2, 3]]).all()
    assert np.isfinite(loss[[0, 4]]).all()
    dz = np.empty_like(z)
    softmax_xent_bwd_np(prob, t, np.ones(5, dtype), dz, sparse=True)
    assert np.isnan(dz[[1, 2, 3]]).all()
    assert np.isfinite(dz[[0, 4]]).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("nt", THREADS)
def test_bwd(dtype, shape, sparse, nt):
    z, t = make(shape, dtype, sparse, seed=1, normalized=False)
    prob = np.empty(shape, dtype)
    loss = np.empty(shape[0], dtype)
    softmax_xent_fwd_np(z, t, prob, loss, sparse=sparse)
    dloss = np.random.default_rng(2).standard_normal(shape[0]).astype(dtype)
    dz = np.full(shape, np.nan, dtype)
    softmax_xent_bwd_np(prob, t, dloss, dz, sparse=sparse, n_threads=nt)
    p64 = prob.astype(np.float64)
    if sparse:
        onehot = np.zeros(shape)
        onehot[np.arange(shape[0]), t.astype(np.int64)] = 1
        expected = dloss[:, None] * (p64 - onehot)
    else:
        t64 = t.astype(np.float64)
        expected = dloss[:, None] * (p64 * t64.sum(axis=1, keepdims=True) - t64)
    np.testing.assert_allclose(dz, expected, **tol(dtype))
    # dlogits aliasing prob
    p2 = prob.copy()
    softmax_xent_bwd_np(p2, t, dloss, p2, sparse=sparse, n_threads=nt)
    np.testing.assert_array_equal(p2, dz)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("normalized", [False, True])
def test_bwd_finite_differences(sparse, normalized):
    shape = (4, 6)
    z, t = make(shape, np.float64, sparse, seed=3, normalized=normalized)
    dloss = np.random.default_rng(4).standard_normal(shape[0])

    def f(zz):
        prob = np.empty_like(zz)
        loss = np.empty(shape[0])
        softmax_xent_fwd_np(zz, t, prob, loss, sparse=sparse)
        return float((dloss * loss).sum())

    prob = np.empty_like(z)
    loss = np.empty(shape[0])
    softmax_xent_fwd_np(z, t, prob, loss, sparse=sparse)
    dz = np.empty_like(z)
    softmax_xent_bwd_np(prob, t, dloss, dz, sparse=sparse)
    h = 1e-6
    fd = np.empty_like(z)
    for idx in np.ndindex(*shape):
        zp = z.copy()
        zp[idx] += h
        zm = z.copy()
        zm[idx] -= h
        fd[idx] = (f(zp) - f(zm)) / (2 * h)
    np.testing.assert_allclose(dz, fd, rtol=1e-6, atol=1e-8)


def test_thread_independence():
    z, t = make((20000, 7), np.float32, False, seed=5)
    res = []
    for nt in (1, 2):
        prob = np.empty_like(z)
        loss = np.empty(z.shape[0], np.float32)
        softmax_xent_fwd_np(z, t, prob, loss, n_threads=nt)
        dz = np.empty_like(z)
        softmax_xent_bwd_np(prob, t, loss, dz, n_threads=nt)
        res.append((prob, loss, dz))
    for a, b in zip(res[0], res[1]):
        np.testing.assert_array_equal(a, b)


def test_errors():
    z = np.zeros((3, 4))
    t = np.zeros((3, 4))
    prob = np.empty((3, 4))
    loss = np.empty(3)
    with pytest.raises(ValueError, match="target"):
        softmax_xent_fwd_np(z, np.zeros(3), prob, loss)
    with pytest.raises(ValueError, match="sparse target"):
        softmax_xent_fwd_np(z, t, prob, loss, sparse=True)
    with pytest.raises(ValueError, match="loss"):
        softmax_xent_fwd_np(z, t, prob, np.empty(4))
    with pytest.raises(ValueError, match="dtype"):
        softmax_xent_fwd_np(z, t.astype(np.float32), prob, loss)
    with pytest.raises(ValueError, match="2-D"):
        softmax_xent_fwd_np(np.zeros(3), t, prob, loss)
    with pytest.raises(ValueError, match="dloss"):
        softmax_xent_bwd_np(prob, t, np.empty(2), np.empty((3, 4)))
    with pytest.raises(ValueError, match="dlogits"):
        softmax_xent_bwd_np(prob, t, loss, np.empty((3, 5)))
