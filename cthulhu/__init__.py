"""cthulhu: the Keras 2 API, compiled into fused native kernels for CPU servers.

Keras names are aliases (``Sequential``, ``Dense``, ``fit``, ``compile``); the Cthulhu names
(``Pile``, ``Daoloth``, ``summon``, ``conjure``) are the ones shown in errors and summaries.
"""

import os

# Idle OpenMP threads must sleep, not spin, on shared servers (read when libgomp loads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from cthulhu import (  # noqa: E402
    activations,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    utils,
)
from cthulhu._threads import get_num_threads, set_num_threads  # noqa: E402
from cthulhu.models import Pile, Sequential  # noqa: E402

__version__ = "0.1.0"

__all__ = ["activations", "backend", "callbacks", "datasets", "initializers", "layers",
           "losses", "metrics", "models", "optimizers", "utils", "Pile", "Sequential",
           "set_num_threads", "get_num_threads", "__version__"]
