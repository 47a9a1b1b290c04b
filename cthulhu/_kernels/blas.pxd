from cython cimport floating

# Row-major GEMM through scipy.linalg.cython_blas (sgemm / dgemm):
#     C[m, n] = alpha * op(A) @ op(B) + beta * C
# op(A) is (m, k): A is stored (m, k) with leading dimension lda, or (k, m) when trans_a.
# op(B) is (k, n): B is stored (k, n) with leading dimension ldb, or (n, k) when trans_b.
# C is stored (m, n) with leading dimension ldc. k == 0 gives C = beta * C (beta == 0 writes
# exact zeros, as BLAS does); m == 0 or n == 0 does nothing. BLAS threading is not touched.
cdef void gemm(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
               floating alpha, const floating* a, Py_ssize_t lda,
               const floating* b, Py_ssize_t ldb, floating beta,
               floating* c, Py_ssize_t ldc) noexcept nogil


# The same product cut into up to GEMM_MAX_BLOCKS row or column blocks (chosen from the
# shape alone, so results do not depend on n_threads), run on n_threads OpenMP threads;
# one block below GEMM_PARALLEL_MIN_MACS multiply-adds.
cdef void gemm_threaded(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                        floating alpha, const floating* a, Py_ssize_t lda,
                        const floating* b, Py_ssize_t ldb, floating beta,
                        floating* c, Py_ssize_t ldc, int n_threads) noexcept nogil

# gemm_threaded, except that a long inner dimension (k >= GEMM_SPLIT_K_RATIO * max(m, n))
# is cut into gemm_k_blocks(m, n, k) blocks (from the shape alone): each block is one BLAS
# call that packs only its slices of op(A) and op(B), where a cut of the rows would pack all
# of op(B) again for every block. Block 0 goes to C, the others to `scratch` (room for
# (blocks - 1) * m * n elements, see split_k_max_blocks_np), then C += the partials in
# block order. With scratch NULL, or a shape that is not cut, it is gemm_threaded.
cdef void gemm_split_k(bint trans_a, bint trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                       floating alpha, const floating* a, Py_ssize_t lda,
                       const floating* b, Py_ssize_t ldb, floating beta,
                       floating* c, Py_ssize_t ldc, floating* scratch,
                       int n_threads) noexcept nogil
cdef Py_ssize_t gemm_k_blocks(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k) noexcept nogil

# batch independent products C[i] = op(A[i]) @ op(B[i]) (C[i] overwritten), all operands
# contiguous (batch, rows, cols). Small items run in parallel over the batch, large ones one
# after the other with gemm_threaded: the choice depends on the shape only, and every item
# is one BLAS computation either way, so results do not depend on n_threads.
cdef void gemm_batched(bint trans_a, bint trans_b, Py_ssize_t batch, Py_ssize_t m,
                       Py_ssize_t n, Py_ssize_t k, const floating* a, const floating* b,
                       floating* c, int n_threads) noexcept nogil

cdef enum:
    GEMM_PARALLEL_MIN_MACS = 4194304
    GEMM_MIN_BLOCK_ROWS = 16
    GEMM_MIN_BLOCK_COLS = 64
    GEMM_MAX_BLOCKS = 4
    GEMM_SPLIT_K_RATIO = 4
    GEMM_MIN_BLOCK_K = 256
