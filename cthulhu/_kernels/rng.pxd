from cython cimport floating
from libc.stdint cimport uint64_t

# Counter-based random numbers: every value is a pure function of (seed, step, index), so
# results never depend on the thread count or on the order of evaluation.

# splitmix64-style 64-bit finalizer (a bijection with good avalanche).
cdef uint64_t mix64(uint64_t z) noexcept nogil
# Key of the stream for (seed, step), e.g. step = the training iteration.
cdef uint64_t stream_key(uint64_t seed, uint64_t step) noexcept nogil
# Uniform double in [0, 1) with 53 random bits, from (key, counter) only.
cdef double uniform(uint64_t key, uint64_t counter) noexcept nogil

# y[i] = x[i] / (1 - rate) if bits(i) >= ceil(rate * 2^32) else 0, where bits(i) is the low
# (i even) or high (i odd) 32-bit half of mix64(stream_key(seed, step) + (i // 2 + 1) *
# GOLDEN): one hash for two elements. y may alias x; rate <= 0 copies. Linear in x with a
# mask depending on (seed, step, i) only: the gradient is the same call on dy.
cdef void dropout(Py_ssize_t size, double rate, uint64_t seed, uint64_t step,
                  const floating* x, floating* y, int n_threads) noexcept nogil

# y[i] = low + (high - low) * uniform(stream_key(seed, step), i).
cdef void fill_uniform(Py_ssize_t size, uint64_t seed, uint64_t step, double low, double high,
                       floating* y, int n_threads) noexcept nogil

# Normal(mean, stddev) by Box-Muller over counter pairs (2p, 2p+1) -> (y[2p], y[2p+1]),
# keyed by stream_key(seed, step) ^ NORMAL_SALT (independent of fill_uniform / dropout).
cdef void fill_normal(Py_ssize_t size, uint64_t seed, uint64_t step, double mean,
                      double stddev, floating* y, int n_threads) noexcept nogil
