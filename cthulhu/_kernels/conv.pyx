"""Convolution: the batch in parts run in parallel (one parallel region per call), each part
sample by sample with its own arena scratch, by one of two methods:

- direct (float32, 1 or 2 spatial axes, AVX2+FMA at run time; the compiler sets the `direct`
  field of the geometry): register tiles of sgemm_tiles.h read the input in place, each tap
  of the kernel as an offset into the sample (an implicit GEMM: no im2col columns, no BLAS
  packing of them). The input gradient (stride 1 only) is the forward convolution of the
  zero-padded output gradient with the flipped, transposed kernel; the kernel gradient tiles
  run over the output pixels in blocks of rows that stay in L1. Padding is a zero-padded
  copy of each sample in the scratch.
- im2col + GEMM (everything else): chunk of samples by chunk, im2col into the scratch, one
  single-threaded BLAS GEMM, the epilogue.
"""

from cython.parallel cimport prange
from libc.string cimport memcpy, memset

from cthulhu._kernels.activations cimport bias_act_fwd
from cthulhu._kernels.blas cimport gemm
from cthulhu._kernels.codes cimport ACT_LINEAR
from cthulhu._kernels.threads cimport threads_for


cdef extern from "sgemm_tiles.h" nogil:
    int cth_avx2_fma_available()
    void cth_tap_tile(int mr, Py_ssize_t ntap, const Py_ssize_t* off, Py_ssize_t kc,
                      const float* a, Py_ssize_t rs, const float* bp, float* c,
                      Py_ssize_t ldc, int acc, int nc)
    void cth_grid_tile(int mr, const float** rows, Py_ssize_t ni, Py_ssize_t nj,
                       Py_ssize_t ri, Py_ssize_t rj, const float* g, Py_ssize_t ldg,
                       float* c, Py_ssize_t ldc, int acc, int nc)


cdef enum:
    MAX_TAPS = 64   # the compiler marks larger kernels not direct (compiler/ops/conv.py)
    TILE_ROWS = 6
    PANEL = 16
    GRID_PIXELS = 48  # output pixels per block of the kernel gradient: its g rows stay in L1
    PANEL_L1_BYTES = 20480  # a kernel panel's share of L1 (32 KiB) in the forward tiles

# The direct method needs the CPU's AVX2 and FMA; tests switch it off to compare methods.
cdef bint DIRECT_CPU = cth_avx2_fma_available()
cdef bint direct_enabled = True


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
    bint direct          # the compiler allows the direct method (float32, planar, ...)
    Py_ssize_t pack      # direct: scratch elements of the packed kernel (shared)
    # direct, per part: elements of its first buffer (padded input or output gradient),
    # then of its second (room to crop the input gradient, or the dw partial)
    Py_ssize_t part_a
    Py_ssize_t part_b


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
    g.direct = t[22] != 0
    g.pack = t[23]
    g.part_a = t[24]
    g.part_b = t[25]
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


# ---- the direct method (float32; planar: spatial axis 0 of the table has size 1) ----------
cdef inline Py_ssize_t span(const Geom* g, int a) noexcept nogil:
    """The extent of axis a of the input that the output's taps reach."""
    return (g.o[a] - 1) * g.st[a] + (g.k[a] - 1) * g.dil[a] + 1


cdef inline bint padded(const Geom* g) noexcept nogil:
    return (g.pad[1] != 0 or g.pad[2] != 0 or span(g, 1) > g.s[1]
            or span(g, 2) > g.s[2])


cdef void place(const float* x, Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, Py_ssize_t top,
                Py_ssize_t left, float* out, Py_ssize_t oh, Py_ssize_t ow) noexcept nogil:
    """out (oh, ow, c) = zeros with x (h, w, c) placed at row top, column left (either may
    be negative: what falls outside out is dropped). Pads, and crops. Each element of out
    is written once."""
    cdef Py_ssize_t r, lo = max(0, left), hi = max(lo, min(ow, left + w))
    cdef float* row
    for r in range(oh):
        row = out + r * ow * c
        if r < top or r >= top + h or hi == lo:
            memset(row, 0, ow * c * sizeof(float))
            continue
        memset(row, 0, lo * c * sizeof(float))
        memcpy(row + lo * c, x + ((r - top) * w + lo - left) * c, (hi - lo) * c * sizeof(float))
        memset(row + hi * c, 0, (ow - hi) * c * sizeof(float))


cdef Py_ssize_t tap_offsets(const Geom* g, Py_ssize_t width, Py_ssize_t c,
                            Py_ssize_t* off) noexcept nogil:
    """off[t] = where tap t = (k1, k2) of the kernel reads, relative to its output pixel's
    first tap, in a (rows, width, c) sample; returns the number of taps."""
    cdef Py_ssize_t k1, k2
    for k1 in range(g.k[1]):
        for k2 in range(g.k[2]):
            off[k1 * g.k[2] + k2] = (k1 * g.dil[1] * width + k2 * g.dil[2]) * c
    return g.k[1] * g.k[2]


cdef void pack_panels(const Geom* g, bint flipped, const float* w, float* bp) noexcept nogil:
    """The kernel w (taps, C, F) in 16-column panels (rows of 16 floats, zero past the last
    column): as it is (K = taps * C rows, F columns) for the forward, or for the input
    gradient flipped and transposed per tap (K = taps * F rows, C columns)."""
    cdef Py_ssize_t taps = g.k[1] * g.k[2], t, i, j, q, col
    cdef Py_ssize_t rows = taps * (g.f if flipped else g.c)
    cdef Py_ssize_t cols = g.c if flipped else g.f
    cdef Py_ssize_t panels = (cols + PANEL - 1) // PANEL
    cdef float* row
    for q in range(panels):
        for i in range(rows):
            row = bp + (q * rows + i) * PANEL
            for j in range(PANEL):
                col = q * PANEL + j
                if col >= cols:
                    row[j] = 0
                elif flipped:   # row i = (tap t, filter f) reads w[taps - 1 - t, col, f]
                    t = i // g.f
                    row[j] = w[((taps - 1 - t) * g.c + col) * g.f + i % g.f]
                else:
                    row[j] = w[i * g.f + col]


cdef const float* input_sample(const Geom* g, const float* x, Py_ssize_t s, float* xpad
                               ) noexcept nogil:
    """Sample s of x (s1, s2, C) as the direct method reads it: in place, or when the
    convolution pads, its zero-padded copy in xpad (span 1, span 2, C)."""
    if not padded(g):
        return x + s * g.in_pix * g.c
    place(x + s * g.in_pix * g.c, g.s[1], g.s[2], g.c, g.pad[1], g.pad[2], xpad, span(g, 1),
          span(g, 2))
    return xpad


cdef inline Py_ssize_t input_width(const Geom* g) noexcept nogil:
    """The row length of the samples input_sample gives."""
    return span(g, 2) if padded(g) else g.s[2]


cdef void tap_conv(Py_ssize_t o1, Py_ssize_t o2, Py_ssize_t st1, Py_ssize_t st2,
                   const float* xs, Py_ssize_t width, Py_ssize_t kc, Py_ssize_t ntap,
                   const Py_ssize_t* off, const float* bp, Py_ssize_t nout,
                   float* y) noexcept nogil:
    """y (o1, o2, nout) = one sample's convolution: output pixel (i, j) reads xs (rows,
    width, kc) from (i * st1, j * st2) on, tap t off[t] further; bp the packed kernel.
    A panel's rows for a group of taps stay in L1 while every output pixel uses them; the
    groups add up in order."""
    cdef Py_ssize_t q, i, jt, j, tg, t0, taps
    cdef Py_ssize_t panels = (nout + PANEL - 1) // PANEL
    cdef Py_ssize_t group = max(1, PANEL_L1_BYTES // (PANEL * kc * <Py_ssize_t>sizeof(float)))
    for q in range(panels):
        for tg in range((ntap + group - 1) // group):
            t0 = tg * group
            taps = min(group, ntap - t0)
            for i in range(o1):
                for jt in range((o2 + TILE_ROWS - 1) // TILE_ROWS):
                    j = jt * TILE_ROWS
                    cth_tap_tile(<int>min(TILE_ROWS, o2 - j), taps, off + t0, kc,
                                 xs + (i * st1 * width + j * st2) * kc, st2 * kc,
                                 bp + (q * ntap + t0) * PANEL * kc,
                                 y + (i * o2 + j) * nout + q * PANEL, nout, t0 > 0,
                                 <int>min(PANEL, nout - q * PANEL))


cdef void direct_forward(const Geom* g, Py_ssize_t lo, Py_ssize_t hi, const float* x,
                         const float* bp, float* y, float* xpad, const float* bias,
                         int act) noexcept nogil:
    cdef Py_ssize_t off[MAX_TAPS]
    cdef Py_ssize_t s, width = input_width(g)
    cdef Py_ssize_t ntap = tap_offsets(g, width, g.c, off)
    cdef const float* xs
    for s in range(lo, hi):
        xs = input_sample(g, x, s, xpad)
        tap_conv(g.o[1], g.o[2], g.st[1], g.st[2], xs, width, g.c, ntap, off, bp, g.f,
                 y + s * g.out_pix * g.f)
        if bias != NULL or act != ACT_LINEAR:  # the epilogue, while the sample is in cache
            bias_act_fwd(act, g.out_pix, g.f, y + s * g.out_pix * g.f, bias, 1)


cdef void direct_input_grad(const Geom* g, Py_ssize_t lo, Py_ssize_t hi, const float* dy,
                            const float* bp, float* dx, float* dyp,
                            float* dxp) noexcept nogil:
    """Stride 1: dx of a sample is the convolution of its output gradient, zero-padded by
    the kernel's reach on every side, with the flipped transposed kernel (packed in bp)."""
    cdef Py_ssize_t off[MAX_TAPS]
    cdef Py_ssize_t s, ph = (g.k[1] - 1) * g.dil[1], pw = (g.k[2] - 1) * g.dil[2]
    cdef Py_ssize_t h1 = span(g, 1), w1 = span(g, 2)
    cdef bint pad = padded(g)
    cdef Py_ssize_t ntap = tap_offsets(g, g.o[2] + 2 * pw, g.f, off)
    cdef float* out
    for s in range(lo, hi):
        place(dy + s * g.out_pix * g.f, g.o[1], g.o[2], g.f, ph, pw, dyp, g.o[1] + 2 * ph,
              g.o[2] + 2 * pw)
        out = dxp if pad else dx + s * g.in_pix * g.c
        tap_conv(h1, w1, 1, 1, dyp, g.o[2] + 2 * pw, g.f, ntap, off, bp, g.c, out)
        if pad:   # the padded input's gradient, cropped to the input
            place(dxp, h1, w1, g.c, -g.pad[1], -g.pad[2], dx + s * g.in_pix * g.c, g.s[1],
                  g.s[2])


cdef void direct_kernel_grad(const Geom* g, Py_ssize_t lo, Py_ssize_t hi, const float* x,
                             const float* dy, float* dw, float* xpad) noexcept nogil:
    """dw (taps * C, F) = this part's kernel gradient: tiles of 6 (tap, channel) rows by 16
    filters, each summing over the output pixels block by block, samples in order."""
    cdef Py_ssize_t off[MAX_TAPS]
    cdef const float* rows[TILE_ROWS]
    cdef Py_ssize_t s, ib, i0, mt, m0, r, q, m, width = input_width(g)
    cdef Py_ssize_t nb = max(1, GRID_PIXELS // g.o[2])   # output rows per block
    cdef Py_ssize_t panels = (g.f + PANEL - 1) // PANEL
    cdef Py_ssize_t ntap = tap_offsets(g, width, g.c, off)
    cdef Py_ssize_t depth = ntap * g.c
    cdef const float* xs
    cdef const float* gs
    for s in range(lo, hi):
        xs = input_sample(g, x, s, xpad)
        gs = dy + s * g.out_pix * g.f
        for ib in range((g.o[1] + nb - 1) // nb):
            i0 = ib * nb
            for mt in range((depth + TILE_ROWS - 1) // TILE_ROWS):
                m0 = mt * TILE_ROWS
                for r in range(min(TILE_ROWS, depth - m0)):
                    m = m0 + r
                    rows[r] = xs + off[m // g.c] + m % g.c + i0 * g.st[1] * width * g.c
                for q in range(panels):
                    cth_grid_tile(<int>min(TILE_ROWS, depth - m0), rows,
                                  min(nb, g.o[1] - i0), g.o[2], g.st[1] * width * g.c,
                                  g.st[2] * g.c, gs + i0 * g.o[2] * g.f + q * PANEL, g.f,
                                  dw + m0 * g.f + q * PANEL, g.f, s > lo or i0 > 0,
                                  <int>min(PANEL, g.f - q * PANEL))


cdef void direct_part(const Geom* g, int mode, Py_ssize_t lo, Py_ssize_t hi,
                      const float* a, const float* b, float* out, const float* bp,
                      float* slot, const float* bias, int act) noexcept nogil:
    if mode == 0:
        direct_forward(g, lo, hi, a, bp, out, slot, bias, act)
    elif mode == 1:
        direct_input_grad(g, lo, hi, a, bp, out, slot, slot + g.part_a)
    else:
        direct_kernel_grad(g, lo, hi, a, b, slot + g.part_a, slot)


def set_direct_enabled(bint enabled):
    """Tests: False makes every convolution use im2col + GEMM (the other method)."""
    global direct_enabled
    direct_enabled = enabled


def direct_available():
    """Whether this CPU runs the direct method (AVX2 and FMA)."""
    return bool(DIRECT_CPU)


cdef void conv_parts(const Geom* g, int mode, Py_ssize_t n, const floating* a,
                     const floating* b, floating* out, floating* scratch,
                     const floating* bias, int act) noexcept nogil:
    """Every part on one thread (parts depend on n only); the kernel gradient sums the
    parts' partial gradients in part order."""
    cdef Py_ssize_t parts = min(g.parts, n), p, lo, hi, i
    cdef Py_ssize_t size = g.depth * g.f
    cdef bint direct = floating is float and g.direct and DIRECT_CPU and direct_enabled
    # direct: the packed kernel, then per part its two buffers (the dw partial last);
    # im2col: per part one chunk of columns, then its dw partial
    cdef Py_ssize_t first = g.pack if direct else 0
    cdef Py_ssize_t slot = (g.part_a + g.part_b if direct
                            else g.chunk * g.out_pix * g.depth + size)
    cdef int nt = threads_for(n * g.out_pix * g.depth * g.f)
    cdef floating* cols
    if mode == 2 and parts == 0:
        memset(out, 0, size * sizeof(floating))
        return
    if direct and mode != 2:
        pack_panels(g, mode == 1, <const float*>b, <float*>scratch)
    for p in prange(parts, nogil=True, num_threads=max(1, min(nt, parts)),
                    schedule="dynamic"):
        lo = n * p // parts
        hi = n * (p + 1) // parts
        cols = scratch + first + p * slot
        if direct:   # float only (casts keep the float64 version compiling)
            direct_part(g, mode, lo, hi, <const float*>a, <const float*>b, <float*>out,
                        <const float*>scratch, <float*>cols, <const float*>bias, act)
        elif mode == 0:
            part_forward(g, lo, hi, a, b, out, cols, bias, act)
        elif mode == 1:
            part_input_grad(g, lo, hi, a, b, out, cols)
        else:
            part_kernel_grad(g, lo, hi, a, b, cols + slot - size, cols)
    if mode == 2:
        memcpy(out, scratch + first + slot - size, size * sizeof(floating))
        for p in range(1, parts):
            cols = scratch + first + (p + 1) * slot - size
            for i in range(size):
                out[i] += cols[i]


cdef void conv_exec(floating* tag, const int64_t* f, Py_ssize_t n) noexcept nogil:
    cdef Geom g
    read_geom(<const int64_t*>addr(f[1]), &g)
    conv_parts(&g, <int>f[0], n, <const floating*>addr(f[2]), <const floating*>addr(f[3]),
               <floating*>addr(f[4]), <floating*>addr(f[5]), <const floating*>addr(f[6]),
               <int>f[7])
