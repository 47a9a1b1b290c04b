"""The two convolution methods of cthulhu/_kernels/conv.pyx, per shape class: direct
(register tiles reading the input in place) against im2col + GEMM, for the forward, the input
gradient and the kernel gradient, wherever both can run. (compiler/ops/conv.py picks the
direct method only where these measurements found it faster.)

Usage::

    python bench/conv_methods.py [--threads 1] [--repeats 9] [--batch 64]

Each op is compiled alone into a plan (compiler/plan.py) for float32, run once to warm up,
then timed ``--repeats`` times per method; the figure is the fastest run (the least disturbed
by other processes on a shared machine), in ms and GFLOP/s (2 x multiply-adds). With one
thread the time is the thread's CPU time, which other processes cannot inflate by taking
the core away.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cthulhu  # noqa: E402
from compiler.ops import conv as conv_ops  # noqa: E402
from compiler.ops.conv import direct_scratch, out_size  # noqa: E402
from compiler.plan import Plan  # noqa: E402
from cthulhu._kernels import conv as conv_kernels  # noqa: E402
from tests.compiler.harness import op_graph  # noqa: E402

# name, input spatial shape + (C,), kernel, F, strides, pads
SHAPES = [
    ("W3 conv1, C=1", (28, 28, 1), (3, 3), 32, (1, 1), ((0, 0), (0, 0))),
    ("W3 conv2, 32->64", (26, 26, 32), (3, 3), 64, (1, 1), ((0, 0), (0, 0))),
    ("3x3 same, 128->128", (14, 14, 128), (3, 3), 128, (1, 1), ((1, 1), (1, 1))),
    ("3x3 stride 2, 64->128", (28, 28, 64), (3, 3), 128, (2, 2), ((0, 1), (0, 1))),
    ("1x1, 256->256", (14, 14, 256), (1, 1), 256, (1, 1), ((0, 0), (0, 0))),
    ("1-D text, k=5, 128->128", (100, 128), (5,), 128, (1,), ((0, 0),)),
]


def timed(plan, rows, repeats, clock):
    plan.run(rows)
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        plan.run(rows)
        best = min(best, clock() - start)
    return best


def measure(name, spatial_c, kernel, filters, strides, pads, batch, repeats, clock):
    attrs = {"strides": strides, "dilation": (1,) * len(kernel), "pads": pads}
    channels = spatial_c[-1]
    out = tuple(out_size(s, k, st, 1, p)
                for s, k, st, p in zip(spatial_c[:-1], kernel, strides, pads))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch,) + spatial_c).astype(np.float32)
    w = rng.normal(size=kernel + (channels, filters)).astype(np.float32)
    g = rng.normal(size=(batch,) + out + (filters,)).astype(np.float32)
    flops = 2 * batch * int(np.prod(out)) * int(np.prod(kernel)) * channels * filters
    ops = [("forward", "conv", [x, w], {**attrs, "fn": "relu"}, [0]),
           ("input grad", "conv_input_grad", [g, w], {**attrs, "in_shape": spatial_c[:-1]},
            [0]),
           ("kernel grad", "conv_kernel_grad", [x, g], {**attrs, "kernel_size": kernel},
            [0, 1])]
    for mode, (label, op, arrays, op_attrs, batched) in enumerate(ops):
        if direct_scratch(attrs, spatial_c[:-1], kernel, channels, filters, "float32",
                          mode) is None:
            print(f"| {name} | {label} | (cannot run) | | |")
            continue
        graph, _, _ = op_graph(op, arrays, op_attrs, batched, "float32")
        plan = Plan(graph, [], capacity=batch)
        for buf, array in zip(plan.inputs, arrays):
            buf[...] = array
        times = []
        for direct in (True, False):
            conv_kernels.set_direct_enabled(direct)
            times.append(timed(plan, batch, repeats, clock))
        conv_kernels.set_direct_enabled(True)
        direct_ms, im2col_ms = (t * 1e3 for t in times)
        print(f"| {name} | {label} | {direct_ms:.2f} ({flops / times[0] / 1e9:.0f}) | "
              f"{im2col_ms:.2f} ({flops / times[1] / 1e9:.0f}) | "
              f"{im2col_ms / direct_ms:.2f}x |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args(argv)
    if not conv_kernels.direct_available():
        print("this CPU has no AVX2/FMA: only the im2col method runs here", file=sys.stderr)
        return 2
    cthulhu.set_num_threads(args.threads)
    conv_ops.DIRECT_ONLY_WHERE_FASTER = False   # compare the methods wherever both can run
    clock = time.thread_time if args.threads == 1 else time.perf_counter
    print(f"batch {args.batch}, {args.threads} thread(s), fastest of {args.repeats}; "
          f"ms (GFLOP/s)")
    print("| shape | op | direct | im2col + GEMM | direct speed-up |")
    print("|---|---|---|---|---|")
    for shape in SHAPES:
        measure(*shape, batch=args.batch, repeats=args.repeats, clock=clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
