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
from cthulhu._kernels.blas cimport gemm, gemm_threaded

import numpy as np

from cthulhu._kernels._checks import check_array

cnp.import_array()


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
    return c.gates * c.units          # the GEMM output h_prev @ U of each row


cdef Py_ssize_t rnn_backward_scratch_per_row(const RnnConfig* c) noexcept nogil:
    # [dRec_h (B, T, u): GRU reset_after's recurrent gradient r * dpre_h, read again by
    # rnn_backward_weights] then each part's area, at its first row times this width: a zero
    # row (W: the cotangents that are absent), dh, dc, the carried output gradient and a
    # temporary (u per row each). rnn_backward_weights reuses the start of the areas (3u).
    cdef Py_ssize_t n = 4 * c.units + c.width
    if c.cell == RNN_GRU and c.reset_after:
        n += c.steps * c.units
    return n


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
cdef inline void _add(Py_ssize_t n, const floating* a, const floating* b,
                      floating* out) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        out[j] = a[j] + b[j]


cdef void _simple_row(const RnnConfig* c, bint keep, const floating* x, const floating* rc,
                      floating* s, floating* h_dst) noexcept nogil:
    cdef Py_ssize_t n = c.units
    _add(n, x, rc, s)
    act_fwd(c.act, 1, n, s, s, 1)
    memcpy(h_dst, s + n if keep else s, n * sizeof(floating))


cdef void _lstm_row(const RnnConfig* c, bint keep, const floating* x, const floating* rc,
                    floating* s, floating* h_dst, floating* c_dst) noexcept nogil:
    cdef Py_ssize_t n = c.units, j
    cdef floating* o = s + 3 * n
    cdef const floating* cp = s + 5 * n
    cdef floating* tc = s + 6 * n
    cdef floating v
    _add(4 * n, x, rc, s)
    act_fwd(c.ract, 1, 2 * n, s, s, 1)
    act_fwd(c.act, 1, n, s + 2 * n, s + 2 * n, 1)
    act_fwd(c.ract, 1, n, o, o, 1)
    for j in range(n):
        v = s[n + j] * cp[j] + s[j] * s[2 * n + j]
        c_dst[j] = v
        tc[j] = v
    act_fwd(c.act, 1, n, tc, tc, 1)
    if keep:
        memcpy(h_dst, s + 4 * n, n * sizeof(floating))
        memcpy(c_dst, cp, n * sizeof(floating))
    else:
        for j in range(n):
            h_dst[j] = o[j] * tc[j]


cdef void _gru_gates_row(const RnnConfig* c, const floating* x, const floating* rc,
                         const floating* rb, floating* s) noexcept nogil:
    """z, r (post-activation) and the extra slot; reset_after also computes h~."""
    cdef Py_ssize_t n = c.units, j
    cdef const floating* r = s + n
    cdef const floating* hp = s + 3 * n
    cdef floating* hc = s + 2 * n
    cdef floating* extra = s + 4 * n
    if rb != NULL:
        for j in range(2 * n):
            s[j] = x[j] + (rc[j] + rb[j])
    else:
        _add(2 * n, x, rc, s)
    act_fwd(c.ract, 1, 2 * n, s, s, 1)
    if not c.reset_after:
        for j in range(n):
            extra[j] = r[j] * hp[j]
        return
    if rb != NULL:
        _add(n, rc + 2 * n, rb + 2 * n, extra)
    else:
        memcpy(extra, rc + 2 * n, n * sizeof(floating))
    for j in range(n):
        hc[j] = x[2 * n + j] + r[j] * extra[j]
    act_fwd(c.act, 1, n, hc, hc, 1)


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
                        floating* rec) noexcept nogil:
    cdef Py_ssize_t n = c.units, gu = c.gates * c.units, w = c.width, steps = c.steps
    cdef Py_ssize_t ldx = steps * gu, lds = steps * w, ldy = steps * n
    cdef Py_ssize_t k, t, tn, r, t0 = steps - 1 if c.go_backwards else 0
    cdef bint split = c.cell == RNN_GRU and not c.reset_after
    cdef bint keep, last
    cdef floating* s
    cdef floating* h_dst
    cdef floating* c_dst = NULL
    cdef const floating* x
    cdef const floating* rc
    for r in range(rows):
        memcpy(saved + r * lds + t0 * w + gu, h0 + r * n, n * sizeof(floating))
        if c.cell == RNN_LSTM:
            memcpy(saved + r * lds + t0 * w + gu + n, c0 + r * n, n * sizeof(floating))
    for k in range(steps):
        t = steps - 1 - k if c.go_backwards else k
        tn = t - 1 if c.go_backwards else t + 1
        last = k == steps - 1
        gemm(False, False, rows, 2 * n if split else gu, n, <floating>1.0, saved + t * w + gu,
             lds, u, gu, <floating>0.0, rec, gu)
        if c.cell == RNN_GRU:
            for r in range(rows):
                _gru_gates_row(c, xp + r * ldx + t * gu, rec + r * gu, rb,
                               saved + r * lds + t * w)
            if split:   # (r * h_prev) @ U_h, then h~
                gemm(False, False, rows, n, n, <floating>1.0, saved + t * w + 4 * n, lds,
                     u + 2 * n, gu, <floating>0.0, rec + 2 * n, gu)
                for r in range(rows):
                    s = saved + r * lds + t * w
                    _add(n, xp + r * ldx + t * gu + 2 * n, rec + r * gu + 2 * n, s + 2 * n)
                    act_fwd(c.act, 1, n, s + 2 * n, s + 2 * n, 1)
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


cdef void rnn_forward(const RnnConfig* c, Py_ssize_t batch, const floating* xp,
                      const floating* u, const floating* h0, const floating* c0,
                      const floating* mask, const floating* rb, floating* y,
                      floating* h_last, floating* c_last, floating* saved, floating* scratch,
                      int n_threads) noexcept nogil:
    cdef Py_ssize_t parts = _parts(batch), p, lo, hi
    cdef Py_ssize_t n = c.units, steps = c.steps, gu = c.gates * c.units, w = c.width
    if batch <= 0 or steps <= 0:
        return
    if n_threads > 1 and parts > 1:
        for p in prange(parts, schedule='static', num_threads=min(n_threads, parts)):
            lo = batch * p // parts
            hi = batch * (p + 1) // parts
            _forward_part(c, hi - lo, xp + lo * steps * gu, u, h0 + lo * n, _at(c0, lo * n),
                          _at(mask, lo * steps), rb, y + lo * steps * n, h_last + lo * n,
                          _at_w(c_last, lo * n), saved + lo * steps * w, scratch + lo * gu)
    else:
        for p in range(parts):
            lo = batch * p // parts
            hi = batch * (p + 1) // parts
            _forward_part(c, hi - lo, xp + lo * steps * gu, u, h0 + lo * n, _at(c0, lo * n),
                          _at(mask, lo * steps), rb, y + lo * steps * n, h_last + lo * n,
                          _at_w(c_last, lo * n), saved + lo * steps * w, scratch + lo * gu)


# ---------------------------------------------------------------- backward, one row
# Every row function takes: mf = 1 (0 at a masked step), the saved row s, its cotangent cs
# and the output cotangent cy (zero rows when absent), the row's dxp slots dx (time t), and
# its running dh (dL/dh after the step on entry, dL/dh_prev on return, before the GEMM
# adds dgates @ U^T), dc (lstm) and yc (the output gradient carried back through masked
# steps that repeat the previous output).
cdef inline floating _entry(floating mf, floating ykeep, floating* dh, floating* yc,
                            const floating* cy, Py_ssize_t j) noexcept nogil:
    """dL/dh_new of the step, carrying the output gradient back past a masked step."""
    cdef floating gy = cy[j] + yc[j]
    yc[j] = ykeep * gy
    return mf * (dh[j] + gy)


cdef void _simple_bwd_row(const RnnConfig* c, floating mf, floating ykeep,
                          const floating* s, const floating* cs, const floating* cy,
                          floating* dx, floating* dh, floating* yc) noexcept nogil:
    cdef Py_ssize_t n = c.units, j
    cdef floating dhn, keep = 1 - mf
    for j in range(n):
        dhn = _entry(mf, ykeep, dh, yc, cy, j)
        dx[j] = dhn + cs[j]
        dh[j] = keep * dh[j] + cs[n + j]
    act_bwd(c.act, 1, n, s, dx, dx, NULL, 1)


cdef void _lstm_bwd_row(const RnnConfig* c, floating mf, floating ykeep,
                        const floating* s, const floating* cs, const floating* cy,
                        floating* dx, floating* dh, floating* dc, floating* yc,
                        floating* tmp) noexcept nogil:
    cdef Py_ssize_t n = c.units, j
    cdef const floating* o = s + 3 * n
    cdef const floating* cp = s + 5 * n
    cdef const floating* tc = s + 6 * n
    cdef floating dhn, dcn, keep = 1 - mf
    for j in range(n):
        dhn = _entry(mf, ykeep, dh, yc, cy, j)
        tmp[j] = dhn * o[j] + cs[6 * n + j]           # d act(c_new)
        dx[3 * n + j] = dhn * tc[j] + cs[3 * n + j]    # d o
        dh[j] = keep * dh[j] + cs[4 * n + j]
    act_bwd(c.act, 1, n, tc, tmp, tmp, NULL, 1)
    for j in range(n):
        dcn = mf * dc[j] + tmp[j]                      # d c_new
        dx[j] = dcn * s[2 * n + j] + cs[j]
        dx[n + j] = dcn * cp[j] + cs[n + j]
        dx[2 * n + j] = dcn * s[j] + cs[2 * n + j]
        dc[j] = keep * dc[j] + dcn * s[n + j] + cs[5 * n + j]
    act_bwd(c.ract, 1, 2 * n, s, dx, dx, NULL, 1)
    act_bwd(c.act, 1, n, s + 2 * n, dx + 2 * n, dx + 2 * n, NULL, 1)
    act_bwd(c.ract, 1, n, o, dx + 3 * n, dx + 3 * n, NULL, 1)


cdef void _gru_bwd_row(const RnnConfig* c, floating mf, floating ykeep,
                       const floating* s, const floating* cs, const floating* cy,
                       floating* dx, floating* dh, floating* yc,
                       floating* drec_h) noexcept nogil:
    """dz, dh~ and (reset_after) dr and the recurrent gradient of h (drec_h); without
    reset_after dr needs (dpre_h @ U_h^T), see _gru_bwd_reset_row."""
    cdef Py_ssize_t n = c.units, j
    cdef const floating* hc = s + 2 * n
    cdef const floating* hp = s + 3 * n
    cdef const floating* extra = s + 4 * n
    cdef floating dhn, z, dph, keep = 1 - mf
    for j in range(n):
        dhn = _entry(mf, ykeep, dh, yc, cy, j)
        z = s[j]
        dx[j] = dhn * (hp[j] - hc[j]) + cs[j]
        dx[2 * n + j] = dhn * (1 - z) + cs[2 * n + j]
        dh[j] = keep * dh[j] + dhn * z + cs[3 * n + j]
    act_bwd(c.act, 1, n, hc, dx + 2 * n, dx + 2 * n, NULL, 1)
    if not c.reset_after:
        act_bwd(c.ract, 1, n, s, dx, dx, NULL, 1)
        return
    for j in range(n):
        dph = dx[2 * n + j]
        dx[n + j] = dph * extra[j] + cs[n + j]
        drec_h[j] = dph * s[n + j] + cs[4 * n + j]
    act_bwd(c.ract, 1, 2 * n, s, dx, dx, NULL, 1)


cdef void _gru_bwd_reset_row(const RnnConfig* c, const floating* s, const floating* cs,
                             const floating* drh, floating* dx, floating* dh) noexcept nogil:
    """reset_after=False: dr and dh_prev's share through r * h_prev, given
    drh = dpre_h @ U_h^T."""
    cdef Py_ssize_t n = c.units, j
    cdef const floating* hp = s + 3 * n
    cdef floating d
    for j in range(n):
        d = drh[j] + cs[4 * n + j]
        dx[n + j] = d * hp[j] + cs[n + j]
        dh[j] = dh[j] + d * s[n + j]
    act_bwd(c.ract, 1, n, s + n, dx + n, dx + n, NULL, 1)


# ---------------------------------------------------------------- backward, one part
cdef void _backward_part(const RnnConfig* c, Py_ssize_t rows, const floating* u,
                         const floating* mask, const floating* saved, const floating* d_y,
                         const floating* d_h, const floating* d_c, const floating* d_saved,
                         floating* dxp, floating* dh0, floating* dc0, floating* drec,
                         floating* area) noexcept nogil:
    cdef Py_ssize_t n = c.units, gu = c.gates * c.units, w = c.width, steps = c.steps
    cdef Py_ssize_t ldx = steps * gu, lds = steps * w, ldy = steps * n
    cdef Py_ssize_t k, t, r
    cdef floating* zeros = area
    cdef floating* dh = area + w
    cdef floating* dc = dh + rows * n
    cdef floating* yc = dc + rows * n
    cdef floating* tmp = yc + rows * n
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
                              yc + r * n, tmp + r * n)
            elif c.cell == RNN_GRU:
                _gru_bwd_row(c, mf, ykeep, s, cs, cy, dx, dh + r * n, yc + r * n,
                             _at_w(drec, r * steps * n + t * n))
            else:
                _simple_bwd_row(c, mf, ykeep, s, cs, cy, dx, dh + r * n, yc + r * n)
        if c.cell != RNN_GRU:   # dh_prev += dgates @ U^T
            gemm(False, True, rows, n, gu, <floating>1.0, dxp + t * gu, ldx, u, gu,
                 <floating>1.0, dh, n)
            continue
        if c.reset_after:
            gemm(False, True, rows, n, n, <floating>1.0, drec + t * n, steps * n, u + 2 * n,
                 gu, <floating>1.0, dh, n)
        else:
            gemm(False, True, rows, n, n, <floating>1.0, dxp + t * gu + 2 * n, ldx,
                 u + 2 * n, gu, <floating>0.0, tmp, n)
            for r in range(rows):
                cs = d_saved + r * lds + t * w if d_saved != NULL else zeros
                _gru_bwd_reset_row(c, saved + r * lds + t * w, cs, tmp + r * n,
                                   dxp + r * ldx + t * gu, dh + r * n)
        gemm(False, True, rows, n, 2 * n, <floating>1.0, dxp + t * gu, ldx, u, gu,
             <floating>1.0, dh, n)
    memcpy(dh0, dh, rows * n * sizeof(floating))
    if dc0 != NULL:
        memcpy(dc0, dc, rows * n * sizeof(floating))


cdef void rnn_backward(const RnnConfig* c, Py_ssize_t batch, const floating* u,
                       const floating* mask, const floating* saved, const floating* d_y,
                       const floating* d_h, const floating* d_c, const floating* d_saved,
                       floating* dxp, floating* dh0, floating* dc0, floating* scratch,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t parts = _parts(batch), p, lo, hi
    cdef Py_ssize_t n = c.units, steps = c.steps, gu = c.gates * c.units, w = c.width
    cdef Py_ssize_t area_row = 4 * n + w
    cdef floating* drec = NULL
    cdef floating* areas = scratch
    if batch <= 0 or steps <= 0:
        return
    if c.cell == RNN_GRU and c.reset_after:
        drec = scratch
        areas = scratch + batch * steps * n
    if n_threads > 1 and parts > 1:
        for p in prange(parts, schedule='static', num_threads=min(n_threads, parts)):
            lo = batch * p // parts
            hi = batch * (p + 1) // parts
            _backward_part(c, hi - lo, u, _at(mask, lo * steps), saved + lo * steps * w,
                           _at(d_y, lo * steps * n), _at(d_h, lo * n), _at(d_c, lo * n),
                           _at(d_saved, lo * steps * w), dxp + lo * steps * gu, dh0 + lo * n,
                           _at_w(dc0, lo * n), _at_w(drec, lo * steps * n),
                           areas + lo * area_row)
    else:
        for p in range(parts):
            lo = batch * p // parts
            hi = batch * (p + 1) // parts
            _backward_part(c, hi - lo, u, _at(mask, lo * steps), saved + lo * steps * w,
                           _at(d_y, lo * steps * n), _at(d_h, lo * n), _at(d_c, lo * n),
                           _at(d_saved, lo * steps * w), dxp + lo * steps * gu, dh0 + lo * n,
                           _at_w(dc0, lo * n), _at_w(drec, lo * steps * n),
                           areas + lo * area_row)


cdef void rnn_backward_weights(const RnnConfig* c, Py_ssize_t batch, const floating* saved,
                               const floating* dxp, floating* scratch, floating* du,
                               floating* drb, int n_threads) noexcept nogil:
    # du = H_prev^T @ dRec over all B * T rows (saved and dxp are both in time order).
    cdef Py_ssize_t n = c.units, gu = c.gates * c.units, w = c.width
    cdef Py_ssize_t rows = batch * c.steps if batch > 0 else 0
    cdef bint reset_after = c.cell == RNN_GRU and c.reset_after
    cdef floating* drec = scratch
    cdef floating* tmp = scratch + (rows * n if reset_after else 0)
    cdef const floating* hp = saved + gu
    if c.cell != RNN_GRU:
        gemm_threaded(True, False, n, gu, rows, <floating>1.0, hp, w, dxp, gu,
                      <floating>0.0, du, gu, n_threads)
    else:
        gemm_threaded(True, False, n, 2 * n, rows, <floating>1.0, hp, w, dxp, gu,
                      <floating>0.0, du, gu, n_threads)
        if reset_after:
            gemm_threaded(True, False, n, n, rows, <floating>1.0, hp, w, drec, n,
                          <floating>0.0, du + 2 * n, gu, n_threads)
        else:    # U_h multiplies r * h_prev, saved in the extra slot
            gemm_threaded(True, False, n, n, rows, <floating>1.0, saved + gu + n, w,
                          dxp + 2 * n, gu, <floating>0.0, du + 2 * n, gu, n_threads)
    if drb == NULL:
        return
    if rows == 0:
        memset(drb, 0, gu * sizeof(floating))
        return
    col_sum(rows, gu, dxp, tmp, n_threads)
    memcpy(drb, tmp, 2 * n * sizeof(floating))
    col_sum(rows, n, drec, drb + 2 * n, n_threads)


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
    cdef void* p[11]
    for i, a in enumerate((xp, u, h0, c0, mask, rb, y, h_last, c_last, saved, scratch)):
        p[i] = _ptr(a)
    if dt == np.float32:
        with nogil:
            rnn_forward(&c, batch, <float*>p[0], <float*>p[1], <float*>p[2], <float*>p[3],
                        <float*>p[4], <float*>p[5], <float*>p[6], <float*>p[7], <float*>p[8],
                        <float*>p[9], <float*>p[10], n_threads)
    else:
        with nogil:
            rnn_forward(&c, batch, <double*>p[0], <double*>p[1], <double*>p[2],
                        <double*>p[3], <double*>p[4], <double*>p[5], <double*>p[6],
                        <double*>p[7], <double*>p[8], <double*>p[9], <double*>p[10],
                        n_threads)
    return y, h_last, c_last, saved


def rnn_backward_np(table, u, saved, mask=None, d_y=None, d_h=None, d_c=None, d_saved=None,
                    bint recurrent_bias=False, int n_threads=1):
    """Runs rnn_backward then rnn_backward_weights; returns (dxp, du, dh0, dc0 or None,
    drb or None)."""
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
    cdef void* p[13]
    for i, a in enumerate((u, mask, saved, d_y, d_h, d_c, d_saved, dxp, dh0, dc0, scratch,
                           du, drb)):
        p[i] = _ptr(a)
    if dt == np.float32:
        with nogil:
            rnn_backward(&c, batch, <float*>p[0], <float*>p[1], <float*>p[2], <float*>p[3],
                         <float*>p[4], <float*>p[5], <float*>p[6], <float*>p[7],
                         <float*>p[8], <float*>p[9], <float*>p[10], n_threads)
            rnn_backward_weights(&c, batch, <float*>p[2], <float*>p[7], <float*>p[10],
                                 <float*>p[11], <float*>p[12], n_threads)
    else:
        with nogil:
            rnn_backward(&c, batch, <double*>p[0], <double*>p[1], <double*>p[2],
                         <double*>p[3], <double*>p[4], <double*>p[5], <double*>p[6],
                         <double*>p[7], <double*>p[8], <double*>p[9], <double*>p[10],
                         n_threads)
            rnn_backward_weights(&c, batch, <double*>p[2], <double*>p[7], <double*>p[10],
                                 <double*>p[11], <double*>p[12], n_threads)
    return dxp, du, dh0, dc0, drb
