"""Batch assembly for the training loop: row gathers / row copies with dtype conversion.

    gather_rows(src, index, dst)       dst[i, ...] = src[index[i], ...]   for i < len(index)
    copy_rows(src, start, stop, dst)   dst[i, ...] = src[start + i, ...]  for i < stop - start

src: C-contiguous, 1+ dims, dtype float32/float64/int32/int64/uint8/bool (native order).
dst: C-contiguous, writeable float32/float64 with the same trailing shape and enough rows.
src and dst must not overlap. One nogil pass; row-parallel above PARALLEL_MIN_WORK elements.
"""

cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t, uint8_t
from libc.string cimport memcpy

from cthulhu._kernels.threads cimport threads_for

import numpy as np

cnp.import_array()

ctypedef fused src_t:
    float
    double
    int32_t
    int64_t
    uint8_t

# numpy dtype -> code used by _dispatch
_SRC_KINDS = {
    np.dtype(np.float32): 0,
    np.dtype(np.float64): 1,
    np.dtype(np.int32): 2,
    np.dtype(np.int64): 3,
    np.dtype(np.uint8): 4,
    np.dtype(np.bool_): 4,      # numpy bool is one byte holding 0 or 1
}


cdef inline void _convert_row(const src_t* s, floating* d, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    if (src_t is float and floating is float) or (src_t is double and floating is double):
        memcpy(d, s, n * sizeof(floating))
    else:
        for j in range(n):
            d[j] = <floating>s[j]


cdef void _rows(const src_t* src, floating* dst, const int64_t* index, Py_ssize_t start,
                Py_ssize_t n, Py_ssize_t row_len, int n_threads) noexcept nogil:
    """dst row i <- src row index[i] (or start + i when index is NULL), i < n."""
    cdef Py_ssize_t i, r
    if index == NULL:
        if n_threads > 1 and n > 1:
            for i in prange(n, schedule='static', num_threads=n_threads):
                _convert_row(src + (start + i) * row_len, dst + i * row_len, row_len)
        else:
            _convert_row(src + start * row_len, dst, n * row_len)
        return
    if n_threads > 1 and n > 1:
        for i in prange(n, schedule='static', num_threads=n_threads):
            r = index[i]
            _convert_row(src + r * row_len, dst + i * row_len, row_len)
    else:
        for i in range(n):
            _convert_row(src + index[i] * row_len, dst + i * row_len, row_len)


cdef void _dispatch(int kind, bint dst32, const void* src, void* dst, const int64_t* index,
                    Py_ssize_t start, Py_ssize_t n, Py_ssize_t row_len,
                    int nt) noexcept nogil:
    if dst32:
        if kind == 0:
            _rows(<const float*>src, <float*>dst, index, start, n, row_len, nt)
        elif kind == 1:
            _rows(<const double*>src, <float*>dst, index, start, n, row_len, nt)
        elif kind == 2:
            _rows(<const int32_t*>src, <float*>dst, index, start, n, row_len, nt)
        elif kind == 3:
            _rows(<const int64_t*>src, <float*>dst, index, start, n, row_len, nt)
        else:
            _rows(<const uint8_t*>src, <float*>dst, index, start, n, row_len, nt)
    else:
        if kind == 0:
            _rows(<const float*>src, <double*>dst, index, start, n, row_len, nt)
        elif kind == 1:
            _rows(<const double*>src, <double*>dst, index, start, n, row_len, nt)
        elif kind == 2:
            _rows(<const int32_t*>src, <double*>dst, index, start, n, row_len, nt)
        elif kind == 3:
            _rows(<const int64_t*>src, <double*>dst, index, start, n, row_len, nt)
        else:
            _rows(<const uint8_t*>src, <double*>dst, index, start, n, row_len, nt)


def _validate(src, dst, Py_ssize_t n_rows):
    """Check src / dst; return (src kind, dst is float32, elements per row)."""
    if not isinstance(src, np.ndarray):
        raise TypeError(f"src must be a numpy array, got {type(src).__name__}")
    if not isinstance(dst, np.ndarray):
        raise TypeError(f"dst must be a numpy array, got {type(dst).__name__}")
    kind = _SRC_KINDS.get(src.dtype) if src.dtype.isnative else None
    if kind is None:
        raise TypeError(f"unsupported src dtype {src.dtype} (expected float32, float64, "
                        f"int32, int64, uint8 or bool in native byte order)")
    if (dst.dtype != np.float32 and dst.dtype != np.float64) or not dst.dtype.isnative:
        raise TypeError(f"unsupported dst dtype {dst.dtype} (expected float32 or float64)")
    if src.ndim < 1:
        raise ValueError("src must have at least one dimension")
    if not src.flags.c_contiguous:
        raise ValueError("src must be C-contiguous")
    if not dst.flags.c_contiguous:
        raise ValueError("dst must be C-contiguous")
    if not dst.flags.writeable:
        raise ValueError("dst must be writeable")
    if dst.ndim != src.ndim or dst.shape[1:] != src.shape[1:]:
        raise ValueError(f"trailing shapes differ: src {src.shape}, dst {dst.shape}")
    if dst.shape[0] < n_rows:
        raise ValueError(f"dst has {dst.shape[0]} rows, {n_rows} are needed")
    cdef Py_ssize_t row_len = 1
    for d in src.shape[1:]:
        row_len *= d
    return kind, dst.dtype == np.float32, row_len


def gather_rows(src, const int64_t[::1] index, dst):
    """dst[i, ...] = src[index[i], ...] for i < len(index), converting to dst's dtype."""
    cdef Py_ssize_t n = index.shape[0]
    kind, d32, rl = _validate(src, dst, n)
    cdef Py_ssize_t n_src = src.shape[0]
    cdef Py_ssize_t i, bad = -1
    with nogil:
        for i in range(n):
            if index[i] < 0 or index[i] >= n_src:
                bad = i
                break
    if bad >= 0:
        raise IndexError(f"index {index[bad]} (at position {bad}) is out of range for src "
                         f"with {n_src} rows")
    if n == 0 or rl == 0:
        return dst
    cdef int k = kind
    cdef bint dst32 = d32
    cdef Py_ssize_t row_len = rl
    cdef const void* ps = cnp.PyArray_DATA(<cnp.ndarray>src)
    cdef void* pd = cnp.PyArray_DATA(<cnp.ndarray>dst)
    cdef const int64_t* pi = &index[0]
    with nogil:
        _dispatch(k, dst32, ps, pd, pi, 0, n, row_len, threads_for(n * row_len))
    return dst


def copy_rows(src, Py_ssize_t start, Py_ssize_t stop, dst):
    """dst[i, ...] = src[start + i, ...] for i < stop - start, converting to dst's dtype."""
    if not isinstance(src, np.ndarray):
        raise TypeError(f"src must be a numpy array, got {type(src).__name__}")
    if src.ndim < 1:
        raise ValueError("src must have at least one dimension")
    cdef Py_ssize_t n_src = src.shape[0]
    if not (0 <= start <= stop <= n_src):
        raise IndexError(f"row range [{start}, {stop}) is out of range for src with "
                         f"{n_src} rows")
    cdef Py_ssize_t n = stop - start
    kind, d32, rl = _validate(src, dst, n)
    if n == 0 or rl == 0:
        return dst
    cdef int k = kind
    cdef bint dst32 = d32
    cdef Py_ssize_t row_len = rl
    cdef const void* ps = cnp.PyArray_DATA(<cnp.ndarray>src)
    cdef void* pd = cnp.PyArray_DATA(<cnp.ndarray>dst)
    with nogil:
        _dispatch(k, dst32, ps, pd, NULL, start, n, row_len, threads_for(n * row_len))
    return dst
