/* OpenMP shim for the cthulhu kernels.
 *
 * Cython modules declare the few OpenMP runtime functions they need through
 * `cdef extern from "_omp_shim.h"` (see threads.pxd) instead of `cimport openmp`, so that a
 * build without OpenMP (no -fopenmp, _OPENMP undefined) still compiles: the functions then
 * become serial stubs. CTHULHU_OPENMP is set by setup.py from its OpenMP probe; when the file
 * is compiled by some other route it falls back to whether _OPENMP is defined.
 */
#ifndef CTHULHU_OMP_SHIM_H
#define CTHULHU_OMP_SHIM_H

#ifdef _OPENMP
#include <omp.h>
#else
static inline int omp_get_max_threads(void) { return 1; }
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_num_procs(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
#endif

#ifndef CTHULHU_OPENMP
#ifdef _OPENMP
#define CTHULHU_OPENMP 1
#else
#define CTHULHU_OPENMP 0
#endif
#endif

#endif /* CTHULHU_OMP_SHIM_H */
