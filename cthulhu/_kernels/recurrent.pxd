from cython cimport floating
from libc.stdint cimport int64_t

# Recurrent sequences (compiler/ops/recurrent.py): SimpleRNN, GRU (both reset_after) and LSTM
# cells run over every timestep in one call. Gate layouts are Keras's: LSTM i, f, c, o; GRU
# z, r, h. U (the recurrent kernel) is (u, G*u) with G gates per unit.
#
# Layouts, all C-contiguous, batch-major:
#   xp (B, T, G*u)   the input projection of every timestep (x @ W + b), time order
#   y (B, T, u)      outputs in processing order (reversed time with go_backwards)
#   saved (B, T, W)  per timestep, in time order, what the backward needs:
#       simple (W = 2u): [act output | h_prev]
#       gru    (W = 5u): [z r h~ (post-activation) | h_prev | extra], extra = r * h_prev
#                        (reset_after=False) or h_prev @ U_h + rb_h (reset_after=True)
#       lstm   (W = 7u): [i f c~ o (post-activation) | h_prev | c_prev | act(c_new)]
#   mask (B, T)      0 / nonzero, time order (NULL: no mask)
# h_prev / c_prev are the states entering the step. The batch is cut into parts by its size
# only (RNN_MIN_PART_ROWS rows or more each, at most RNN_MAX_PARTS); each part runs its whole
# sequence on one thread with single-threaded GEMMs, so a call opens at most one parallel
# region and its results do not depend on the thread count.

cdef enum RnnCell:
    RNN_SIMPLE = 0
    RNN_GRU = 1
    RNN_LSTM = 2

cdef enum:
    RNN_CONFIG_SIZE = 8      # int64 entries of the config table (see rnn_config)
    RNN_MIN_PART_ROWS = 16
    RNN_MAX_PARTS = 8

cdef struct RnnConfig:
    int cell
    Py_ssize_t units
    Py_ssize_t steps
    bint go_backwards
    bint reset_after
    bint zero_output       # masked steps output zeros (else the previous output)
    int act                # ACT_* codes
    int ract
    Py_ssize_t gates       # G
    Py_ssize_t width       # W

# The config from its int64 table: cell, units, steps, go_backwards, reset_after,
# zero_output_for_mask, activation, recurrent_activation.
cdef void rnn_config(const int64_t* table, RnnConfig* c) noexcept nogil

# Scratch elements per batch row of rnn_forward, and of rnn_backward + rnn_backward_weights
# (one scratch shared by the two calls). The compiler sizes its arena buffers from these.
cdef Py_ssize_t rnn_forward_scratch_per_row(const RnnConfig* c) noexcept nogil
cdef Py_ssize_t rnn_backward_scratch_per_row(const RnnConfig* c) noexcept nogil
# Elements of the `pack` buffer of rnn_forward and of rnn_backward (G*u*u, whatever the
# batch): the recurrent kernel (U, or U^T) in the layout of the float32 per-step kernel,
# written at the start of each call.
cdef Py_ssize_t rnn_pack_size(const RnnConfig* c) noexcept nogil

# Forward: writes y, h_last, c_last (lstm), saved. c0 / c_last only for lstm; rb (3u, gru
# reset_after only) may be NULL.
cdef void rnn_forward(const RnnConfig* c, Py_ssize_t batch, const floating* xp,
                      const floating* u, const floating* h0, const floating* c0,
                      const floating* mask, const floating* rb, floating* y,
                      floating* h_last, floating* c_last, floating* saved, floating* scratch,
                      floating* pack, int n_threads) noexcept nogil

# Backward through time, given ut = U^T (G*u, u) and the cotangents of the forward outputs
# (any may be NULL: zero):
# d_y (B, T, u), d_h / d_c (B, u) of h_last / c_last, d_saved (B, T, W). Writes dxp
# (B, T, G*u), dh0, dc0 (lstm), and leaves in scratch what rnn_backward_weights reads.
cdef void rnn_backward(const RnnConfig* c, Py_ssize_t batch, const floating* ut,
                       const floating* mask, const floating* saved, const floating* d_y,
                       const floating* d_h, const floating* d_c, const floating* d_saved,
                       floating* dxp, floating* dh0, floating* dc0, floating* scratch,
                       floating* pack, int n_threads) noexcept nogil

# After rnn_backward (same scratch): du (u, G*u) as one GEMM over all B * T rows of the
# saved states, and drb (3u, gru reset_after; NULL: not wanted) as column sums.
cdef void rnn_backward_weights(const RnnConfig* c, Py_ssize_t batch, const floating* saved,
                               const floating* dxp, floating* scratch, floating* du,
                               floating* drb, int n_threads) noexcept nogil

# simple and lstm: rnn_backward_weights's du, and dw = X^T @ dxp (X (B, T, d): the input of
# the input projection), as one GEMM [X | H_prev]^T @ dxp. rows_work: B * T * (d + u)
# elements; fixed_work: rnn_joint_weights_fixed_size(c, d).
cdef Py_ssize_t rnn_joint_weights_fixed_size(const RnnConfig* c, Py_ssize_t d) noexcept nogil
cdef void rnn_joint_weights(const RnnConfig* c, Py_ssize_t batch, const floating* saved,
                            const floating* dxp, const floating* x, Py_ssize_t d,
                            floating* rows_work, floating* fixed_work, floating* dw,
                            floating* du, int n_threads) noexcept nogil
