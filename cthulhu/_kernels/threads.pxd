# Thread-count policy shared by every kernel, plus the OpenMP shim declarations.
#
# Kernels never call OpenMP directly except through these names: in a build without OpenMP
# `_omp_shim.h` turns them into serial stubs.

cdef extern from "_omp_shim.h":
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_procs() noexcept nogil
    void omp_set_num_threads(int n) noexcept nogil
    int CTHULHU_OPENMP      # 1 when built with OpenMP (setup.py probe), else 0

# Below this many elements-worth of work a kernel runs serially (no OpenMP region).
cpdef enum:
    PARALLEL_MIN_WORK = 32768

# 1 when work < PARALLEL_MIN_WORK (or OpenMP is off), else the configured thread count.
cdef int threads_for(Py_ssize_t work) noexcept nogil
