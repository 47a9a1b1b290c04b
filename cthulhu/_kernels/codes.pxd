# The integer codes shared by the kernels, the executor and compiler/lower.py.
# Values are defined here once; codes.pyx re-exports them to Python as dicts.

cdef enum Activation:
    ACT_LINEAR = 0
    ACT_RELU = 1
    ACT_SIGMOID = 2
    ACT_HARD_SIGMOID = 3
    ACT_TANH = 4
    ACT_SOFTMAX = 5
    ACT_ELU = 6
    ACT_SELU = 7
    ACT_SOFTPLUS = 8
    ACT_SOFTSIGN = 9
    ACT_EXPONENTIAL = 10

cdef enum Reduction:
    RED_SUM = 0
    RED_MEAN = 1
    RED_MAX = 2
    RED_MIN = 3
    RED_PROD = 4
    RED_ARGMAX = 5
    RED_ARGMIN = 6

# Element-wise chain instructions: 5 int64 each, (op, dst, a, b, c).
# Registers are blocks of EW_BLOCK elements; operands are arrays given to the chain.
cdef enum EwOp:
    EW_LOAD = 0            # reg[dst] <- operand a (broadcast by its (red, inner) pair)
    EW_STORE = 1           # operand dst <- reg[a]
    EW_CONST = 2           # reg[dst] <- consts[a]
    EW_NEG = 10
    EW_EXP = 11
    EW_LOG = 12
    EW_SQRT = 13
    EW_SQUARE = 14
    EW_ABS = 15
    EW_SIGN = 16
    EW_ROUND = 17          # round half to even, as numpy and Keras K.round
    EW_RECIPROCAL = 18
    EW_FLOOR = 19
    EW_CEIL = 20
    EW_ADD = 30
    EW_SUB = 31
    EW_MUL = 32
    EW_DIV = 33
    EW_MAXIMUM = 34
    EW_MINIMUM = 35
    EW_POW = 36
    EW_EQUAL = 37          # comparisons give 1.0 or 0.0
    EW_NOT_EQUAL = 38
    EW_GREATER = 39
    EW_GREATER_EQUAL = 40
    EW_LESS = 41
    EW_LESS_EQUAL = 42
    EW_WHERE = 50          # reg[dst] <- reg[b] if reg[a] != 0 else reg[c]

cdef enum:
    EW_BLOCK = 256
    EW_MAX_REGISTERS = 16

# Executor opcodes (executor.pyx); each instruction is one row of EXEC_ROW_WIDTH int64.
cdef enum ExecOp:
    OP_GEMM = 1
    OP_ACT = 2
    OP_ACT_GRAD = 3
    OP_EW = 4
    OP_REDUCE = 5
    OP_SXENT = 6
    OP_SXENT_GRAD = 7
    OP_DROPOUT = 8
    OP_SGD = 9
    OP_ADAM = 10
    OP_INCREMENT = 11
    OP_FILL = 12
    OP_CAST = 13
    OP_RMSPROP = 14
    OP_ADAGRAD = 15
    OP_ADADELTA = 16
    OP_ADAMAX = 17
    OP_NADAM = 18
    OP_NADAM_SCHEDULE = 19
    OP_COPY2D = 20
    OP_TRANSPOSE = 21
    OP_NORMAL = 22
    OP_UNIFORM = 23
    OP_BATCH_GEMM = 24
    OP_ADAM_ROWS = 25
    OP_CONV = 30          # conv.pyx (codes 30-39: convolutions)
    # Pooling (40-49): fields in executor.pyx exec_pool.
    OP_MAX_POOL = 40
    OP_MAX_POOL_BWD = 41
    OP_MAX_POOL_GATHER = 42
    OP_AVG_POOL = 43
    OP_AVG_POOL_BWD = 44
    # 50-59: embeddings and batch normalization (embedding.pyx, batchnorm.pyx)
    OP_GATHER = 50
    OP_SCATTER_ADD = 51
    OP_BN_TRAIN = 52
    OP_BN_TRAIN_GRAD = 53
    OP_BN_INFER = 54
    OP_BN_INFER_GRAD = 55
    # 60-69: recurrent sequences (recurrent.pyx)
    OP_RNN_FWD = 60
    OP_RNN_BWD = 61
    OP_RNN_BWD_WEIGHTS = 62

cdef enum:
    EXEC_ROW_WIDTH = 16
