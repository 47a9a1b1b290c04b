"""Activation kernels (Keras 2 definitions): forward, bias+activation epilogue, backward.

Every backward is computed from the forward *output* y alone, so the executor can free x.
"""

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport log1p, log1pf
from libc.string cimport memcpy

from cthulhu._kernels.codes cimport *
from cthulhu._kernels.common cimport add_rows, fabs_f, row_max, split_point

import numpy as np

from cthulhu._kernels._checks import check_array

cnp.import_array()

cdef double SELU_ALPHA = 1.6732632423543772
cdef double SELU_SCALE = 1.0507009873554805

# Rows of a chunk processed as one span by the row-wise epilogue (keeps data in L1).
cdef enum:
    SPAN_CHUNK = 2048
    COLSUM_MIN_BLOCK_ROWS = 32
    COLSUM_COL_CHUNK = 256


# ---------------------------------------------------------------- fused-precision math
# exp / expm1 / tanh come from the branch-free vectorizable versions in activations.pxd;
# log1p stays with libm (softplus only).
cdef inline floating _exp(floating v) noexcept nogil:
    if floating is float:
        return cth_expf(v)
    else:
        return cth_exp(v)


cdef inline floating _expm1(floating v) noexcept nogil:
    if floating is float:
        return cth_expm1f(v)
    else:
        return cth_expm1(v)


cdef inline floating _log1p(floating v) noexcept nogil:
    if floating is float:
        return log1pf(v)
    else:
        return log1p(v)


cdef inline floating _tanh(floating v) noexcept nogil:
    if floating is float:
        return cth_tanhf(v)
    else:
        return cth_tanh(v)


# ---------------------------------------------------------------- forward
# Loops load every operand unconditionally and finish with a select, so that gcc can
# if-convert and vectorize them (a load inside a branch cannot be speculated).
cdef void _act_span(int act, Py_ssize_t n, const floating* x, floating* y) noexcept nogil:
    """y[j] = act(x[j]) for an element-wise activation (not softmax); y may alias x."""
    cdef Py_ssize_t j
    cdef floating v, e, a
    cdef floating zero = 0, one = 1, half = 0.5, fifth = 0.2
    cdef floating s_scale = <floating>SELU_SCALE
    cdef floating s_sa = <floating>(SELU_SCALE * SELU_ALPHA)
    if act == ACT_LINEAR:
        if y != x:
            memcpy(y, x, n * sizeof(floating))
    elif act == ACT_RELU:
        for j in range(n):
            v = x[j]
            y[j] = zero if v < zero else v          # NaN stays NaN
    elif act == ACT_SIGMOID:
        for j in range(n):      # e = exp(-|x|) never overflows; tiny outputs stay accurate
            v = x[j]
            e = _exp(-fabs_f(v))
            a = one / (one + e)
            y[j] = a if v >= zero else e * a
    elif act == ACT_HARD_SIGMOID:
        for j in range(n):
            v = fifth * x[j] + half
            v = zero if v < zero else v
            y[j] = one if v > one else v
    elif act == ACT_TANH:
        for j in range(n):
            y[j] = _tanh(x[j])
    elif act == ACT_ELU:
        for j in range(n):
            v = x[j]
            e = _expm1(zero if v > zero else v)
            y[j] = v if v > zero else e
    elif act == ACT_SELU:
        for j in range(n):
            v = x[j]
            e = s_sa * _expm1(zero if v > zero else v)
            a = s_scale * v
            y[j] = a if v > zero else e
    elif act == ACT_SOFTPLUS:
        for j in range(n):
            v = x[j]
            y[j] = (v if v > zero else zero) + _log1p(_exp(-fabs_f(v)))
    elif act == ACT_SOFTSIGN:
        for j in range(n):
            v = x[j]
            y[j] = v / (one + fabs_f(v))
    elif act == ACT_EXPONENTIAL:
        for j in range(n):
            y[j] = _exp(x[j])


cdef void _softmax_row(Py_ssize_t n, const floating* x, floating* y) noexcept nogil:
    """Stable softmax of one row; y may alias x."""
    cdef Py_ssize_t j
    cdef floating mx
    cdef double s = 0.0
    cdef floating inv
    if n <= 0:
        return
    mx = row_max(n, x)
    for j in range(n):
        y[j] = _exp(x[j] - mx)
    for j in range(n):
        s += y[j]
    inv = <floating>(1.0 / s)
    for j in range(n):
        y[j] = y[j] * inv


cdef void act_fwd(int act, Py_ssize_t rows, Py_ssize_t cols, const floating* x, floating* y,
                  int n_threads) noexcept nogil:
    cdef Py_ssize_t total = rows * cols
    cdef Py_ssize_t i, p, lo, hi, parts
    if rows <= 0 or cols <= 0:
        return
    if act == ACT_SOFTMAX:
        if n_threads > 1 and rows > 1:
            for i in prange(rows, schedule='static', num_threads=n_threads):
                _softmax_row(cols, x + i * cols, y + i * cols)
        else:
            for i in range(rows):
                _softmax_row(cols, x + i * cols, y + i * cols)
        return
    if n_threads > 1 and total >= 32 * n_threads:
        parts = n_threads
        for p in prange(parts, schedule='static', num_threads=n_threads):
            lo = split_point(total, parts, p)
            hi = split_point(total, parts, p + 1)
            _act_span(act, hi - lo, x + lo, y + lo)
    else:
        _act_span(act, total, x, y)


cdef void _bias_act_row(int act, Py_ssize_t cols, floating* z,
                        const floating* bias) noexcept nogil:
    cdef Py_ssize_t j, c0, w
    if act == ACT_SOFTMAX:
        if bias != NULL:
            for j in range(cols):
                z[j] = z[j] + bias[j]
        _softmax_row(cols, z, z)
        return
    c0 = 0
    while c0 < cols:     # bias add + activation while the chunk is in L1
        w = cols - c0
        if w > SPAN_CHUNK:
            w = SPAN_CHUNK
        if bias != NULL:
            for j in range(c0, c0 + w):
                z[j] = z[j] + bias[j]
        _act_span(act, w, z + c0, z + c0)
        c0 += w


cdef void _bias_act_rows(int act, Py_ssize_t rows, Py_ssize_t cols, floating* z,
                         const floating* bias) noexcept nogil:
    """Short rows (a convolution's channels) go by groups of about SPAN_CHUNK elements:
    the bias added row by row, then the activation over the whole group as one span (one
    call instead of one per row of 32 or 64 values), while the group is in L1."""
    cdef Py_ssize_t i, j
    if rows == 1 or act == ACT_SOFTMAX:
        for i in range(rows):
            _bias_act_row(act, cols, z + i * cols, bias)
        return
    for i in range(rows):
        for j in range(cols):
            z[i * cols + j] = z[i * cols + j] + bias[j]
    _act_span(act, rows * cols, z, z)


cdef void bias_act_fwd(int act, Py_ssize_t rows, Py_ssize_t cols, floating* z,
                       const floating* bias, int n_threads) noexcept nogil:
    cdef Py_ssize_t step = SPAN_CHUNK // cols if cols < SPAN_CHUNK else 1
    cdef Py_ssize_t groups = (rows + step - 1) // step
    cdef Py_ssize_t g, k
    if rows <= 0 or cols <= 0:
        return
    if bias == NULL:
        act_fwd(act, rows, cols, z, z, n_threads)
        return
    if n_threads > 1 and groups > 1:
        for g in prange(groups, schedule='static', num_threads=n_threads):
            k = rows - g * step if rows - g * step < step else step
            _bias_act_rows(act, k, cols, z + g * step * cols, bias)
    else:
        for g in range(groups):
            k = rows - g * step if rows - g * step < step else step
            _bias_act_rows(act, k, cols, z + g * step * cols, bias)


# ---------------------------------------------------------------- backward
cdef void _act_bwd_span(int act, Py_ssize_t n, const floating* y, const floating* dy,
                        floating* dx) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating v, g, t
    cdef floating zero = 0, one = 1, fifth = 0.2
    cdef floating s_scale = <floating>SELU_SCALE
    cdef floating s_sa = <floating>(SELU_SCALE * SELU_ALPHA)
    if act == ACT_LINEAR:
        if dx != dy:
            memcpy(dx, dy, n * sizeof(floating))
    elif act == ACT_RELU:
        for j in range(n):
            v = y[j]
            g = dy[j]
            dx[j] = g if v > zero else zero
    elif act == ACT_SIGMOID:
        for j in range(n):
            v = y[j]
            dx[j] = dy[j] * (v * (one - v))
    elif act == ACT_HARD_SIGMOID:
        for j in range(n):
            v = y[j]
            g = dy[j] * fifth
            dx[j] = g if (v > zero) & (v < one) else zero
    elif act == ACT_TANH:
        for j in range(n):
            v = y[j]
            dx[j] = dy[j] * (one - v * v)
    elif act == ACT_ELU:
        for j in range(n):
            v = y[j]
            t = one if v > zero else v + one
            dx[j] = dy[j] * t
    elif act == ACT_SELU:
        for j in range(n):
            v = y[j]
            t = s_scale if v > zero else v + s_sa
            dx[j] = dy[j] * t
    elif act == ACT_SOFTPLUS:
        for j in range(n):
            dx[j] = dy[j] * (-_expm1(-y[j]))
    elif act == ACT_SOFTSIGN:
        for j in range(n):
            t = one - fabs_f(y[j])
            dx[j] = dy[j] * (t * t)
    elif act == ACT_EXPONENTIAL:
        for j in range(n):
            dx[j] = dy[j] * y[j]


cdef void _softmax_bwd_row(Py_ssize_t n, const floating* y, const floating* dy,
                           floating* dx) noexcept nogil:
    cdef Py_ssize_t j
    cdef double s = 0.0
    cdef floating fs
    for j in range(n):
        s += <double>dy[j] * <double>y[j]
    fs = <floating>s
    for j in range(n):
        dx[j] = y[j] * (dy[j] - fs)


cdef inline Py_ssize_t _colsum_block_rows(Py_ssize_t rows) noexcept nogil:
    cdef Py_ssize_t br = (rows + COLSUM_MAX_BLOCKS - 1) // COLSUM_MAX_BLOCKS
    return br if br > COLSUM_MIN_BLOCK_ROWS else COLSUM_MIN_BLOCK_ROWS


cdef void _block_colsum(Py_ssize_t nr, Py_ssize_t cols, Py_ssize_t c0, Py_ssize_t c1,
                        const floating* x, double* out) noexcept nogil:
    """out[j - c0] = sum_{r < nr} x[r, j] for c0 <= j < c1, summed in row order from 0."""
    cdef Py_ssize_t j
    for j in range(c1 - c0):
        out[j] = 0.0
    add_rows(nr, c1 - c0, cols, x + c0, out)


cdef void _colsum_columns(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t c0, Py_ssize_t c1,
                          const floating* x, floating* out) noexcept nogil:
    """out[c0:c1] = column sums of x over all rows, in the fixed row blocking of col_sum.
    Its buffers live on this call's stack, so concurrent calls share nothing."""
    cdef Py_ssize_t br = _colsum_block_rows(rows)
    cdef Py_ssize_t nb = (rows + br - 1) // br
    cdef Py_ssize_t b, j, nr
    cdef double acc[COLSUM_COL_CHUNK]
    cdef double part[COLSUM_COL_CHUNK]
    for b in range(nb):
        nr = rows - b * br
        if nr > br:
            nr = br
        _block_colsum(nr, cols, c0, c1, x + b * br * cols, part)
        if b == 0:
            for j in range(c1 - c0):
                acc[j] = part[j]
        else:
            for j in range(c1 - c0):
                acc[j] += part[j]
    for j in range(c1 - c0):
        out[c0 + j] = <floating>acc[j]


cdef void col_sum(Py_ssize_t rows, Py_ssize_t cols, const floating* x, floating* out,
                  int n_threads) noexcept nogil:
    # Rows are cut in blocks of a size that depends on `rows` only; each block is summed in
    # row order into a double partial, and partials are added in block order. Threads take
    # whole chunks of COLSUM_COL_CHUNK columns, so every column gets the same floating-point
    # operations whatever n_threads is, and nothing is allocated.
    cdef Py_ssize_t j, chunk
    cdef Py_ssize_t n_chunks = (cols + COLSUM_COL_CHUNK - 1) // COLSUM_COL_CHUNK
    if cols <= 0:
        return
    if rows <= 0:
        for j in range(cols):
            out[j] = 0
        return
    if n_threads > 1 and n_chunks > 1:
        for chunk in prange(n_chunks, schedule='static', num_threads=n_threads):
            _colsum_columns(rows, cols, chunk * COLSUM_COL_CHUNK,
                            min(cols, (chunk + 1) * COLSUM_COL_CHUNK), x, out)
    else:
        for chunk in range(n_chunks):
            _colsum_columns(rows, cols, chunk * COLSUM_COL_CHUNK,
                            min(cols, (chunk + 1) * COLSUM_COL_CHUNK), x, out)


cdef void _act_bwd_rows(int act, Py_ssize_t rows, Py_ssize_t cols, const floating* y,
                        const floating* dy, floating* dx) noexcept nogil:
    cdef Py_ssize_t i
    if act == ACT_SOFTMAX:
        for i in range(rows):
            _softmax_bwd_row(cols, y + i * cols, dy + i * cols, dx + i * cols)
    else:
        _act_bwd_span(act, rows * cols, y, dy, dx)


cdef void _act_bwd_block(int act, Py_ssize_t nr, Py_ssize_t cols, const floating* y,
                         const floating* dy, floating* dx, double* part) noexcept nogil:
    """nr rows of dx, and part[j] = their column sums (as _block_colsum: in row order from
    0.0), a few rows at a time so that the sums read dx from L1."""
    cdef Py_ssize_t step = SPAN_CHUNK // cols if cols < SPAN_CHUNK else 1
    cdef Py_ssize_t r = 0, j, k
    for j in range(cols):
        part[j] = 0.0
    while r < nr:
        k = nr - r if nr - r < step else step
        _act_bwd_rows(act, k, cols, y + r * cols, dy + r * cols, dx + r * cols)
        add_rows(k, cols, cols, dx + r * cols, part)
        r += k


cdef void act_bwd_bias(int act, Py_ssize_t rows, Py_ssize_t cols, const floating* y,
                       const floating* dy, floating* dx, floating* dbias, double* partials,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t br = _colsum_block_rows(rows)
    cdef Py_ssize_t nb = (rows + br - 1) // br
    cdef Py_ssize_t b, j, nr
    if partials == NULL or rows <= 0 or cols <= 0:
        act_bwd(act, rows, cols, y, dy, dx, dbias, n_threads)
        return
    if n_threads > 1 and nb > 1:
        for b in prange(nb, schedule='static', num_threads=n_threads):
            nr = rows - b * br if rows - b * br < br else br
            _act_bwd_block(act, nr, cols, y + b * br * cols, dy + b * br * cols,
                           dx + b * br * cols, partials + b * cols)
    else:
        for b in range(nb):
            nr = rows - b * br if rows - b * br < br else br
            _act_bwd_block(act, nr, cols, y + b * br * cols, dy + b * br * cols,
                           dx + b * br * cols, partials + b * cols)
    for b in range(1, nb):          # in block order, as _colsum_columns
        for j in range(cols):
            partials[j] += partials[b * cols + j]
    for j in range(cols):
        dbias[j] = <floating>partials[j]


cdef void act_bwd(int act, Py_ssize_t rows, Py_ssize_t cols, const floating* y,
                  const floating* dy, floating* dx, floating* dbias,
                  int n_threads) noexcept nogil:
    cdef Py_ssize_t total = rows * cols
    cdef Py_ssize_t i, p, lo, hi, parts
    if cols <= 0:
        return
    if rows > 0:
        if act == ACT_SOFTMAX:
            if n_threads > 1 and rows > 1:
                for i in prange(rows, schedule='static', num_threads=n_threads):
                    _softmax_bwd_row(cols, y + i * cols, dy + i * cols, dx + i * cols)
            else:
                for i in range(rows):
                    _softmax_bwd_row(cols, y + i * cols, dy + i * cols, dx + i * cols)
        elif n_threads > 1 and total >= 32 * n_threads:
            parts = n_threads
            for p in prange(parts, schedule='static', num_threads=n_threads):
                lo = split_point(total, parts, p)
                hi = split_point(total, parts, p + 1)
                _act_bwd_span(act, hi - lo, y + lo, dy + lo, dx + lo)
        else:
            _act_bwd_span(act, total, y, dy, dx)
    if dbias != NULL:
        col_sum(rows, cols, dx, dbias, n_threads)


# ---------------------------------------------------------------- numpy wrappers (tests)
def _check_act(act):
    act = int(act)
    if act < ACT_LINEAR or act > ACT_EXPONENTIAL:
        raise ValueError(f"unknown activation code {act}")
    return act


def _rows_cols(name, arr):
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows, cols), got shape {arr.shape}")
    return arr.shape[0], arr.shape[1]


cdef inline void* _data(arr):
    return cnp.PyArray_DATA(<cnp.ndarray>arr)


def act_fwd_np(act, x, y, n_threads=1):
    """y[...] = act(x) over 2-D (rows, cols) arrays; y may be x."""
    cdef int code = _check_act(act)
    check_array("x", x)
    check_array("y", y, x.dtype, writeable=True)
    cdef Py_ssize_t rows, cols
    rows, cols = _rows_cols("x", x)
    if y.shape != x.shape:
        raise ValueError(f"y has shape {y.shape}, expected {x.shape}")
    cdef int nt = int(n_threads)
    cdef void* px = _data(x)
    cdef void* py = _data(y)
    if x.dtype == np.float32:
        with nogil:
            act_fwd(code, rows, cols, <const float*>px, <float*>py, nt)
    else:
        with nogil:
            act_fwd(code, rows, cols, <const double*>px, <double*>py, nt)
    return y


def bias_act_fwd_np(act, z, bias=None, n_threads=1):
    """In place z[i, j] = act(z[i, j] + bias[j]) (no add when bias is None)."""
    cdef int code = _check_act(act)
    check_array("z", z, writeable=True)
    cdef Py_ssize_t rows, cols
    rows, cols = _rows_cols("z", z)
    cdef void* pb = NULL
    if bias is not None:
        check_array("bias", bias, z.dtype)
        if bias.ndim != 1 or bias.shape[0] != cols:
            raise ValueError(f"bias has shape {bias.shape}, expected ({cols},)")
        pb = _data(bias)
    cdef int nt = int(n_threads)
    cdef void* pz = _data(z)
    if z.dtype == np.float32:
        with nogil:
            bias_act_fwd(code, rows, cols, <float*>pz, <const float*>pb, nt)
    else:
        with nogil:
            bias_act_fwd(code, rows, cols, <double*>pz, <const double*>pb, nt)
    return z


def act_bwd_np(act, y, dy, dx, dbias=None, n_threads=1, bint fused=False):
    """dx[...] = dL/dx from y = act(x) and dy; dbias (if given) = column sums of dx, with
    fused through act_bwd_bias (one pass; its partials allocated here)."""
    cdef int code = _check_act(act)
    check_array("y", y)
    check_array("dy", dy, y.dtype)
    check_array("dx", dx, y.dtype, writeable=True)
    cdef Py_ssize_t rows, cols
    rows, cols = _rows_cols("y", y)
    if dy.shape != y.shape or dx.shape != y.shape:
        raise ValueError(f"y, dy, dx shapes differ: {y.shape}, {dy.shape}, {dx.shape}")
    cdef void* pdb = NULL
    if dbias is not None:
        check_array("dbias", dbias, y.dtype, writeable=True)
        if dbias.ndim != 1 or dbias.shape[0] != cols:
            raise ValueError(f"dbias has shape {dbias.shape}, expected ({cols},)")
        pdb = _data(dbias)
    cdef int nt = int(n_threads)
    cdef void* py = _data(y)
    cdef void* pdy = _data(dy)
    cdef void* pdx = _data(dx)
    partials = np.empty(COLSUM_MAX_BLOCKS * cols if fused else 0)
    cdef double* pp = <double*>_data(partials) if fused else NULL
    if y.dtype == np.float32:
        with nogil:
            act_bwd_bias(code, rows, cols, <const float*>py, <const float*>pdy, <float*>pdx,
                         <float*>pdb, pp, nt)
    else:
        with nogil:
            act_bwd_bias(code, rows, cols, <const double*>py, <const double*>pdy,
                         <double*>pdx, <double*>pdb, pp, nt)
    return dx


def col_sum_np(x, out, n_threads=1):
    """out[j] = sum_i x[i, j] (deterministic blocking, double accumulation)."""
    check_array("x", x)
    check_array("out", out, x.dtype, writeable=True)
    cdef Py_ssize_t rows, cols
    rows, cols = _rows_cols("x", x)
    if out.ndim != 1 or out.shape[0] != cols:
        raise ValueError(f"out has shape {out.shape}, expected ({cols},)")
    cdef int nt = int(n_threads)
    cdef void* px = _data(x)
    cdef void* po = _data(out)
    if x.dtype == np.float32:
        with nogil:
            col_sum(rows, cols, <const float*>px, <float*>po, nt)
    else:
        with nogil:
            col_sum(rows, cols, <const double*>px, <double*>po, nt)
    return out


COLSUM_PARTIALS_PER_COLUMN = COLSUM_MAX_BLOCKS  # act_bwd_bias: partials per column
