from cython cimport floating
from libc.stdint cimport int64_t

# Fused element-wise chain: runs a small register program over the output index space
# [0, size), EW_BLOCK elements at a time (opcodes EW_* and sizes in codes.pxd).
#
# prog:   n_instr instructions of 5 int64 each, (op, dst, a, b, c).
# ptrs:   operand arrays. EW_LOAD dst <- operand a reads, for output element i,
#         ptrs[a][(i // (red[a] * inner[a])) * inner[a] + i % inner[a]]
#         (red[a] == 1: ptrs[a][i]; i.e. operand a is (outer, inner) broadcast over the middle
#         axis of the output viewed as (outer, red, inner)). EW_STORE dst <- reg a writes
#         ptrs[dst][i] (stored operands are full size). EW_CONST reg dst <- consts[a].
# red, inner: one (red, inner) pair per operand (values >= 1).
# Registers are thread-private stack blocks; a dst may equal a source register.
# Blocks are split across threads when n_threads > 1; results do not depend on n_threads.
# Nothing is validated here: the compiler / ew_chain_np check programs.
cdef void ew_chain(Py_ssize_t size, const int64_t* prog, Py_ssize_t n_instr,
                   floating** ptrs, const int64_t* red, const int64_t* inner,
                   const double* consts, int n_threads) noexcept nogil
