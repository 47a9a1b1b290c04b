"""cthulhu.backend (K): backend functions that build compiler IR on symbolic tensors.

Layers, losses, metrics and user code call these functions; inside a trace each call adds
nodes to the graph being compiled, so whatever is written with K is differentiated and fused
like the built-in layers. Weights are ``Variable`` objects that own their numpy storage; in a
trace they appear as the graph's params.

One module per concern: ``_config`` (floatx, epsilon, image data format), ``_variables``,
``_tracing`` (symbolic tensors, K.eval), ``_math``, ``_shape``, ``_random``, ``_losses``,
``_function`` (K.function, K.gradients, the learning phase), ``_recurrent`` (K.rnn),
``_deferred`` (backend calls on layer-graph tensors become layers).
"""

from cthulhu.backend import _deferred
from cthulhu.backend._config import (
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from cthulhu.backend._function import (
    Function,
    LearningPhase,
    function,
    gradients,
    in_test_phase,
    in_train_phase,
    learning_phase,
)
from cthulhu.backend._linalg import batch_dot, dot, gather, transpose
from cthulhu.backend._losses import (
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from cthulhu.backend._math import (
    abs,
    all,
    any,
    argmax,
    argmin,
    cast,
    clip,
    elu,
    equal,
    exp,
    eye,
    greater,
    greater_equal,
    hard_sigmoid,
    l2_normalize,
    less,
    less_equal,
    log,
    max,
    maximum,
    mean,
    min,
    minimum,
    not_equal,
    ones,
    ones_like,
    pow,
    prod,
    relu,
    round,
    sigmoid,
    sign,
    softmax,
    softplus,
    softsign,
    sqrt,
    square,
    std,
    sum,
    switch,
    tanh,
    var,
    zeros,
    zeros_like,
)
from cthulhu.backend._pool import pool, pool1d, pool2d, pool3d
from cthulhu.backend._random import (
    dropout,
    normal_like,
    random_binomial,
    random_normal,
    random_uniform,
    uniform_like,
)
from cthulhu.backend._recurrent import rnn
from cthulhu.backend._shape import (
    batch_flatten,
    concatenate,
    expand_dims,
    flatten,
    flatten_last,
    one_hot,
    permute_dimensions,
    repeat,
    repeat_elements,
    reshape,
    squeeze,
    stack,
    tile,
)
from cthulhu.backend._spatial import (
    resize_images,
    resize_volumes,
    spatial_2d_padding,
    spatial_3d_padding,
    temporal_padding,
)
from cthulhu.backend._tracing import (
    BatchSize,
    Tensor,
    Trace,
    UntraceableError,
    constant,
    current_trace,
    dtype,
    eval,
    in_trace,
    int_shape,
    is_tensor,
    ndim,
    shape,
    tracing,
)
from cthulhu.backend._variables import (
    Variable,
    batch_get_value,
    batch_set_value,
    count_params,
    get_uid,
    get_value,
    reset_uids,
    set_value,
    variable,
)

# Called on layer-graph tensors outside a compilation, these become layers (see _deferred).
_TENSOR_FUNCTIONS = (
    "abs", "all", "any", "argmax", "argmin", "batch_flatten", "binary_crossentropy", "cast",
    "categorical_crossentropy", "clip", "concatenate", "dropout", "elu", "equal", "exp",
    "expand_dims", "flatten", "greater", "greater_equal", "hard_sigmoid", "l2_normalize",
    "less", "less_equal", "log", "max", "maximum", "mean", "min", "minimum", "not_equal",
    "one_hot", "ones_like", "permute_dimensions", "pow", "prod", "relu", "repeat",
    "repeat_elements", "reshape", "round", "sigmoid", "sign", "softmax", "softplus",
    "softsign", "sparse_categorical_crossentropy", "sqrt", "square", "squeeze", "stack", "std",
    "sum", "switch", "tanh", "tile", "var", "zeros_like", "dot", "batch_dot", "transpose",
    "gather",
)
for _name in _TENSOR_FUNCTIONS:
    globals()[_name] = _deferred.deferrable(globals()[_name])
del _name
