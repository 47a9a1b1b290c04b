# The plan executor: runs a whole lowered plan (a training step, a test step or a
# prediction) in one call into native code, without the GIL and without allocating.
#
# A program is a table of instructions, one row of ROW_WIDTH int64 per kernel call:
#     (opcode, dtype, field, field, ...)
# dtype is 0 for float32 and 1 for float64. Buffer fields hold raw addresses (the plan keeps
# every array alive and never moves it). Size fields are "dims": a value >= 0 is a constant,
# a value < 0 means (-value) * n_rows, the run-time batch size. Float parameters are indices
# into `consts`. The element-wise chain keeps its program, operand addresses and broadcast
# pairs in `aux` (see OP_EW below); decoded broadcast pairs go to `scratch`.
#
# compiler/lower.py writes these tables; the opcodes live in codes.pxd (ExecOp).

from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from cthulhu._kernels.activations cimport act_bwd_bias, act_fwd, bias_act_fwd
from cthulhu._kernels.batchnorm cimport bn_infer_bwd, bn_infer_fwd, bn_train_bwd, bn_train_fwd
from cthulhu._kernels.blas cimport gemm_batched, gemm_split_k
from cthulhu._kernels.codes cimport *
from cthulhu._kernels.conv cimport conv_exec
from cthulhu._kernels.elementwise cimport ew_chain
from cthulhu._kernels.embedding cimport gather_rows, scatter_add_rows
from cthulhu._kernels.losses cimport softmax_xent_bwd, softmax_xent_fwd
from cthulhu._kernels.pooling cimport (PoolGeom, avg_pool_bwd, avg_pool_fwd, max_pool_bwd,
                                       max_pool_fwd, max_pool_gather)
from cthulhu._kernels.optim cimport (adadelta_update, adagrad_update, adam_rows_update,
                                     adam_update, adamax_update, nadam_schedule, nadam_update,
                                     rmsprop_update, sgd_update)
from cthulhu._kernels.recurrent cimport (RnnConfig, rnn_backward, rnn_backward_weights,
                                         rnn_config, rnn_forward, rnn_joint_weights)
from cthulhu._kernels.reduce cimport reduce
from cthulhu._kernels.rng cimport dropout, fill_normal, fill_uniform
from cthulhu._kernels.threads cimport threads_for

from cython cimport floating

import numpy as np

ROW_WIDTH = EXEC_ROW_WIDTH
OPCODES = {
    "gemm": OP_GEMM, "activation": OP_ACT, "activation_grad": OP_ACT_GRAD, "ew": OP_EW,
    "reduce": OP_REDUCE, "softmax_xent": OP_SXENT, "softmax_xent_grad": OP_SXENT_GRAD,
    "dropout": OP_DROPOUT, "sgd": OP_SGD, "adam": OP_ADAM, "adam_rows": OP_ADAM_ROWS,
    "increment": OP_INCREMENT,
    "fill": OP_FILL, "cast": OP_CAST, "rmsprop": OP_RMSPROP, "adagrad": OP_ADAGRAD,
    "adadelta": OP_ADADELTA, "adamax": OP_ADAMAX, "nadam": OP_NADAM,
    "nadam_schedule": OP_NADAM_SCHEDULE, "copy2d": OP_COPY2D, "transpose": OP_TRANSPOSE,
    "normal": OP_NORMAL, "uniform": OP_UNIFORM, "batch_gemm": OP_BATCH_GEMM,
    "max_pool": OP_MAX_POOL, "max_pool_bwd": OP_MAX_POOL_BWD,
    "max_pool_gather": OP_MAX_POOL_GATHER, "avg_pool": OP_AVG_POOL,
    "avg_pool_bwd": OP_AVG_POOL_BWD,
    "gather": OP_GATHER, "scatter_add": OP_SCATTER_ADD, "bn_train": OP_BN_TRAIN,
    "bn_train_grad": OP_BN_TRAIN_GRAD, "bn_infer": OP_BN_INFER, "bn_infer_grad": OP_BN_INFER_GRAD,
    "conv": OP_CONV,
    "rnn_forward": OP_RNN_FWD, "rnn_backward": OP_RNN_BWD,
    "rnn_backward_weights": OP_RNN_BWD_WEIGHTS,
}


cdef inline Py_ssize_t dim(int64_t v, Py_ssize_t n) noexcept nogil:
    return <Py_ssize_t>v if v >= 0 else <Py_ssize_t>(-v) * n


cdef inline void* addr(int64_t v) noexcept nogil:
    return <void*><size_t>v


cdef inline int64_t step_of(int64_t v) noexcept nogil:
    """iterations + 1 from the address of the int64 iteration count."""
    return (<int64_t*>addr(v))[0] + 1


cdef void exec_gemm(floating* tag, const int64_t* f, Py_ssize_t n) noexcept nogil:
    # f: ta, tb, M, N, K, A, B, C, bias, act, scratch (0: none; see blas.pxd gemm_split_k)
    cdef bint ta = f[0], tb = f[1]
    cdef Py_ssize_t m = dim(f[2], n), cols = dim(f[3], n), k = dim(f[4], n)
    cdef floating* c = <floating*>addr(f[7])
    gemm_split_k(ta, tb, m, cols, k, <floating>1.0, <const floating*>addr(f[5]),
                 m if ta else k, <const floating*>addr(f[6]), k if tb else cols,
                 <floating>0.0, c, cols, <floating*>addr(f[10]), threads_for(m * cols * k))
    if f[8] != 0 or f[9] != ACT_LINEAR:
        bias_act_fwd(<int>f[9], m, cols, c, <const floating*>addr(f[8]),
                     threads_for(m * cols))


cdef void exec_batch_gemm(floating* tag, const int64_t* f, Py_ssize_t n) noexcept nogil:
    # f: ta, tb, batch, M, N, K, A, B, C (rank-3 contiguous operands)
    cdef Py_ssize_t batch = dim(f[2], n), m = f[3], cols = f[4], k = f[5]
    gemm_batched(<bint>f[0], <bint>f[1], batch, m, cols, k, <const floating*>addr(f[6]),
                 <const floating*>addr(f[7]), <floating*>addr(f[8]),
                 threads_for(batch * m * cols * k))


cdef void exec_ew(floating* tag, const int64_t* f, const int64_t* aux, const double* consts,
                  int64_t* scratch, Py_ssize_t n) noexcept nogil:
    # f: size, prog_offset, n_instr, ptr_offset, n_operands, bcast_offset
    # aux[bcast_offset + 2*i], aux[bcast_offset + 2*i + 1] = encoded (red, inner) of operand i
    cdef Py_ssize_t size = dim(f[0], n), n_ops = f[4], i
    cdef int64_t* red = scratch
    cdef int64_t* inner = scratch + n_ops
    for i in range(n_ops):
        red[i] = dim(aux[f[5] + 2 * i], n)
        inner[i] = dim(aux[f[5] + 2 * i + 1], n)
        if red[i] == 0:  # an empty batch broadcast: nothing is read
            red[i] = 1
    ew_chain(size, aux + f[1], f[2], <floating**>(aux + f[3]), red, inner, consts,
             threads_for(size))


cdef void exec_fill(floating* tag, const int64_t* f, const double* consts,
                    Py_ssize_t n) noexcept nogil:
    # f: size, Y, const index, per_row (value times n_rows)
    cdef Py_ssize_t size = dim(f[0], n), i
    cdef floating* y = <floating*>addr(f[1])
    cdef double value = consts[f[2]] * (n if f[3] else 1)
    for i in range(size):
        y[i] = <floating>value


cdef void exec_copy2d(floating* tag, const int64_t* f, Py_ssize_t n) noexcept nogil:
    # f: rows, cols, src, src_ld, src_offset, dst, dst_ld, dst_offset (in elements): copies
    # a (rows, cols) block between strided row-major matrices (concatenate and its slices).
    cdef Py_ssize_t rows = dim(f[0], n), cols = f[1], r
    cdef const floating* src = <const floating*>addr(f[2]) + f[4]
    cdef floating* dst = <floating*>addr(f[5]) + f[7]
    for r in range(rows):
        memcpy(dst + r * f[6], src + r * f[3], cols * sizeof(floating))


cdef void _transpose2d(Py_ssize_t rows, Py_ssize_t cols, const floating* src,
                       floating* dst) noexcept nogil:
    # dst (cols, rows) = src (rows, cols)^T in 16 x 16 tiles, so that the
    # strided side of each tile stays in cache lines already loaded.
    cdef Py_ssize_t r0, c0, r, c, r1, c1
    for r0 in range(0, rows, 16):
        r1 = min(r0 + 16, rows)
        for c0 in range(0, cols, 16):
            c1 = min(c0 + 16, cols)
            for c in range(c0, c1):
                for r in range(r0, r1):
                    dst[c * rows + r] = src[r * cols + c]


cdef void exec_transpose(floating* tag, const int64_t* f, Py_ssize_t n) noexcept nogil:
    # f: rank (<= 5), src, dst, src dims[5] (dims), perm[5]: dst = src.transpose(perm).
    # Walks dst in order with an odometer over its indices; src is read with strides.
    cdef int rank = <int>f[0], k
    cdef const floating* src = <const floating*>addr(f[1])
    cdef floating* dst = <floating*>addr(f[2])
    cdef Py_ssize_t shape[5]
    cdef Py_ssize_t src_stride[5]
    cdef Py_ssize_t out_shape[5]
    cdef Py_ssize_t stride_in_out[5]
    cdef Py_ssize_t index[5]
    cdef Py_ssize_t total = 1, i, offset = 0
    for k in range(rank):
        shape[k] = dim(f[3 + k], n)
    if rank == 2 and f[8] == 1:
        _transpose2d(shape[0], shape[1], src, dst)
        return
    src_stride[rank - 1] = 1
    for k in range(rank - 2, -1, -1):
        src_stride[k] = src_stride[k + 1] * shape[k + 1]
    for k in range(rank):
        out_shape[k] = shape[f[8 + k]]
        stride_in_out[k] = src_stride[f[8 + k]]
        index[k] = 0
        total *= out_shape[k]
    for i in range(total):
        dst[i] = src[offset]
        k = rank - 1
        while k >= 0:
            index[k] += 1
            offset += stride_in_out[k]
            if index[k] < out_shape[k]:
                break
            offset -= stride_in_out[k] * out_shape[k]
            index[k] = 0
            k -= 1


cdef void exec_pool(floating* tag, int64_t op, const int64_t* f, Py_ssize_t n) noexcept nogil:
    # f: outer (dim), C, then input, output, window, strides and leading padding sizes, each
    # three 21-bit fields packed as d | h << 21 | w << 42; then three buffers:
    # max_pool x, y, idx; max_pool_bwd dy, idx, dx; max_pool_gather x, idx, y;
    # avg_pool x, y; avg_pool_bwd dy, dx.
    cdef PoolGeom g
    cdef int a
    cdef Py_ssize_t work
    g.outer = dim(f[0], n)
    g.c = f[1]
    for a in range(3):
        g.ind[a] = (f[2] >> (21 * a)) & 0x1FFFFF
        g.outd[a] = (f[3] >> (21 * a)) & 0x1FFFFF
        g.k[a] = (f[4] >> (21 * a)) & 0x1FFFFF
        g.s[a] = (f[5] >> (21 * a)) & 0x1FFFFF
        g.pad[a] = (f[6] >> (21 * a)) & 0x1FFFFF
    work = g.outer * g.c * g.outd[0] * g.outd[1] * g.outd[2] * g.k[0] * g.k[1] * g.k[2]
    if op == OP_MAX_POOL:
        max_pool_fwd(&g, <const floating*>addr(f[7]), <floating*>addr(f[8]),
                     <int64_t*>addr(f[9]), threads_for(work))
    elif op == OP_MAX_POOL_BWD:
        max_pool_bwd(&g, <const floating*>addr(f[7]), <const int64_t*>addr(f[8]),
                     <floating*>addr(f[9]), threads_for(work))
    elif op == OP_MAX_POOL_GATHER:
        max_pool_gather(&g, <const floating*>addr(f[7]), <const int64_t*>addr(f[8]),
                        <floating*>addr(f[9]), threads_for(work))
    elif op == OP_AVG_POOL:
        avg_pool_fwd(&g, <const floating*>addr(f[7]), <floating*>addr(f[8]), threads_for(work))
    elif op == OP_AVG_POOL_BWD:
        avg_pool_bwd(&g, <const floating*>addr(f[7]), <floating*>addr(f[8]), threads_for(work))


cdef void exec_gather(floating* tag, const int64_t* f, int64_t* status,
                      Py_ssize_t n) noexcept nogil:
    # f: n_idx, width, n_table, TABLE, IDX, OUT. A bad index sets status (see Program).
    cdef Py_ssize_t n_idx = dim(f[0], n), width = f[1]
    gather_rows(n_idx, width, f[2], <const floating*>addr(f[3]), <const floating*>addr(f[4]),
                <floating*>addr(f[5]), status, threads_for(n_idx * width))


cdef void exec_scatter_add(floating* tag, const int64_t* f, Py_ssize_t n) noexcept nogil:
    # f: n_idx, width, n_table, IDX, DY, OUT (n_table, width)
    cdef Py_ssize_t n_idx = dim(f[0], n), width = f[1]
    scatter_add_rows(n_idx, width, f[2], <const floating*>addr(f[3]),
                     <const floating*>addr(f[4]), <floating*>addr(f[5]),
                     threads_for(n_idx * width))


cdef void exec_adam_rows(floating* tag, const int64_t* f, Py_ssize_t n) noexcept nogil:
    # f: n_idx (dim), width, n_table, W, IDX, DY, M, V, VHAT (0: no amsgrad), SCRATCH
    # (2 * n_idx int64), step address, HYPER (float64 table: lr, beta_1, beta_2, epsilon,
    # decay)
    cdef const double* hp = <const double*>addr(f[11])
    adam_rows_update(f[2], f[1], dim(f[0], n), <floating*>addr(f[3]),
                     <const floating*>addr(f[4]), <const floating*>addr(f[5]),
                     <floating*>addr(f[6]), <floating*>addr(f[7]), <floating*>addr(f[8]),
                     <int64_t*>addr(f[9]), hp[0], hp[1], hp[2], hp[3], hp[4], step_of(f[10]),
                     threads_for(f[2] * f[1]))


cdef void exec_bn(floating* tag, const int64_t* f, const double* consts,
                  Py_ssize_t n) noexcept nogil:
    # f: outer, channels, inner, X, GAMMA (0: none), BETA (0: none), Y, MEAN, VAR, eps,
    # relu (a following ReLU fused in)
    cdef Py_ssize_t outer = dim(f[0], n), channels = f[1], inner = f[2]
    bn_train_fwd(outer, channels, inner, <const floating*>addr(f[3]),
                 <const floating*>addr(f[4]), <const floating*>addr(f[5]), consts[f[9]],
                 <bint>f[10], <floating*>addr(f[6]), <floating*>addr(f[7]), <floating*>addr(f[8]),
                 threads_for(outer * channels * inner))


cdef void exec_bn_grad(floating* tag, const int64_t* f, const double* consts,
                       Py_ssize_t n) noexcept nogil:
    # f: outer, channels, inner, X, GAMMA (0: none), MEAN, VAR, DY, DMEAN (0: none),
    # DVAR (0: none), DX, DGAMMA, DBETA, eps
    cdef Py_ssize_t outer = dim(f[0], n), channels = f[1], inner = f[2]
    bn_train_bwd(outer, channels, inner, <const floating*>addr(f[3]),
                 <const floating*>addr(f[4]), <const floating*>addr(f[5]),
                 <const floating*>addr(f[6]), <const floating*>addr(f[7]),
                 <const floating*>addr(f[8]), <const floating*>addr(f[9]), consts[f[13]],
                 <floating*>addr(f[10]), <floating*>addr(f[11]), <floating*>addr(f[12]),
                 threads_for(outer * channels * inner))


cdef void exec_bn_infer(floating* tag, const int64_t* f, const double* consts,
                        Py_ssize_t n) noexcept nogil:
    # f: outer, channels, inner, X, GAMMA (0: none), BETA (0: none), MEAN, VAR, Y, eps, relu
    cdef Py_ssize_t outer = dim(f[0], n), channels = f[1], inner = f[2]
    bn_infer_fwd(outer, channels, inner, <const floating*>addr(f[3]),
                 <const floating*>addr(f[4]), <const floating*>addr(f[5]),
                 <const floating*>addr(f[6]), <const floating*>addr(f[7]), consts[f[9]],
                 <bint>f[10], <floating*>addr(f[8]), threads_for(outer * channels * inner))


cdef void exec_bn_infer_grad(floating* tag, const int64_t* f, const double* consts,
                             Py_ssize_t n) noexcept nogil:
    # f: outer, channels, inner, X, GAMMA (0: none), MEAN, VAR, DY, DX, DGAMMA, DBETA,
    # DMEAN, DVAR, eps
    cdef Py_ssize_t outer = dim(f[0], n), channels = f[1], inner = f[2]
    bn_infer_bwd(outer, channels, inner, <const floating*>addr(f[3]),
                 <const floating*>addr(f[4]), <const floating*>addr(f[5]),
                 <const floating*>addr(f[6]), <const floating*>addr(f[7]), consts[f[13]],
                 <floating*>addr(f[8]), <floating*>addr(f[9]), <floating*>addr(f[10]),
                 <floating*>addr(f[11]), <floating*>addr(f[12]),
                 threads_for(outer * channels * inner))


cdef void exec_rnn(floating* tag, int64_t op, const int64_t* f, Py_ssize_t n) noexcept nogil:
    # f[0]: config table (int64, see recurrent.pxd), f[1]: batch (dim); then
    # rnn_forward: XP, U, H0, C0, MASK, RB, Y, H_LAST, C_LAST, SAVED, SCRATCH, PACK;
    # rnn_backward: U, MASK, SAVED, D_Y, D_H, D_C, D_SAVED, DXP, DH0, DC0, SCRATCH, PACK;
    # rnn_backward_weights: SAVED, DXP, SCRATCH, DU, DRB, then X (0: none), d, ROWS_WORK,
    # FIXED_WORK, DW for rnn_joint_weights. Absent buffers are 0.
    cdef RnnConfig c
    cdef Py_ssize_t batch = dim(f[1], n)
    cdef int nt
    rnn_config(<const int64_t*>addr(f[0]), &c)
    nt = threads_for(batch * c.steps * c.gates * c.units * c.units)
    if op == OP_RNN_FWD:
        rnn_forward(&c, batch, <const floating*>addr(f[2]), <const floating*>addr(f[3]),
                    <const floating*>addr(f[4]), <const floating*>addr(f[5]),
                    <const floating*>addr(f[6]), <const floating*>addr(f[7]),
                    <floating*>addr(f[8]), <floating*>addr(f[9]), <floating*>addr(f[10]),
                    <floating*>addr(f[11]), <floating*>addr(f[12]), <floating*>addr(f[13]),
                    nt)
    elif op == OP_RNN_BWD:
        rnn_backward(&c, batch, <const floating*>addr(f[2]), <const floating*>addr(f[3]),
                     <const floating*>addr(f[4]), <const floating*>addr(f[5]),
                     <const floating*>addr(f[6]), <const floating*>addr(f[7]),
                     <const floating*>addr(f[8]), <floating*>addr(f[9]),
                     <floating*>addr(f[10]), <floating*>addr(f[11]), <floating*>addr(f[12]),
                     <floating*>addr(f[13]), nt)
    elif f[7] == 0:
        rnn_backward_weights(&c, batch, <const floating*>addr(f[2]),
                             <const floating*>addr(f[3]), <floating*>addr(f[4]),
                             <floating*>addr(f[5]), <floating*>addr(f[6]), nt)
    else:
        rnn_joint_weights(&c, batch, <const floating*>addr(f[2]), <const floating*>addr(f[3]),
                          <const floating*>addr(f[7]), f[8], <floating*>addr(f[9]),
                          <floating*>addr(f[10]), <floating*>addr(f[11]),
                          <floating*>addr(f[5]), nt)


cdef void exec_cast(const int64_t* f, Py_ssize_t n) noexcept nogil:
    # f: size, X, Y, src dtype, dst dtype (0 float32, 1 float64, 2 int64)
    cdef Py_ssize_t size = dim(f[0], n), i
    cdef double v
    for i in range(size):
        if f[3] == 0:
            v = (<float*>addr(f[1]))[i]
        elif f[3] == 1:
            v = (<double*>addr(f[1]))[i]
        else:
            v = <double>(<int64_t*>addr(f[1]))[i]
        if f[4] == 0:
            (<float*>addr(f[2]))[i] = <float>v
        elif f[4] == 1:
            (<double*>addr(f[2]))[i] = v
        else:
            (<int64_t*>addr(f[2]))[i] = <int64_t>v


cdef void exec_one(floating* tag, const int64_t* row, const int64_t* aux,
                   const double* consts, int64_t* scratch, int64_t* status,
                   Py_ssize_t n) noexcept nogil:
    cdef const int64_t* f = row + 2
    cdef int64_t op = row[0]
    cdef Py_ssize_t rows, cols, size
    if op == OP_GEMM:
        exec_gemm(tag, f, n)
    elif op == OP_ACT:
        # act, rows, cols, X, Y
        rows, cols = dim(f[1], n), dim(f[2], n)
        act_fwd(<int>f[0], rows, cols, <const floating*>addr(f[3]), <floating*>addr(f[4]),
                threads_for(rows * cols))
    elif op == OP_ACT_GRAD:
        # act, rows, cols, Y, DY, DX, DBIAS (0: none), PARTIALS (float64, with DBIAS)
        rows, cols = dim(f[1], n), dim(f[2], n)
        act_bwd_bias(<int>f[0], rows, cols, <const floating*>addr(f[3]),
                     <const floating*>addr(f[4]), <floating*>addr(f[5]),
                     <floating*>addr(f[6]), <double*>addr(f[7]), threads_for(rows * cols))
    elif op == OP_EW:
        exec_ew(tag, f, aux, consts, scratch, n)
    elif op == OP_REDUCE:
        # kind, outer, red, inner, X, Y
        size = dim(f[1], n) * dim(f[2], n) * dim(f[3], n)
        reduce(<int>f[0], dim(f[1], n), dim(f[2], n), dim(f[3], n),
               <const floating*>addr(f[4]), <floating*>addr(f[5]), threads_for(size))
    elif op == OP_SXENT:
        # sparse, rows, cols, Z, T, P, L
        rows, cols = dim(f[1], n), dim(f[2], n)
        softmax_xent_fwd(rows, cols, <const floating*>addr(f[3]), <const floating*>addr(f[4]),
                         <bint>f[0], <floating*>addr(f[5]), <floating*>addr(f[6]),
                         threads_for(rows * cols))
    elif op == OP_SXENT_GRAD:
        # sparse, rows, cols, P, T, DL, DZ
        rows, cols = dim(f[1], n), dim(f[2], n)
        softmax_xent_bwd(rows, cols, <const floating*>addr(f[3]), <const floating*>addr(f[4]),
                         <bint>f[0], <const floating*>addr(f[5]), <floating*>addr(f[6]),
                         threads_for(rows * cols))
    elif op == OP_DROPOUT:
        # size, X, Y, step address (int64), seed, rate const index
        size = dim(f[0], n)
        dropout(size, consts[f[5]], <uint64_t>f[4], <uint64_t>(<int64_t*>addr(f[3]))[0],
                <const floating*>addr(f[1]), <floating*>addr(f[2]), threads_for(size))
    elif op == OP_SGD:
        # size, W, G, V (0: no momentum), lr, momentum (const indices), nesterov,
        # step address (int64 iterations), decay (const index)
        size = dim(f[0], n)
        sgd_update(size, <floating*>addr(f[1]), <const floating*>addr(f[2]),
                   <floating*>addr(f[3]), consts[f[4]], consts[f[5]], <bint>f[6],
                   consts[f[8]], step_of(f[7]), threads_for(size))
    elif op == OP_ADAM:
        # size, W, G, M, V, VHAT (0: no amsgrad), step address, lr, beta_1, beta_2, epsilon,
        # decay
        size = dim(f[0], n)
        adam_update(size, <floating*>addr(f[1]), <const floating*>addr(f[2]),
                    <floating*>addr(f[3]), <floating*>addr(f[4]), <floating*>addr(f[5]),
                    consts[f[7]], consts[f[8]], consts[f[9]], consts[f[10]], consts[f[11]],
                    step_of(f[6]), threads_for(size))
    elif op == OP_ADAM_ROWS:
        exec_adam_rows(tag, f, n)
    elif op == OP_RMSPROP:
        # size, W, G, V, MOM (0: none), AVG (0: not centered), step address, lr, rho,
        # momentum, epsilon, decay
        size = dim(f[0], n)
        rmsprop_update(size, <floating*>addr(f[1]), <const floating*>addr(f[2]),
                       <floating*>addr(f[3]), <floating*>addr(f[4]), <floating*>addr(f[5]),
                       consts[f[7]], consts[f[8]], consts[f[9]], consts[f[10]], consts[f[11]],
                       step_of(f[6]), threads_for(size))
    elif op == OP_ADAGRAD:
        # size, W, G, ACC, step address, lr, epsilon, decay
        size = dim(f[0], n)
        adagrad_update(size, <floating*>addr(f[1]), <const floating*>addr(f[2]),
                       <floating*>addr(f[3]), consts[f[5]], consts[f[6]], consts[f[7]],
                       step_of(f[4]), threads_for(size))
    elif op == OP_ADADELTA:
        # size, W, G, ACC_G, ACC_D, step address, lr, rho, epsilon, decay
        size = dim(f[0], n)
        adadelta_update(size, <floating*>addr(f[1]), <const floating*>addr(f[2]),
                        <floating*>addr(f[3]), <floating*>addr(f[4]), consts[f[6]],
                        consts[f[7]], consts[f[8]], consts[f[9]], step_of(f[5]),
                        threads_for(size))
    elif op == OP_ADAMAX:
        # size, W, G, M, U, step address, lr, beta_1, beta_2, epsilon, decay
        size = dim(f[0], n)
        adamax_update(size, <floating*>addr(f[1]), <const floating*>addr(f[2]),
                      <floating*>addr(f[3]), <floating*>addr(f[4]), consts[f[6]],
                      consts[f[7]], consts[f[8]], consts[f[9]], consts[f[10]], step_of(f[5]),
                      threads_for(size))
    elif op == OP_NADAM:
        # size, W, G, M, V, step address, u_product address (float64, this step's factor
        # included), lr, beta_1, beta_2, epsilon, decay
        size = dim(f[0], n)
        nadam_update(size, <floating*>addr(f[1]), <const floating*>addr(f[2]),
                     <floating*>addr(f[3]), <floating*>addr(f[4]), consts[f[7]],
                     consts[f[8]], consts[f[9]], consts[f[10]], consts[f[11]], step_of(f[5]),
                     (<double*>addr(f[6]))[0], threads_for(size))
    elif op == OP_NADAM_SCHEDULE:
        # u_product address (float64), step address, beta_1
        nadam_schedule(<double*>addr(f[0]), consts[f[2]], step_of(f[1]))
    elif op == OP_FILL:
        exec_fill(tag, f, consts, n)
    elif op == OP_COPY2D:
        exec_copy2d(tag, f, n)
    elif op == OP_TRANSPOSE:
        exec_transpose(tag, f, n)
    elif op == OP_BATCH_GEMM:
        exec_batch_gemm(tag, f, n)
    elif OP_MAX_POOL <= op <= OP_AVG_POOL_BWD:
        exec_pool(tag, op, f, n)
    elif op == OP_GATHER:
        exec_gather(tag, f, status, n)
    elif op == OP_SCATTER_ADD:
        exec_scatter_add(tag, f, n)
    elif op == OP_BN_TRAIN:
        exec_bn(tag, f, consts, n)
    elif op == OP_BN_TRAIN_GRAD:
        exec_bn_grad(tag, f, consts, n)
    elif op == OP_BN_INFER:
        exec_bn_infer(tag, f, consts, n)
    elif op == OP_BN_INFER_GRAD:
        exec_bn_infer_grad(tag, f, consts, n)
    elif op == OP_CONV:
        conv_exec(tag, f, n)
    elif OP_RNN_FWD <= op <= OP_RNN_BWD_WEIGHTS:
        exec_rnn(tag, op, f, n)
    elif op == OP_UNIFORM:
        # size, Y, step address, seed, low, high (const indices)
        size = dim(f[0], n)
        fill_uniform(size, <uint64_t>f[3], <uint64_t>(<int64_t*>addr(f[2]))[0], consts[f[4]],
                     consts[f[5]], <floating*>addr(f[1]), threads_for(size))
    elif op == OP_NORMAL:
        # size, Y, step address, seed, mean, stddev (const indices)
        size = dim(f[0], n)
        fill_normal(size, <uint64_t>f[3], <uint64_t>(<int64_t*>addr(f[2]))[0], consts[f[4]],
                    consts[f[5]], <floating*>addr(f[1]), threads_for(size))


cdef class Program:
    """A lowered plan: `run(n_rows)` executes every instruction in order, GIL released."""

    cdef int64_t[:, ::1] code
    cdef int64_t[::1] aux
    cdef double[::1] consts
    cdef int64_t[::1] scratch
    # Kernels that detect bad data (an embedding index out of range) set status[0] and the
    # details; the run stops after that instruction, before any state is updated.
    cdef int64_t[::1] status
    cdef readonly Py_ssize_t failed_instruction
    cdef readonly object keep_alive

    def __init__(self, code, aux, consts, Py_ssize_t scratch_size, keep_alive):
        code = np.ascontiguousarray(code, dtype=np.int64)
        if code.ndim != 2 or code.shape[1] != EXEC_ROW_WIDTH:
            raise ValueError(f"code must be (n, {EXEC_ROW_WIDTH}) int64")
        self.code = code
        self.aux = np.ascontiguousarray(aux, dtype=np.int64) if len(aux) else \
            np.zeros(1, dtype=np.int64)
        self.consts = np.ascontiguousarray(consts, dtype=np.float64) if len(consts) else \
            np.zeros(1, dtype=np.float64)
        self.scratch = np.zeros(max(1, scratch_size), dtype=np.int64)
        self.status = np.zeros(4, dtype=np.int64)
        self.failed_instruction = -1
        # Every array whose address appears in the tables: they must outlive the program.
        self.keep_alive = keep_alive

    def run(self, Py_ssize_t n_rows):
        if n_rows < 0:
            raise ValueError("n_rows must be >= 0")
        self.status[0] = 0
        self.failed_instruction = -1
        with nogil:
            self._run(n_rows)
        if self.status[0] != 0:
            raise IndexError(f"indices[{self.status[1]}] = {self.status[2]} is not in "
                             f"[0, {self.code[self.failed_instruction, 4]})")

    def profile(self, Py_ssize_t n_rows):
        """Run once, returning the seconds each instruction took (for CTHULHU_DEBUG=4)."""
        cdef double[::1] seconds = np.zeros(self.code.shape[0])
        cdef Py_ssize_t i
        cdef timespec t0, t1
        if n_rows < 0:
            raise ValueError("n_rows must be >= 0")
        with nogil:
            for i in range(self.code.shape[0]):
                clock_gettime(CLOCK_MONOTONIC, &t0)
                self._step(i, n_rows)
                clock_gettime(CLOCK_MONOTONIC, &t1)
                seconds[i] = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9
        return np.asarray(seconds)

    cdef void _run(self, Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t i
        for i in range(self.code.shape[0]):
            self._step(i, n)
            if self.status[0] != 0:
                self.failed_instruction = i
                return

    cdef inline void _step(self, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
        cdef const int64_t* row = &self.code[i, 0]
        cdef float* f32 = NULL
        cdef double* f64 = NULL
        if row[0] == OP_INCREMENT:
            (<int64_t*>addr(row[2]))[0] += 1
        elif row[0] == OP_CAST:
            exec_cast(row + 2, n)
        elif row[1] == 0:
            exec_one(f32, row, &self.aux[0], &self.consts[0], &self.scratch[0], &self.status[0],
                     n)
        else:
            exec_one(f64, row, &self.aux[0], &self.consts[0], &self.scratch[0], &self.status[0],
                     n)
