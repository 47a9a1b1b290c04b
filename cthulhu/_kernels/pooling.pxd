from cython cimport floating
from libc.stdint cimport int64_t

# Geometry of an N-D (N <= 3) pooling window over a channels-last view
# (outer, D, H, W, C); 1-D and 2-D pooling use leading axes of size 1.
cdef struct PoolGeom:
    Py_ssize_t outer, c
    Py_ssize_t ind[3]     # input spatial sizes
    Py_ssize_t outd[3]    # output spatial sizes
    Py_ssize_t k[3]       # window
    Py_ssize_t s[3]       # strides
    Py_ssize_t pad[3]     # padding before the first element ('same')

# Max pooling: y and the flat spatial index (d * H + h) * W + w of each maximum (the first
# one in row-major window order on ties, as TensorFlow's CPU kernel).
cdef void max_pool_fwd(const PoolGeom* g, const floating* x, floating* y, int64_t* idx,
                       int n_threads) noexcept nogil
# dx = 0, then dx[idx] += dy (dx per outer slice, so threads never share an element).
cdef void max_pool_bwd(const PoolGeom* g, const floating* dy, const int64_t* idx,
                       floating* dx, int n_threads) noexcept nogil
# y[o, c] = x[idx[o, c], c]: the adjoint of max_pool_bwd in dy.
cdef void max_pool_gather(const PoolGeom* g, const floating* x, const int64_t* idx,
                          floating* y, int n_threads) noexcept nogil
# Average over the valid (non-padded) window elements, and its adjoint.
cdef void avg_pool_fwd(const PoolGeom* g, const floating* x, floating* y,
                       int n_threads) noexcept nogil
cdef void avg_pool_bwd(const PoolGeom* g, const floating* dy, floating* dx,
                       int n_threads) noexcept nogil
