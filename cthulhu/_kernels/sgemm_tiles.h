/* float32 register tiles for x86 CPUs with AVX2 and FMA, shared by the kernels that run
   their own small products instead of BLAS (recurrent.pyx, conv.pyx). Each tile keeps MR
   rows x 16 columns of the result in 2 * MR ymm registers (MR <= 6 leaves room for two B
   vectors and a broadcast in the 16 registers); the tiles for MR = 1..6 are written out by
   the macros below so that every accumulator is a named variable (as an array gcc spills
   it). The functions carry their own target attribute: the module is built for the baseline
   CPU and calls them only when cth_avx2_fma_available() says so.

   Every output element sums its products in a fixed order (taps, then k; or pixels in
   order) and then adds the sum to c when acc is set, whatever the tiling: results do not
   depend on how callers cut their work. */
#ifndef CTHULHU_SGEMM_TILES_H
#define CTHULHU_SGEMM_TILES_H

#include <string.h>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define CTH_HAVE_TILES 1
#include <immintrin.h>

static int cth_avx2_fma_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define CTH_ROWS_1(X) X(0)
#define CTH_ROWS_2(X) CTH_ROWS_1(X) X(1)
#define CTH_ROWS_3(X) CTH_ROWS_2(X) X(2)
#define CTH_ROWS_4(X) CTH_ROWS_3(X) X(3)
#define CTH_ROWS_5(X) CTH_ROWS_4(X) X(4)
#define CTH_ROWS_6(X) CTH_ROWS_5(X) X(5)

#define CTH_ZERO(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();
#define CTH_FMA2(r, x) { c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0); \
                         c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1); }
#define CTH_STORE(r) cth_store_row(c + r * ldc, c##r##0, c##r##1, nc, acc);

/* Row r of a tile into c[0:nc] (nc <= 16), added to what is there when acc is set. */
__attribute__((target("avx2,fma")))
static inline void cth_store_row(float* c, __m256 v0, __m256 v1, int nc, int acc) {
    if (nc == 16) {
        if (acc) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(c));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(c + 8));
        }
        _mm256_storeu_ps(c, v0);
        _mm256_storeu_ps(c + 8, v1);
        return;
    }
    float part[16];
    _mm256_storeu_ps(part, v0);
    _mm256_storeu_ps(part + 8, v1);
    for (int j = 0; j < nc; j++)
        c[j] = acc ? c[j] + part[j] : part[j];
}

/* The mask of the first n (< 8 or more) lanes of 8, for loads of a partial 16-column panel. */
__attribute__((target("avx2,fma")))
static inline __m256i cth_lanes(int n) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), index);
}

/* c[r, 0:nc] (+)= sum over taps t < ntap, then p < kc, of a[r * rs + off[t] + p] *
   bp[(t * kc + p) * 16 + 0:16]: bp is a packed 16-column panel (rows of 16 floats,
   zero past nc), a's rows are rs floats apart and each tap reads them off[t] further on.
   With ntap = 1 and off = {0} this is a plain tile of rows of length kc. */
#define CTH_TAP_FMA(r) { const __m256 x = _mm256_broadcast_ss(at + r * rs + p); \
                         CTH_FMA2(r, x) }
#define CTH_TAP_TILE(MR) \
__attribute__((target("avx2,fma"))) \
static void cth_tap_tile_##MR(Py_ssize_t ntap, const Py_ssize_t* off, Py_ssize_t kc, \
                              const float* a, Py_ssize_t rs, const float* bp, float* c, \
                              Py_ssize_t ldc, int acc, int nc) { \
    CTH_ROWS_##MR(CTH_ZERO) \
    for (Py_ssize_t t = 0; t < ntap; t++) { \
        const float* at = a + off[t]; \
        const float* bt = bp + 16 * kc * t; \
        for (Py_ssize_t p = 0; p < kc; p++) { \
            const __m256 b0 = _mm256_loadu_ps(bt + 16 * p); \
            const __m256 b1 = _mm256_loadu_ps(bt + 16 * p + 8); \
            CTH_ROWS_##MR(CTH_TAP_FMA) \
        } \
    } \
    CTH_ROWS_##MR(CTH_STORE) \
}
CTH_TAP_TILE(1)
CTH_TAP_TILE(2)
CTH_TAP_TILE(3)
CTH_TAP_TILE(4)
CTH_TAP_TILE(5)
CTH_TAP_TILE(6)

/* A tile of mr (1..6) rows. */
static inline void cth_tap_tile(int mr, Py_ssize_t ntap, const Py_ssize_t* off, Py_ssize_t kc,
                         const float* a, Py_ssize_t rs, const float* bp, float* c,
                         Py_ssize_t ldc, int acc, int nc) {
    switch (mr) {
        case 6: cth_tap_tile_6(ntap, off, kc, a, rs, bp, c, ldc, acc, nc); break;
        case 5: cth_tap_tile_5(ntap, off, kc, a, rs, bp, c, ldc, acc, nc); break;
        case 4: cth_tap_tile_4(ntap, off, kc, a, rs, bp, c, ldc, acc, nc); break;
        case 3: cth_tap_tile_3(ntap, off, kc, a, rs, bp, c, ldc, acc, nc); break;
        case 2: cth_tap_tile_2(ntap, off, kc, a, rs, bp, c, ldc, acc, nc); break;
        case 1: cth_tap_tile_1(ntap, off, kc, a, rs, bp, c, ldc, acc, nc); break;
        default: break;
    }
}

/* c[r, 0:nc] (+)= sum over i < ni, then j < nj, of rows[r][i * ri + j * rj] *
   g[(i * nj + j) * ldg + 0:nc]: a product whose inner dimension walks a 2-D grid of
   pixels, with each tile row reading its own strided sequence (a convolution's kernel
   gradient: row r is one (tap, channel), g the output gradient, one pixel per row). */
#define CTH_GRID_LOAD(r) const float* a##r = rows[r];
#define CTH_GRID_FMA(r) { const __m256 x = _mm256_broadcast_ss(a##r + o); CTH_FMA2(r, x) }
#define CTH_GRID_LOOP(MR, LOAD0, LOAD1) \
    for (Py_ssize_t i = 0; i < ni; i++) { \
        Py_ssize_t o = i * ri; \
        for (Py_ssize_t j = 0; j < nj; j++, o += rj, gp += ldg) { \
            const __m256 b0 = LOAD0, b1 = LOAD1; \
            CTH_ROWS_##MR(CTH_GRID_FMA) \
        } \
    }
#define CTH_GRID_TILE(MR) \
__attribute__((target("avx2,fma"))) \
static void cth_grid_tile_##MR(const float* const* rows, Py_ssize_t ni, Py_ssize_t nj, \
                               Py_ssize_t ri, Py_ssize_t rj, const float* g, \
                               Py_ssize_t ldg, float* c, Py_ssize_t ldc, int acc, int nc) { \
    CTH_ROWS_##MR(CTH_ZERO) \
    CTH_ROWS_##MR(CTH_GRID_LOAD) \
    const float* gp = g; \
    if (nc == 16) { \
        CTH_GRID_LOOP(MR, _mm256_loadu_ps(gp), _mm256_loadu_ps(gp + 8)) \
    } else { /* masked loads: never read past the last column */ \
        const __m256i m0 = cth_lanes(nc), m1 = cth_lanes(nc - 8); \
        CTH_GRID_LOOP(MR, _mm256_maskload_ps(gp, m0), _mm256_maskload_ps(gp + 8, m1)) \
    } \
    CTH_ROWS_##MR(CTH_STORE) \
}
CTH_GRID_TILE(1)
CTH_GRID_TILE(2)
CTH_GRID_TILE(3)
CTH_GRID_TILE(4)
CTH_GRID_TILE(5)
CTH_GRID_TILE(6)

static inline void cth_grid_tile(int mr, const float* const* rows, Py_ssize_t ni, Py_ssize_t nj,
                          Py_ssize_t ri, Py_ssize_t rj, const float* g, Py_ssize_t ldg,
                          float* c, Py_ssize_t ldc, int acc, int nc) {
    switch (mr) {
        case 6: cth_grid_tile_6(rows, ni, nj, ri, rj, g, ldg, c, ldc, acc, nc); break;
        case 5: cth_grid_tile_5(rows, ni, nj, ri, rj, g, ldg, c, ldc, acc, nc); break;
        case 4: cth_grid_tile_4(rows, ni, nj, ri, rj, g, ldg, c, ldc, acc, nc); break;
        case 3: cth_grid_tile_3(rows, ni, nj, ri, rj, g, ldg, c, ldc, acc, nc); break;
        case 2: cth_grid_tile_2(rows, ni, nj, ri, rj, g, ldg, c, ldc, acc, nc); break;
        case 1: cth_grid_tile_1(rows, ni, nj, ri, rj, g, ldg, c, ldc, acc, nc); break;
        default: break;
    }
}

#else  /* no x86 GCC-compatible compiler: the callers use BLAS; these are never called */
#define CTH_HAVE_TILES 0
static int cth_avx2_fma_available(void) { return 0; }
static void cth_tap_tile(int mr, Py_ssize_t ntap, const Py_ssize_t* off, Py_ssize_t kc,
                         const float* a, Py_ssize_t rs, const float* bp, float* c,
                         Py_ssize_t ldc, int acc, int nc) {}
static inline void cth_grid_tile(int mr, const float* const* rows, Py_ssize_t ni, Py_ssize_t nj,
                          Py_ssize_t ri, Py_ssize_t rj, const float* g, Py_ssize_t ldg,
                          float* c, Py_ssize_t ldc, int acc, int nc) {}
#endif

#endif
