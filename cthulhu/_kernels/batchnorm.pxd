from cython cimport floating

# Batch normalization over x viewed as (outer, channels, inner): statistics per channel over
# the outer and inner axes (M = outer * inner values), accumulated in double.
#
# bn_train_fwd: mean, biased variance of each channel; y = x * s + (beta - mean * s) with
# s = gamma / sqrt(var + eps) (gamma NULL: 1; beta NULL: 0); relu: y = max(y, 0) as it is
# written (a following ReLU fused in). Parallel over channels.
cdef void bn_train_fwd(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner,
                       const floating* x, const floating* gamma, const floating* beta,
                       double eps, bint relu, floating* y, floating* mean, floating* var,
                       int n_threads) noexcept nogil

# bn_train_bwd: the gradient of bn_train_fwd's y through the batch statistics:
# dbeta = sum dy, dgamma = sum dy * xhat, dx = g * s / M * (M dy - dbeta - xhat dgamma)
# with xhat = (x - mean) * s, s = 1 / sqrt(var + eps), g = gamma (NULL: 1); plus, when the
# mean and variance outputs have cotangents dmean, dvar (NULL: none),
# dx += (dmean + 2 dvar (x - mean)) / M.
cdef void bn_train_bwd(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner,
                       const floating* x, const floating* gamma, const floating* mean,
                       const floating* var, const floating* dy, const floating* dmean,
                       const floating* dvar, double eps, floating* dx, floating* dgamma,
                       floating* dbeta, int n_threads) noexcept nogil

# bn_infer_fwd: y = x * s + (beta - mean * s), s = gamma / sqrt(var + eps), with given
# (moving) statistics (relu as above).
cdef void bn_infer_fwd(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner,
                       const floating* x, const floating* gamma, const floating* beta,
                       const floating* mean, const floating* var, double eps, bint relu,
                       floating* y, int n_threads) noexcept nogil

# bn_infer_bwd: gradients of bn_infer_fwd with respect to x, gamma, beta, mean and var.
cdef void bn_infer_bwd(Py_ssize_t outer, Py_ssize_t channels, Py_ssize_t inner,
                       const floating* x, const floating* gamma, const floating* mean,
                       const floating* var, const floating* dy, double eps, floating* dx,
                       floating* dgamma, floating* dbeta, floating* dmean, floating* dvar,
                       int n_threads) noexcept nogil
