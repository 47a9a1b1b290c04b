from cython cimport floating

# Activation codes: ACT_* in codes.pxd. x, y, z, dy, dx are (rows, cols) C-contiguous.

# y = act(x); y may alias x. softmax is per row (numerically stable).
cdef void act_fwd(int act, Py_ssize_t rows, Py_ssize_t cols, const floating* x, floating* y,
                  int n_threads) noexcept nogil

# GEMM epilogue, in place: z[i, j] = act(z[i, j] + bias[j]); bias may be NULL (no add).
cdef void bias_act_fwd(int act, Py_ssize_t rows, Py_ssize_t cols, floating* z,
                       const floating* bias, int n_threads) noexcept nogil

# dx = dL/dx from y = act(x) and dy = dL/dy, using y only; dx may alias dy.
# If dbias != NULL, dbias[j] = sum_i dx[i, j] (overwritten). The column sum uses a fixed
# blocking over rows and double accumulators, so it is bit-identical for every n_threads.
cdef void act_bwd(int act, Py_ssize_t rows, Py_ssize_t cols, const floating* y,
                  const floating* dy, floating* dx, floating* dbias,
                  int n_threads) noexcept nogil

# dbias[j] = sum_i x[i, j] with the same deterministic blocking (also usable on its own).
cdef void col_sum(Py_ssize_t rows, Py_ssize_t cols, const floating* x, floating* out,
                  int n_threads) noexcept nogil
