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

# act_bwd with its column sums in the same pass: threads take whole row blocks of the
# col_sum blocking, each computes its rows of dx and their partial sums (in L1) into
# `partials` (room for COLSUM_MAX_BLOCKS * cols doubles), and the partials are added in
# block order: the very arithmetic of act_bwd + col_sum, so the same bits. With partials
# NULL it is act_bwd (two passes).
cdef void act_bwd_bias(int act, Py_ssize_t rows, Py_ssize_t cols, const floating* y,
                       const floating* dy, floating* dx, floating* dbias, double* partials,
                       int n_threads) noexcept nogil

cdef enum:
    COLSUM_MAX_BLOCKS = 64      # the row blocking of col_sum depends on rows only

# dbias[j] = sum_i x[i, j] with the same deterministic blocking (also usable on its own).
cdef void col_sum(Py_ssize_t rows, Py_ssize_t cols, const floating* x, floating* out,
                  int n_threads) noexcept nogil

# Branch-free, vectorizable exp / expm1 / tanh (float and double) shared by the kernels
# (activations, losses, elementwise). Range reduction exp(x) = 2^n * exp(r), |r| <= ln2/2,
# with a Cody-Waite split of ln2 and a Taylor polynomial of degree 7 (float) / 13 (double):
# a few ulp of error, IEEE overflow to +inf, underflow through subnormals to 0, NaN in ->
# NaN out. expm1 uses its own Taylor series for |x| < ln2/2 (no cancellation).
cdef extern from *:
    """
    #ifndef CTHULHU_VMATH_DEFINED
    #define CTHULHU_VMATH_DEFINED
    #include <stdint.h>
    #include <string.h>

    static inline uint32_t cth_f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
    static inline float cth_u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
    static inline uint64_t cth_d2u(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }
    static inline double cth_u2d(uint64_t u) { double f; memcpy(&f, &u, 8); return f; }

    static inline float cth_expf(float x) {
        const float shifter = 12582912.0f;               /* 1.5 * 2^23 */
        float xc = x < -104.0f ? -104.0f : x;            /* NaN passes both clamps */
        xc = xc > 89.0f ? 89.0f : xc;
        float t = xc * 1.44269504088896341f + shifter;   /* n = round(x / ln2) */
        float n = t - shifter;
        float r = (xc - n * 0.693359375f) - n * -2.12194440054690583e-4f;
        float p = 1.0f / 5040.0f;
        p = p * r + 1.0f / 720.0f;
        p = p * r + 1.0f / 120.0f;
        p = p * r + 1.0f / 24.0f;
        p = p * r + 1.0f / 6.0f;
        p = p * r + 0.5f;
        p = p * r + 1.0f;
        p = p * r + 1.0f;
        int32_t ni = (int32_t)(cth_f2u(t) - cth_f2u(shifter));
        int32_t n1 = ni >> 1;                            /* arithmetic shift (gcc/clang) */
        int32_t n2 = ni - n1;                            /* 2^n = 2^n1 * 2^n2, both normal */
        float s1 = cth_u2f((uint32_t)(n1 + 127) << 23);
        float s2 = cth_u2f((uint32_t)(n2 + 127) << 23);
        return (p * s1) * s2;
    }

    static inline double cth_exp(double x) {
        const double shifter = 6755399441055744.0;       /* 1.5 * 2^52 */
        double xc = x < -746.0 ? -746.0 : x;
        xc = xc > 710.0 ? 710.0 : xc;
        double t = xc * 1.4426950408889634074 + shifter;
        double n = t - shifter;
        double r = (xc - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
        double p = 1.0 / 6227020800.0;                   /* 1/13! */
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        int64_t ni = (int64_t)(cth_d2u(t) - cth_d2u(shifter));
        int64_t n1 = ni >> 1;
        int64_t n2 = ni - n1;
        double s1 = cth_u2d((uint64_t)(n1 + 1023) << 52);
        double s2 = cth_u2d((uint64_t)(n2 + 1023) << 52);
        return (p * s1) * s2;
    }

    static inline float cth_expm1f(float x) {
        float big = cth_expf(x) - 1.0f;
        float p = 1.0f / 40320.0f;
        p = p * x + 1.0f / 5040.0f;
        p = p * x + 1.0f / 720.0f;
        p = p * x + 1.0f / 120.0f;
        p = p * x + 1.0f / 24.0f;
        p = p * x + 1.0f / 6.0f;
        p = p * x + 0.5f;
        p = p * x + 1.0f;
        p = p * x;
        float ax = x < 0.0f ? -x : x;
        return ax < 0.34657359f ? p : big;
    }

    static inline double cth_expm1(double x) {
        double big = cth_exp(x) - 1.0;
        double p = 1.0 / 87178291200.0;                  /* 1/14! */
        p = p * x + 1.0 / 6227020800.0;
        p = p * x + 1.0 / 479001600.0;
        p = p * x + 1.0 / 39916800.0;
        p = p * x + 1.0 / 3628800.0;
        p = p * x + 1.0 / 362880.0;
        p = p * x + 1.0 / 40320.0;
        p = p * x + 1.0 / 5040.0;
        p = p * x + 1.0 / 720.0;
        p = p * x + 1.0 / 120.0;
        p = p * x + 1.0 / 24.0;
        p = p * x + 1.0 / 6.0;
        p = p * x + 0.5;
        p = p * x + 1.0;
        p = p * x;
        double ax = x < 0.0 ? -x : x;
        return ax < 0.34657359027997264 ? p : big;
    }

    static inline float cth_tanhf(float x) {
        float xc = x > 9.0f ? 9.0f : x;                  /* tanh(9) rounds to 1 */
        xc = xc < -9.0f ? -9.0f : xc;
        float e = cth_expm1f(2.0f * xc);
        return e / (e + 2.0f);
    }

    static inline double cth_tanh(double x) {
        double xc = x > 20.0 ? 20.0 : x;
        xc = xc < -20.0 ? -20.0 : xc;
        double e = cth_expm1(2.0 * xc);
        return e / (e + 2.0);
    }
    #endif
    """
    float cth_expf(float x) noexcept nogil
    double cth_exp(double x) noexcept nogil
    float cth_expm1f(float x) noexcept nogil
    double cth_expm1(double x) noexcept nogil
    float cth_tanhf(float x) noexcept nogil
    double cth_tanh(double x) noexcept nogil
