"""cthulhu: the Keras 2 API, compiled into fused native kernels for CPU servers.

Keras names are aliases (``Sequential``, ``Dense``, ``fit``, ``compile``); the Cthulhu names
(``Pile``, ``Daoloth``, ``summon``, ``conjure``) are the ones shown in errors and summaries.
"""

import os

# OpenMP threads spin only briefly before they sleep: long spins collapse throughput when
# another process holds a core, while waking a sleeping thread costs up to a millisecond on
# virtual machines. Read when libgomp loads; the user's own settings win.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "20000"

from cthulhu import (  # noqa: E402
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    regularizers,
    utils,
)
from cthulhu._threads import get_num_threads, set_num_threads  # noqa: E402
from cthulhu.models import Pile, Sequential  # noqa: E402

__version__ = "0.1.0"

__all__ = ["activations", "backend", "callbacks", "constraints", "datasets", "initializers",
           "layers", "losses", "metrics", "models", "optimizers", "regularizers", "utils",
           "Pile", "Sequential", "set_num_threads", "get_num_threads", "__version__"]
