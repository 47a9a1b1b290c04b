"""cthulhu.backend (K): backend functions that build compiler IR on symbolic tensors.

Layers, losses, metrics and user code call these functions; inside a trace each call adds
nodes to the graph being compiled, so whatever is written with K is differentiated and fused
like the built-in layers. Weights are ``Variable`` objects that own their numpy storage; in a
trace they appear as the graph's params.

One module per concern: ``_config`` (floatx, epsilon, image data format), ``_variables``,
``_tracing`` (symbolic tensors), ``_math``, ``_shape``, ``_random``, ``_losses``.
"""

from cthulhu.backend._config import (
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from cthulhu.backend._linalg import batch_dot, dot, transpose
from cthulhu.backend._losses import (
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from cthulhu.backend._math import (
    abs,
    argmax,
    argmin,
    cast,
    clip,
    elu,
    equal,
    exp,
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
    pow,
    relu,
    round,
    sigmoid,
    sign,
    softmax,
    softplus,
    softsign,
    sqrt,
    square,
    sum,
    switch,
    tanh,
)
from cthulhu.backend._random import (
    dropout,
    normal_like,
    random_binomial,
    random_normal,
    random_uniform,
    uniform_like,
)
from cthulhu.backend._shape import (
    concatenate,
    flatten_last,
    one_hot,
    permute_dimensions,
    repeat,
    reshape,
)
from cthulhu.backend._tracing import (
    Tensor,
    Trace,
    constant,
    current_trace,
    int_shape,
    is_tensor,
    learning_phase,
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
