"""The kernel codes as Python dicts, for compiler/lower.py (values live in codes.pxd)."""

ACTIVATIONS = {
    "linear": ACT_LINEAR, "relu": ACT_RELU, "sigmoid": ACT_SIGMOID,
    "hard_sigmoid": ACT_HARD_SIGMOID, "tanh": ACT_TANH, "softmax": ACT_SOFTMAX,
    "elu": ACT_ELU, "selu": ACT_SELU, "softplus": ACT_SOFTPLUS, "softsign": ACT_SOFTSIGN,
    "exponential": ACT_EXPONENTIAL,
}

REDUCTIONS = {
    "sum": RED_SUM, "mean": RED_MEAN, "max": RED_MAX, "min": RED_MIN, "prod": RED_PROD,
    "argmax": RED_ARGMAX, "argmin": RED_ARGMIN,
}

EW_OPS = {
    "load": EW_LOAD, "store": EW_STORE, "const": EW_CONST,
    "neg": EW_NEG, "exp": EW_EXP, "log": EW_LOG, "sqrt": EW_SQRT, "square": EW_SQUARE,
    "abs": EW_ABS, "sign": EW_SIGN, "round": EW_ROUND, "reciprocal": EW_RECIPROCAL,
    "floor": EW_FLOOR, "ceil": EW_CEIL,
    "add": EW_ADD, "sub": EW_SUB, "mul": EW_MUL, "div": EW_DIV, "maximum": EW_MAXIMUM,
    "minimum": EW_MINIMUM, "pow": EW_POW, "equal": EW_EQUAL, "not_equal": EW_NOT_EQUAL,
    "greater": EW_GREATER, "greater_equal": EW_GREATER_EQUAL, "less": EW_LESS,
    "less_equal": EW_LESS_EQUAL, "where": EW_WHERE,
}

EW_BLOCK_SIZE = EW_BLOCK
EW_REGISTERS = EW_MAX_REGISTERS
