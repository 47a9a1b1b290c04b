import numpy as np
import pytest
from cthulhu._kernels.blas import gemm_k_blocks_np, gemm_np, split_k_max_blocks_np

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


def _on_threads(dtype, m, n, k, ta, tb, split_k):
    """alpha * op(a) @ op(b) + beta * c on 1, 2 and 3 threads, and its numpy value."""
    rng = np.random.default_rng(m + n + k)
    a = rng.standard_normal((m, k))
    b = rng.standard_normal((k, n))
    c0 = rng.standard_normal((m, n))
    a_st = np.ascontiguousarray(a.T if ta else a, dtype)
    b_st = np.ascontiguousarray(b.T if tb else b, dtype)
    results = []
    for nt in (1, 2, 3):
        c = c0.astype(dtype)
        gemm_np(a_st, b_st, c, trans_a=ta, trans_b=tb, alpha=0.5, beta=2.0, n_threads=nt,
                split_k=split_k)
        results.append(c)
    return results, 0.5 * (a @ b) + 2.0 * c0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(700, 90, 80), (20, 2000, 200), (3, 5000, 300)])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_gemm_threaded(dtype, m, n, k, ta, tb):
    results, expected = _on_threads(dtype, m, n, k, ta, tb, split_k=False)
    for c in results:
        np.testing.assert_allclose(c, expected, **_tol(dtype, k))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", [(40, 50, 3000), (128, 100, 9216), (3, 700, 3000)])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_gemm_split_k(dtype, m, n, k, ta, tb):
    """A long inner dimension cut into blocks: the numpy product, bit for bit the same for
    any thread count."""
    assert gemm_k_blocks_np(m, n, k) > 1
    results, expected = _on_threads(dtype, m, n, k, ta, tb, split_k=True)
    np.testing.assert_allclose(results[0], expected, **_tol(dtype, k))
    for c in results[1:]:
        np.testing.assert_array_equal(c, results[0])


def test_split_k_rule():
    # Cut only when k is long against both m and n and the product is worth threads.
    assert gemm_k_blocks_np(128, 128, 9216) == 4
    assert gemm_k_blocks_np(128, 128, 500) == 1          # k < 4 * max(m, n)
    assert gemm_k_blocks_np(4, 4, 9216) == 1             # too small for threads
    assert gemm_k_blocks_np(128, 3000, 9216) == 1
    assert gemm_k_blocks_np(400, 60, 1300) == 1          # below 4 * 400
    assert gemm_k_blocks_np(100, 60, 600) == 1           # 100 * 60 * 600 < 2**22
    assert split_k_max_blocks_np(9216, 128) == 4
    assert split_k_max_blocks_np(700, 100) == 2          # blocks of at least 256
