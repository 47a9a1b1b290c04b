"""Counter-based random numbers (dropout, uniform and normal fills)."""

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport ceil, cos, log, sin, sqrt
from libc.stdint cimport uint32_t
from libc.string cimport memcpy, memset
from cthulhu._kernels.common cimport SPLIT_ALIGN, split_point

import numpy as np

from cthulhu._kernels._checks import check_array

cnp.import_array()

# mix64 and the dropout bits in C: the bits of a block are one loop over independent
# hashes, which gcc vectorizes with AVX2 (64-bit multiplies from 32-bit ones; chosen at run
# time) and runs 1 hash at a time otherwise.
cdef extern from *:
    """
    #include <stdint.h>
    #define CTH_GOLDEN 0x9e3779b97f4a7c15ULL            /* 2^64 / golden ratio, odd */

    static inline uint64_t cth_mix64(uint64_t z) {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    /* bits[2p] and bits[2p + 1]: the low and high halves of
       mix64(key + (first + p + 1) * GOLDEN), p < pairs. */
    #define CTH_PAIR_BITS_BODY \
        for (Py_ssize_t p = 0; p < pairs; p++) { \
            const uint64_t h = cth_mix64(key + (first + (uint64_t)p + 1) * CTH_GOLDEN); \
            bits[2 * p] = (uint32_t)h; \
            bits[2 * p + 1] = (uint32_t)(h >> 32); \
        }
    static void cth_pair_bits(Py_ssize_t pairs, uint64_t key, uint64_t first,
                              uint32_t* bits) { CTH_PAIR_BITS_BODY }
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __attribute__((target("avx2")))
    static void cth_pair_bits_avx2(Py_ssize_t pairs, uint64_t key, uint64_t first,
                                   uint32_t* bits) { CTH_PAIR_BITS_BODY }
    static int cth_has_avx2(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    }
    #else
    static void cth_pair_bits_avx2(Py_ssize_t pairs, uint64_t key, uint64_t first,
                                   uint32_t* bits) { CTH_PAIR_BITS_BODY }
    static int cth_has_avx2(void) { return 0; }
    #endif
    """
    uint64_t CTH_GOLDEN
    uint64_t cth_mix64(uint64_t z) noexcept nogil
    void cth_pair_bits(Py_ssize_t pairs, uint64_t key, uint64_t first,
                       uint32_t* bits) noexcept nogil
    void cth_pair_bits_avx2(Py_ssize_t pairs, uint64_t key, uint64_t first,
                            uint32_t* bits) noexcept nogil
    int cth_has_avx2() noexcept nogil

cdef bint _AVX2 = cth_has_avx2()
cdef uint64_t GOLDEN = CTH_GOLDEN
cdef uint64_t SEED_SALT = 0x5851f42d4c957f2dULL
cdef uint64_t NORMAL_SALT = 0xd1b54a32d192ed03ULL
cdef double TWO_POW_M53 = 1.0 / 9007199254740992.0  # 2^-53
cdef double TWO_PI = 6.283185307179586

cdef enum:
    DROP_BLOCK = 256


cdef uint64_t mix64(uint64_t z) noexcept nogil:
    return cth_mix64(z)


cdef uint64_t stream_key(uint64_t seed, uint64_t step) noexcept nogil:
    return mix64(mix64(seed ^ SEED_SALT) + (step + 1) * GOLDEN)


cdef double uniform(uint64_t key, uint64_t counter) noexcept nogil:
    # The counter-th output of a splitmix64 sequence whose state starts at `key`.
    return <double>(mix64(key + (counter + 1) * GOLDEN) >> 11) * TWO_POW_M53


cdef inline uint64_t dropout_threshold(double rate) noexcept nogil:
    # keep iff bits / 2^32 >= rate, i.e. bits >= ceil(rate * 2^32) (exact in double).
    return <uint64_t>ceil(rate * 4294967296.0)


cdef void _dropout_span(Py_ssize_t lo, Py_ssize_t hi, uint32_t threshold, uint64_t key,
                        floating scale, const floating* x, floating* y) noexcept nogil:
    # lo is even. Per block of DROP_BLOCK elements: the 32-bit draws (one hash for two
    # elements), then a vectorizable select (a branch would mispredict half of the time at
    # rate 0.5).
    cdef uint32_t bits[DROP_BLOCK]
    cdef Py_ssize_t i, b, n
    cdef floating zero = 0, v
    b = lo
    while b < hi:
        n = hi - b
        if n > DROP_BLOCK:
            n = DROP_BLOCK
        if _AVX2:       # (DROP_BLOCK is even: bits[n] exists when n is odd)
            cth_pair_bits_avx2((n + 1) // 2, key, <uint64_t>(b // 2), bits)
        else:
            cth_pair_bits((n + 1) // 2, key, <uint64_t>(b // 2), bits)
        for i in range(n):
            v = x[b + i] * scale
            y[b + i] = v if bits[i] >= threshold else zero
        b += n


cdef void dropout(Py_ssize_t size, double rate, uint64_t seed, uint64_t step,
                  const floating* x, floating* y, int n_threads) noexcept nogil:
    cdef uint64_t key = stream_key(seed, step)
    cdef uint64_t threshold = dropout_threshold(rate)
    cdef floating scale
    cdef Py_ssize_t p
    if size <= 0:
        return
    if rate <= 0:
        if y != x:
            memcpy(y, x, size * sizeof(floating))
        return
    if threshold > 0xffffffffULL:   # rate within 2^-32 of 1: no 32-bit draw is kept
        memset(y, 0, size * sizeof(floating))
        return
    scale = <floating>(1.0 / (1.0 - rate))
    if n_threads > 1 and size >= SPLIT_ALIGN * n_threads:
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _dropout_span(split_point(size, n_threads, p),
                          split_point(size, n_threads, p + 1), <uint32_t>threshold, key,
                          scale, x, y)
    else:
        _dropout_span(0, size, <uint32_t>threshold, key, scale, x, y)


cdef void _uniform_span(Py_ssize_t lo, Py_ssize_t hi, uint64_t key, double low, double width,
                        floating* y) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(lo, hi):
        y[i] = <floating>(low + width * uniform(key, <uint64_t>i))


cdef void fill_uniform(Py_ssize_t size, uint64_t seed, uint64_t step, double low, double high,
                       floating* y, int n_threads) noexcept nogil:
    cdef uint64_t key = stream_key(seed, step)
    cdef Py_ssize_t p
    if size <= 0:
        return
    if n_threads > 1 and size >= SPLIT_ALIGN * n_threads:
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _uniform_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1), key,
                          low, high - low, y)
    else:
        _uniform_span(0, size, key, low, high - low, y)


cdef void _normal_span(Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t size, uint64_t key,
                       double mean, double stddev, floating* y) noexcept nogil:
    # lo is even: element pairs (2p, 2p + 1) come from counters (2p, 2p + 1).
    cdef Py_ssize_t i
    cdef double u1, u2, r, th
    i = lo
    while i < hi:
        u1 = uniform(key, <uint64_t>i)
        u2 = uniform(key, <uint64_t>(i + 1))
        r = stddev * sqrt(-2.0 * log(1.0 - u1))     # 1 - u1 in (0, 1]: finite
        th = TWO_PI * u2
        y[i] = <floating>(mean + r * cos(th))
        if i + 1 < size:
            y[i + 1] = <floating>(mean + r * sin(th))
        i += 2


cdef void fill_normal(Py_ssize_t size, uint64_t seed, uint64_t step, double mean,
                      double stddev, floating* y, int n_threads) noexcept nogil:
    cdef uint64_t key = stream_key(seed, step) ^ NORMAL_SALT
    cdef Py_ssize_t p
    if size <= 0:
        return
    if n_threads > 1 and size >= SPLIT_ALIGN * n_threads:
        for p in prange(n_threads, schedule='static', num_threads=n_threads):
            _normal_span(split_point(size, n_threads, p), split_point(size, n_threads, p + 1), size,
                         key, mean, stddev, y)
    else:
        _normal_span(0, size, size, key, mean, stddev, y)


# ---------------------------------------------------------------- numpy wrappers (tests)
def _u64(name, v):
    v = int(v)
    if v < 0 or v >= 1 << 64:
        raise ValueError(f"{name} must be in [0, 2**64), got {v}")
    return v


def mix64_np(z):
    """mix64 of a Python int in [0, 2**64)."""
    return mix64(<uint64_t>_u64("z", z))


def stream_key_np(seed, step):
    return stream_key(<uint64_t>_u64("seed", seed), <uint64_t>_u64("step", step))


def uniform_np(seed, step, Py_ssize_t size):
    """float64 array u[i] = uniform(stream_key(seed, step), i) for i < size."""
    if size < 0:
        raise ValueError("size must be >= 0")
    cdef uint64_t key = stream_key(<uint64_t>_u64("seed", seed), <uint64_t>_u64("step", step))
    out = np.empty(size, dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(size):
            o[i] = uniform(key, <uint64_t>i)
    return out


def use_avx2_np(bint on):
    """Tests: run the dropout bits with (if the CPU has it) or without AVX2; returns whether
    the AVX2 path is now in use."""
    global _AVX2
    _AVX2 = on and cth_has_avx2()
    return _AVX2


def dropout_np(x, y, rate, seed, step, n_threads=1):
    """y[...] = dropout(x) (y may be x); x and y same-shape contiguous float arrays."""
    check_array("x", x)
    check_array("y", y, x.dtype, writeable=True)
    if y.shape != x.shape:
        raise ValueError(f"y has shape {y.shape}, expected {x.shape}")
    cdef double r = float(rate)
    if not (0.0 <= r < 1.0):
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    cdef uint64_t s = _u64("seed", seed)
    cdef uint64_t st = _u64("step", step)
    cdef Py_ssize_t n = x.size
    cdef int nt = int(n_threads)
    cdef void* px = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef void* py = cnp.PyArray_DATA(<cnp.ndarray>y)
    if x.dtype == np.float32:
        with nogil:
            dropout(n, r, s, st, <const float*>px, <float*>py, nt)
    else:
        with nogil:
            dropout(n, r, s, st, <const double*>px, <double*>py, nt)
    return y


def fill_uniform_np(y, seed, step, low=0.0, high=1.0, n_threads=1):
    check_array("y", y, writeable=True)
    cdef uint64_t s = _u64("seed", seed)
    cdef uint64_t st = _u64("step", step)
    cdef double lo = low, hi = high
    cdef Py_ssize_t n = y.size
    cdef int nt = int(n_threads)
    cdef void* py = cnp.PyArray_DATA(<cnp.ndarray>y)
    if y.dtype == np.float32:
        with nogil:
            fill_uniform(n, s, st, lo, hi, <float*>py, nt)
    else:
        with nogil:
            fill_uniform(n, s, st, lo, hi, <double*>py, nt)
    return y


def fill_normal_np(y, seed, step, mean=0.0, stddev=1.0, n_threads=1):
    check_array("y", y, writeable=True)
    cdef uint64_t s = _u64("seed", seed)
    cdef uint64_t st = _u64("step", step)
    cdef double mu = mean, sd = stddev
    cdef Py_ssize_t n = y.size
    cdef int nt = int(n_threads)
    cdef void* py = cnp.PyArray_DATA(<cnp.ndarray>y)
    if y.dtype == np.float32:
        with nogil:
            fill_normal(n, s, st, mu, sd, <float*>py, nt)
    else:
        with nogil:
            fill_normal(n, s, st, mu, sd, <double*>py, nt)
    return y
