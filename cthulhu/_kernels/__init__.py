"""Native kernels (Cython + OpenMP) and the plan executor of cthulhu."""
