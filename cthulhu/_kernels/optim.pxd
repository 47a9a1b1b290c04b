from cython cimport floating
from libc.stdint cimport int64_t

# Fused in-place optimizer updates for one tensor of `size` elements (Keras 2 semantics).

# velocity == NULL: w -= lr * g. Otherwise v = momentum * v - lr * g, then
# w += v (nesterov: w += momentum * v - lr * g with the new v).
cdef void sgd_update(Py_ssize_t size, floating* w, const floating* g, floating* velocity,
                     double lr, double momentum, bint nesterov, int n_threads) noexcept nogil

# step = iterations + 1 (1 on the first update).
# lr_t = lr * sqrt(1 - beta2^step) / (1 - beta1^step)            (in double)
# m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
# vhat != NULL (amsgrad): vhat = max(vhat, v) and vhat replaces v below
# w -= lr_t * m / (sqrt(v) + epsilon)                               (in floating precision)
cdef void adam_update(Py_ssize_t size, floating* w, const floating* g, floating* m,
                      floating* v, floating* vhat, double lr, double beta1, double beta2,
                      double epsilon, int64_t step, int n_threads) noexcept nogil
