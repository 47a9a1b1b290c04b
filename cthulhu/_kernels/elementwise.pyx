"""The fused element-wise chain kernel: one pass over memory runs a small register program."""

cimport numpy as cnp
from cython.parallel cimport prange
from libc.math cimport (ceil, ceilf, fabs, fabsf, floor, floorf, log, logf, pow, powf, rint,
                        rintf, sqrt, sqrtf)
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from cthulhu._kernels.activations cimport cth_exp, cth_expf
from cthulhu._kernels.codes cimport *

import numpy as np

cnp.import_array()

cdef enum:
    _REG_ELEMS = EW_MAX_REGISTERS * EW_BLOCK

_KNOWN_OPS = frozenset([
    EW_LOAD, EW_STORE, EW_CONST,
    EW_NEG, EW_EXP, EW_LOG, EW_SQRT, EW_SQUARE, EW_ABS, EW_SIGN, EW_ROUND, EW_RECIPROCAL,
    EW_FLOOR, EW_CEIL,
    EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_MAXIMUM, EW_MINIMUM, EW_POW, EW_EQUAL, EW_NOT_EQUAL,
    EW_GREATER, EW_GREATER_EQUAL, EW_LESS, EW_LESS_EQUAL, EW_WHERE,
])
_UNARY_OPS = frozenset([
    EW_NEG, EW_EXP, EW_LOG, EW_SQRT, EW_SQUARE, EW_ABS, EW_SIGN, EW_ROUND, EW_RECIPROCAL,
    EW_FLOOR, EW_CEIL,
])
_BINARY_OPS = frozenset([
    EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_MAXIMUM, EW_MINIMUM, EW_POW, EW_EQUAL, EW_NOT_EQUAL,
    EW_GREATER, EW_GREATER_EQUAL, EW_LESS, EW_LESS_EQUAL,
])


cdef void _load(floating* r, Py_ssize_t start, Py_ssize_t n, const floating* src,
                Py_ssize_t red, Py_ssize_t inner) noexcept nogil:
    """r[t] = src[idx(start + t)] with idx(i) = (i // (red*inner)) * inner + i % inner."""
    cdef Py_ssize_t ri, q, rr, rm, rq, i, t, run
    cdef floating v
    if red == 1:
        memcpy(r, src + start, n * sizeof(floating))
        return
    ri = red * inner
    q = start // ri
    rr = start - q * ri
    i = 0
    if inner == 1:
        # each source value repeated `red` times (includes the scalar broadcast)
        while i < n:
            run = red - rr
            if run > n - i:
                run = n - i
            v = src[q]
            for t in range(run):
                r[i + t] = v
            i += run
            rr = 0
            q += 1
    else:
        # runs of `inner` contiguous source values, the row q repeated `red` times
        rq = rr // inner
        rm = rr - rq * inner
        while i < n:
            run = inner - rm
            if run > n - i:
                run = n - i
            memcpy(r + i, src + q * inner + rm, run * sizeof(floating))
            i += run
            rm += run
            if rm == inner:
                rm = 0
                rq += 1
                if rq == red:
                    rq = 0
                    q += 1


cdef void _unary(int64_t op, Py_ssize_t n, const floating* a, floating* d) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating v
    cdef floating zero = 0, one = 1
    if op == EW_NEG:
        for j in range(n):
            d[j] = -a[j]
    elif op == EW_EXP:
        for j in range(n):
            if floating is float:
                d[j] = cth_expf(a[j])
            else:
                d[j] = cth_exp(a[j])
    elif op == EW_LOG:
        for j in range(n):
            if floating is float:
                d[j] = logf(a[j])
            else:
                d[j] = log(a[j])
    elif op == EW_SQRT:
        for j in range(n):
            if floating is float:
                d[j] = sqrtf(a[j])
            else:
                d[j] = sqrt(a[j])
    elif op == EW_SQUARE:
        for j in range(n):
            d[j] = a[j] * a[j]
    elif op == EW_ABS:
        for j in range(n):
            if floating is float:
                d[j] = fabsf(a[j])
            else:
                d[j] = fabs(a[j])
    elif op == EW_SIGN:
        for j in range(n):
            v = a[j]
            if v > zero:
                d[j] = one
            elif v < zero:
                d[j] = -one
            elif v == zero:
                d[j] = zero
            else:
                d[j] = v        # NaN
    elif op == EW_ROUND:
        for j in range(n):
            if floating is float:
                d[j] = rintf(a[j])
            else:
                d[j] = rint(a[j])
    elif op == EW_RECIPROCAL:
        for j in range(n):
            d[j] = one / a[j]
    elif op == EW_FLOOR:
        for j in range(n):
            if floating is float:
                d[j] = floorf(a[j])
            else:
                d[j] = floor(a[j])
    elif op == EW_CEIL:
        for j in range(n):
            if floating is float:
                d[j] = ceilf(a[j])
            else:
                d[j] = ceil(a[j])


cdef void _binary(int64_t op, Py_ssize_t n, const floating* a, const floating* b,
                  floating* d) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating u, v
    cdef floating zero = 0, one = 1
    if op == EW_ADD:
        for j in range(n):
            d[j] = a[j] + b[j]
    elif op == EW_SUB:
        for j in range(n):
            d[j] = a[j] - b[j]
    elif op == EW_MUL:
        for j in range(n):
            d[j] = a[j] * b[j]
    elif op == EW_DIV:
        for j in range(n):
            d[j] = a[j] / b[j]
    elif op == EW_MAXIMUM:
        for j in range(n):      # NaN in either operand propagates, as np.maximum
            u = a[j]
            v = b[j]
            d[j] = u if (u > v) | (u != u) else v
    elif op == EW_MINIMUM:
        for j in range(n):
            u = a[j]
            v = b[j]
            d[j] = u if (u < v) | (u != u) else v
    elif op == EW_POW:
        for j in range(n):
            if floating is float:
                d[j] = powf(a[j], b[j])
            else:
                d[j] = pow(a[j], b[j])
    elif op == EW_EQUAL:
        for j in range(n):
            d[j] = one if a[j] == b[j] else zero
    elif op == EW_NOT_EQUAL:
        for j in range(n):
            d[j] = one if a[j] != b[j] else zero
    elif op == EW_GREATER:
        for j in range(n):
            d[j] = one if a[j] > b[j] else zero
    elif op == EW_GREATER_EQUAL:
        for j in range(n):
            d[j] = one if a[j] >= b[j] else zero
    elif op == EW_LESS:
        for j in range(n):
            d[j] = one if a[j] < b[j] else zero
    elif op == EW_LESS_EQUAL:
        for j in range(n):
            d[j] = one if a[j] <= b[j] else zero


cdef void _run_blocks(Py_ssize_t size, Py_ssize_t b0, Py_ssize_t b1, const int64_t* prog,
                      Py_ssize_t n_instr, floating** ptrs, const int64_t* red,
                      const int64_t* inner, const double* consts) noexcept nogil:
    """Run the program over blocks [b0, b1) with registers on this thread's stack."""
    cdef floating regs[_REG_ELEMS]
    cdef Py_ssize_t blk, start, n, k, j
    cdef const int64_t* ins
    cdef int64_t op
    cdef floating* d
    cdef const floating* ra
    cdef const floating* rb
    cdef const floating* rc
    cdef floating cv, zero = 0
    for blk in range(b0, b1):
        start = blk * EW_BLOCK
        n = size - start
        if n > EW_BLOCK:
            n = EW_BLOCK
        for k in range(n_instr):
            ins = prog + 5 * k
            op = ins[0]
            if op == EW_STORE:
                memcpy(ptrs[ins[1]] + start, regs + ins[2] * EW_BLOCK, n * sizeof(floating))
                continue
            d = regs + ins[1] * EW_BLOCK
            if op == EW_LOAD:
                _load(d, start, n, ptrs[ins[2]], red[ins[2]], inner[ins[2]])
            elif op == EW_CONST:
                cv = <floating>consts[ins[2]]
                for j in range(n):
                    d[j] = cv
            elif op == EW_WHERE:
                ra = regs + ins[2] * EW_BLOCK
                rb = regs + ins[3] * EW_BLOCK
                rc = regs + ins[4] * EW_BLOCK
                for j in range(n):
                    d[j] = rb[j] if ra[j] != zero else rc[j]
            elif op < EW_ADD:
                _unary(op, n, regs + ins[2] * EW_BLOCK, d)
            else:
                _binary(op, n, regs + ins[2] * EW_BLOCK, regs + ins[3] * EW_BLOCK, d)


cdef void ew_chain(Py_ssize_t size, const int64_t* prog, Py_ssize_t n_instr,
                   floating** ptrs, const int64_t* red, const int64_t* inner,
                   const double* consts, int n_threads) noexcept nogil:
    cdef Py_ssize_t nblocks, nt, t
    if size <= 0 or n_instr <= 0:
        return
    nblocks = (size + EW_BLOCK - 1) // EW_BLOCK
    if n_threads > 1 and nblocks > 1:
        nt = n_threads if n_threads < nblocks else nblocks
        for t in prange(nt, schedule='static', num_threads=n_threads):
            _run_blocks(size, nblocks * t // nt, nblocks * (t + 1) // nt, prog, n_instr,
                        ptrs, red, inner, consts)
    else:
        _run_blocks(size, 0, nblocks, prog, n_instr, ptrs, red, inner, consts)


# ---------------------------------------------------------------- numpy wrapper (tests)
def ew_chain_np(size, prog, operands, red, inner, consts, n_threads=1):
    """Validate a program and run it; returns `operands` (stored operands are written).

    prog: int64 array (n_instr, 5); operands: list of 1-D float arrays of one dtype;
    red, inner: one int per operand; consts: float64 array.
    """
    cdef Py_ssize_t n = int(size)
    if n < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    prog = np.asarray(prog)
    if prog.dtype != np.int64:
        raise ValueError(f"prog must be int64, got {prog.dtype}")
    if prog.ndim != 2 or prog.shape[1] != 5:
        raise ValueError(f"prog must have shape (n_instr, 5), got {prog.shape}")
    prog = np.ascontiguousarray(prog)
    consts = np.ascontiguousarray(consts, dtype=np.float64)
    if consts.ndim != 1:
        raise ValueError("consts must be 1-D")
    operands = list(operands)
    cdef Py_ssize_t n_ops = len(operands)
    if len(red) != n_ops or len(inner) != n_ops:
        raise ValueError("red and inner need one entry per operand")
    red_arr = np.ascontiguousarray(red, dtype=np.int64).reshape(n_ops)
    inner_arr = np.ascontiguousarray(inner, dtype=np.int64).reshape(n_ops)
    if n_ops == 0:
        raise ValueError("at least one operand is needed")
    dtype = operands[0].dtype if isinstance(operands[0], np.ndarray) else None
    if dtype != np.float32 and dtype != np.float64:
        raise ValueError(f"operands must be float32 or float64 arrays, got {dtype}")
    for i, arr in enumerate(operands):
        if not isinstance(arr, np.ndarray) or arr.dtype != dtype:
            raise ValueError(f"operand {i} must be a numpy array of dtype {dtype}")
        if arr.ndim != 1 or not arr.flags.c_contiguous:
            raise ValueError(f"operand {i} must be a contiguous 1-D array")
        if red_arr[i] < 1 or inner_arr[i] < 1:
            raise ValueError(f"operand {i}: red and inner must be >= 1")
    for k in range(prog.shape[0]):
        op, dst, a, b, c = (int(v) for v in prog[k])
        if op not in _KNOWN_OPS:
            raise ValueError(f"instruction {k}: unknown opcode {op}")
        if op == EW_STORE:
            regs, opnd = (a,), dst
        elif op == EW_LOAD:
            regs, opnd = (dst,), a
        elif op == EW_CONST:
            regs, opnd = (dst,), None
            if not 0 <= a < consts.shape[0]:
                raise ValueError(f"instruction {k}: constant index {a} out of range")
        elif op == EW_WHERE:
            regs, opnd = (dst, a, b, c), None
        elif op in _UNARY_OPS:
            regs, opnd = (dst, a), None
        else:
            regs, opnd = (dst, a, b), None
        for r in regs:
            if not 0 <= r < EW_MAX_REGISTERS:
                raise ValueError(f"instruction {k}: register {r} out of range "
                                 f"[0, {EW_MAX_REGISTERS})")
        if opnd is not None:
            if not 0 <= opnd < n_ops:
                raise ValueError(f"instruction {k}: operand {opnd} out of range")
            arr = operands[opnd]
            rd = int(red_arr[opnd])
            inn = int(inner_arr[opnd])
            if op == EW_STORE:
                if rd != 1 or arr.shape[0] != n:
                    raise ValueError(f"instruction {k}: stored operand {opnd} must have "
                                     f"red == 1 and length {n}, got {arr.shape[0]}")
                if not arr.flags.writeable:
                    raise ValueError(f"instruction {k}: operand {opnd} is read-only")
            else:
                if n % (rd * inn) != 0:
                    raise ValueError(f"instruction {k}: size {n} is not a multiple of "
                                     f"red*inner = {rd * inn} for operand {opnd}")
                if arr.shape[0] != n // rd:
                    raise ValueError(f"instruction {k}: operand {opnd} has length "
                                     f"{arr.shape[0]}, expected {n // rd}")

    cdef cnp.ndarray prog_c = prog
    cdef cnp.ndarray red_c = red_arr
    cdef cnp.ndarray inner_c = inner_arr
    cdef cnp.ndarray consts_c = consts
    cdef Py_ssize_t n_instr = prog.shape[0]
    cdef int nt = int(n_threads)
    cdef const int64_t* pprog = <const int64_t*>cnp.PyArray_DATA(prog_c)
    cdef const int64_t* pred = <const int64_t*>cnp.PyArray_DATA(red_c)
    cdef const int64_t* pinner = <const int64_t*>cnp.PyArray_DATA(inner_c)
    cdef const double* pconsts = <const double*>cnp.PyArray_DATA(consts_c)
    cdef bint is_f32 = dtype == np.float32
    cdef Py_ssize_t j
    cdef void** ptrs = <void**>malloc((n_ops + 1) * sizeof(void*))
    if ptrs == NULL:
        raise MemoryError()
    try:
        for j in range(n_ops):
            ptrs[j] = cnp.PyArray_DATA(<cnp.ndarray>operands[j])
        with nogil:
            if is_f32:
                ew_chain(n, pprog, n_instr, <float**>ptrs, pred, pinner, pconsts, nt)
            else:
                ew_chain(n, pprog, n_instr, <double**>ptrs, pred, pinner, pconsts, nt)
    finally:
        free(ptrs)
    return operands
