"""Reductions over the middle axis of an (outer, red, inner) view."""

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport INFINITY, NAN

from cthulhu._kernels.codes cimport *
from cthulhu._kernels.common cimport add_rows

import numpy as np

cnp.import_array()

cdef enum:
    COL_CHUNK = 256     # columns reduced together when inner > 1 (stack accumulators)
    SUM_BLOCK_ROWS = 16  # rows of a column chunk summed together (16 KiB at most)
    MINMAX_LANES = 64   # running extrema of the contiguous max / min


cdef double _empty_value(int kind) noexcept nogil:
    if kind == RED_MEAN:
        return NAN
    if kind == RED_PROD:
        return 1.0
    if kind == RED_MAX:
        return -INFINITY
    if kind == RED_MIN:
        return INFINITY
    return 0.0


cdef double _minmax_contig(bint is_max, Py_ssize_t n, const floating* x) noexcept nogil:
    """max (or min) of x[0:n], n >= 1, NaN-propagating. MINMAX_LANES independent running
    extrema updated by an element-wise select loop, which gcc vectorizes."""
    cdef floating m[MINMAX_LANES]
    cdef floating v, b
    cdef const floating* c
    cdef Py_ssize_t i, k
    for k in range(MINMAX_LANES):
        m[k] = x[0]
    i = 0
    if is_max:
        while i + MINMAX_LANES <= n:
            c = x + i
            for k in range(MINMAX_LANES):
                v = c[k]
                b = m[k]
                m[k] = v if (v > b) | (v != v) else b
            i += MINMAX_LANES
    else:
        while i + MINMAX_LANES <= n:
            c = x + i
            for k in range(MINMAX_LANES):
                v = c[k]
                b = m[k]
                m[k] = v if (v < b) | (v != v) else b
            i += MINMAX_LANES
    while i < n:
        v = x[i]
        b = m[0]
        m[0] = v if ((v > b) if is_max else (v < b)) | (v != v) else b
        i += 1
    b = m[0]
    for k in range(1, MINMAX_LANES):
        v = m[k]
        b = v if ((v > b) if is_max else (v < b)) | (v != v) else b
    return b


cdef double _reduce_contig(int kind, Py_ssize_t n, const floating* x) noexcept nogil:
    """Reduce n contiguous values (inner == 1)."""
    cdef Py_ssize_t i, best_i
    cdef double s0, s1, s2, s3
    cdef floating best, v
    if n <= 0:
        return _empty_value(kind)
    if kind == RED_SUM or kind == RED_MEAN:
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        i = 0
        while i + 4 <= n:
            s0 += x[i]
            s1 += x[i + 1]
            s2 += x[i + 2]
            s3 += x[i + 3]
            i += 4
        while i < n:
            s0 += x[i]
            i += 1
        s0 = (s0 + s1) + (s2 + s3)
        return s0 / n if kind == RED_MEAN else s0
    if kind == RED_PROD:
        s0 = 1.0
        for i in range(n):
            s0 *= x[i]
        return s0
    best = x[0]
    best_i = 0
    if kind == RED_MAX or kind == RED_MIN:
        return _minmax_contig(kind == RED_MAX, n, x)
    if kind == RED_ARGMAX:
        for i in range(1, n):
            v = x[i]
            if best != best:
                break
            if v > best or v != v:
                best = v
                best_i = i
        return <double>best_i
    if kind == RED_ARGMIN:
        for i in range(1, n):
            v = x[i]
            if best != best:
                break
            if v < best or v != v:
                best = v
                best_i = i
        return <double>best_i
    return NAN


cdef void _reduce_cols(int kind, Py_ssize_t red, Py_ssize_t inner, Py_ssize_t c0,
                       Py_ssize_t c1, const floating* x, floating* y) noexcept nogil:
    """y[j] = reduce_r x[r, j] for c0 <= j < c1, x (red, inner): streams rows contiguously."""
    cdef double acc[COL_CHUNK]
    cdef floating best[COL_CHUNK]
    cdef Py_ssize_t idx[COL_CHUNK]
    cdef Py_ssize_t w = c1 - c0
    cdef Py_ssize_t r, j
    cdef const floating* row
    cdef floating v, b
    cdef double e
    if red <= 0:
        e = _empty_value(kind)
        for j in range(c0, c1):
            y[j] = <floating>e
        return
    if kind == RED_SUM or kind == RED_MEAN or kind == RED_PROD:
        row = x + c0
        for j in range(w):
            acc[j] = row[j]
        if kind == RED_PROD:
            for r in range(1, red):
                row = x + r * inner + c0
                for j in range(w):
                    acc[j] *= row[j]
        else:
            # The same row order as the loop above, with sums kept in registers across a
            # block of rows that stays in L1.
            r = 1
            while r < red:
                add_rows(min(SUM_BLOCK_ROWS, red - r), w, inner, x + r * inner + c0, acc)
                r += SUM_BLOCK_ROWS
        if kind == RED_MEAN:
            for j in range(w):
                y[c0 + j] = <floating>(acc[j] / red)
        else:
            for j in range(w):
                y[c0 + j] = <floating>acc[j]
        return
    row = x + c0
    for j in range(w):
        best[j] = row[j]
        idx[j] = 0
    for r in range(1, red):
        row = x + r * inner + c0
        if kind == RED_MAX:
            for j in range(w):
                v = row[j]
                b = best[j]
                best[j] = v if (v > b) | (v != v) else b
        elif kind == RED_MIN:
            for j in range(w):
                v = row[j]
                b = best[j]
                best[j] = v if (v < b) | (v != v) else b
        elif kind == RED_ARGMAX:
            for j in range(w):
                v = row[j]
                b = best[j]
                if (b == b) & ((v > b) | (v != v)):
                    best[j] = v
                    idx[j] = r
        elif kind == RED_ARGMIN:
            for j in range(w):
                v = row[j]
                b = best[j]
                if (b == b) & ((v < b) | (v != v)):
                    best[j] = v
                    idx[j] = r
    if kind == RED_ARGMAX or kind == RED_ARGMIN:
        for j in range(w):
            y[c0 + j] = <floating>idx[j]
    else:
        for j in range(w):
            y[c0 + j] = best[j]


cdef void reduce(int kind, Py_ssize_t outer, Py_ssize_t red, Py_ssize_t inner,
                 const floating* x, floating* y, int n_threads) noexcept nogil:
    cdef Py_ssize_t o, t, nch, tasks, c0, c1
    if outer <= 0 or inner <= 0:
        return
    if red < 0:
        red = 0
    if inner == 1:
        if n_threads > 1 and outer > 1:
            for o in prange(outer, schedule='static', num_threads=n_threads):
                y[o] = <floating>_reduce_contig(kind, red, x + o * red)
        else:
            for o in range(outer):
                y[o] = <floating>_reduce_contig(kind, red, x + o * red)
        return
    nch = (inner + COL_CHUNK - 1) // COL_CHUNK
    tasks = outer * nch
    if n_threads > 1 and tasks > 1:
        for t in prange(tasks, schedule='static', num_threads=n_threads):
            o = t // nch
            c0 = (t - o * nch) * COL_CHUNK
            c1 = c0 + COL_CHUNK
            if c1 > inner:
                c1 = inner
            _reduce_cols(kind, red, inner, c0, c1, x + o * red * inner, y + o * inner)
    else:
        for t in range(tasks):
            o = t // nch
            c0 = (t - o * nch) * COL_CHUNK
            c1 = c0 + COL_CHUNK
            if c1 > inner:
                c1 = inner
            _reduce_cols(kind, red, inner, c0, c1, x + o * red * inner, y + o * inner)


def reduce_np(kind, x, y, n_threads=1):
    """y[o, j] = reduce_r x[o, r, j] for a 3-D x (outer, red, inner) and 2-D y (outer, inner)."""
    cdef int k = int(kind)
    if k < RED_SUM or k > RED_ARGMIN:
        raise ValueError(f"unknown reduction code {kind}")
    for name, arr, nd in (("x", x, 3), ("y", y, 2)):
        if not isinstance(arr, np.ndarray):
            raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
        if arr.dtype != np.float32 and arr.dtype != np.float64:
            raise ValueError(f"{name} must be float32 or float64, got {arr.dtype}")
        if arr.ndim != nd:
            raise ValueError(f"{name} must be {nd}-D, got shape {arr.shape}")
        if not arr.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
    if y.dtype != x.dtype:
        raise ValueError(f"y has dtype {y.dtype}, expected {x.dtype}")
    if not y.flags.writeable:
        raise ValueError("y must be writeable")
    if y.shape != (x.shape[0], x.shape[2]):
        raise ValueError(f"y has shape {y.shape}, expected {(x.shape[0], x.shape[2])}")
    cdef Py_ssize_t outer = x.shape[0], red = x.shape[1], inner = x.shape[2]
    cdef int nt = int(n_threads)
    cdef void* px = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef void* py = cnp.PyArray_DATA(<cnp.ndarray>y)
    if x.dtype == np.float32:
        with nogil:
            reduce(k, outer, red, inner, <const float*>px, <float*>py, nt)
    else:
        with nogil:
            reduce(k, outer, red, inner, <const double*>px, <double*>py, nt)
    return y
