"""The ordered pass pipelines: what runs, and when.

``CTHULHU_NO_FUSION=1`` skips every fusion pass (a bisecting aid); ``CTHULHU_DEBUG>=2``
verifies the graph after every pass and prints pass timings.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable

from compiler.ir import Graph
from compiler.passes.cse import eliminate_common_subexpressions
from compiler.passes.dce import eliminate_dead_code
from compiler.passes.expand import expand_composites
from compiler.passes.fold import fold_constants, simplify_algebra
from compiler.passes.fuse_backward import fuse_bias_grad
from compiler.passes.fuse_batchnorm import fuse_batchnorm_relu
from compiler.passes.fuse_elementwise import fuse_elementwise
from compiler.passes.fuse_forward import fuse_dense, fuse_softmax_xent
from compiler.passes.recurrent import join_rnn_kernel_grads
from compiler.passes.sparse_update import fuse_sparse_adam
from compiler.verify import verify

Pass = Callable[[Graph], Graph]

# Before differentiation: fused forward ops bring their own fused gradient rules.
FORWARD_PASSES: list[tuple[str, Pass, bool]] = [
    ("cse", eliminate_common_subexpressions, False),
    ("fuse_softmax_xent", fuse_softmax_xent, True),
    ("fuse_dense", fuse_dense, True),
    ("fuse_batchnorm_relu", fuse_batchnorm_relu, True),
    ("dce", eliminate_dead_code, False),
]

# After differentiation and optimizer updates: the whole step graph.
STEP_PASSES: list[tuple[str, Pass, bool]] = [
    ("expand_composites", expand_composites, False),
    ("fold_constants", fold_constants, False),
    ("simplify_algebra", simplify_algebra, False),
    ("cse", eliminate_common_subexpressions, False),
    ("dce", eliminate_dead_code, False),
    ("fuse_bias_grad", fuse_bias_grad, True),
    ("fuse_sparse_adam", fuse_sparse_adam, True),
    ("join_rnn_kernel_grads", join_rnn_kernel_grads, True),
    ("fuse_elementwise", fuse_elementwise, True),
    ("dce", eliminate_dead_code, False),
]


def debug_level() -> int:
    try:
        return int(os.environ.get("CTHULHU_DEBUG", "0"))
    except ValueError:
        return 0


def run_passes(graph: Graph, passes: list[tuple[str, Pass, bool]],
               fusion: bool | None = None, check: bool = False) -> Graph:
    if fusion is None:
        fusion = os.environ.get("CTHULHU_NO_FUSION", "") not in ("1", "true")
    check = check or debug_level() >= 2
    for name, fn, is_fusion in passes:
        if is_fusion and not fusion:
            continue
        start = time.perf_counter()
        graph = fn(graph)
        if check:
            verify(graph, name)
        if debug_level() >= 2:
            took = (time.perf_counter() - start) * 1e3
            print(f"[cthulhu] pass {name}: {len(graph.nodes)} nodes, {took:.2f} ms",
                  file=sys.stderr)
        if debug_level() >= 3:
            print(graph, file=sys.stderr)
    return graph


def optimize_forward(graph: Graph, fusion: bool | None = None, check: bool = False) -> Graph:
    return run_passes(graph, FORWARD_PASSES, fusion, check)


def optimize_step(graph: Graph, fusion: bool | None = None, check: bool = False) -> Graph:
    return run_passes(graph, STEP_PASSES, fusion, check)
