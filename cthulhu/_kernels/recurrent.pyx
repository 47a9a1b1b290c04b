"""Recurrent sequences (SimpleRNN, GRU, LSTM) over all timesteps: forward and backward.

Per step of a part of the batch: one GEMM h_prev @ U over the part's rows (GRU with
reset_after=False: one for z, r and one for (r * h_prev) @ U_h), then per row short loops
over the units for the gates, the activations (activations.pxd, on contiguous spans) and the
masked state update. The backward walks the steps in reverse: per row the gate gradients,
then dh_prev += dgates @ U^T. The recurrent kernel's gradient is not accumulated per step:
rnn_backward_weights computes it as one GEMM over all B * T saved states afterwards.
Layouts and the cut of the batch into parts: recurrent.pxd.
"""

cimport numpy as cnp
from cython.parallel cimport prange
from libc.string cimport memcpy, memset

from cthulhu._kernels.activations cimport act_bwd, act_fwd, col_sum
from cthulhu._kernels.blas cimport GEMM_MAX_BLOCKS, gemm, gemm_split_k
from cthulhu._kernels.codes cimport ACT_HARD_SIGMOID, ACT_SIGMOID, ACT_TANH

import numpy as np

from cthulhu._kernels._checks import check_array

cnp.import_array()


# The per-step products are small (a part's rows x u x G*u): BLAS would pack U again at every
# step. With AVX2 and FMA (checked at run time) float32 uses a kernel that reads U (or U^T)
# packed once per call in 16-column panels (the `pack` buffer) and the step's rows packed
# per k-block: the tiles of sgemm_tiles.h, 6 rows x 16 columns of C in registers, one FMA
# per row and 8 columns per step of k. Every element sums each k-block in order and adds it
# to C, whatever the tiling, so the results do not depend on how the batch is cut. float64
# and other CPUs use BLAS.
cdef extern from *:
    """
    #include "sgemm_tiles.h"
    #if CTH_HAVE_TILES

    /* The 16-column panels of b (k x n, row-major): panel q holds columns 16q .. 16q+15,
       k rows of 16 contiguous floats, panels `ps` floats apart (ps >= 16 * k). Columns
       past the last full panel are not packed. */
    static void rnn_pack_b(Py_ssize_t k, Py_ssize_t n, const float* b, Py_ssize_t ldb,
                           float* bp, Py_ssize_t ps) {
        for (Py_ssize_t q = 0; q < n / 16; q++)
            for (Py_ssize_t p = 0; p < k; p++)
                memcpy(bp + q * ps + 16 * p, b + p * ldb + 16 * q, 16 * sizeof(float));
    }

    #define RNN_KC 128
    #define RNN_MR 6
    static const Py_ssize_t no_offset = 0;   /* one "tap": the plain tiles of sgemm_tiles.h */

    __attribute__((target("avx2,fma")))
    static void rnn_sgemm_nn(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float* a,
                             Py_ssize_t lda, const float* b, Py_ssize_t ldb, const float* bp,
                             Py_ssize_t ps, float* ap, float* c, Py_ssize_t ldc, int acc) {
        /* c = (acc ? c : 0) + a @ b, all row-major; bp: b's panels (rnn_pack_b, panel
           stride ps), ap: room for m * min(k, RNN_KC) floats. Blocks of RNN_KC along k,
           each packing its slice of a's rows contiguously, then the panels outside and
           the row tiles inside, so that a panel's slice and the packed rows stay in L1
           (a's rows and b's rows are often 4 KiB apart and would fight for a few L1
           sets). Each element sums its block's products in k order, then adds them to c:
           the same whatever m and the tiling, so the results do not depend on how the
           batch is cut. */
        const Py_ssize_t n16 = n - n % 16;
        for (Py_ssize_t k0 = 0; k0 < k; k0 += RNN_KC) {
            const Py_ssize_t kc = k - k0 < RNN_KC ? k - k0 : RNN_KC;
            const int add = acc || k0 > 0;
            for (Py_ssize_t i = 0; i < m; i++)
                memcpy(ap + i * kc, a + i * lda + k0, kc * sizeof(float));
            for (Py_ssize_t j = 0; j < n16; j += 16) {
                const float* panel = bp + (j / 16) * ps + 16 * k0;
                for (Py_ssize_t i = 0; i < m; i += RNN_MR)
                    cth_tap_tile(m - i < RNN_MR ? (int)(m - i) : RNN_MR, 1, &no_offset, kc,
                                 ap + i * kc, kc, panel, c + i * ldc + j, ldc, add, 16);
            }
            for (Py_ssize_t i = 0; i < m; i++)
                for (Py_ssize_t j = n16; j < n; j++) {
                    float s = 0.0f;
                    for (Py_ssize_t p = k0; p < k0 + kc; p++)
                        s = __builtin_fmaf(a[i * lda + p], b[p * ldb + j], s);
                    c[i * ldc + j] = add ? c[i * ldc + j] + s : s;
                }
        }
    }

    /* tanh and sigmoid over a span with 8-wide vectors: the same formulas as
       activations.pyx (cth_tanhf / cth_expf of activations.pxd), which the baseline build
       runs 4 floats (or 1) at a time. */
    __attribute__((target("avx2,fma")))
    static void rnn_tanhf(Py_ssize_t n, const float* x, float* y) {
        for (Py_ssize_t j = 0; j < n; j++)
            y[j] = cth_tanhf(x[j]);
    }

    __attribute__((target("avx2,fma")))
    static inline float rnn_sigmoid1(float v) {
        const float e = cth_expf(v < 0.0f ? v : -v);
        const float a = 1.0f / (1.0f + e);
        return v >= 0.0f ? a : e * a;
    }

    __attribute__((target("avx2,fma")))
    static void rnn_sigmoidf(Py_ssize_t n, const float* x, float* y) {
        for (Py_ssize_t j = 0; j < n; j++)
            y[j] = rnn_sigmoid1(x[j]);
    }

    /* The recurrent activation: hard_sigmoid (activations.pyx's formula) or sigmoid. */
    __attribute__((target("avx2,fma")))
    static inline float rnn_ract1(int hard, float v) {
        if (!hard)
            return rnn_sigmoid1(v);
        float a = 0.2f * v + 0.5f;
        a = a < 0.0f ? 0.0f : a;
        return a > 1.0f ? 1.0f : a;
    }

    /* One row of one unmasked step of the lstm forward in a single pass over the units
       (float32, activation tanh, recurrent activation sigmoid or, with hard,
       hard_sigmoid): the formulas of _lstm_row, which runs them as a dozen passes over
       the row's spans. One pass loads and stores each value once (on W4 the forward takes
       3-9% less time; the activations themselves cost little there: without them the
       forward is no faster). Every region written has its own pointer, so that gcc
       vectorizes the loop, and the body is inlined once per recurrent activation: with
       `hard` a run-time value gcc leaves the loop scalar. */
    __attribute__((target("avx2,fma"), always_inline))
    static inline void rnn_lstm_fwd_row_body(
            Py_ssize_t n, const int hard, const float* __restrict x,
            const float* __restrict rc, float* __restrict si, float* __restrict sf,
            float* __restrict sg, float* __restrict so, const float* __restrict cp,
            float* __restrict tc, float* __restrict c_dst, float* __restrict h_dst) {
        for (Py_ssize_t j = 0; j < n; j++) {
            const float i = rnn_ract1(hard, rc[j] + x[j]);
            const float f = rnn_ract1(hard, rc[n + j] + x[n + j]);
            const float g = cth_tanhf(rc[2 * n + j] + x[2 * n + j]);
            const float o = rnn_ract1(hard, rc[3 * n + j] + x[3 * n + j]);
            const float cn = f * cp[j] + i * g;
            const float t = cth_tanhf(cn);
            si[j] = i;
            sf[j] = f;
            sg[j] = g;
            so[j] = o;
            c_dst[j] = cn;
            tc[j] = t;
            h_dst[j] = o * t;
        }
    }

    __attribute__((target("avx2,fma")))
    static void rnn_lstm_fwd_row_f(Py_ssize_t n, int hard, const float* x, const float* rc,
                                   float* si, float* sf, float* sg, float* so,
                                   const float* cp, float* tc, float* c_dst, float* h_dst) {
        if (hard)
            rnn_lstm_fwd_row_body(n, 1, x, rc, si, sf, sg, so, cp, tc, c_dst, h_dst);
        else
            rnn_lstm_fwd_row_body(n, 0, x, rc, si, sf, sg, so, cp, tc, c_dst, h_dst);
    }

    /* One row of one step of the lstm backward in a single pass over the units (float32,
       activation tanh, recurrent activation sigmoid or, with hard, hard_sigmoid): the
       same formulas as _lstm_bwd_row, which runs them as a dozen spans; its comments
       name the arguments. */
    __attribute__((target("avx2,fma")))
    static void rnn_lstm_bwd_row_f(Py_ssize_t n, int hard, float mf, float ykeep,
                                   const float* __restrict s, const float* __restrict cs,
                                   const float* __restrict cy, float* __restrict dx,
                                   float* __restrict dh, float* __restrict dc,
                                   float* __restrict yc) {
        const float keep = 1.0f - mf;
        for (Py_ssize_t j = 0; j < n; j++) {
            const float i = s[j], f = s[n + j], g = s[2 * n + j], o = s[3 * n + j];
            const float cp = s[5 * n + j], tc = s[6 * n + j];
            const float gy = cy[j] + yc[j];
            const float dhn = mf * (dh[j] + gy);
            const float dcn = mf * dc[j] + (dhn * o + cs[6 * n + j]) * (1.0f - tc * tc);
            const float di = dcn * g + cs[j], df = dcn * cp + cs[n + j];
            const float dout = dhn * tc + cs[3 * n + j];
            yc[j] = ykeep * gy;
            dh[j] = keep * dh[j] + cs[4 * n + j];
            dc[j] = keep * dc[j] + dcn * f + cs[5 * n + j];
            if (hard) {
                dx[j] = (i > 0.0f && i < 1.0f) ? di * 0.2f : 0.0f;
                dx[n + j] = (f > 0.0f && f < 1.0f) ? df * 0.2f : 0.0f;
                dx[3 * n + j] = (o > 0.0f && o < 1.0f) ? dout * 0.2f : 0.0f;
            } else {
                dx[j] = di * (i * (1.0f - i));
                dx[n + j] = df * (f * (1.0f - f));
                dx[3 * n + j] = dout * (o * (1.0f - o));
            }
            dx[2 * n + j] = (dcn * i + cs[2 * n + j]) * (1.0f - g * g);
        }
    }

    static int rnn_fast_kernel_available(void) { return cth_avx2_fma_available(); }
    #else
    static void rnn_sgemm_nn(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float* a,
                             Py_ssize_t lda, const float* b, Py_ssize_t ldb, const float* bp,
                             Py_ssize_t ps, float* ap, float* c, Py_ssize_t ldc, int acc) {}
    static void rnn_pack_b(Py_ssize_t k, Py_ssize_t n, const float* b, Py_ssize_t ldb,
                           float* bp, Py_ssize_t ps) {}
    static void rnn_tanhf(Py_ssize_t n, const float* x, float* y) {}
    static void rnn_sigmoidf(Py_ssize_t n, const float* x, float* y) {}
    static void rnn_lstm_fwd_row_f(Py_ssize_t n, int hard, const float* x, const float* rc,
                                   float* si, float* sf, float* sg, float* so,
                                   const float* cp, float* tc, float* c_dst, float* h_dst) {}
    static void rnn_lstm_bwd_row_f(Py_ssize_t n, int hard, float mf, float ykeep,
                                   const float* s, const float* cs, const float* cy,
                                   float* dx, float* dh, float* dc, float* yc) {}
    static int rnn_fast_kernel_available(void) { return 0; }
    #endif
    """
    void rnn_sgemm_nn(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float* a,
                      Py_ssize_t lda, const float* b, Py_ssize_t ldb, const float* bp,
                      Py_ssize_t ps, float* ap, float* c, Py_ssize_t ldc, int acc) noexcept nogil
    void rnn_pack_b(Py_ssize_t k, Py_ssize_t n, const float* b, Py_ssize_t ldb, float* bp,
                    Py_ssize_t ps) noexcept nogil
    void rnn_tanhf(Py_ssize_t n, const float* x, float* y) noexcept nogil
    void rnn_sigmoidf(Py_ssize_t n, const float* x, float* y) noexcept nogil
    void rnn_lstm_fwd_row_f(Py_ssize_t n, int hard, const float* x, const float* rc,
                            float* si, float* sf, float* sg, float* so, const float* cp,
                            float* tc, float* c_dst, float* h_dst) noexcept nogil
    void rnn_lstm_bwd_row_f(Py_ssize_t n, int hard, float mf, float ykeep, const float* s,
                            const float* cs, const float* cy, float* dx, float* dh,
                            float* dc, float* yc) noexcept nogil
    int rnn_fast_kernel_available() noexcept nogil

cdef bint _FAST = rnn_fast_kernel_available()


cdef inline void _act(int act, Py_ssize_t n, const floating* x, floating* y) noexcept nogil:
    """y = act(x) over a span (x and y distinct)."""
    if floating is float:
        if _FAST and act == ACT_TANH:
            rnn_tanhf(n, x, y)
            return
        if _FAST and act == ACT_SIGMOID:
            rnn_sigmoidf(n, x, y)
            return
    act_fwd(act, 1, n, x, y, 1)


cdef inline void _gemm_nn(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const floating* a,
                          Py_ssize_t lda, const floating* b, Py_ssize_t ldb,
                          const floating* bp, Py_ssize_t ps, floating* ap, bint acc,
                          floating* c, Py_ssize_t ldc) noexcept nogil:
    """c = (acc ? c : 0) + a @ b (row-major, no transposes). The float32 fast kernel also
    reads bp, b's packed panels (_pack, panel stride ps), and packs a's rows into ap
    (m * min(k, 128) elements)."""
    if floating is float:
        if _FAST:
            rnn_sgemm_nn(m, n, k, a, lda, b, ldb, bp, ps, ap, c, ldc, acc)
            return
    gemm(False, False, m, n, k, <floating>1.0, a, lda, b, ldb, <floating>(1.0 if acc else 0.0),
         c, ldc)


cdef inline void _pack(Py_ssize_t k, Py_ssize_t n, const floating* b, Py_ssize_t ldb,
                       floating* bp, Py_ssize_t ps) noexcept nogil:
    """b's 16-column panels for the float32 fast kernel (nothing otherwise)."""
    if floating is float:
        if _FAST:
            rnn_pack_b(k, n, b, ldb, bp, ps)


cdef Py_ssize_t rnn_pack_size(const RnnConfig* c) noexcept nogil:
    return c.gates * c.units * c.units


cdef void rnn_config(const int64_t* t, RnnConfig* c) noexcept nogil:
    c.cell = <int>t[0]
    c.units = t[1]
    c.steps = t[2]
    c.go_backwards = t[3] != 0
    c.reset_after = t[4] != 0
    c.zero_output = t[5] != 0
    c.act = <int>t[6]
    c.ract = <int>t[7]
    if c.cell == RNN_LSTM:
        c.gates, c.width = 4, 7 * c.units
    elif c.cell == RNN_GRU:
        c.gates, c.width = 3, 5 * c.units
    else:
        c.gates, c.width = 1, 2 * c.units


cdef Py_ssize_t rnn_forward_scratch_per_row(const RnnConfig* c) noexcept nogil:
    # the GEMM output h_prev @ U of each row, then the GEMM's packed rows (at most G*u)
    return 2 * c.gates * c.units


cdef Py_ssize_t rnn_backward_scratch_per_row(const RnnConfig* c) noexcept nogil:
    # [dRec_h (B, T, u): GRU reset_after's recurrent gradient r * dpre_h, read again by
    # rnn_backward_weights] then each part's area, at its first row times _area_row: a zero
    # row (W: the cotangents that are absent), then per row dh, dc, the carried output
    # gradient, a temporary (u each), the gates' gradients before their activations
    # (G*u <= 4u) and the GEMM's packed rows (G*u). rnn_backward_weights reuses the start
    # of the areas (3u), then T*u per row after them for its GEMMs' split-k partials.
    return _weights_partials_at(c) + c.steps * c.units


cdef inline Py_ssize_t _weights_partials_at(const RnnConfig* c) noexcept nogil:
    """Per batch row, where rnn_backward_weights's split-k partials start in the scratch.
    Its GEMMs cut their B*T inner dimension only when B*T >= 4 * G*u, and then need at most
    3 * u * G*u elements: T*u per batch row is room enough."""
    cdef Py_ssize_t n = _area_row(c)
    if c.cell == RNN_GRU and c.reset_after:
        n += c.steps * c.units
    return n


cdef inline Py_ssize_t _area_row(const RnnConfig* c) noexcept nogil:
    return 8 * c.units + c.width + c.gates * c.units


cdef inline Py_ssize_t _parts(Py_ssize_t batch) noexcept nogil:
    cdef Py_ssize_t p = batch // RNN_MIN_PART_ROWS
    if p > RNN_MAX_PARTS:
        p = RNN_MAX_PARTS
    return p if p > 1 else 1


cdef inline const floating* _at(const floating* p, Py_ssize_t offset) noexcept nogil:
    """p + offset, or NULL for an absent (NULL) array."""
    return p + offset if p != NULL else NULL


cdef inline floating* _at_w(floating* p, Py_ssize_t offset) noexcept nogil:
    return p + offset if p != NULL else NULL


cdef inline bint _masked(const floating* mask, Py_ssize_t i) noexcept nogil:
    return mask != NULL and mask[i] == 0


# ---------------------------------------------------------------- forward, one row
# Pre-activations are summed in place in the row's GEMM output rc (scratch), then activated
# out of place into the saved row: activations.pyx vectorizes a span only when its input and
# output do not overlap.
cdef inline void _add_to(Py_ssize_t n, const floating* x, floating* acc) noexcept nogil:
    """acc += x."""
    cdef Py_ssize_t j
    for j in range(n):
        acc[j] = acc[j] + x[j]


cdef void _simple_row(const RnnConfig* c, bint keep, const floating* x, floating* rc,
                      floating* s, floating* h_dst) noexcept nogil:
    cdef Py_ssize_t n = c.units
    _add_to(n, x, rc)
    _act(c.act, n, rc, s)
    memcpy(h_dst, s + n if keep else s, n * sizeof(floating))


cdef void _lstm_row(const RnnConfig* c, bint keep, const floating* x, floating* rc,
                    floating* s, floating* h_dst, floating* c_dst) noexcept nogil:
    cdef Py_ssize_t n = c.units, j
    cdef const floating* o = s + 3 * n
    cdef const floating* cp = s + 5 * n
    cdef floating* tc = s + 6 * n
    if floating is float:
        if _FAST and not keep and c.act == ACT_TANH and (
                c.ract == ACT_SIGMOID or c.ract == ACT_HARD_SIGMOID):
            rnn_lstm_fwd_row_f(n, c.ract == ACT_HARD_SIGMOID, x, rc, s, s + n, s + 2 * n,
                               s + 3 * n, cp, tc, c_dst, h_dst)
            return
    _add_to(4 * n, x, rc)
    _act(c.ract, 2 * n, rc, s)
    _act(c.act, n, rc + 2 * n, s + 2 * n)
    _act(c.ract, n, rc + 3 * n, s + 3 * n)
    for j in range(n):
        c_dst[j] = s[n + j] * cp[j] + s[j] * s[2 * n + j]
    _act(c.act, n, c_dst, tc)
    if keep:
        memcpy(h_dst, s + 4 * n, n * sizeof(floating))
        memcpy(c_dst, cp, n * sizeof(floating))
    else:
        for j in range(n):
            h_dst[j] = o[j] * tc[j]


cdef void _gru_gates_row(const RnnConfig* c, const floating* x, floating* rc,
                         const floating* rb, floating* s) noexcept nogil:
    """z, r (post-activation) and the extra slot; reset_after also computes h~."""
    cdef Py_ssize_t n = c.units, j
    cdef const floating* r = s + n
    cdef const floating* hp = s + 3 * n
    cdef floating* extra = s + 4 * n
    if rb != NULL:
        for j in range(2 * n):
            rc[j] = x[j] + (rc[j] + rb[j])
    else:
        _add_to(2 * n, x, rc)
    _act(c.ract, 2 * n, rc, s)
    if not c.reset_after:
        for j in range(n):
            extra[j] = r[j] * hp[j]
        return
    if rb != NULL:
        for j in range(n):
            extra[j] = rc[2 * n + j] + rb[2 * n + j]
    else:
        memcpy(extra, rc + 2 * n, n * sizeof(floating))
    for j in range(n):
        rc[2 * n + j] = x[2 * n + j] + r[j] * extra[j]
    _act(c.act, n, rc + 2 * n, s + 2 * n)


cdef void _gru_update_row(const RnnConfig* c, bint keep, const floating* s,
                          floating* h_dst) noexcept nogil:
    cdef Py_ssize_t n = c.units, j
    cdef const floating* hc = s + 2 * n
    cdef const floating* hp = s + 3 * n
    cdef floating z
    if keep:
        memcpy(h_dst, hp, n * sizeof(floating))
        return
    for j in range(n):
        z = s[j]
        h_dst[j] = z * hp[j] + (1 - z) * hc[j]


cdef void _output_row(const RnnConfig* c, bint keep, Py_ssize_t k, const floating* h_new,
                      floating* yr) noexcept nogil:
    """The output of processed step k: h_new, or at a masked step zeros / the previous
    output (Keras's backend rnn)."""
    cdef Py_ssize_t n = c.units
    if not keep:
        memcpy(yr, h_new, n * sizeof(floating))
    elif c.zero_output or k == 0:
        memset(yr, 0, n * sizeof(floating))
    else:
        memcpy(yr, yr - n, n * sizeof(floating))


# ---------------------------------------------------------------- forward, one part
cdef void _forward_part(const RnnConfig* c, Py_ssize_t rows, const floating* xp,
                        const floating* u, const floating* h0, const floating* c0,
                        const floating* mask, const floating* rb, floating* y,
                        floating* h_last, floating* c_last, floating* saved,
                        floating* rec, const floating* bp) noexcept nogil:
    cdef Py_ssize_t n = c.units, gu = c.gates * c.units, w = c.width, steps = c.steps
    cdef Py_ssize_t ldx = steps * gu, lds = steps * w, ldy = steps * n
    cdef Py_ssize_t k, t, tn, r, t0 = steps - 1 if c.go_backwards else 0
    cdef bint split = c.cell == RNN_GRU and not c.reset_after
    cdef bint keep, last
    cdef floating* s
    cdef floating* h_dst
    cdef floating* c_dst = NULL
    cdef const floating* x
    cdef floating* rc
    cdef floating* ap = rec + rows * gu
    for r in range(rows):
        memcpy(saved + r * lds + t0 * w + gu, h0 + r * n, n * sizeof(floating))
        if c.cell == RNN_LSTM:
            memcpy(saved + r * lds + t0 * w + gu + n, c0 + r * n, n * sizeof(floating))
    for k in range(steps):
        t = steps - 1 - k if c.go_backwards else k
        tn = t - 1 if c.go_backwards else t + 1
        last = k == steps - 1
        _gemm_nn(rows, 2 * n if split else gu, n, saved + t * w + gu, lds, u, gu, bp, 16 * n,
                 ap, False, rec, gu)
        if c.cell == RNN_GRU:
            for r in range(rows):
                _gru_gates_row(c, xp + r * ldx + t * gu, rec + r * gu, rb,
                               saved + r * lds + t * w)
            if split:   # (r * h_prev) @ U_h, then h~
                _gemm_nn(rows, n, n, saved + t * w + 4 * n, lds, u + 2 * n, gu,
                         bp + 2 * n * n, 16 * n, ap, False, rec + 2 * n, gu)
                for r in range(rows):
                    _add_to(n, xp + r * ldx + t * gu + 2 * n, rec + r * gu + 2 * n)
                    _act(c.act, n, rec + r * gu + 2 * n, saved + r * lds + t * w + 2 * n)
        for r in range(rows):
            s = saved + r * lds + t * w
            x = xp + r * ldx + t * gu
            rc = rec + r * gu
            keep = _masked(mask, r * steps + t)
            h_dst = h_last + r * n if last else saved + r * lds + tn * w + gu
            if c.cell == RNN_LSTM:
                c_dst = c_last + r * n if last else saved + r * lds + tn * w + gu + n
                _lstm_row(c, keep, x, rc, s, h_dst, c_dst)
            elif c.cell == RNN_GRU:
                _gru_update_row(c, keep, s, h_dst)
            else:
                _simple_row(c, keep, x, rc, s, h_dst)
            _output_row(c, keep, k, h_dst, y + r * ldy + k * n)


cdef void _forward_nth(const RnnConfig* c, Py_ssize_t p, Py_ssize_t parts, Py_ssize_t batch,
                       const floating* xp, const floating* u, const floating* h0,
                       const floating* c0, const floating* mask, const floating* rb,
                       floating* y, floating* h_last, floating* c_last, floating* saved,
                       floating* scratch, const floating* bp) noexcept nogil:
    """Part p of `parts` of the batch."""
    cdef Py_ssize_t n = c.units, steps = c.steps, gu = c.gates * c.units, w = c.width
    cdef Py_ssize_t lo = batch * p // parts, hi = batch * (p + 1) // parts
    _forward_part(c, hi - lo, xp + lo * steps * gu, u, h0 + lo * n, _at(c0, lo * n),
                  _at(mask, lo * steps), rb, y + lo * steps * n, h_last + lo * n,
                  _at_w(c_last, lo * n), saved + lo * steps * w, scratch + 2 * lo * gu, bp)


cdef void rnn_forward(const RnnConfig* c, Py_ssize_t batch, const floating* xp,
                      const floating* u, const floating* h0, const floating* c0,
                      const floating* mask, const floating* rb, floating* y,
                      floating* h_last, floating* c_last, floating* saved, floating* scratch,
                      floating* pack, int n_threads) noexcept nogil:
    cdef Py_ssize_t parts = _parts(batch), p, n = c.units
    if batch <= 0 or c.steps <= 0:
        return
    if c.cell == RNN_GRU and not c.reset_after:   # U[:, :2u] and U[:, 2u:] apart
        _pack(n, 2 * n, u, c.gates * n, pack, 16 * n)
        _pack(n, n, u + 2 * n, c.gates * n, pack + 2 * n * n, 16 * n)
    else:
        _pack(n, c.gates * n, u, c.gates * n, pack, 16 * n)
    if n_threads > 1 and parts > 1:
        for p in prange(parts, schedule='static', num_threads=min(n_threads, parts)):
            _forward_nth(c, p, parts, batch, xp, u, h0, c0, mask, rb, y, h_last, c_last,
                         saved, scratch, pack)
    else:
        for p in range(parts):
            _forward_nth(c, p, parts, batch, xp, u, h0, c0, mask, rb, y, h_last, c_last,
                         saved, scratch, pack)


# ---------------------------------------------------------------- backward, one row
# Every row function takes: mf = 1 (0 at a masked step), the saved row s, its cotangent cs
# and the output cotangent cy (zero rows when absent), the row's dxp slots dx (time t), and
# its running dh (dL/dh after the step on entry, dL/dh_prev on return, before the GEMM
# adds dgates @ U^T), dc (lstm) and yc (the output gradient carried back through masked
# steps that repeat the previous output); tmp (u) and post (G*u) are the row's scratch,
# post the gradients of the post-activation gates, turned into dx out of place (as in the
# forward). Each loop writes one array, so that gcc vectorizes it.
cdef void _entry_row(Py_ssize_t n, floating mf, floating ykeep, const floating* cy,
                     floating* yc, const floating* dh, floating* dhn) noexcept nogil:
    """dhn = dL/dh_new of the step; carries the output gradient back past a masked step."""
    cdef Py_ssize_t j
    for j in range(n):
        dhn[j] = cy[j] + yc[j]
    for j in range(n):
        yc[j] = ykeep * dhn[j]
    for j in range(n):
        dhn[j] = mf * (dh[j] + dhn[j])


cdef inline void _mul_add(Py_ssize_t n, const floating* a, const floating* b,
                          const floating* c, floating* out) noexcept nogil:
    """out = a * b + c (out distinct from the others)."""
    cdef Py_ssize_t j
    for j in range(n):
        out[j] = a[j] * b[j] + c[j]


cdef inline void _keep_add(Py_ssize_t n, floating keep, floating* x,
                           const floating* c) noexcept nogil:
    """x = keep * x + c, in place."""
    cdef Py_ssize_t j
    for j in range(n):
        x[j] = keep * x[j] + c[j]


cdef void _simple_bwd_row(const RnnConfig* c, floating mf, floating ykeep,
                          const floating* s, const floating* cs, const floating* cy,
                          floating* dx, floating* dh, floating* yc, floating* tmp,
                          floating* post) noexcept nogil:
    cdef Py_ssize_t n = c.units, j
    _entry_row(n, mf, ykeep, cy, yc, dh, tmp)
    for j in range(n):
        post[j] = tmp[j] + cs[j]
    _keep_add(n, 1 - mf, dh, cs + n)
    act_bwd(c.act, 1, n, s, post, dx, NULL, 1)


cdef void _lstm_bwd_row(const RnnConfig* c, floating mf, floating ykeep,
                        const floating* s, const floating* cs, const floating* cy,
                        floating* dx, floating* dh, floating* dc, floating* yc,
                        floating* tmp, floating* post) noexcept nogil:
    cdef Py_ssize_t n = c.units, j
    cdef const floating* tc = s + 6 * n
    cdef floating keep = 1 - mf
    if floating is float:
        if _FAST and c.act == ACT_TANH and (c.ract == ACT_SIGMOID
                                            or c.ract == ACT_HARD_SIGMOID):
            rnn_lstm_bwd_row_f(n, c.ract == ACT_HARD_SIGMOID, mf, ykeep, s, cs, cy, dx, dh,
                               dc, yc)
            return
    _entry_row(n, mf, ykeep, cy, yc, dh, tmp)            # tmp = d h_new
    _mul_add(n, tmp, tc, cs + 3 * n, post + 3 * n)       # d o
    _mul_add(n, tmp, s + 3 * n, cs + 6 * n, post)        # d act(c_new), for now
    act_bwd(c.act, 1, n, tc, post, dx, NULL, 1)          # (in dx's i slot, for now)
    for j in range(n):                                   # tmp = d c_new
        tmp[j] = mf * dc[j] + dx[j]
    _keep_add(n, keep, dh, cs + 4 * n)
    for j in range(n):
        dc[j] = keep * dc[j] + tmp[j] * s[n + j] + cs[5 * n + j]
    _mul_add(n, tmp, s + 2 * n, cs, post)                # d i
    _mul_add(n, tmp, s + 5 * n, cs + n, post + n)        # d f
    _mul_add(n, tmp, s, cs + 2 * n, post + 2 * n)        # d c~
    act_bwd(c.ract, 1, 2 * n, s, post, dx, NULL, 1)
    act_bwd(c.act, 1, n, s + 2 * n, post + 2 * n, dx + 2 * n, NULL, 1)
    act_bwd(c.ract, 1, n, s + 3 * n, post + 3 * n, dx + 3 * n, NULL, 1)


cdef void _gru_bwd_row(const RnnConfig* c, floating mf, floating ykeep,
                       const floating* s, const floating* cs, const floating* cy,
                       floating* dx, floating* dh, floating* yc, floating* tmp,
                       floating* post, floating* drec_h) noexcept nogil:
    """dz, dh~ and (reset_after) dr and the recurrent gradient of h (drec_h); without
    reset_after dr needs (dpre_h @ U_h^T), see _gru_bwd_reset_row."""
    cdef Py_ssize_t n = c.units, j
    cdef const floating* hc = s + 2 * n
    cdef const floating* hp = s + 3 * n
    _entry_row(n, mf, ykeep, cy, yc, dh, tmp)            # tmp = d h_new
    for j in range(n):
        post[j] = tmp[j] * (hp[j] - hc[j]) + cs[j]
    for j in range(n):
        post[2 * n + j] = tmp[j] * (1 - s[j]) + cs[2 * n + j]
    for j in range(n):
        dh[j] = (1 - mf) * dh[j] + tmp[j] * s[j] + cs[3 * n + j]
    act_bwd(c.act, 1, n, hc, post + 2 * n, dx + 2 * n, NULL, 1)
    if not c.reset_after:
        act_bwd(c.ract, 1, n, s, post, dx, NULL, 1)
        return
    _mul_add(n, dx + 2 * n, s + 4 * n, cs + n, post + n)  # d r
    _mul_add(n, dx + 2 * n, s + n, cs + 4 * n, drec_h)
    act_bwd(c.ract, 1, 2 * n, s, post, dx, NULL, 1)


cdef void _gru_bwd_reset_row(const RnnConfig* c, const floating* s, const floating* cs,
                             floating* drh, floating* dx, floating* dh,
                             floating* post) noexcept nogil:
    """reset_after=False: dr and dh_prev's share through r * h_prev, given
    drh = dpre_h @ U_h^T (completed in place with the extra slot's cotangent)."""
    cdef Py_ssize_t n = c.units, j
    for j in range(n):
        drh[j] = drh[j] + cs[4 * n + j]
    _mul_add(n, drh, s + 3 * n, cs + n, post + n)
    for j in range(n):
        dh[j] = dh[j] + drh[j] * s[n + j]
    act_bwd(c.ract, 1, n, s + n, post + n, dx + n, NULL, 1)


# ---------------------------------------------------------------- backward, one part
cdef void _backward_part(const RnnConfig* c, Py_ssize_t rows, const floating* ut,
                         const floating* mask, const floating* saved, const floating* d_y,
                         const floating* d_h, const floating* d_c, const floating* d_saved,
                         floating* dxp, floating* dh0, floating* dc0, floating* drec,
                         floating* area, const floating* bp) noexcept nogil:
    cdef Py_ssize_t n = c.units, gu = c.gates * c.units, w = c.width, steps = c.steps
    cdef Py_ssize_t ldx = steps * gu, lds = steps * w, ldy = steps * n
    cdef Py_ssize_t k, t, r
    cdef floating* zeros = area
    cdef floating* dh = area + w
    cdef floating* dc = dh + rows * n
    cdef floating* yc = dc + rows * n
    cdef floating* tmp = yc + rows * n
    cdef floating* post = tmp + rows * n
    cdef floating* ap = post + rows * gu
    cdef Py_ssize_t ps = 16 * gu
    cdef const floating* s
    cdef const floating* cs
    cdef const floating* cy
    cdef floating* dx
    cdef floating mf
    cdef floating ykeep
    memset(zeros, 0, w * sizeof(floating))
    memset(yc, 0, rows * n * sizeof(floating))
    if d_h != NULL:
        memcpy(dh, d_h, rows * n * sizeof(floating))
    else:
        memset(dh, 0, rows * n * sizeof(floating))
    if d_c != NULL:
        memcpy(dc, d_c, rows * n * sizeof(floating))
    else:
        memset(dc, 0, rows * n * sizeof(floating))
    for k in range(steps - 1, -1, -1):
        t = steps - 1 - k if c.go_backwards else k
        for r in range(rows):
            s = saved + r * lds + t * w
            cs = d_saved + r * lds + t * w if d_saved != NULL else zeros
            cy = d_y + r * ldy + k * n if d_y != NULL else zeros
            dx = dxp + r * ldx + t * gu
            mf = 0 if _masked(mask, r * steps + t) else 1
            ykeep = 0 if c.zero_output else 1 - mf
            if c.cell == RNN_LSTM:
                _lstm_bwd_row(c, mf, ykeep, s, cs, cy, dx, dh + r * n, dc + r * n,
                              yc + r * n, tmp + r * n, post + r * gu)
            elif c.cell == RNN_GRU:
                _gru_bwd_row(c, mf, ykeep, s, cs, cy, dx, dh + r * n, yc + r * n, tmp + r * n,
                             post + r * gu, _at_w(drec, r * steps * n + t * n))
            else:
                _simple_bwd_row(c, mf, ykeep, s, cs, cy, dx, dh + r * n, yc + r * n,
                                tmp + r * n, post + r * gu)
        if c.cell != RNN_GRU:   # dh_prev += dgates @ U^T
            _gemm_nn(rows, n, gu, dxp + t * gu, ldx, ut, n, bp, ps, ap, True, dh, n)
            continue
        if c.reset_after:
            _gemm_nn(rows, n, n, drec + t * n, steps * n, ut + 2 * n * n, n, bp + 32 * n, ps,
                     ap, True, dh, n)
        else:
            _gemm_nn(rows, n, n, dxp + t * gu + 2 * n, ldx, ut + 2 * n * n, n, bp + 32 * n,
                     ps, ap, False, tmp, n)
            for r in range(rows):
                cs = d_saved + r * lds + t * w if d_saved != NULL else zeros
                _gru_bwd_reset_row(c, saved + r * lds + t * w, cs, tmp + r * n,
                                   dxp + r * ldx + t * gu, dh + r * n, post + r * gu)
        _gemm_nn(rows, n, 2 * n, dxp + t * gu, ldx, ut, n, bp, ps, ap, True, dh, n)
    memcpy(dh0, dh, rows * n * sizeof(floating))
    if dc0 != NULL:
        memcpy(dc0, dc, rows * n * sizeof(floating))


cdef void _backward_nth(const RnnConfig* c, Py_ssize_t p, Py_ssize_t parts, Py_ssize_t batch,
                        const floating* ut, const floating* mask, const floating* saved,
                        const floating* d_y, const floating* d_h, const floating* d_c,
                        const floating* d_saved, floating* dxp, floating* dh0, floating* dc0,
                        floating* drec, floating* areas, const floating* bp) noexcept nogil:
    """Part p of `parts` of the batch."""
    cdef Py_ssize_t n = c.units, steps = c.steps, gu = c.gates * c.units, w = c.width
    cdef Py_ssize_t lo = batch * p // parts, hi = batch * (p + 1) // parts
    _backward_part(c, hi - lo, ut, _at(mask, lo * steps), saved + lo * steps * w,
                   _at(d_y, lo * steps * n), _at(d_h, lo * n), _at(d_c, lo * n),
                   _at(d_saved, lo * steps * w), dxp + lo * steps * gu, dh0 + lo * n,
                   _at_w(dc0, lo * n), _at_w(drec, lo * steps * n), areas + lo * _area_row(c), bp)


cdef void rnn_backward(const RnnConfig* c, Py_ssize_t batch, const floating* ut,
                       const floating* mask, const floating* saved, const floating* d_y,
                       const floating* d_h, const floating* d_c, const floating* d_saved,
                       floating* dxp, floating* dh0, floating* dc0, floating* scratch,
                       floating* pack, int n_threads) noexcept nogil:
    cdef Py_ssize_t parts = _parts(batch), p
    cdef floating* drec = NULL
    cdef floating* areas = scratch
    if batch <= 0 or c.steps <= 0:
        return
    if c.cell == RNN_GRU and c.reset_after:
        drec = scratch
        areas = scratch + batch * c.steps * c.units
    _pack(c.gates * c.units, c.units, ut, c.units, pack, 16 * c.gates * c.units)
    if n_threads > 1 and parts > 1:
        for p in prange(parts, schedule='static', num_threads=min(n_threads, parts)):
            _backward_nth(c, p, parts, batch, ut, mask, saved, d_y, d_h, d_c, d_saved, dxp,
                          dh0, dc0, drec, areas, pack)
    else:
        for p in range(parts):
            _backward_nth(c, p, parts, batch, ut, mask, saved, d_y, d_h, d_c, d_saved, dxp,
                          dh0, dc0, drec, areas, pack)


cdef void rnn_backward_weights(const RnnConfig* c, Py_ssize_t batch, const floating* saved,
                               const floating* dxp, floating* scratch, floating* du,
                               floating* drb, int n_threads) noexcept nogil:
    # du = H_prev^T @ dRec over all B * T rows (saved and dxp are both in time order); a long
    # B * T is cut into blocks (gemm_split_k), so that BLAS packs each operand once.
    cdef Py_ssize_t n = c.units, gu = c.gates * c.units, w = c.width
    cdef Py_ssize_t rows = batch * c.steps if batch > 0 else 0
    cdef bint reset_after = c.cell == RNN_GRU and c.reset_after
    cdef floating* drec = scratch
    cdef floating* tmp = scratch + (rows * n if reset_after else 0)
    cdef floating* partials = scratch + batch * _weights_partials_at(c)
    cdef const floating* hp = saved + gu
    if c.cell != RNN_GRU:
        gemm_split_k(True, False, n, gu, rows, <floating>1.0, hp, w, dxp, gu,
                     <floating>0.0, du, gu, partials, n_threads)
    else:
        gemm_split_k(True, False, n, 2 * n, rows, <floating>1.0, hp, w, dxp, gu,
                     <floating>0.0, du, gu, partials, n_threads)
        if reset_after:
            gemm_split_k(True, False, n, n, rows, <floating>1.0, hp, w, drec, n,
                         <floating>0.0, du + 2 * n, gu, partials, n_threads)
        else:    # U_h multiplies r * h_prev, saved in the extra slot
            gemm_split_k(True, False, n, n, rows, <floating>1.0, saved + gu + n, w,
                         dxp + 2 * n, gu, <floating>0.0, du + 2 * n, gu, partials, n_threads)
    if drb == NULL:
        return
    if rows == 0:
        memset(drb, 0, gu * sizeof(floating))
        return
    col_sum(rows, gu, dxp, tmp, n_threads)
    memcpy(drb, tmp, 2 * n * sizeof(floating))
    col_sum(rows, n, drec, drb + 2 * n, n_threads)


cdef Py_ssize_t rnn_joint_weights_fixed_size(const RnnConfig* c, Py_ssize_t d) noexcept nogil:
    return GEMM_MAX_BLOCKS * (d + c.units) * c.gates * c.units


cdef void rnn_joint_weights(const RnnConfig* c, Py_ssize_t batch, const floating* saved,
                            const floating* dxp, const floating* x, Py_ssize_t d,
                            floating* rows_work, floating* fixed_work, floating* dw,
                            floating* du, int n_threads) noexcept nogil:
    # Both kernels' gradients share dRec: [dW; dU] = [X | H_prev]^T @ dRec over all B * T
    # rows, one GEMM whose BLAS packs dRec once for both (two GEMMs pack it twice, and
    # each amortizes that over half the rows of the result). X and H_prev are copied side
    # by side first (rows_work: B * T * (d + u)); fixed_work holds the product and the
    # split-k partials.
    cdef Py_ssize_t n = c.units, gu = c.gates * c.units, w = c.width, m = d + n
    cdef Py_ssize_t rows = batch * c.steps if batch > 0 else 0, r
    cdef floating* prod = fixed_work
    if rows == 0:
        memset(dw, 0, d * gu * sizeof(floating))
        memset(du, 0, n * gu * sizeof(floating))
        return
    if n_threads > 1 and rows >= 256:
        for r in prange(rows, schedule='static', num_threads=n_threads):
            memcpy(rows_work + r * m, x + r * d, d * sizeof(floating))
            memcpy(rows_work + r * m + d, saved + r * w + gu, n * sizeof(floating))
    else:
        for r in range(rows):
            memcpy(rows_work + r * m, x + r * d, d * sizeof(floating))
            memcpy(rows_work + r * m + d, saved + r * w + gu, n * sizeof(floating))
    gemm_split_k(True, False, m, gu, rows, <floating>1.0, rows_work, m, dxp, gu, <floating>0.0,
                 prod, gu, prod + m * gu, n_threads)
    memcpy(dw, prod, d * gu * sizeof(floating))
    memcpy(du, prod + d * gu, n * gu * sizeof(floating))


# ---------------------------------------------------------------- numpy wrappers (tests)
cdef inline void* _ptr(arr):
    return NULL if arr is None else cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef RnnConfig _read_table(table) except *:
    cdef RnnConfig c
    cdef int64_t[::1] t = np.ascontiguousarray(table, dtype=np.int64)
    if t.shape[0] != RNN_CONFIG_SIZE:
        raise ValueError(f"the config table has {RNN_CONFIG_SIZE} entries, got {t.shape[0]}")
    rnn_config(&t[0], &c)
    return c


def scratch_per_row_np(table):
    """(forward, backward) scratch elements per batch row for this config table."""
    cdef RnnConfig c = _read_table(table)
    return int(rnn_forward_scratch_per_row(&c)), int(rnn_backward_scratch_per_row(&c))


def pack_size_np(table):
    """Elements of the pack buffer of rnn_forward and of rnn_backward."""
    cdef RnnConfig c = _read_table(table)
    return int(rnn_pack_size(&c))


cdef void _forward_pointers(floating* tag, const RnnConfig* c, Py_ssize_t batch, void** p,
                            int n_threads) noexcept nogil:
    """rnn_forward over p = (xp, u, h0, c0, mask, rb, y, h_last, c_last, saved, scratch,
    pack); tag only selects the precision."""
    rnn_forward(c, batch, <floating*>p[0], <floating*>p[1], <floating*>p[2], <floating*>p[3],
                <floating*>p[4], <floating*>p[5], <floating*>p[6], <floating*>p[7],
                <floating*>p[8], <floating*>p[9], <floating*>p[10], <floating*>p[11],
                n_threads)


cdef void _backward_pointers(floating* tag, const RnnConfig* c, Py_ssize_t batch, void** p,
                             int n_threads) noexcept nogil:
    """rnn_backward then rnn_backward_weights over p = (ut, mask, saved, d_y, d_h, d_c,
    d_saved, dxp, dh0, dc0, scratch, du, drb, pack)."""
    rnn_backward(c, batch, <floating*>p[0], <floating*>p[1], <floating*>p[2],
                 <floating*>p[3], <floating*>p[4], <floating*>p[5], <floating*>p[6],
                 <floating*>p[7], <floating*>p[8], <floating*>p[9], <floating*>p[10],
                 <floating*>p[13], n_threads)
    rnn_backward_weights(c, batch, <floating*>p[2], <floating*>p[7], <floating*>p[10],
                         <floating*>p[11], <floating*>p[12], n_threads)


cdef void _run_pointers(bint backward, bint single, const RnnConfig* c, Py_ssize_t batch,
                        void** p, int n_threads) noexcept nogil:
    if backward and single:
        _backward_pointers(<float*>NULL, c, batch, p, n_threads)
    elif backward:
        _backward_pointers(<double*>NULL, c, batch, p, n_threads)
    elif single:
        _forward_pointers(<float*>NULL, c, batch, p, n_threads)
    else:
        _forward_pointers(<double*>NULL, c, batch, p, n_threads)


def _check(name, arr, dtype, shape):
    if arr is None:
        return
    check_array(name, arr, dtype)
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")


def rnn_forward_np(table, xp, u, h0, c0=None, mask=None, rb=None, int n_threads=1):
    """Runs rnn_forward; returns (y, h_last, c_last or None, saved)."""
    cdef RnnConfig c = _read_table(table)
    check_array("xp", xp, ndim=3)
    cdef Py_ssize_t batch = xp.shape[0], n = c.units, steps = c.steps
    dt = xp.dtype
    _check("xp", xp, dt, (batch, steps, c.gates * n))
    _check("u", u, dt, (n, c.gates * n))
    _check("h0", h0, dt, (batch, n))
    _check("c0", c0, dt, (batch, n))
    _check("mask", mask, dt, (batch, steps))
    _check("rb", rb, dt, (3 * n,))
    if (c0 is None) != (c.cell != RNN_LSTM):
        raise ValueError("c0 is given for lstm, and only for lstm")
    y = np.full((batch, steps, n), np.nan, dt)
    h_last = np.full((batch, n), np.nan, dt)
    c_last = np.full((batch, n), np.nan, dt) if c.cell == RNN_LSTM else None
    saved = np.full((batch, steps, c.width), np.nan, dt)
    scratch = np.full(max(1, batch * rnn_forward_scratch_per_row(&c)), np.nan, dt)
    pack = np.full(rnn_pack_size(&c), np.nan, dt)
    cdef void* p[12]
    for i, a in enumerate((xp, u, h0, c0, mask, rb, y, h_last, c_last, saved, scratch, pack)):
        p[i] = _ptr(a)
    cdef bint single = dt == np.float32
    with nogil:
        _run_pointers(False, single, &c, batch, p, n_threads)
    return y, h_last, c_last, saved


def rnn_backward_np(table, u, saved, mask=None, d_y=None, d_h=None, d_c=None, d_saved=None,
                    bint recurrent_bias=False, int n_threads=1, x=None):
    """Runs rnn_backward (given U^T) then rnn_backward_weights; returns (dxp, du, dh0,
    dc0 or None, drb or None). With x (batch, T, d), the input of the input projection,
    rnn_joint_weights computes du instead, and the result ends with dw = x^T @ dxp."""
    cdef RnnConfig c = _read_table(table)
    check_array("saved", saved, ndim=3)
    cdef Py_ssize_t batch = saved.shape[0], n = c.units, steps = c.steps
    cdef Py_ssize_t gu = c.gates * n
    dt = saved.dtype
    _check("saved", saved, dt, (batch, steps, c.width))
    _check("u", u, dt, (n, gu))
    _check("mask", mask, dt, (batch, steps))
    _check("d_y", d_y, dt, (batch, steps, n))
    _check("d_h", d_h, dt, (batch, n))
    _check("d_c", d_c, dt, (batch, n))
    _check("d_saved", d_saved, dt, (batch, steps, c.width))
    if recurrent_bias and not (c.cell == RNN_GRU and c.reset_after):
        raise ValueError("a recurrent bias belongs to gru with reset_after only")
    lstm = c.cell == RNN_LSTM
    dxp = np.full((batch, steps, gu), np.nan, dt)
    du = np.full((n, gu), np.nan, dt)
    dh0 = np.full((batch, n), np.nan, dt)
    dc0 = np.full((batch, n), np.nan, dt) if lstm else None
    drb = np.full(3 * n, np.nan, dt) if recurrent_bias else None
    scratch = np.full(max(1, batch * rnn_backward_scratch_per_row(&c)), np.nan, dt)
    pack = np.full(rnn_pack_size(&c), np.nan, dt)
    cdef void* p[14]
    ut = np.ascontiguousarray(u.T)
    for i, a in enumerate((ut, mask, saved, d_y, d_h, d_c, d_saved, dxp, dh0, dc0, scratch,
                           du, drb, pack)):
        p[i] = _ptr(a)
    cdef bint single = dt == np.float32
    with nogil:
        _run_pointers(True, single, &c, batch, p, n_threads)
    if x is None:
        return dxp, du, dh0, dc0, drb
    check_array("x", x, dt, ndim=3)
    if x.shape[:2] != (batch, steps) or c.cell == RNN_GRU:
        raise ValueError(f"x must be ({batch}, {steps}, d), for a simple or lstm cell")
    cdef Py_ssize_t d = x.shape[2]
    dw = np.full((d, gu), np.nan, dt)
    rows_work = np.full(max(1, batch * steps * (d + n)), np.nan, dt)
    fixed_work = np.full(rnn_joint_weights_fixed_size(&c, d), np.nan, dt)
    du[...] = np.nan
    cdef void* q[7]
    for i, a in enumerate((saved, dxp, x, rows_work, fixed_work, dw, du)):
        q[i] = _ptr(a)
    with nogil:
        if single:
            rnn_joint_weights(&c, batch, <float*>q[0], <float*>q[1], <float*>q[2], d,
                              <float*>q[3], <float*>q[4], <float*>q[5], <float*>q[6],
                              n_threads)
        else:
            rnn_joint_weights(&c, batch, <double*>q[0], <double*>q[1], <double*>q[2], d,
                              <double*>q[3], <double*>q[4], <double*>q[5], <double*>q[6],
                              n_threads)
    return dxp, du, dh0, dc0, drb, dw


def joint_weights_fixed_size_np(table, Py_ssize_t d):
    """Elements of rnn_joint_weights's fixed work buffer (the lowering sizes it with it)."""
    cdef RnnConfig c = _read_table(table)
    return int(rnn_joint_weights_fixed_size(&c, d))
