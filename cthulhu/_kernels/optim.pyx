"""Fused optimizer updates: SGD (momentum / Nesterov), Adam (AMSGrad), RMSprop (momentum,
centered), Adagrad, Adadelta, Adamax and Nadam, with Keras 2 learning-rate decay.
Formulas: see optim.pxd."""

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport pow
from cthulhu._kernels.common cimport (SPLIT_ALIGN, fabs_f, pow_f, prefetch_row, split_point,
                                      sqrt_f)
from cthulhu._kernels.embedding cimport rows_in_order

import numpy as np

from cthulhu._kernels._checks import check_array

cnp.import_array()

cdef enum:
    ROW_CHUNK = 256    # columns of a hit row whose gradient sum is kept on the stack

# The Adam element step, the one place of its formula: the operations and their order are
# reference Keras's, in the variable's precision:
#     m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); amsgrad: vhat = max(vhat, v) (NaN
#     propagating, as K.maximum) replaces v; w -= m * alpha / (sqrt(v) + eps).
# A span with g == NULL takes g = 0, which rounds exactly as a zero-filled gradient (without
# -ffast-math, 0 - m is not folded to -m). On CPUs with AVX the loops run 8 floats (4
# doubles) at a time: the same IEEE operations (no FMA: nothing is contracted), so the
# results are bit for bit those of the baseline build. The step is bound by the divider
# (sqrt, division), hence the wider vectors.
cdef extern from *:
    """
    #define CTH_ADAM_LOOP(T, SQRT, G, AMS) \
        for (Py_ssize_t i = lo; i < hi; i++) { \
            const T gi = (G); \
            const T mi = m[i] + (gi - m[i]) * omb1; \
            T vi = v[i] + (gi * gi - v[i]) * omb2; \
            m[i] = mi; \
            v[i] = vi; \
            if (AMS) { \
                const T vh = vhat[i]; \
                vi = ((vi > vh) | (vi != vi)) ? vi : vh; \
                vhat[i] = vi; \
            } \
            w[i] = w[i] - (mi * alpha) / (SQRT(vi) + eps); \
        }
    #define CTH_ADAM_SPAN(NAME, T, SQRT) \
        static void NAME(Py_ssize_t lo, Py_ssize_t hi, T* w, const T* g, T* m, T* v, \
                         T* vhat, T alpha, T omb1, T omb2, T eps) { \
            if (!g && !vhat) CTH_ADAM_LOOP(T, SQRT, (T)0, 0) \
            else if (!g) CTH_ADAM_LOOP(T, SQRT, (T)0, 1) \
            else if (!vhat) CTH_ADAM_LOOP(T, SQRT, g[i], 0) \
            else CTH_ADAM_LOOP(T, SQRT, g[i], 1) \
        }

    CTH_ADAM_SPAN(cth_adam_span_f_base, float, sqrtf)
    CTH_ADAM_SPAN(cth_adam_span_d_base, double, sqrt)
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __attribute__((target("avx"))) CTH_ADAM_SPAN(cth_adam_span_f_avx, float, sqrtf)
    __attribute__((target("avx"))) CTH_ADAM_SPAN(cth_adam_span_d_avx, double, sqrt)
    static int cth_adam_avx_supported(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx");
    }
    #else
    #define cth_adam_span_f_avx cth_adam_span_f_base
    #define cth_adam_span_d_avx cth_adam_span_d_base
    static int cth_adam_avx_supported(void) { return 0; }
    #endif

    static int cth_adam_use_avx = 0;    /* set once at import (and by tests) */

    static void cth_adam_span_f(Py_ssize_t lo, Py_ssize_t hi, float* w, const float* g,
                                float* m, float* v, float* vhat, float alpha, float omb1,
                                float omb2, float eps) {
        (cth_adam_use_avx ? cth_adam_span_f_avx : cth_adam_span_f_base)(
            lo, hi, w, g, m, v, vhat, alpha, omb1, omb2, eps);
    }
    static void cth_adam_span_d(Py_ssize_t lo, Py_ssize_t hi, double* w, const double* g,
                                double* m, double* v, double* vhat, double alpha, double omb1,
                                double omb2, double eps) {
        (cth_adam_use_avx ? cth_adam_span_d_avx : cth_adam_span_d_base)(
            lo, hi, w, g, m, v, vhat, alpha, omb1, omb2, eps);
    }
    """
    int cth_adam_use_avx
    int cth_adam_avx_supported() noexcept nogil
    void cth_adam_span_f(Py_ssize_t lo, Py_ssize_t hi, float* w, const float* g, float* m,
                         float* v, float* vhat, float alpha, float omb1, float omb2,
                         float eps) noexcept nogil
    void cth_adam_span_d(Py_ssize_t lo, Py_ssize_t hi, double* w, const double* g, double* m,
                         double* v, double* vhat, double alpha, double omb1, double omb2,
                         double eps) noexcept nogil


cth_adam_use_avx = cth_adam_avx_supported()


def adam_avx_np(enabled=None):
    """Whether the Adam kernels use their AVX loops; `enabled` (tests) forces a choice,
    AVX only where the CPU has it."""
    global cth_adam_use_avx
    if enabled is not None:
        cth_adam_use_avx = bool(enabled) and cth_adam_avx_supported()
    return bool(cth_adam_use_avx)


cdef inline floating _max_nan(floating a, floating b) noexcept nogil:
    """max(a, b) propagating NaN from either side (as K.maximum / tf.maximum)."""
    if a != a:
        return a
    return b if (b > a) | (b != b) else a


cdef inline double _decayed(double lr, double decay, int64_t step) noexcept nogil:
    """lr / (1 + decay * iterations), iterations = step - 1 counted before this update."""
    if decay == 0.0:
        return lr
    return lr / (1.0 + decay * <double>(step - 1))


cdef inline bint _parallel(Py_ssize_t size, int n_threads) noexcept nogil:
    return n_threads > 1 and size >= SPLIT_ALIGN * n_threads


# ---------------------------------------------------------------- SGD
cdef void _sgd_span(Py_ssize_t lo, Py_ssize_t hi, floating* w, const floating* g,
                    floating* vel, floating lr, floating mom, bint nesterov) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating vi
    if vel == NULL:
        for i in range(lo, hi):
            w[i] = w[i] - lr * g[i]
    elif nesterov:
        for i in range(lo, hi):
            vi = mom * vel[i] - lr * g[i]
            vel[i] = vi
            w[i] = w[i] + (mom * vi - lr * g[i])
    else:
        for i in range(lo, hi):
            vi = mom * vel[i] - lr * g[i]
            vel[i] = vi
            w[i] = w[i] + vi


cdef void sgd_update(Py_ssize_t size, floating* w, const floating* g, floating* velocity,
                     double lr, double momentum, bint nesterov, double decay, int64_t step,
                     int n_threads) noexcept nogil:
    cdef floating flr = <floating>_decayed(lr, decay, step)
    cdef floating fmom = <floating>momentum
    cdef Py_ssize_t p
    if size <= 0:
        return
    if _parallel(size, n_threads):
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _sgd_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1), w, g,
                      velocity, flr, fmom, nesterov)
    else:
        _sgd_span(0, size, w, g, velocity, flr, fmom, nesterov)


# ---------------------------------------------------------------- Adam / AMSGrad
cdef struct AdamCoef:
    double alpha, omb1, omb2, eps   # rounded to the variable's precision where used


cdef void _adam_span(Py_ssize_t lo, Py_ssize_t hi, floating* w, const floating* g,
                     floating* m, floating* v, floating* vhat, floating alpha, floating omb1,
                     floating omb2, floating eps) noexcept nogil:
    """Elements [lo, hi); g == NULL stands for a zero gradient (see cth_adam_span_*)."""
    if floating is float:
        cth_adam_span_f(lo, hi, w, g, m, v, vhat, alpha, omb1, omb2, eps)
    else:
        cth_adam_span_d(lo, hi, w, g, m, v, vhat, alpha, omb1, omb2, eps)


cdef AdamCoef _adam_coef(const floating* precision, double lr, double beta1, double beta2,
                         double epsilon, double decay, int64_t step) noexcept nogil:
    # Like reference Keras, the bias corrections use powers of the betas in the variable's
    # precision (`precision` only picks it), and the (1 - beta) factors are rounded from
    # double once.
    cdef floating t = <floating>step
    cdef floating b1 = <floating>beta1
    cdef floating b2 = <floating>beta2
    cdef floating one = 1
    cdef AdamCoef c
    c.alpha = <floating>_decayed(lr, decay, step) * \
        sqrt_f(one - pow_f(b2, t)) / (one - pow_f(b1, t))
    c.omb1 = <floating>(1.0 - beta1)
    c.omb2 = <floating>(1.0 - beta2)
    c.eps = <floating>epsilon
    return c


cdef void adam_update(Py_ssize_t size, floating* w, const floating* g, floating* m,
                      floating* v, floating* vhat, double lr, double beta1, double beta2,
                      double epsilon, double decay, int64_t step, int n_threads) noexcept nogil:
    cdef AdamCoef c = _adam_coef(w, lr, beta1, beta2, epsilon, decay, step)
    cdef Py_ssize_t p
    if size <= 0:
        return
    if _parallel(size, n_threads):
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _adam_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1),
                       w, g, m, v, vhat, <floating>c.alpha, <floating>c.omb1,
                       <floating>c.omb2, <floating>c.eps)
    else:
        _adam_span(0, size, w, g, m, v, vhat, <floating>c.alpha, <floating>c.omb1,
                   <floating>c.omb2, <floating>c.eps)


cdef inline Py_ssize_t _row_at(const floating* idx, const int64_t* order,
                               Py_ssize_t k) noexcept nogil:
    return <Py_ssize_t>idx[order[k]]


cdef void _adam_hit_row(Py_ssize_t row, Py_ssize_t width, floating* w, const floating* dy,
                        const int64_t* positions, Py_ssize_t count, floating* m, floating* v,
                        floating* vhat, floating alpha, floating omb1, floating omb2,
                        floating eps) noexcept nogil:
    """One row whose gradient is the sum of dy's rows at `positions`, added from 0 in that
    order as scatter_add_rows does; ROW_CHUNK columns at a time, summed on the stack."""
    cdef floating acc[ROW_CHUNK]
    cdef Py_ssize_t lo = 0, n, j, q
    cdef const floating* src
    while lo < width:
        n = min(<Py_ssize_t>ROW_CHUNK, width - lo)
        for j in range(n):
            acc[j] = 0
        for q in range(count):
            src = dy + positions[q] * width + lo
            for j in range(n):
                acc[j] = acc[j] + src[j]
        # acc[j] is the gradient of element row * width + lo + j: shift the arrays to match.
        _adam_span(0, n, w + row * width + lo, acc, m + row * width + lo,
                   v + row * width + lo, vhat + row * width + lo if vhat != NULL else NULL,
                   alpha, omb1, omb2, eps)
        lo += n


cdef void _adam_rows_span(Py_ssize_t r_lo, Py_ssize_t r_hi, Py_ssize_t width, floating* w,
                          const floating* idx, const floating* dy, const int64_t* order,
                          Py_ssize_t n_hit, floating* m, floating* v, floating* vhat,
                          floating alpha, floating omb1, floating omb2,
                          floating eps) noexcept nogil:
    """Table rows [r_lo, r_hi): runs of rows no index hits take the zero-gradient step in one
    loop; each hit row sums its gradient rows first."""
    cdef Py_ssize_t lo = 0, hi = n_hit, mid, k, end, row, r = r_lo
    while lo < hi:                      # the first entry of `order` at a row >= r_lo
        mid = (lo + hi) // 2
        if _row_at(idx, order, mid) < r_lo:
            lo = mid + 1
        else:
            hi = mid
    k = lo
    while k < n_hit:
        row = _row_at(idx, order, k)
        if row >= r_hi:
            break
        end = k + 1
        while end < n_hit and _row_at(idx, order, end) == row:
            end += 1
        # The gradient rows of the next hit row are far apart in dy: fetch them meanwhile.
        if end < n_hit:
            prefetch_row(dy + order[end] * width, width)
        _adam_span(r * width, row * width, w, <const floating*>NULL, m, v, vhat, alpha, omb1,
                   omb2, eps)
        _adam_hit_row(row, width, w, dy, order + k, end - k, m, v, vhat, alpha, omb1, omb2,
                      eps)
        r = row + 1
        k = end
    _adam_span(r * width, r_hi * width, w, <const floating*>NULL, m, v, vhat, alpha, omb1,
               omb2, eps)


cdef void adam_rows_update(Py_ssize_t n_table, Py_ssize_t width, Py_ssize_t n_idx,
                           floating* w, const floating* idx, const floating* dy, floating* m,
                           floating* v, floating* vhat, int64_t* scratch, double lr,
                           double beta1, double beta2, double epsilon, double decay,
                           int64_t step, int n_threads) noexcept nogil:
    cdef AdamCoef c = _adam_coef(w, lr, beta1, beta2, epsilon, decay, step)
    cdef Py_ssize_t p, n_hit
    if n_table * width <= 0:
        return
    n_hit = rows_in_order(n_idx, n_table, idx, scratch, scratch + n_idx)
    if _parallel(n_table * width, n_threads) and n_table >= n_threads:
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _adam_rows_span(n_table * p // n_threads, n_table * (p + 1) // n_threads, width,
                            w, idx, dy, scratch, n_hit, m, v, vhat, <floating>c.alpha,
                            <floating>c.omb1, <floating>c.omb2, <floating>c.eps)
    else:
        _adam_rows_span(0, n_table, width, w, idx, dy, scratch, n_hit, m, v, vhat,
                        <floating>c.alpha, <floating>c.omb1, <floating>c.omb2,
                        <floating>c.eps)


# ---------------------------------------------------------------- RMSprop
cdef void _rmsprop_span(Py_ssize_t lo, Py_ssize_t hi, floating* w, const floating* g,
                        floating* v, floating* mom, floating* avg, floating lr, floating rho,
                        floating momentum, floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, vi, ai, d, inc
    cdef floating omr = 1 - rho
    for i in range(lo, hi):
        gi = g[i]
        vi = rho * v[i] + omr * (gi * gi)
        v[i] = vi
        if avg != NULL:
            ai = rho * avg[i] + omr * gi
            avg[i] = ai
            d = vi - ai * ai + eps
        else:
            d = vi + eps
        inc = lr * gi / sqrt_f(d)
        if mom != NULL:
            inc = momentum * mom[i] + inc
            mom[i] = inc
        w[i] = w[i] - inc


cdef void rmsprop_update(Py_ssize_t size, floating* w, const floating* g, floating* v,
                         floating* mom, floating* avg, double lr, double rho, double momentum,
                         double epsilon, double decay, int64_t step,
                         int n_threads) noexcept nogil:
    cdef floating flr = <floating>_decayed(lr, decay, step)
    cdef floating frho = <floating>rho
    cdef floating fmom = <floating>momentum
    cdef floating eps = <floating>epsilon
    cdef Py_ssize_t p
    if size <= 0:
        return
    if _parallel(size, n_threads):
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _rmsprop_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1),
                          w, g, v, mom, avg, flr, frho, fmom, eps)
    else:
        _rmsprop_span(0, size, w, g, v, mom, avg, flr, frho, fmom, eps)


# ---------------------------------------------------------------- Adagrad
cdef void _adagrad_span(Py_ssize_t lo, Py_ssize_t hi, floating* w, const floating* g,
                        floating* acc, floating lr, floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, ai
    for i in range(lo, hi):
        gi = g[i]
        ai = acc[i] + gi * gi
        acc[i] = ai
        w[i] = w[i] - lr * gi / sqrt_f(ai + eps)


cdef void adagrad_update(Py_ssize_t size, floating* w, const floating* g, floating* acc,
                         double lr, double epsilon, double decay, int64_t step,
                         int n_threads) noexcept nogil:
    cdef floating flr = <floating>_decayed(lr, decay, step)
    cdef floating eps = <floating>epsilon
    cdef Py_ssize_t p
    if size <= 0:
        return
    if _parallel(size, n_threads):
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _adagrad_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1),
                          w, g, acc, flr, eps)
    else:
        _adagrad_span(0, size, w, g, acc, flr, eps)


# ---------------------------------------------------------------- Adadelta
cdef void _adadelta_span(Py_ssize_t lo, Py_ssize_t hi, floating* w, const floating* g,
                         floating* acc_g, floating* acc_d, floating lr, floating rho,
                         floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, ag, ad, delta
    cdef floating omr = 1 - rho
    for i in range(lo, hi):
        gi = g[i]
        ag = rho * acc_g[i] + omr * gi * gi
        acc_g[i] = ag
        ad = acc_d[i]
        delta = -sqrt_f(ad + eps) * gi / sqrt_f(ag + eps)
        acc_d[i] = rho * ad + omr * delta * delta
        w[i] = w[i] + lr * delta


cdef void adadelta_update(Py_ssize_t size, floating* w, const floating* g, floating* acc_g,
                          floating* acc_d, double lr, double rho, double epsilon, double decay,
                          int64_t step, int n_threads) noexcept nogil:
    cdef floating flr = <floating>_decayed(lr, decay, step)
    cdef floating frho = <floating>rho
    cdef floating eps = <floating>epsilon
    cdef Py_ssize_t p
    if size <= 0:
        return
    if _parallel(size, n_threads):
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _adadelta_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1),
                           w, g, acc_g, acc_d, flr, frho, eps)
    else:
        _adadelta_span(0, size, w, g, acc_g, acc_d, flr, frho, eps)


# ---------------------------------------------------------------- Adamax
cdef void _adamax_span(Py_ssize_t lo, Py_ssize_t hi, floating* w, const floating* g,
                       floating* m, floating* u, floating coef, floating b1, floating b2,
                       floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, mi, ui
    cdef floating omb1 = 1 - b1
    for i in range(lo, hi):
        gi = g[i]
        mi = m[i] + (gi - m[i]) * omb1
        m[i] = mi
        ui = _max_nan(b2 * u[i], fabs_f(gi))
        u[i] = ui
        w[i] = w[i] - coef * mi / (ui + eps)


cdef void adamax_update(Py_ssize_t size, floating* w, const floating* g, floating* m,
                        floating* u, double lr, double beta1, double beta2, double epsilon,
                        double decay, int64_t step, int n_threads) noexcept nogil:
    cdef double coef = _decayed(lr, decay, step) / (1.0 - pow(beta1, <double>step))
    cdef floating fcoef = <floating>coef
    cdef floating b1 = <floating>beta1
    cdef floating b2 = <floating>beta2
    cdef floating eps = <floating>epsilon
    cdef Py_ssize_t p
    if size <= 0:
        return
    if _parallel(size, n_threads):
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _adamax_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1),
                         w, g, m, u, fcoef, b1, b2, eps)
    else:
        _adamax_span(0, size, w, g, m, u, fcoef, b1, b2, eps)


# ---------------------------------------------------------------- Nadam
cdef double nadam_mu(double beta1, double t) noexcept nogil:
    return beta1 * (1.0 - 0.5 * pow(0.96, t))


cdef void nadam_schedule(double* u_product, double beta1, int64_t step) noexcept nogil:
    u_product[0] = u_product[0] * nadam_mu(beta1, <double>step)


cdef void _nadam_span(Py_ssize_t lo, Py_ssize_t hi, floating* w, const floating* g,
                      floating* m, floating* v, floating lr, floating b1, floating b2,
                      floating eps, floating c_m, floating c_g, floating c_v) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, mi, vi, m_hat
    cdef floating omb1 = 1 - b1
    cdef floating omb2 = 1 - b2
    for i in range(lo, hi):
        gi = g[i]
        mi = m[i] + (gi - m[i]) * omb1
        vi = v[i] + (gi * gi - v[i]) * omb2
        m[i] = mi
        v[i] = vi
        m_hat = c_m * mi + c_g * gi
        w[i] = w[i] - lr * m_hat / (sqrt_f(vi * c_v) + eps)


cdef void nadam_update(Py_ssize_t size, floating* w, const floating* g, floating* m,
                       floating* v, double lr, double beta1, double beta2, double epsilon,
                       double decay, int64_t step, double u_product,
                       int n_threads) noexcept nogil:
    cdef double t = <double>step
    cdef double mu = nadam_mu(beta1, t)
    cdef double mu_next = nadam_mu(beta1, t + 1.0)
    cdef floating c_m = <floating>(mu_next / (1.0 - u_product * mu_next))
    cdef floating c_g = <floating>((1.0 - mu) / (1.0 - u_product))
    cdef floating c_v = <floating>(1.0 / (1.0 - pow(beta2, t)))
    cdef floating flr = <floating>_decayed(lr, decay, step)
    cdef floating b1 = <floating>beta1
    cdef floating b2 = <floating>beta2
    cdef floating eps = <floating>epsilon
    cdef Py_ssize_t p
    if size <= 0:
        return
    if _parallel(size, n_threads):
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _nadam_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1),
                        w, g, m, v, flr, b1, b2, eps, c_m, c_g, c_v)
    else:
        _nadam_span(0, size, w, g, m, v, flr, b1, b2, eps, c_m, c_g, c_v)


# ---------------------------------------------------------------- numpy wrappers (tests)
cdef inline void* _data(arr):
    if arr is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>arr)


def _check_state(w, g, **slots):
    check_array("w", w, writeable=True)
    check_array("g", g, w.dtype, size=w.size)
    for name, arr in slots.items():
        if arr is not None:
            check_array(name, arr, w.dtype, size=w.size, writeable=True)


def _check_step(step):
    if int(step) < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    return int(step)


def sgd_update_np(w, g, velocity=None, lr=0.01, momentum=0.0, nesterov=False, decay=0.0,
                  step=1, n_threads=1):
    """In-place SGD step on w (and velocity, when given); step = iterations + 1."""
    _check_state(w, g, velocity=velocity)
    cdef int64_t st = _check_step(step)
    cdef Py_ssize_t n = w.size
    cdef double dlr = lr, dmom = momentum, ddec = decay
    cdef bint nest = bool(nesterov)
    cdef int nt = int(n_threads)
    cdef void* pw = _data(w)
    cdef void* pg = _data(g)
    cdef void* pv = _data(velocity)
    if w.dtype == np.float32:
        with nogil:
            sgd_update(n, <float*>pw, <const float*>pg, <float*>pv, dlr, dmom, nest, ddec, st,
                       nt)
    else:
        with nogil:
            sgd_update(n, <double*>pw, <const double*>pg, <double*>pv, dlr, dmom, nest, ddec,
                       st, nt)
    return w


def adam_update_np(w, g, m, v, vhat=None, lr=0.001, beta1=0.9, beta2=0.999,
                   epsilon=1e-7, decay=0.0, step=1, n_threads=1):
    """In-place Adam step (AMSGrad when vhat is given); step = iterations + 1."""
    _check_state(w, g, m=m, v=v, vhat=vhat)
    cdef int64_t st = _check_step(step)
    cdef Py_ssize_t n = w.size
    cdef double dlr = lr, db1 = beta1, db2 = beta2, deps = epsilon, ddec = decay
    cdef int nt = int(n_threads)
    cdef void* pw = _data(w)
    cdef void* pg = _data(g)
    cdef void* pm = _data(m)
    cdef void* pv = _data(v)
    cdef void* ph = _data(vhat)
    if w.dtype == np.float32:
        with nogil:
            adam_update(n, <float*>pw, <const float*>pg, <float*>pm, <float*>pv, <float*>ph,
                        dlr, db1, db2, deps, ddec, st, nt)
    else:
        with nogil:
            adam_update(n, <double*>pw, <const double*>pg, <double*>pm, <double*>pv,
                        <double*>ph, dlr, db1, db2, deps, ddec, st, nt)
    return w


def adam_rows_update_np(w, idx, dy, m, v, vhat=None, lr=0.001, beta1=0.9, beta2=0.999,
                        epsilon=1e-7, decay=0.0, step=1, n_threads=1):
    """In-place Adam step of the (rows, width) w whose gradient is the scatter-add of the rows
    of dy (len(idx), width) at the float indices idx (AMSGrad when vhat is given)."""
    check_array("w", w, ndim=2, writeable=True)
    check_array("idx", idx, w.dtype)
    check_array("dy", dy, w.dtype, size=idx.size * w.shape[1])
    _check_state(w, w, m=m, v=v, vhat=vhat)      # (w stands in for the dense gradient)
    cdef int64_t st = _check_step(step)
    cdef Py_ssize_t rows = w.shape[0], width = w.shape[1], n_idx = idx.size
    cdef double dlr = lr, db1 = beta1, db2 = beta2, deps = epsilon, ddec = decay
    cdef int nt = int(n_threads)
    scratch = np.zeros(2 * n_idx + 1, np.int64)
    cdef void* ps = _data(scratch)
    cdef void* pw = _data(w)
    cdef void* pi = _data(idx)
    cdef void* pd = _data(dy)
    cdef void* pm = _data(m)
    cdef void* pv = _data(v)
    cdef void* ph = _data(vhat)
    if w.dtype == np.float32:
        with nogil:
            adam_rows_update(rows, width, n_idx, <float*>pw, <const float*>pi,
                             <const float*>pd, <float*>pm, <float*>pv, <float*>ph,
                             <int64_t*>ps, dlr, db1, db2, deps, ddec, st, nt)
    else:
        with nogil:
            adam_rows_update(rows, width, n_idx, <double*>pw, <const double*>pi,
                             <const double*>pd, <double*>pm, <double*>pv, <double*>ph,
                             <int64_t*>ps, dlr, db1, db2, deps, ddec, st, nt)
    return w


def rmsprop_update_np(w, g, v, mom=None, avg=None, lr=0.001, rho=0.9, momentum=0.0,
                      epsilon=1e-7, decay=0.0, step=1, n_threads=1):
    """In-place RMSprop step: momentum when mom is given, centered when avg is given."""
    _check_state(w, g, v=v, mom=mom, avg=avg)
    cdef int64_t st = _check_step(step)
    cdef Py_ssize_t n = w.size
    cdef double dlr = lr, drho = rho, dmom = momentum, deps = epsilon, ddec = decay
    cdef int nt = int(n_threads)
    cdef void* pw = _data(w)
    cdef void* pg = _data(g)
    cdef void* pv = _data(v)
    cdef void* pm = _data(mom)
    cdef void* pa = _data(avg)
    if w.dtype == np.float32:
        with nogil:
            rmsprop_update(n, <float*>pw, <const float*>pg, <float*>pv, <float*>pm, <float*>pa,
                           dlr, drho, dmom, deps, ddec, st, nt)
    else:
        with nogil:
            rmsprop_update(n, <double*>pw, <const double*>pg, <double*>pv, <double*>pm,
                           <double*>pa, dlr, drho, dmom, deps, ddec, st, nt)
    return w


def adagrad_update_np(w, g, acc, lr=0.001, epsilon=1e-7, decay=0.0, step=1, n_threads=1):
    """In-place Adagrad step on w and its accumulator."""
    _check_state(w, g, acc=acc)
    cdef int64_t st = _check_step(step)
    cdef Py_ssize_t n = w.size
    cdef double dlr = lr, deps = epsilon, ddec = decay
    cdef int nt = int(n_threads)
    cdef void* pw = _data(w)
    cdef void* pg = _data(g)
    cdef void* pa = _data(acc)
    if w.dtype == np.float32:
        with nogil:
            adagrad_update(n, <float*>pw, <const float*>pg, <float*>pa, dlr, deps, ddec, st, nt)
    else:
        with nogil:
            adagrad_update(n, <double*>pw, <const double*>pg, <double*>pa, dlr, deps, ddec, st,
                           nt)
    return w


def adadelta_update_np(w, g, acc_g, acc_d, lr=0.001, rho=0.95, epsilon=1e-7, decay=0.0,
                       step=1, n_threads=1):
    """In-place Adadelta step on w and its two accumulators."""
    _check_state(w, g, acc_g=acc_g, acc_d=acc_d)
    cdef int64_t st = _check_step(step)
    cdef Py_ssize_t n = w.size
    cdef double dlr = lr, drho = rho, deps = epsilon, ddec = decay
    cdef int nt = int(n_threads)
    cdef void* pw = _data(w)
    cdef void* pg = _data(g)
    cdef void* pa = _data(acc_g)
    cdef void* pd = _data(acc_d)
    if w.dtype == np.float32:
        with nogil:
            adadelta_update(n, <float*>pw, <const float*>pg, <float*>pa, <float*>pd, dlr, drho,
                            deps, ddec, st, nt)
    else:
        with nogil:
            adadelta_update(n, <double*>pw, <const double*>pg, <double*>pa, <double*>pd, dlr,
                            drho, deps, ddec, st, nt)
    return w


def adamax_update_np(w, g, m, u, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-7, decay=0.0,
                     step=1, n_threads=1):
    """In-place Adamax step on w, m and u; step = iterations + 1."""
    _check_state(w, g, m=m, u=u)
    cdef int64_t st = _check_step(step)
    cdef Py_ssize_t n = w.size
    cdef double dlr = lr, db1 = beta1, db2 = beta2, deps = epsilon, ddec = decay
    cdef int nt = int(n_threads)
    cdef void* pw = _data(w)
    cdef void* pg = _data(g)
    cdef void* pm = _data(m)
    cdef void* pu = _data(u)
    if w.dtype == np.float32:
        with nogil:
            adamax_update(n, <float*>pw, <const float*>pg, <float*>pm, <float*>pu, dlr, db1,
                          db2, deps, ddec, st, nt)
    else:
        with nogil:
            adamax_update(n, <double*>pw, <const double*>pg, <double*>pm, <double*>pu, dlr,
                          db1, db2, deps, ddec, st, nt)
    return w


def nadam_schedule_np(u_product, beta1=0.9, step=1):
    """u_product * beta1 * (1 - 0.5 * 0.96^step): the momentum-schedule product after `step`."""
    cdef int64_t st = _check_step(step)
    cdef double p = float(u_product)
    nadam_schedule(&p, float(beta1), st)
    return p


def nadam_update_np(w, g, m, v, u_product, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-7,
                    decay=0.0, step=1, n_threads=1):
    """In-place Nadam step on w, m and v; u_product already includes this step's factor
    (see nadam_schedule_np); step = iterations + 1."""
    _check_state(w, g, m=m, v=v)
    cdef int64_t st = _check_step(step)
    cdef Py_ssize_t n = w.size
    cdef double dlr = lr, db1 = beta1, db2 = beta2, deps = epsilon, ddec = decay
    cdef double up = float(u_product)
    cdef int nt = int(n_threads)
    cdef void* pw = _data(w)
    cdef void* pg = _data(g)
    cdef void* pm = _data(m)
    cdef void* pv = _data(v)
    if w.dtype == np.float32:
        with nogil:
            nadam_update(n, <float*>pw, <const float*>pg, <float*>pm, <float*>pv, dlr, db1, db2,
                         deps, ddec, st, up, nt)
    else:
        with nogil:
            nadam_update(n, <double*>pw, <const double*>pg, <double*>pm, <double*>pv, dlr, db1,
                         db2, deps, ddec, st, up, nt)
    return w
