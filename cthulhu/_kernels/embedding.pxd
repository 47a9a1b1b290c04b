from libc.stdint cimport int64_t
from cython cimport floating

# An index picks a row when it truncates into [0, n_table); NaN fails both comparisons.
cdef inline bint row_index_valid(double v, Py_ssize_t n_table) noexcept nogil:
    return v > -1.0 and v < <double>n_table


# Rows of a (n_table, width) table picked by float-valued indices, truncated toward zero
# like a cast to int (Keras casts embedding inputs to int32).
#
# gather_rows: out[i, :] = table[int(idx[i]), :] for i < n_idx. An index outside
# [0, n_table) (or NaN) writes nothing: status[0] <- 1, status[1] <- its position i,
# status[2] <- its truncated value (0 for NaN), and the function returns (the executor
# stops the plan there).
cdef void gather_rows(Py_ssize_t n_idx, Py_ssize_t width, Py_ssize_t n_table,
                      const floating* table, const floating* idx, floating* out,
                      int64_t* status, int n_threads) noexcept nogil

# scatter_add_rows: out (n_table, width) <- 0, then out[int(idx[i]), :] += dy[i, :]. Indices
# out of range are skipped (the forward gather reported them). Threads split the columns, so
# each element is summed by one thread in index order: results do not depend on n_threads.
cdef void scatter_add_rows(Py_ssize_t n_idx, Py_ssize_t width, Py_ssize_t n_table,
                           const floating* idx, const floating* dy, floating* out,
                           int n_threads) noexcept nogil

# rows_in_order: the positions i of the valid indices, ordered by their row int(idx[i]) and,
# within a row, by i (the order scatter_add_rows sums them in): order[0:n] for the returned
# n <= n_idx. A stable radix sort, 8 bits of the row per pass; `tmp` (n_idx) is scratch.
cdef Py_ssize_t rows_in_order(Py_ssize_t n_idx, Py_ssize_t n_table, const floating* idx,
                              int64_t* order, int64_t* tmp) noexcept nogil
