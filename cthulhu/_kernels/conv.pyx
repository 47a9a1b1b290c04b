"""Convolution by im2col + GEMM: the batch in parts run in parallel, each part chunk of
samples by chunk (im2col into its own arena scratch, one single-threaded GEMM, the
epilogue), so a call opens one parallel region."""

from cython.parallel cimport prange
from libc.string cimport memcpy, memset

from cthulhu._kernels.activations cimport bias_act_fwd
from cthulhu._kernels.blas cimport gemm
from cthulhu._kernels.codes cimport ACT_LINEAR
from cthulhu._kernels.threads cimport threads_for


cdef struct Geom:
    Py_ssize_t s[3]      # input spatial shape
    Py_ssize_t c         # input channels
    Py_ssize_t k[3]      # kernel spatial shape
    Py_ssize_t f         # filters
    Py_ssize_t o[3]      # output spatial shape
    Py_ssize_t st[3]
    Py_ssize_t dil[3]
    Py_ssize_t pad[3]    # zero padding before each axis (after is implied by o)
    Py_ssize_t chunk     # samples per GEMM
    Py_ssize_t parts     # at most this many parts of the batch run in parallel
    Py_ssize_t in_pix, out_pix, depth
    bint pointwise       # 1x1 kernel, stride 1, no padding: the input is its own im2col


cdef inline void* addr(int64_t v) noexcept nogil:
    return <void*><size_t>v


cdef void read_geom(const int64_t* t, Geom* g) noexcept nogil:
    cdef int i
    for i in range(3):
        g.s[i] = t[i]
        g.k[i] = t[4 + i]
        g.o[i] = t[8 + i]
        g.st[i] = t[11 + i]
        g.dil[i] = t[14 + i]
        g.pad[i] = t[17 + i]
    g.c = t[3]
    g.f = t[7]
    g.chunk = t[20]
    g.parts = t[21]
    g.in_pix = g.s[0] * g.s[1] * g.s[2]
    g.out_pix = g.o[0] * g.o[1] * g.o[2]
    g.depth = g.k[0] * g.k[1] * g.k[2] * g.c
    g.pointwise = (g.depth == g.c and g.in_pix == g.out_pix and g.pad[0] == 0
                   and g.pad[1] == 0 and g.pad[2] == 0 and g.st[0] == 1 and g.st[1] == 1
                   and g.st[2] == 1)


cdef void patch(const Geom* g, const floating* xs, floating* row, Py_ssize_t p,
                bint scatter) noexcept nogil:
    """The receptive field of output pixel p of one sample (xs): gathered into row
    (im2col), or with scatter, row added back into xs (col2im). Out-of-range taps are the
    zero padding."""
    cdef Py_ssize_t o0 = p // (g.o[1] * g.o[2])
    cdef Py_ssize_t o1 = (p // g.o[2]) % g.o[1]
    cdef Py_ssize_t o2 = p % g.o[2]
    cdef Py_ssize_t k0, k1, k2, i0, i1, i2, j, col = 0, c = g.c
    cdef floating* src
    for k0 in range(g.k[0]):
        i0 = o0 * g.st[0] - g.pad[0] + k0 * g.dil[0]
        for k1 in range(g.k[1]):
            i1 = o1 * g.st[1] - g.pad[1] + k1 * g.dil[1]
            for k2 in range(g.k[2]):
                i2 = o2 * g.st[2] - g.pad[2] + k2 * g.dil[2]
                if (i0 < 0 or i0 >= g.s[0] or i1 < 0 or i1 >= g.s[1] or i2 < 0
                        or i2 >= g.s[2]):
                    if not scatter:
                        for j in range(c):
                            row[col + j] = 0
                else:
                    src = <floating*>xs + ((i0 * g.s[1] + i1) * g.s[2] + i2) * c
                    if scatter:
                        for j in range(c):
                            src[j] += row[col + j]
                    else:
                        for j in range(c):
                            row[col + j] = src[j]
                col += c


cdef void im2col(const Geom* g, const floating* x, Py_ssize_t b,
                 floating* cols) noexcept nogil:
    """cols (b * out_pix, depth) from samples x[0:b]."""
    cdef Py_ssize_t r
    for r in range(b * g.out_pix):
        patch(g, x + (r // g.out_pix) * g.in_pix * g.c, cols + r * g.depth, r % g.out_pix,
              False)


cdef void col2im(const Geom* g, floating* dx, Py_ssize_t b,
                 const floating* cols) noexcept nogil:
    """dx[0:b] += the columns scattered back."""
    cdef Py_ssize_t r
    for r in range(b * g.out_pix):
        patch(g, dx + (r // g.out_pix) * g.in_pix * g.c, <floating*>cols + r * g.depth,
              r % g.out_pix, True)


cdef void part_forward(const Geom* g, Py_ssize_t lo, Py_ssize_t hi, const floating* x,
                       const floating* w, floating* y, floating* cols, const floating* bias,
                       int act) noexcept nogil:
    cdef Py_ssize_t start = lo, b, rows
    cdef const floating* a
    while start < hi:
        b = min(g.chunk, hi - start)
        rows = b * g.out_pix
        if g.pointwise:
            a = x + start * g.in_pix * g.c
        else:
            im2col(g, x + start * g.in_pix * g.c, b, cols)
            a = cols
        gemm(False, False, rows, g.f, g.depth, <floating>1.0, a, g.depth, w, g.f,
             <floating>0.0, y + start * g.out_pix * g.f, g.f)
        if bias != NULL or act != ACT_LINEAR:  # the epilogue, while the chunk is in cache
            bias_act_fwd(act, rows, g.f, y + start * g.out_pix * g.f, bias, 1)
        start += b


cdef void part_input_grad(const Geom* g, Py_ssize_t lo, Py_ssize_t hi, const floating* dy,
                          const floating* w, floating* dx, floating* cols) noexcept nogil:
    cdef Py_ssize_t start = lo, b, rows
    if g.pointwise:
        gemm(False, True, (hi - lo) * g.out_pix, g.c, g.f, <floating>1.0,
             dy + lo * g.out_pix * g.f, g.f, w, g.f, <floating>0.0, dx + lo * g.in_pix * g.c,
             g.c)
        return
    memset(dx + lo * g.in_pix * g.c, 0, (hi - lo) * g.in_pix * g.c * sizeof(floating))
    while start < hi:
        b = min(g.chunk, hi - start)
        rows = b * g.out_pix
        gemm(False, True, rows, g.depth, g.f, <floating>1.0, dy + start * g.out_pix * g.f,
             g.f, w, g.f, <floating>0.0, cols, g.depth)
        col2im(g, dx + start * g.in_pix * g.c, b, cols)
        start += b


cdef void part_kernel_grad(const Geom* g, Py_ssize_t lo, Py_ssize_t hi, const floating* x,
                           const floating* dy, floating* dw, floating* cols) noexcept nogil:
    """dw = this part's kernel gradient (overwritten)."""
    cdef Py_ssize_t start = lo, b, rows
    cdef const floating* a
    while start < hi:
        b = min(g.chunk, hi - start)
        rows = b * g.out_pix
        if g.pointwise:
            a = x + start * g.in_pix * g.c
        else:
            im2col(g, x + start * g.in_pix * g.c, b, cols)
            a = cols
        gemm(True, False, g.depth, g.f, rows, <floating>1.0, a, g.depth,
             dy + start * g.out_pix * g.f, g.f, <floating>(0.0 if start == lo else 1.0), dw,
             g.f)
        start += b


cdef void conv_parts(const Geom* g, int mode, Py_ssize_t n, const floating* a,
                     const floating* b, floating* out, floating* scratch,
                     const floating* bias, int act) noexcept nogil:
    """Every part on one thread (parts and chunks depend on n only); the kernel gradient
    sums the parts' partial gradients in part order."""
    cdef Py_ssize_t parts = min(g.parts, n), p, lo, hi, i
    cdef Py_ssize_t slot = g.chunk * g.out_pix * g.depth + g.depth * g.f
    cdef Py_ssize_t size = g.depth * g.f
    cdef int nt = threads_for(n * g.out_pix * g.depth * g.f)
    cdef floating* cols
    if mode == 2 and parts == 0:
        memset(out, 0, size * sizeof(floating))
        return
    for p in prange(parts, nogil=True, num_threads=max(1, min(nt, parts)),
                    schedule="dynamic"):
        lo = n * p // parts
        hi = n * (p + 1) // parts
        cols = scratch + p * slot
        if mode == 0:
            part_forward(g, lo, hi, a, b, out, cols, bias, act)
        elif mode == 1:
            part_input_grad(g, lo, hi, a, b, out, cols)
        else:
            part_kernel_grad(g, lo, hi, a, b, cols + slot - size, cols)
    if mode == 2:
        memcpy(out, scratch + slot - size, size * sizeof(floating))
        for p in range(1, parts):
            cols = scratch + (p + 1) * slot - size
            for i in range(size):
                out[i] += cols[i]


cdef void conv_exec(floating* tag, const int64_t* f, Py_ssize_t n) noexcept nogil:
    cdef Geom g
    read_geom(<const int64_t*>addr(f[1]), &g)
    conv_parts(&g, <int>f[0], n, <const floating*>addr(f[2]), <const floating*>addr(f[3]),
               <floating*>addr(f[4]), <floating*>addr(f[5]), <const floating*>addr(f[6]),
               <int>f[7])
