"""Pooling kernels over a channels-last (outer, D, H, W, C) view (see pooling.pxd).

Forward kernels split the output rows (outer x D_out x H_out) between threads; backward
kernels split the outer slices, because overlapping windows add into shared dx elements.
The innermost loop runs over the contiguous channels."""

from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memset

cdef enum:
    CHANNEL_BLOCK = 64


cdef inline Py_ssize_t _lo(const PoolGeom* g, int a, Py_ssize_t o) noexcept nogil:
    """First input index of window o along axis a, clipped to the input."""
    cdef Py_ssize_t v = o * g.s[a] - g.pad[a]
    return v if v > 0 else 0


cdef inline Py_ssize_t _hi(const PoolGeom* g, int a, Py_ssize_t o) noexcept nogil:
    cdef Py_ssize_t v = o * g.s[a] - g.pad[a] + g.k[a]
    return v if v < g.ind[a] else g.ind[a]


cdef void _max_row(const PoolGeom* g, Py_ssize_t row, const floating* x, floating* y,
                   int64_t* idx) noexcept nogil:
    # row = (o * D_out + od) * H_out + oh: all W_out x C outputs of that row. Channels go
    # in blocks through local arrays (no aliasing, branch-free selects: vectorizable). The
    # argmax is kept as an int32 offset from the window's first element, the width of a
    # float lane, so that the selects vectorize (an int64 select beside a float compare
    # does not); the lowering keeps D * H * W below 2**31.
    cdef Py_ssize_t C = g.c, H = g.ind[1], W = g.ind[2]
    cdef Py_ssize_t oh = row % g.outd[1]
    cdef Py_ssize_t od = (row // g.outd[1]) % g.outd[0]
    cdef Py_ssize_t o = row // (g.outd[1] * g.outd[0])
    cdef Py_ssize_t d0 = _lo(g, 0, od), d1 = _hi(g, 0, od)
    cdef Py_ssize_t h0 = _lo(g, 1, oh), h1 = _hi(g, 1, oh)
    cdef Py_ssize_t ow, w0, w1, d, h, w, c, c0, nc, first
    cdef const floating* xo = x + o * g.ind[0] * H * W * C
    cdef const floating* xp
    cdef floating* yb
    cdef int64_t* ib
    cdef floating best[CHANNEL_BLOCK]
    cdef int32_t where[CHANNEL_BLOCK]
    cdef floating v, b
    cdef int32_t off, m
    for ow in range(g.outd[2]):
        w0 = _lo(g, 2, ow)
        w1 = _hi(g, 2, ow)
        yb = y + (row * g.outd[2] + ow) * C
        ib = idx + (row * g.outd[2] + ow) * C
        first = (d0 * H + h0) * W + w0  # the window's first element starts the scan
        c0 = 0
        while c0 < C:
            nc = C - c0 if C - c0 < CHANNEL_BLOCK else CHANNEL_BLOCK
            xp = xo + first * C + c0
            for c in range(nc):
                best[c] = xp[c]
                where[c] = 0
            for d in range(d0, d1):
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        off = <int32_t>((d * H + h) * W + w - first)
                        xp = xo + (first + off) * C + c0
                        for c in range(nc):
                            # Strict >: the first maximum wins ties.
                            # The offset select is a mask (an int select beside a float
                            # compare is control flow to gcc, a mask vectorizes).
                            v = xp[c]
                            b = best[c]
                            m = -<int32_t>(v > b)
                            best[c] = v if v > b else b
                            where[c] = (where[c] & ~m) | (off & m)
            for c in range(nc):
                yb[c0 + c] = best[c]
                ib[c0 + c] = first + where[c]
            c0 += nc


cdef void max_pool_fwd(const PoolGeom* g, const floating* x, floating* y, int64_t* idx,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t rows = g.outer * g.outd[0] * g.outd[1], r
    if n_threads > 1 and rows > 1:
        for r in prange(rows, schedule='static', num_threads=n_threads):
            _max_row(g, r, x, y, idx)
    else:
        for r in range(rows):
            _max_row(g, r, x, y, idx)


cdef void _max_bwd_slice(const PoolGeom* g, Py_ssize_t o, const floating* dy,
                         const int64_t* idx, floating* dx) noexcept nogil:
    cdef Py_ssize_t C = g.c, n_in = g.ind[0] * g.ind[1] * g.ind[2]
    cdef Py_ssize_t n_out = g.outd[0] * g.outd[1] * g.outd[2], p, c
    cdef floating* dxo = dx + o * n_in * C
    cdef const floating* dyo = dy + o * n_out * C
    cdef const int64_t* io = idx + o * n_out * C
    memset(dxo, 0, n_in * C * sizeof(floating))
    for p in range(n_out):
        for c in range(C):
            dxo[io[p * C + c] * C + c] += dyo[p * C + c]


cdef void max_pool_bwd(const PoolGeom* g, const floating* dy, const int64_t* idx,
                       floating* dx, int n_threads) noexcept nogil:
    cdef Py_ssize_t o
    if n_threads > 1 and g.outer > 1:
        for o in prange(g.outer, schedule='static', num_threads=n_threads):
            _max_bwd_slice(g, o, dy, idx, dx)
    else:
        for o in range(g.outer):
            _max_bwd_slice(g, o, dy, idx, dx)


cdef void _gather_slice(const PoolGeom* g, Py_ssize_t o, const floating* x,
                        const int64_t* idx, floating* y) noexcept nogil:
    cdef Py_ssize_t C = g.c, n_in = g.ind[0] * g.ind[1] * g.ind[2]
    cdef Py_ssize_t n_out = g.outd[0] * g.outd[1] * g.outd[2], p, c
    cdef const floating* xo = x + o * n_in * C
    cdef floating* yo = y + o * n_out * C
    cdef const int64_t* io = idx + o * n_out * C
    for p in range(n_out):
        for c in range(C):
            yo[p * C + c] = xo[io[p * C + c] * C + c]


cdef void max_pool_gather(const PoolGeom* g, const floating* x, const int64_t* idx,
                          floating* y, int n_threads) noexcept nogil:
    cdef Py_ssize_t o
    if n_threads > 1 and g.outer > 1:
        for o in prange(g.outer, schedule='static', num_threads=n_threads):
            _gather_slice(g, o, x, idx, y)
    else:
        for o in range(g.outer):
            _gather_slice(g, o, x, idx, y)


cdef void _avg_row(const PoolGeom* g, Py_ssize_t row, const floating* x,
                   floating* y) noexcept nogil:
    cdef Py_ssize_t C = g.c, H = g.ind[1], W = g.ind[2]
    cdef Py_ssize_t oh = row % g.outd[1]
    cdef Py_ssize_t od = (row // g.outd[1]) % g.outd[0]
    cdef Py_ssize_t o = row // (g.outd[1] * g.outd[0])
    cdef Py_ssize_t d0 = _lo(g, 0, od), d1 = _hi(g, 0, od)
    cdef Py_ssize_t h0 = _lo(g, 1, oh), h1 = _hi(g, 1, oh)
    cdef Py_ssize_t ow, w0, w1, d, h, w, c
    cdef const floating* xo = x + o * g.ind[0] * H * W * C
    cdef const floating* xp
    cdef floating* yb
    cdef floating scale
    for ow in range(g.outd[2]):
        w0 = _lo(g, 2, ow)
        w1 = _hi(g, 2, ow)
        yb = y + (row * g.outd[2] + ow) * C
        for c in range(C):
            yb[c] = 0
        for d in range(d0, d1):
            for h in range(h0, h1):
                for w in range(w0, w1):
                    xp = xo + ((d * H + h) * W + w) * C
                    for c in range(C):
                        yb[c] += xp[c]
        scale = <floating>1.0 / <floating>((d1 - d0) * (h1 - h0) * (w1 - w0))
        for c in range(C):
            yb[c] *= scale


cdef void avg_pool_fwd(const PoolGeom* g, const floating* x, floating* y,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t rows = g.outer * g.outd[0] * g.outd[1], r
    if n_threads > 1 and rows > 1:
        for r in prange(rows, schedule='static', num_threads=n_threads):
            _avg_row(g, r, x, y)
    else:
        for r in range(rows):
            _avg_row(g, r, x, y)


cdef void _avg_bwd_slice(const PoolGeom* g, Py_ssize_t o, const floating* dy,
                         floating* dx) noexcept nogil:
    cdef Py_ssize_t C = g.c, H = g.ind[1], W = g.ind[2]
    cdef Py_ssize_t n_in = g.ind[0] * H * W
    cdef Py_ssize_t od, oh, ow, d0, d1, h0, h1, w0, w1, d, h, w, c, c0, nc
    cdef floating* dxo = dx + o * n_in * C
    cdef const floating* gp = dy + o * g.outd[0] * g.outd[1] * g.outd[2] * C
    cdef floating* xp
    cdef floating scale
    cdef floating share[CHANNEL_BLOCK]  # dy / count of one window, a channel block
    memset(dxo, 0, n_in * C * sizeof(floating))
    for od in range(g.outd[0]):
        d0 = _lo(g, 0, od)
        d1 = _hi(g, 0, od)
        for oh in range(g.outd[1]):
            h0 = _lo(g, 1, oh)
            h1 = _hi(g, 1, oh)
            for ow in range(g.outd[2]):
                w0 = _lo(g, 2, ow)
                w1 = _hi(g, 2, ow)
                scale = <floating>1.0 / <floating>((d1 - d0) * (h1 - h0) * (w1 - w0))
                c0 = 0
                while c0 < C:
                    nc = C - c0 if C - c0 < CHANNEL_BLOCK else CHANNEL_BLOCK
                    for c in range(nc):
                        share[c] = gp[c0 + c] * scale
                    for d in range(d0, d1):
                        for h in range(h0, h1):
                            for w in range(w0, w1):
                                xp = dxo + ((d * H + h) * W + w) * C + c0
                                for c in range(nc):
                                    xp[c] += share[c]
                    c0 += nc
                gp += C


cdef void avg_pool_bwd(const PoolGeom* g, const floating* dy, floating* dx,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t o
    if n_threads > 1 and g.outer > 1:
        for o in prange(g.outer, schedule='static', num_threads=n_threads):
            _avg_bwd_slice(g, o, dy, dx)
    else:
        for o in range(g.outer):
            _avg_bwd_slice(g, o, dy, dx)
