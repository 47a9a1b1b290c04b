from cython cimport floating
from libc.stdint cimport int64_t

# Fused in-place optimizer updates for one tensor of `size` elements (tf-keras 2.x semantics).
#
# Every kernel takes `step` = iterations + 1 (1 on the first update) and a learning-rate
# `decay` (Keras 2 / tf-keras legacy): the learning rate used is
#     lr_t = lr / (1 + decay * (step - 1))                              (in double)
# Scalars (decayed learning rate, bias corrections, schedules) are computed in double; the
# element loops run in floating precision.

# velocity == NULL: w -= lr_t * g. Otherwise v = momentum * v - lr_t * g, then
# w += v (nesterov: w += momentum * v - lr_t * g with the new v).
cdef void sgd_update(Py_ssize_t size, floating* w, const floating* g, floating* velocity,
                     double lr, double momentum, bint nesterov, double decay, int64_t step,
                     int n_threads) noexcept nogil

# alpha = lr_t * sqrt(1 - beta2^step) / (1 - beta1^step)
# m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
# vhat != NULL (amsgrad): vhat = max(vhat, v) and vhat replaces v below
# w -= alpha * m / (sqrt(v) + epsilon)
cdef void adam_update(Py_ssize_t size, floating* w, const floating* g, floating* m,
                      floating* v, floating* vhat, double lr, double beta1, double beta2,
                      double epsilon, double decay, int64_t step, int n_threads) noexcept nogil

# The same Adam step for a (n_table, width) weight whose gradient is the scatter-add of the
# rows dy (n_idx, width) at the float indices idx (n_idx): g = 0, g[int(idx[i])] += dy[i]
# (see embedding.pxd scatter_add_rows), without building g. Every row of w, m and v takes
# the step (rows no index hits with g = 0), in one pass over them, with the results of
# scatter_add_rows + adam_update bit for bit. `scratch`: 2 * n_idx int64.
cdef void adam_rows_update(Py_ssize_t n_table, Py_ssize_t width, Py_ssize_t n_idx,
                           floating* w, const floating* idx, const floating* dy, floating* m,
                           floating* v, floating* vhat, int64_t* scratch, double lr,
                           double beta1, double beta2, double epsilon, double decay,
                           int64_t step, int n_threads) noexcept nogil

# v = rho * v + (1 - rho) * g^2
# avg != NULL (centered): avg = rho * avg + (1 - rho) * g;  d = v - avg^2 + epsilon
# else d = v + epsilon
# inc = lr_t * g / sqrt(d)
# mom != NULL: mom = momentum * mom + inc; w -= mom.   Otherwise w -= inc.
cdef void rmsprop_update(Py_ssize_t size, floating* w, const floating* g, floating* v,
                         floating* mom, floating* avg, double lr, double rho, double momentum,
                         double epsilon, double decay, int64_t step,
                         int n_threads) noexcept nogil

# acc += g^2;  w -= lr_t * g / sqrt(acc + epsilon)
cdef void adagrad_update(Py_ssize_t size, floating* w, const floating* g, floating* acc,
                         double lr, double epsilon, double decay, int64_t step,
                         int n_threads) noexcept nogil

# acc_g = rho * acc_g + (1 - rho) * g^2
# delta = -sqrt(acc_d + epsilon) * g / sqrt(acc_g + epsilon)
# acc_d = rho * acc_d + (1 - rho) * delta^2;  w += lr_t * delta
cdef void adadelta_update(Py_ssize_t size, floating* w, const floating* g, floating* acc_g,
                          floating* acc_d, double lr, double rho, double epsilon, double decay,
                          int64_t step, int n_threads) noexcept nogil

# m += (g - m) * (1 - beta1);  u = max(beta2 * u, |g|)
# w -= [lr_t / (1 - beta1^step)] * m / (u + epsilon)
cdef void adamax_update(Py_ssize_t size, floating* w, const floating* g, floating* m,
                        floating* u, double lr, double beta1, double beta2, double epsilon,
                        double decay, int64_t step, int n_threads) noexcept nogil

# The Nadam momentum schedule: mu(t) = beta1 * (1 - 0.5 * 0.96^t).
# nadam_schedule: u_product *= mu(step) (run once per training step, before nadam_update).
# nadam_update, with P = u_product (already including mu(step)), P1 = P * mu(step + 1):
# m += (g - m) * (1 - beta1);  v += (g^2 - v) * (1 - beta2)
# m_hat = mu(step+1) * m / (1 - P1) + (1 - mu(step)) * g / (1 - P)
# v_hat = v / (1 - beta2^step);  w -= lr_t * m_hat / (sqrt(v_hat) + epsilon)
cdef double nadam_mu(double beta1, double t) noexcept nogil
cdef void nadam_schedule(double* u_product, double beta1, int64_t step) noexcept nogil
cdef void nadam_update(Py_ssize_t size, floating* w, const floating* g, floating* m,
                       floating* v, double lr, double beta1, double beta2, double epsilon,
                       double decay, int64_t step, double u_product,
                       int n_threads) noexcept nogil
