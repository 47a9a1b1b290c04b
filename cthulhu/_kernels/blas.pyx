"""Row-major GEMM on top of scipy's column-major BLAS (no link-time BLAS dependency)."""

cimport numpy as cnp
from scipy.linalg.cython_blas cimport dgemm, sgemm

import numpy as np

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
    if floating is float:
        sgemm(&tb, &ta, &bm, &bn, &bk, &alpha, <float*>b, &blda, <float*>a, &bldb,
              &beta, c, &bldc)
    else:
        dgemm(&tb, &ta, &bm, &bn, &bk, &alpha, <double*>b, &blda, <double*>a, &bldb,
              &beta, c, &bldc)


def _check2d(name, arr, dtype=None):
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype != np.float32 and arr.dtype != np.float64:
        raise ValueError(f"{name} must be float32 or float64, got {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        raise ValueError(f"{name} has dtype {arr.dtype}, expected {dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")


def gemm_np(a, b, c, trans_a=False, trans_b=False, alpha=1.0, beta=0.0):
    """c[...] = alpha * op(a) @ op(b) + beta * c, in place on the C-contiguous array c."""
    _check2d("a", a)
    _check2d("b", b, a.dtype)
    _check2d("c", c, a.dtype)
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
    if a.dtype == np.float32:
        with nogil:
            gemm(ta, tb, m, n, k, falpha, <const float*>pa, lda, <const float*>pb, ldb,
                 fbeta, <float*>pc, ldc)
    else:
        with nogil:
            gemm(ta, tb, m, n, k, dalpha, <const double*>pa, lda, <const double*>pb, ldb,
                 dbeta, <double*>pc, ldc)
    return c
