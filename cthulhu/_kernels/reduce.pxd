from cython cimport floating

# y[o, j] = reduce_{r < red} x[o, r, j]: x viewed as (outer, red, inner), y as (outer, inner).
# kind: RED_* in codes.pxd. Accumulation is in double (also for float32); each output element
# is reduced by one thread in a fixed order, so results do not depend on n_threads.
# MAX / MIN / ARGMAX / ARGMIN propagate NaN like numpy (ARG*: index of the first NaN);
# ARGMAX / ARGMIN write the index (first occurrence on ties) as a floating value.
# red == 0: SUM -> 0, MEAN -> NaN, PROD -> 1, MAX -> -inf, MIN -> +inf, ARGMAX/ARGMIN -> 0.
cdef void reduce(int kind, Py_ssize_t outer, Py_ssize_t red, Py_ssize_t inner,
                 const floating* x, floating* y, int n_threads) noexcept nogil
