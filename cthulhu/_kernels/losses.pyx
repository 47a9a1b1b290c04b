"""Fused softmax + cross-entropy (Keras `from_logits=True` semantics)."""

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport NAN, log

from cthulhu._kernels.activations cimport cth_exp, cth_expf
from cthulhu._kernels.common cimport row_max

import numpy as np

from cthulhu._kernels._checks import check_array

cnp.import_array()

cdef inline floating _exp(floating v) noexcept nogil:
    if floating is float:
        return cth_expf(v)
    else:
        return cth_exp(v)


cdef inline Py_ssize_t _class_index(floating t, Py_ssize_t cols) noexcept nogil:
    """The class index held by t, or -1 when out of range / NaN."""
    if t >= 0 and t < cols:
        return <Py_ssize_t>t
    return -1


cdef void _xent_fwd_row(Py_ssize_t cols, const floating* z, const floating* t, bint sparse,
                        floating* p, floating* loss) noexcept nogil:
    # Everything the loss needs from z is read before p is written, so p may alias z.
    cdef Py_ssize_t j, c = -1
    cdef floating mx
    cdef double s = 0.0, lse, st = 0.0, stz = 0.0, zc = 0.0
    cdef floating inv
    if cols <= 0:
        loss[0] = <floating>NAN if sparse else 0
        return
    mx = row_max(cols, z)
    if sparse:
        c = _class_index(t[0], cols)
        if c >= 0:
            zc = z[c]
    else:
        for j in range(cols):
            st += t[j]
            stz += <double>t[j] * <double>z[j]
    for j in range(cols):
        p[j] = _exp(z[j] - mx)
    for j in range(cols):
        s += p[j]
    inv = <floating>(1.0 / s)
    for j in range(cols):
        p[j] = p[j] * inv
    lse = <double>mx + log(s)
    if sparse:
        loss[0] = <floating>(lse - zc) if c >= 0 else <floating>NAN
    else:
        loss[0] = <floating>(lse * st - stz)


cdef void softmax_xent_fwd(Py_ssize_t rows, Py_ssize_t cols, const floating* logits,
                           const floating* target, bint sparse, floating* prob,
                           floating* loss, int n_threads) noexcept nogil:
    cdef Py_ssize_t i
    cdef Py_ssize_t tstride = 1 if sparse else cols
    if rows <= 0:
        return
    if n_threads > 1 and rows > 1:
        for i in prange(rows, schedule='static', num_threads=n_threads):
            _xent_fwd_row(cols, logits + i * cols, target + i * tstride, sparse,
                          prob + i * cols, loss + i)
    else:
        for i in range(rows):
            _xent_fwd_row(cols, logits + i * cols, target + i * tstride, sparse,
                          prob + i * cols, loss + i)


cdef void _xent_bwd_row(Py_ssize_t cols, const floating* p, const floating* t, bint sparse,
                        floating dl, floating* dz) noexcept nogil:
    cdef Py_ssize_t j, c
    cdef double st = 0.0
    cdef floating fst, pc
    if sparse:
        c = _class_index(t[0], cols)
        if c < 0:
            for j in range(cols):
                dz[j] = <floating>NAN
            return
        pc = p[c]           # read before dz (which may alias p) is written
        for j in range(cols):
            dz[j] = dl * p[j]
        dz[c] = dl * (pc - 1)
    else:
        for j in range(cols):
            st += t[j]
        fst = <floating>st
        for j in range(cols):
            dz[j] = dl * (p[j] * fst - t[j])


cdef void softmax_xent_bwd(Py_ssize_t rows, Py_ssize_t cols, const floating* prob,
                           const floating* target, bint sparse, const floating* dloss,
                           floating* dlogits, int n_threads) noexcept nogil:
    cdef Py_ssize_t i
    cdef Py_ssize_t tstride = 1 if sparse else cols
    if rows <= 0 or cols <= 0:
        return
    if n_threads > 1 and rows > 1:
        for i in prange(rows, schedule='static', num_threads=n_threads):
            _xent_bwd_row(cols, prob + i * cols, target + i * tstride, sparse, dloss[i],
                          dlogits + i * cols)
    else:
        for i in range(rows):
            _xent_bwd_row(cols, prob + i * cols, target + i * tstride, sparse, dloss[i],
                          dlogits + i * cols)


# ---------------------------------------------------------------- numpy wrappers (tests)
def _check_target(target, dtype, rows, cols, sparse):
    check_array("target", target, dtype)
    if sparse:
        if target.shape != (rows,):
            raise ValueError(f"sparse target has shape {target.shape}, expected ({rows},)")
    elif target.shape != (rows, cols):
        raise ValueError(f"target has shape {target.shape}, expected {(rows, cols)}")


cdef inline void* _data(arr):
    return cnp.PyArray_DATA(<cnp.ndarray>arr)


def softmax_xent_fwd_np(logits, target, prob, loss, sparse=False, n_threads=1):
    """prob[...] = softmax(logits); loss[i] = cross-entropy of row i. Returns loss."""
    check_array("logits", logits, ndim=2)
    rows, cols = logits.shape
    cdef bint sp = bool(sparse)
    _check_target(target, logits.dtype, rows, cols, sp)
    check_array("prob", prob, logits.dtype, writeable=True)
    check_array("loss", loss, logits.dtype, writeable=True)
    if prob.shape != logits.shape:
        raise ValueError(f"prob has shape {prob.shape}, expected {logits.shape}")
    if loss.shape != (rows,):
        raise ValueError(f"loss has shape {loss.shape}, expected ({rows},)")
    cdef Py_ssize_t r = rows, c = cols
    cdef int nt = int(n_threads)
    cdef void* pz = _data(logits)
    cdef void* pt = _data(target)
    cdef void* pp = _data(prob)
    cdef void* pl = _data(loss)
    if logits.dtype == np.float32:
        with nogil:
            softmax_xent_fwd(r, c, <const float*>pz, <const float*>pt, sp, <float*>pp,
                             <float*>pl, nt)
    else:
        with nogil:
            softmax_xent_fwd(r, c, <const double*>pz, <const double*>pt, sp, <double*>pp,
                             <double*>pl, nt)
    return loss


def softmax_xent_bwd_np(prob, target, dloss, dlogits, sparse=False, n_threads=1):
    """dlogits[...] = d(sum_i dloss[i] * loss[i]) / dlogits. Returns dlogits."""
    check_array("prob", prob, ndim=2)
    rows, cols = prob.shape
    cdef bint sp = bool(sparse)
    _check_target(target, prob.dtype, rows, cols, sp)
    check_array("dloss", dloss, prob.dtype)
    check_array("dlogits", dlogits, prob.dtype, writeable=True)
    if dloss.shape != (rows,):
        raise ValueError(f"dloss has shape {dloss.shape}, expected ({rows},)")
    if dlogits.shape != prob.shape:
        raise ValueError(f"dlogits has shape {dlogits.shape}, expected {prob.shape}")
    cdef Py_ssize_t r = rows, c = cols
    cdef int nt = int(n_threads)
    cdef void* pp = _data(prob)
    cdef void* pt = _data(target)
    cdef void* pd = _data(dloss)
    cdef void* pg = _data(dlogits)
    if prob.dtype == np.float32:
        with nogil:
            softmax_xent_bwd(r, c, <const float*>pp, <const float*>pt, sp, <const float*>pd,
                             <float*>pg, nt)
    else:
        with nogil:
            softmax_xent_bwd(r, c, <const double*>pp, <const double*>pt, sp,
                             <const double*>pd, <double*>pg, nt)
    return dlogits
