from cython cimport floating

# Fused softmax + categorical cross-entropy on logits (rows, cols), per row i:
#     prob[i] = softmax(logits[i]);  loss[i] = -sum_j t[i, j] * log_softmax(logits[i])_j
# computed with log-sum-exp (not log(prob)); prob may alias logits. Dense: target is
# (rows, cols). Sparse: target has `rows` entries holding class indices as floating values,
# loss[i] = lse_i - z[i, t_i]; an out-of-range (or NaN) class index gives loss[i] = NaN.
cdef void softmax_xent_fwd(Py_ssize_t rows, Py_ssize_t cols, const floating* logits,
                           const floating* target, bint sparse, floating* prob,
                           floating* loss, int n_threads) noexcept nogil

# dlogits[i, j] = dloss[i] * (prob[i, j] * sum_k t[i, k] - t[i, j])      (dense)
# dlogits[i, j] = dloss[i] * (prob[i, j] - [j == t_i])                   (sparse;
#                                   an out-of-range class index gives a row of NaN)
# dlogits may alias prob.
cdef void softmax_xent_bwd(Py_ssize_t rows, Py_ssize_t cols, const floating* prob,
                           const floating* target, bint sparse, const floating* dloss,
                           floating* dlogits, int n_threads) noexcept nogil
