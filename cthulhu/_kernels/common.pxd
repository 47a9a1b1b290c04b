# Small inline helpers shared by several kernel modules (included by cimport, no module).
from cython cimport floating
from libc.math cimport fabs, fabsf, pow, powf, sqrt, sqrtf

cdef extern from *:
    """
    #if defined(__GNUC__)
    #define cth_prefetch(p) __builtin_prefetch(p)
    #else
    #define cth_prefetch(p) ((void)(p))
    #endif
    """
    void cth_prefetch(const void* p) noexcept nogil


cdef enum:
    SPLIT_ALIGN = 16    # parts of a parallel split start on multiples of this many elements
    ROWMAX_LANES = 64   # running maxima of a softmax row


cdef inline Py_ssize_t split_point(Py_ssize_t total, Py_ssize_t parts,
                                   Py_ssize_t p) noexcept nogil:
    """Start of part p when [0, total) is cut in `parts` pieces aligned to 16 elements."""
    cdef Py_ssize_t b
    if p >= parts:
        return total
    b = total * p // parts
    return b - b % SPLIT_ALIGN


cdef inline floating row_max(Py_ssize_t n, const floating* x) noexcept nogil:
    """max of x[0:n], n >= 1 (NaN may be skipped: exp(NaN - max) makes the row NaN anyway).
    ROWMAX_LANES running maxima updated by an element-wise select loop (vectorizable)."""
    cdef floating m[ROWMAX_LANES]
    cdef floating v, b, best
    cdef const floating* c
    cdef Py_ssize_t j, k
    best = x[0]
    j = 0
    if n >= ROWMAX_LANES:
        for k in range(ROWMAX_LANES):
            m[k] = x[0]
        while j + ROWMAX_LANES <= n:
            c = x + j
            for k in range(ROWMAX_LANES):
                v = c[k]
                b = m[k]
                m[k] = v if v > b else b
            j += ROWMAX_LANES
        for k in range(ROWMAX_LANES):
            best = m[k] if m[k] > best else best
    while j < n:
        v = x[j]
        best = v if v > best else best
        j += 1
    return best


cdef inline void prefetch_row(const floating* row, Py_ssize_t width) noexcept nogil:
    """Asks for the cache lines of row[0:width] ahead of a random-access read of it."""
    cdef Py_ssize_t b
    for b in range(0, width * <Py_ssize_t>sizeof(floating), 64):
        cth_prefetch(<const char*>row + b)


# libm in the precision of `floating` (float32 calls the f-suffixed functions).
cdef inline floating fabs_f(floating v) noexcept nogil:
    if floating is float:
        return fabsf(v)
    else:
        return fabs(v)


cdef inline floating sqrt_f(floating v) noexcept nogil:
    if floating is float:
        return sqrtf(v)
    else:
        return sqrt(v)


cdef inline floating pow_f(floating a, floating b) noexcept nogil:
    if floating is float:
        return powf(a, b)
    else:
        return pow(a, b)


cdef inline void add_rows(Py_ssize_t nr, Py_ssize_t w, Py_ssize_t stride, const floating* x,
                          double* part) noexcept nogil:
    """part[j] += x[r * stride + j] for j < w, r < nr, in row order. Eight columns at a time
    stay in registers through all the rows (a loop over the row's columns loads and stores
    part[] for every element instead: twice the instructions); same sums either way."""
    cdef Py_ssize_t r, j = 0
    cdef const floating* row
    cdef double a0, a1, a2, a3, a4, a5, a6, a7
    while j + 8 <= w:
        a0, a1, a2, a3 = part[j], part[j + 1], part[j + 2], part[j + 3]
        a4, a5, a6, a7 = part[j + 4], part[j + 5], part[j + 6], part[j + 7]
        for r in range(nr):
            row = x + r * stride + j
            a0 += row[0]
            a1 += row[1]
            a2 += row[2]
            a3 += row[3]
            a4 += row[4]
            a5 += row[5]
            a6 += row[6]
            a7 += row[7]
        part[j], part[j + 1], part[j + 2], part[j + 3] = a0, a1, a2, a3
        part[j + 4], part[j + 5], part[j + 6], part[j + 7] = a4, a5, a6, a7
        j += 8
    for r in range(nr):
        row = x + r * stride
        for j in range(w - w % 8, w):
            part[j] += row[j]
