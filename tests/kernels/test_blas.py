import numpy as np
import pytest
from cthulhu._kernels.blas import gemm_np

DTYPES = [np.float32, np.float64]


def _tol(dtype, k):
    if dtype == np.float32:
        return dict(rtol=1e-5, atol=2e-6 * max(k, 1))
    return dict(rtol=1e-12, atol=1e-13 * max(k, 1))


SHAPES = [(1, 1, 1), (3, 5, 7), (17, 1, 9), (1, 13, 4), (64, 33, 129), (5, 6, 0),
          (0, 4, 3), (4, 0, 3), (0, 0, 0), (130, 90, 70)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", SHAPES)
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_gemm(dtype, m, n, k, ta, tb):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a = rng.standard_normal((m, k))
    b = rng.standard_normal((k, n))
    c0 = rng.standard_normal((m, n))
    alpha, beta = 0.7, -1.3
    expected = alpha * (a @ b) + beta * c0
    a_st = np.ascontiguousarray(a.T if ta else a, dtype=dtype)
    b_st = np.ascontiguousarray(b.T if tb else b, dtype=dtype)
    c = c0.astype(dtype)
    gemm_np(a_st, b_st, c, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta)
    assert c.dtype == dtype
    np.testing.assert_allclose(c, expected, **_tol(dtype, k))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", [0, 5])
def test_beta_zero_ignores_c(dtype, k):
    a = np.ones((3, k), dtype)
    b = np.ones((k, 4), dtype)
    c = np.full((3, 4), np.nan, dtype)
    gemm_np(a, b, c)
    np.testing.assert_array_equal(c, np.full((3, 4), k, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_k_zero_scales_c(dtype):
    a = np.ones((3, 0), dtype)
    b = np.ones((0, 2), dtype)
    c = np.arange(6, dtype=dtype).reshape(3, 2)
    gemm_np(a, b, c, beta=2.0)
    np.testing.assert_array_equal(c, 2 * np.arange(6, dtype=dtype).reshape(3, 2))
    gemm_np(a, b, c, beta=1.0)
    np.testing.assert_array_equal(c, 2 * np.arange(6, dtype=dtype).reshape(3, 2))


def test_accumulate():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 4))
    b = rng.standard_normal((4, 5))
    c = rng.standard_normal((6, 5))
    expected = c + a @ b
    gemm_np(a, b, c, beta=1.0)
    np.testing.assert_allclose(c, expected, rtol=1e-12, atol=1e-13)


def test_errors():
    a = np.ones((3, 4))
    with pytest.raises(ValueError, match="inner"):
        gemm_np(a, np.ones((5, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="shape"):
        gemm_np(a, np.ones((4, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="dtype"):
        gemm_np(a, np.ones((4, 2), np.float32), np.ones((3, 2)))
    with pytest.raises(ValueError, match="contiguous"):
        gemm_np(np.ones((4, 3)).T, np.ones((4, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="float32 or float64"):
        gemm_np(np.ones((3, 4), np.int64), np.ones((4, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="2-D"):
        gemm_np(np.ones(3), np.ones((4, 2)), np.ones((3, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(1, 5, 4), (5, 1, 4), (1, 1, 4), (1, 300, 200),
                                   (300, 1, 200)])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_vector_shapes_ignore_nan_c(dtype, m, n, k, ta, tb):
    # one row / one column (the GEMV paths) with beta == 0 must not read C
    rng = np.random.default_rng(7)
    a = rng.standard_normal((m, k))
    b = rng.standard_normal((k, n))
    c = np.full((m, n), np.nan, dtype)
    gemm_np(np.ascontiguousarray(a.T if ta else a, dtype),
            np.ascontiguousarray(b.T if tb else b, dtype), c, trans_a=ta, trans_b=tb)
    np.testing.assert_allclose(c, a @ b, **_tol(dtype, k))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(700, 90, 80), (20, 2000, 200), (3, 5000, 300)])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_gemm_threaded(dtype, m, n, k, ta, tb):
    rng = np.random.default_rng(m + n + k)
    a = rng.standard_normal((m, k))
    b = rng.standard_normal((k, n))
    c0 = rng.standard_normal((m, n))
    a_st = np.ascontiguousarray(a.T if ta else a, dtype)
    b_st = np.ascontiguousarray(b.T if tb else b, dtype)
    results = []
    for nt in (1, 2, 3):
        c = c0.astype(dtype)
        gemm_np(a_st, b_st, c, trans_a=ta, trans_b=tb, alpha=0.5, beta=2.0, n_threads=nt)
        results.append(c)
    expected = 0.5 * (a @ b) + 2.0 * c0
    for c in results:
        np.testing.assert_allclose(c, expected, **_tol(dtype, k))
