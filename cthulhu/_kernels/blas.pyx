"""Row-major GEMM on top of scipy's column-major BLAS (no link-time BLAS dependency).

Design: scipy's BLAS is kept single-threaded (cthulhu/_threads.py); `gemm_threaded` splits a
product into row blocks (or column blocks when there are few rows) and runs one BLAS call
per block on OpenMP threads, which sleep when idle. Each output element is still computed by
one BLAS call over the whole inner dimension, except in `gemm_split_k` (a long inner
dimension: blocks of it, their partial products added in block order). Products with one
row or one column go to GEMV: OpenBLAS's GEMM is several times slower than its GEMV on such
shapes.
"""

cimport numpy as cnp
from cython.parallel cimport prange
from scipy.linalg.cython_blas cimport dgemm, dgemv, sgemm, sgemv

import numpy as np

from cthulhu._kernels._checks import check_array

cnp.import_array()


cdef void gemm(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
               floating alpha, const floating* a, Py_ssize_t lda,
               const floating* b, Py_ssize_t ldb, floating beta,
               floating* c, Py_ssize_t ldc) noexcept nogil:
    # A row-major (r, s) matrix is the column-major (s, r) matrix, its transpose. So
    # C^T (n, m, column-major) = op(B)^T @ op(A)^T: call column-major GEMM with B first.
    cdef char tb = c'T' if trans_b else c'N'
    cdef char ta = c'T' if trans_a else c'N'
    cdef int bm = <int>n
    cdef int bn = <int>m
    cdef int bk = <int>k
    cdef int blda = <int>ldb
    cdef int bldb = <int>lda
    cdef int bldc = <int>ldc
    cdef Py_ssize_t i, j
    cdef floating* row
    if m <= 0 or n <= 0:
        return
    if k <= 0:
        for i in range(m):
            row = c + i * ldc
            if beta == 0:
                for j in range(n):
                    row[j] = 0
            elif beta != 1:
                for j in range(n):
                    row[j] = beta * row[j]
        return
    if m == 1:
        _row_gemv(trans_a, trans_b, n, k, alpha, a, lda, b, ldb, beta, c)
    elif n == 1:
        _column_gemv(trans_a, trans_b, m, k, alpha, a, lda, b, ldb, beta, c, ldc)
    elif floating is float:
        sgemm(&tb, &ta, &bm, &bn, &bk, &alpha, <float*>b, &blda, <float*>a, &bldb,
              &beta, c, &bldc)
    else:
        dgemm(&tb, &ta, &bm, &bn, &bk, &alpha, <double*>b, &blda, <double*>a, &bldb,
              &beta, c, &bldc)


cdef inline void _gemv(char trans, int rows, int cols, floating alpha, const floating* a,
                       int lda, const floating* x, int incx, floating beta, floating* y,
                       int incy) noexcept nogil:
    """Column-major y = alpha * op(A) @ x + beta * y, A (rows, cols)."""
    if floating is float:
        sgemv(&trans, &rows, &cols, &alpha, <float*>a, &lda, <float*>x, &incx, &beta, y,
              &incy)
    else:
        dgemv(&trans, &rows, &cols, &alpha, <double*>a, &lda, <double*>x, &incx, &beta, y,
              &incy)


cdef void _row_gemv(bint trans_a, bint trans_b, Py_ssize_t n, Py_ssize_t k, floating alpha,
                    const floating* a, Py_ssize_t lda, const floating* b, Py_ssize_t ldb,
                    floating beta, floating* c) noexcept nogil:
    # c (1, n) = op(A) (1, k) @ op(B) (k, n). B stored row-major (k, n) is the column-major
    # (n, k) matrix op(B)^T; stored (n, k) it is column-major (k, n), used transposed.
    cdef int incx = <int>lda if trans_a else 1
    if trans_b:
        _gemv(c'T', <int>k, <int>n, alpha, b, <int>ldb, a, incx, beta, c, 1)
    else:
        _gemv(c'N', <int>n, <int>k, alpha, b, <int>ldb, a, incx, beta, c, 1)


cdef void _column_gemv(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t k, floating alpha,
                       const floating* a, Py_ssize_t lda, const floating* b, Py_ssize_t ldb,
                       floating beta, floating* c, Py_ssize_t ldc) noexcept nogil:
    # c (m, 1) = op(A) (m, k) @ op(B) (k, 1). A stored row-major (m, k) is column-major
    # (k, m), used transposed; stored (k, m) it is column-major (m, k).
    cdef int incx = 1 if trans_b else <int>ldb
    if trans_a:
        _gemv(c'N', <int>m, <int>k, alpha, a, <int>lda, b, incx, beta, c, <int>ldc)
    else:
        _gemv(c'T', <int>k, <int>m, alpha, a, <int>lda, b, incx, beta, c, <int>ldc)


cdef void gemm_threaded(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        floating alpha, const floating* a, Py_ssize_t lda,
                        const floating* b, Py_ssize_t ldb, floating beta,
                        floating* c, Py_ssize_t ldc, int n_threads) noexcept nogil:
    # The blocks depend on the shape only, never on n_threads: BLAS rounds differently for
    # different partitions, and results must not change with the thread count.
    # BLAS packs the whole operand that is not split once per call, so split the free
    # dimension of the larger operand.
    cdef Py_ssize_t blocks, i, lo, hi
    cdef bint split_rows = m * k >= k * n
    if m * n * k < GEMM_PARALLEL_MIN_MACS:
        blocks = 1
    elif split_rows:
        blocks = min(GEMM_MAX_BLOCKS, m // GEMM_MIN_BLOCK_ROWS)
    else:
        blocks = min(GEMM_MAX_BLOCKS, n // GEMM_MIN_BLOCK_COLS)
    if blocks <= 1:
        gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    elif split_rows:
        for i in prange(blocks, nogil=True, num_threads=max(1, n_threads),
                        schedule="dynamic"):
            lo = m * i // blocks
            hi = m * (i + 1) // blocks
            gemm(trans_a, trans_b, hi - lo, n, k, alpha, a + (lo if trans_a else lo * lda),
                 lda, b, ldb, beta, c + lo * ldc, ldc)
    else:
        for i in prange(blocks, nogil=True, num_threads=max(1, n_threads),
                        schedule="dynamic"):
            lo = n * i // blocks
            hi = n * (i + 1) // blocks
            gemm(trans_a, trans_b, m, hi - lo, k, alpha, a, lda,
                 b + (lo * ldb if trans_b else lo), ldb, beta, c + lo, ldc)


cdef inline Py_ssize_t _k_blocks(Py_ssize_t k, Py_ssize_t mn) noexcept nogil:
    if k < GEMM_SPLIT_K_RATIO * mn:
        return 1
    return min(GEMM_MAX_BLOCKS, k // GEMM_MIN_BLOCK_K)


cdef Py_ssize_t gemm_k_blocks(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    if m * n * k < GEMM_PARALLEL_MIN_MACS:
        return 1
    return _k_blocks(k, max(m, n))


cdef void gemm_split_k(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       floating alpha, const floating* a, Py_ssize_t lda,
                       const floating* b, Py_ssize_t ldb, floating beta,
                       floating* c, Py_ssize_t ldc, floating* scratch,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t blocks = gemm_k_blocks(m, n, k) if scratch != NULL else 1
    cdef Py_ssize_t i, j, p, lo, hi
    cdef floating* row
    if blocks <= 1:
        gemm_threaded(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                      n_threads)
        return
    for i in prange(blocks, nogil=True, num_threads=max(1, n_threads), schedule="dynamic"):
        lo = k * i // blocks
        hi = k * (i + 1) // blocks
        # Columns lo..hi of op(A), rows lo..hi of op(B).
        if i == 0:
            gemm(trans_a, trans_b, m, n, hi, alpha, a, lda, b, ldb, beta, c, ldc)
        else:
            gemm(trans_a, trans_b, m, n, hi - lo, alpha, a + (lo * lda if trans_a else lo),
                 lda, b + (lo if trans_b else lo * ldb), ldb, <floating>0.0,
                 scratch + (i - 1) * m * n, n)
    # The partials are added in block order, a row of C at a time (any thread count).
    for i in prange(m, nogil=True, num_threads=max(1, n_threads), schedule="static"):
        row = c + i * ldc
        for p in range(blocks - 1):
            for j in range(n):
                row[j] = row[j] + scratch[(p * m + i) * n + j]


cdef void gemm_batched(bint trans_a, bint trans_b, Py_ssize_t batch, Py_ssize_t m,
                       Py_ssize_t n, Py_ssize_t k, const floating* a, const floating* b,
                       floating* c, int n_threads) noexcept nogil:
    cdef Py_ssize_t i
    cdef Py_ssize_t lda = m if trans_a else k
    cdef Py_ssize_t ldb = k if trans_b else n
    if batch <= 0:
        return
    if m * n * k >= GEMM_PARALLEL_MIN_MACS:
        for i in range(batch):
            gemm_threaded(trans_a, trans_b, m, n, k, <floating>1.0, a + i * m * k, lda,
                          b + i * k * n, ldb, <floating>0.0, c + i * m * n, n, n_threads)
    else:
        for i in prange(batch, nogil=True, num_threads=max(1, n_threads),
                        schedule="static"):
            gemm(trans_a, trans_b, m, n, k, <floating>1.0, a + i * m * k, lda,
                 b + i * k * n, ldb, <floating>0.0, c + i * m * n, n)


def split_k_max_blocks_np(Py_ssize_t k, Py_ssize_t mn):
    """The most blocks gemm_split_k cuts k into when max(m, n) >= mn (1: never cut): the
    lowering sizes the scratch from the static dimensions with it."""
    return _k_blocks(k, mn)


def gemm_k_blocks_np(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k):
    return gemm_k_blocks(m, n, k)


def gemm_np(a, b, c, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, int n_threads=1,
            bint split_k=False):
    """c[...] = alpha * op(a) @ op(b) + beta * c, in place on the C-contiguous array c.
    split_k: through gemm_split_k, with a scratch of the room it needs."""
    check_array("a", a, ndim=2)
    check_array("b", b, a.dtype, ndim=2)
    check_array("c", c, a.dtype, ndim=2)
    if not c.flags.writeable:
        raise ValueError("c must be writeable")
    cdef Py_ssize_t m, n, k, kb
    cdef bint ta = bool(trans_a)
    cdef bint tb = bool(trans_b)
    m, k = (a.shape[1], a.shape[0]) if ta else (a.shape[0], a.shape[1])
    kb, n = (b.shape[1], b.shape[0]) if tb else (b.shape[0], b.shape[1])
    if kb != k:
        raise ValueError(f"inner dimensions differ: op(a) is {(m, k)}, op(b) is {(kb, n)}")
    if c.shape[0] != m or c.shape[1] != n:
        raise ValueError(f"c has shape {c.shape}, expected {(m, n)}")
    cdef Py_ssize_t lda = max(1, a.shape[1])
    cdef Py_ssize_t ldb = max(1, b.shape[1])
    cdef Py_ssize_t ldc = max(1, c.shape[1])
    cdef void* pa = cnp.PyArray_DATA(<cnp.ndarray>a)
    cdef void* pb = cnp.PyArray_DATA(<cnp.ndarray>b)
    cdef void* pc = cnp.PyArray_DATA(<cnp.ndarray>c)
    cdef float falpha = alpha, fbeta = beta
    cdef double dalpha = alpha, dbeta = beta
    scratch = np.empty(max(0, gemm_k_blocks(m, n, k) - 1) * m * n if split_k else 0, a.dtype)
    cdef void* ps = cnp.PyArray_DATA(<cnp.ndarray>scratch) if split_k else NULL
    if a.dtype == np.float32:
        with nogil:
            gemm_split_k(ta, tb, m, n, k, falpha, <const float*>pa, lda, <const float*>pb,
                         ldb, fbeta, <float*>pc, ldc, <float*>ps, n_threads)
    else:
        with nogil:
            gemm_split_k(ta, tb, m, n, k, dalpha, <const double*>pa, lda, <const double*>pb,
                         ldb, dbeta, <double*>pc, ldc, <double*>ps, n_threads)
    return c
