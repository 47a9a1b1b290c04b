"""Embedding lookups: a row gather by float-valued indices and its sparse scatter-add."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset

from cthulhu._kernels.common cimport prefetch_row

import numpy as np

cdef enum:
    GATHER_AHEAD = 16  # rows between a prefetch and its copy
    RADIX_BITS = 8
    RADIX = 1 << RADIX_BITS


cdef inline void _copy_row(Py_ssize_t i, Py_ssize_t n_idx, Py_ssize_t width,
                           const floating* table, const floating* idx,
                           floating* out) noexcept nogil:
    # Table rows are read in random order: ask for a later one while copying this one.
    if i + GATHER_AHEAD < n_idx:
        prefetch_row(table + (<Py_ssize_t>idx[i + GATHER_AHEAD]) * width, width)
    memcpy(out + i * width, table + (<Py_ssize_t>idx[i]) * width, width * sizeof(floating))


cdef void gather_rows(Py_ssize_t n_idx, Py_ssize_t width, Py_ssize_t n_table,
                      const floating* table, const floating* idx, floating* out,
                      int64_t* status, int n_threads) noexcept nogil:
    cdef Py_ssize_t i
    cdef double v
    # A serial check first: the copy below then needs no error path.
    for i in range(n_idx):
        v = idx[i]
        if not row_index_valid(v, n_table):
            status[0] = 1
            status[1] = i
            status[2] = <int64_t>v if v == v and -9.0e18 < v < 9.0e18 else 0
            return
    if n_threads > 1:
        for i in prange(n_idx, schedule='static', num_threads=n_threads):
            _copy_row(i, n_idx, width, table, idx, out)
    else:
        for i in range(n_idx):
            _copy_row(i, n_idx, width, table, idx, out)


cdef void _scatter_cols(Py_ssize_t n_idx, Py_ssize_t width, Py_ssize_t n_table,
                        const floating* idx, const floating* dy, floating* out,
                        Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t i, j, r
    cdef double v
    cdef floating* row
    cdef const floating* src
    for i in range(n_idx):
        v = idx[i]
        if not row_index_valid(v, n_table):
            continue
        r = <Py_ssize_t>v
        row = out + r * width
        src = dy + i * width
        for j in range(lo, hi):
            row[j] += src[j]


cdef void scatter_add_rows(Py_ssize_t n_idx, Py_ssize_t width, Py_ssize_t n_table,
                           const floating* idx, const floating* dy, floating* out,
                           int n_threads) noexcept nogil:
    cdef Py_ssize_t t, nt
    memset(out, 0, n_table * width * sizeof(floating))
    nt = n_threads if n_threads < width else width
    if nt > 1:
        for t in prange(nt, schedule='static', num_threads=nt):
            _scatter_cols(n_idx, width, n_table, idx, dy, out, t * width // nt,
                          (t + 1) * width // nt)
    else:
        _scatter_cols(n_idx, width, n_table, idx, dy, out, 0, width)


cdef Py_ssize_t rows_in_order(Py_ssize_t n_idx, Py_ssize_t n_table, const floating* idx,
                              int64_t* order, int64_t* tmp) noexcept nogil:
    cdef Py_ssize_t count[RADIX + 1]
    cdef Py_ssize_t i, n = 0, d, total
    cdef int shift, p, passes = 0
    cdef int64_t* src
    cdef int64_t* dst
    cdef int64_t* swap
    while passes * RADIX_BITS < 63 and ((n_table - 1) >> (passes * RADIX_BITS)) > 0:
        passes += 1
    # The valid positions in index order, in the buffer that makes the last pass end in order.
    src = order if passes % 2 == 0 else tmp
    dst = tmp if passes % 2 == 0 else order
    for i in range(n_idx):
        if row_index_valid(idx[i], n_table):
            src[n] = i
            n += 1
    # LSD passes: each is a stable counting sort on one digit of the row.
    for p in range(passes):
        shift = p * RADIX_BITS
        memset(count, 0, sizeof(count))
        for i in range(n):
            count[(((<Py_ssize_t>idx[src[i]]) >> shift) & (RADIX - 1)) + 1] += 1
        total = 0
        for d in range(RADIX + 1):
            total += count[d]
            count[d] = total
        for i in range(n):
            d = ((<Py_ssize_t>idx[src[i]]) >> shift) & (RADIX - 1)
            dst[count[d]] = src[i]
            count[d] += 1
        swap = src
        src = dst
        dst = swap
    return n


# ---- numpy wrappers (tests) ----------------------------------------------------------------
def gather_rows_np(floating[:, ::1] table, floating[::1] idx, floating[:, ::1] out,
                   int n_threads=1):
    """out[i] = table[int(idx[i])]; returns (status, position, value) as the executor sees
    them (status 1: a bad index, nothing written)."""
    cdef int64_t status[3]
    if out.shape[0] != idx.shape[0] or out.shape[1] != table.shape[1]:
        raise ValueError("out must have shape (len(idx), table.shape[1])")
    status[0] = status[1] = status[2] = 0
    with nogil:
        gather_rows(idx.shape[0], table.shape[1], table.shape[0], &table[0, 0], &idx[0],
                    &out[0, 0], status, n_threads)
    return int(status[0]), int(status[1]), int(status[2])


def scatter_add_rows_np(floating[::1] idx, floating[:, ::1] dy, floating[:, ::1] out,
                        int n_threads=1):
    """out <- 0; out[int(idx[i])] += dy[i] (indices out of range skipped)."""
    if dy.shape[0] != idx.shape[0] or out.shape[1] != dy.shape[1]:
        raise ValueError("dy must be (len(idx), width) and out (rows, width)")
    with nogil:
        scatter_add_rows(idx.shape[0], dy.shape[1], out.shape[0], &idx[0], &dy[0, 0],
                         &out[0, 0], n_threads)


def rows_in_order_np(floating[::1] idx, Py_ssize_t n_table):
    """The positions of the valid indices, sorted by row then position (int64 array)."""
    order = np.zeros(idx.shape[0], np.int64)
    tmp = np.zeros(idx.shape[0], np.int64)
    cdef int64_t[::1] o = order, t = tmp
    cdef Py_ssize_t n = 0
    if idx.shape[0]:
        with nogil:
            n = rows_in_order(idx.shape[0], n_table, &idx[0], &o[0], &t[0])
    return order[:n]
