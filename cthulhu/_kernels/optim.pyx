"""Fused optimizer updates (SGD with momentum / Nesterov, Adam / AMSGrad)."""

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport pow, sqrt, sqrtf
from cthulhu._kernels.common cimport SPLIT_ALIGN, split_point

import numpy as np

from cthulhu._kernels._checks import check_array

cnp.import_array()

cdef inline floating _sqrt(floating v) noexcept nogil:
    if floating is float:
        return sqrtf(v)
    else:
        return sqrt(v)


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
                     double lr, double momentum, bint nesterov, int n_threads) noexcept nogil:
    cdef floating flr = <floating>lr
    cdef floating fmom = <floating>momentum
    cdef Py_ssize_t p
    if size <= 0:
        return
    if n_threads > 1 and size >= SPLIT_ALIGN * n_threads:
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _sgd_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1), w, g,
                      velocity, flr, fmom, nesterov)
    else:
        _sgd_span(0, size, w, g, velocity, flr, fmom, nesterov)


cdef void _adam_span(Py_ssize_t lo, Py_ssize_t hi, floating* w, const floating* g,
                     floating* m, floating* v, floating* vhat, floating lr_t, floating b1,
                     floating b2, floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, mi, vi, vh
    cdef floating one = 1
    cdef floating omb1 = one - b1
    cdef floating omb2 = one - b2
    if vhat == NULL:
        for i in range(lo, hi):
            gi = g[i]
            mi = b1 * m[i] + omb1 * gi
            vi = b2 * v[i] + omb2 * (gi * gi)
            m[i] = mi
            v[i] = vi
            w[i] = w[i] - lr_t * mi / (_sqrt(vi) + eps)
    else:
        for i in range(lo, hi):
            gi = g[i]
            mi = b1 * m[i] + omb1 * gi
            vi = b2 * v[i] + omb2 * (gi * gi)
            m[i] = mi
            v[i] = vi
            vh = vhat[i]
            vh = vi if (vi > vh) | (vi != vi) else vh     # max propagating NaN (K.maximum)
            vhat[i] = vh
            w[i] = w[i] - lr_t * mi / (_sqrt(vh) + eps)


cdef void adam_update(Py_ssize_t size, floating* w, const floating* g, floating* m,
                      floating* v, floating* vhat, double lr, double beta1, double beta2,
                      double epsilon, int64_t step, int n_threads) noexcept nogil:
    cdef double t = <double>step
    cdef double lr_t = lr * sqrt(1.0 - pow(beta2, t)) / (1.0 - pow(beta1, t))
    cdef floating flr = <floating>lr_t
    cdef floating b1 = <floating>beta1
    cdef floating b2 = <floating>beta2
    cdef floating eps = <floating>epsilon
    cdef Py_ssize_t p
    if size <= 0:
        return
    if n_threads > 1 and size >= SPLIT_ALIGN * n_threads:
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _adam_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1),
                       w, g, m, v, vhat, flr, b1, b2, eps)
    else:
        _adam_span(0, size, w, g, m, v, vhat, flr, b1, b2, eps)


# ---------------------------------------------------------------- numpy wrappers (tests)
cdef inline void* _data(arr):
    if arr is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>arr)


def sgd_update_np(w, g, velocity=None, lr=0.01, momentum=0.0, nesterov=False, n_threads=1):
    """In-place SGD step on w (and velocity, when given)."""
    check_array("w", w, writeable=True)
    check_array("g", g, w.dtype, size=w.size)
    if velocity is not None:
        check_array("velocity", velocity, w.dtype, size=w.size, writeable=True)
    cdef Py_ssize_t n = w.size
    cdef double dlr = lr, dmom = momentum
    cdef bint nest = bool(nesterov)
    cdef int nt = int(n_threads)
    cdef void* pw = _data(w)
    cdef void* pg = _data(g)
    cdef void* pv = _data(velocity)
    if w.dtype == np.float32:
        with nogil:
            sgd_update(n, <float*>pw, <const float*>pg, <float*>pv, dlr, dmom, nest, nt)
    else:
        with nogil:
            sgd_update(n, <double*>pw, <const double*>pg, <double*>pv, dlr, dmom, nest, nt)
    return w


def adam_update_np(w, g, m, v, vhat=None, lr=0.001, beta1=0.9, beta2=0.999,
                   epsilon=1e-7, step=1, n_threads=1):
    """In-place Adam step (AMSGrad when vhat is given); step = iterations + 1."""
    check_array("w", w, writeable=True)
    check_array("g", g, w.dtype, size=w.size)
    check_array("m", m, w.dtype, size=w.size, writeable=True)
    check_array("v", v, w.dtype, size=w.size, writeable=True)
    if vhat is not None:
        check_array("vhat", vhat, w.dtype, size=w.size, writeable=True)
    if int(step) < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    cdef Py_ssize_t n = w.size
    cdef double dlr = lr, db1 = beta1, db2 = beta2, deps = epsilon
    cdef int64_t st = int(step)
    cdef int nt = int(n_threads)
    cdef void* pw = _data(w)
    cdef void* pg = _data(g)
    cdef void* pm = _data(m)
    cdef void* pv = _data(v)
    cdef void* ph = _data(vhat)
    if w.dtype == np.float32:
        with nogil:
            adam_update(n, <float*>pw, <const float*>pg, <float*>pm, <float*>pv, <float*>ph,
                        dlr, db1, db2, deps, st, nt)
    else:
        with nogil:
            adam_update(n, <double*>pw, <const double*>pg, <double*>pm, <double*>pv,
                        <double*>ph, dlr, db1, db2, deps, st, nt)
    return w
