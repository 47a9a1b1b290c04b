"""Fused batch normalization: statistics, normalization, scale and shift in one pass per
channel (training), the affine map of the moving statistics (inference), and the matching
backward passes. Parallel over channels; allocation-free."""

from cython.parallel cimport prange
from libc.math cimport sqrt


cdef void _fwd_channel(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner, Py_ssize_t c,
                       const floating* x, const floating* gamma, const floating* beta,
                       const floating* given_mean, const floating* given_var, double eps,
                       floating* y, floating* mean, floating* var) noexcept nogil:
    """Batch statistics when given_mean is NULL (written to mean, var), else the given."""
    cdef Py_ssize_t o, i, base
    cdef Py_ssize_t stride = channels * inner
    cdef double m = <double>(outer * inner), s = 0.0, d, mu, v, scale, shift
    if given_mean == NULL:
        for o in range(outer):
            base = o * stride + c * inner
            for i in range(inner):
                s += x[base + i]
        mu = s / m
        s = 0.0
        for o in range(outer):
            base = o * stride + c * inner
            for i in range(inner):
                d = x[base + i] - mu
                s += d * d
        v = s / m
        mean[c] = <floating>mu
        var[c] = <floating>v
    else:
        mu = given_mean[c]
        v = given_var[c]
    scale = 1.0 / sqrt(v + eps)
    if gamma != NULL:
        scale = scale * gamma[c]
    shift = -mu * scale
    if beta != NULL:
        shift = shift + beta[c]
    for o in range(outer):
        base = o * stride + c * inner
        for i in range(inner):
            y[base + i] = <floating>(x[base + i] * scale + shift)


cdef void bn_train_fwd(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner,
                       const floating* x, const floating* gamma, const floating* beta,
                       double eps, floating* y, floating* mean, floating* var,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t c
    if n_threads > 1 and channels > 1:
        for c in prange(channels, schedule='static', num_threads=n_threads):
            _fwd_channel(outer, channels, inner, c, x, gamma, beta, NULL, NULL, eps, y, mean,
                         var)
    else:
        for c in range(channels):
            _fwd_channel(outer, channels, inner, c, x, gamma, beta, NULL, NULL, eps, y, mean,
                         var)


cdef void bn_infer_fwd(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner,
                       const floating* x, const floating* gamma, const floating* beta,
                       const floating* mean, const floating* var, double eps, floating* y,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t c
    if n_threads > 1 and channels > 1:
        for c in prange(channels, schedule='static', num_threads=n_threads):
            _fwd_channel(outer, channels, inner, c, x, gamma, beta, mean, var, eps, y, NULL,
                         NULL)
    else:
        for c in range(channels):
            _fwd_channel(outer, channels, inner, c, x, gamma, beta, mean, var, eps, y, NULL,
                         NULL)


cdef void _bwd_channel(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner, Py_ssize_t c,
                       bint batch_stats, const floating* x, const floating* gamma,
                       const floating* mean, const floating* var, const floating* dy,
                       const floating* dmean_in, const floating* dvar_in, double eps,
                       floating* dx, floating* dgamma, floating* dbeta, floating* dmean,
                       floating* dvar) noexcept nogil:
    cdef Py_ssize_t o, i, base
    cdef Py_ssize_t stride = channels * inner
    cdef double m = <double>(outer * inner), mu = mean[c], sb = 0.0, sg = 0.0, g, xhat, k
    cdef double rstd = 1.0 / sqrt(<double>var[c] + eps), a = 0.0, bb = 0.0
    for o in range(outer):
        base = o * stride + c * inner
        for i in range(inner):
            sb += dy[base + i]
            sg += dy[base + i] * (x[base + i] - mu)
    sg *= rstd
    dbeta[c] = <floating>sb
    dgamma[c] = <floating>sg
    g = gamma[c] if gamma != NULL else 1.0
    k = g * rstd
    if not batch_stats:
        # The statistics are inputs: dx = dy * s, and their own gradients.
        dmean[c] = <floating>(-k * sb)
        dvar[c] = <floating>(-0.5 * g * sg * rstd * rstd)
        for o in range(outer):
            base = o * stride + c * inner
            for i in range(inner):
                dx[base + i] = <floating>(k * dy[base + i])
        return
    if dmean_in != NULL:
        a = dmean_in[c] / m
    if dvar_in != NULL:
        bb = 2.0 * dvar_in[c] / m
    for o in range(outer):
        base = o * stride + c * inner
        for i in range(inner):
            xhat = (x[base + i] - mu) * rstd
            dx[base + i] = <floating>(k * (dy[base + i] - (sb + xhat * sg) / m) + a
                                      + bb * (x[base + i] - mu))


cdef void bn_train_bwd(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner,
                       const floating* x, const floating* gamma, const floating* mean,
                       const floating* var, const floating* dy, const floating* dmean,
                       const floating* dvar, double eps, floating* dx, floating* dgamma,
                       floating* dbeta, int n_threads) noexcept nogil:
    cdef Py_ssize_t c
    if n_threads > 1 and channels > 1:
        for c in prange(channels, schedule='static', num_threads=n_threads):
            _bwd_channel(outer, channels, inner, c, True, x, gamma, mean, var, dy, dmean, dvar,
                         eps, dx, dgamma, dbeta, NULL, NULL)
    else:
        for c in range(channels):
            _bwd_channel(outer, channels, inner, c, True, x, gamma, mean, var, dy, dmean, dvar,
                         eps, dx, dgamma, dbeta, NULL, NULL)


cdef void bn_infer_bwd(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner,
                       const floating* x, const floating* gamma, const floating* mean,
                       const floating* var, const floating* dy, double eps, floating* dx,
                       floating* dgamma, floating* dbeta, floating* dmean, floating* dvar,
                       int n_threads) noexcept nogil:
    cdef Py_ssize_t c
    if n_threads > 1 and channels > 1:
        for c in prange(channels, schedule='static', num_threads=n_threads):
            _bwd_channel(outer, channels, inner, c, False, x, gamma, mean, var, dy, NULL, NULL,
                         eps, dx, dgamma, dbeta, dmean, dvar)
    else:
        for c in range(channels):
            _bwd_channel(outer, channels, inner, c, False, x, gamma, mean, var, dy, NULL, NULL,
                         eps, dx, dgamma, dbeta, dmean, dvar)
