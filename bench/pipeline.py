"""Training throughput when a Sequence's ``__getitem__`` is the bottleneck: cthulhu with
workers=0, 2 thread workers and 2 process workers, optionally against tf-keras.

Usage::

    python bench/pipeline.py [--against keras] [--repeats 3] [--batches 200]
                             [--work-ms 5] [--epochs 2] [--threads N]

The model is the W1 workload of bench/mlp.py (784-512-512-10, Adam, batch 128). The
Sequence holds 60,000 synthetic images; each ``__getitem__`` gathers 128 of them and
augments them with numpy (random shifts, noise, contrast), repeated until one batch costs
about ``--work-ms`` milliseconds of CPU in this process (calibrated once, then the same
work everywhere). Each repeat times one whole ``summon``/``fit`` call of ``--epochs``
epochs of ``--batches`` batches, worker start-up included; the figure is the median over
the repeats, in training samples per second.
"""

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp import WORKLOADS, CthulhuBackend, KerasBackend, check_keras_installed  # noqa: E402

try:
    import cthulhu.utils
except ImportError:  # not installed: use the checkout this script lives in
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import cthulhu.utils

SEED = 0
SETTINGS = [("workers=0", 0, False), ("2 threads", 2, False), ("2 processes", 2, True)]


class Augmented:
    """The data and the per-batch work; mixed into each framework's Sequence class."""

    def __init__(self, x, y, batch_size, batches, reps):
        self.x, self.y = x, y
        self.batch_size, self.batches, self.reps = batch_size, batches, reps

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        rng = np.random.default_rng(index)
        rows = rng.integers(0, len(self.x), self.batch_size)
        images = self.x[rows].reshape(-1, 28, 28)
        for _ in range(self.reps):
            shifted = np.roll(images, tuple(rng.integers(-2, 3, 2)), axis=(1, 2))
            noisy = shifted + rng.normal(0.0, 0.1, shifted.shape).astype(np.float32)
            images = np.clip(noisy * rng.uniform(0.9, 1.1), -3.0, 3.0).astype(np.float32)
        return images.reshape(len(rows), -1), self.y[rows]


def _spin_numpy(n=1500):
    a = np.random.default_rng(0).standard_normal((128, 784)).astype(np.float32)
    start = time.perf_counter()
    for _ in range(n):
        a = np.clip(a * 1.01 + 0.1, -3.0, 3.0)
    return time.perf_counter() - start


def _timed_spin(go, results):
    go.wait()
    results.put(_spin_numpy())


def available_parallelism():
    """Two processes doing the same numpy work at once, against one alone: ~2 on a quiet
    2-core machine, ~1 when other jobs hold the cores (extra workers cannot help then)."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    alone = _spin_numpy()
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_timed_spin, args=(go, results)) for _ in range(2)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # both started and waiting
    go.set()
    together = max(results.get(timeout=120) for _ in procs)
    for p in procs:
        p.join()
    return 2 * alone / together


def _batch_ms(data):
    data[0]
    start = time.perf_counter()
    for i in range(10):
        data[i]
    return (time.perf_counter() - start) / 10 * 1e3


def calibrate(data, target_ms):
    """Repetitions of the augmentation that make one batch cost about target_ms (a second
    pass corrects for the gather every batch does once, whatever the repetitions)."""
    data.reps = 1
    for _ in range(2):
        data.reps = max(1, round(data.reps * target_ms / _batch_ms(data)))
    return data.reps, _batch_ms(data)


class CthulhuAugmented(Augmented, cthulhu.utils.Sequence):
    """Module level: worker processes (forkserver/spawn) import it by name."""


def keras_sequence():
    import tf_keras  # only now: TensorFlow's threads stay out of cthulhu's runs

    class KerasAugmented(Augmented, tf_keras.utils.Sequence):
        pass  # tf-keras forks its workers: the class needs no importable name

    return KerasAugmented


def run(name, backend, seq_class, x, y, args, reps):
    workload = WORKLOADS["W1"]
    model = backend.build(workload)
    fit = model.summon if name == "cthulhu" else model.fit
    results = {}
    warm = seq_class(x, y, workload.batch_size, 10, reps)
    fit(warm, epochs=1, verbose=0, workers=1)
    for label, workers, processes in SETTINGS:
        if workers == 0 and name == "keras":
            continue  # tf-keras rejects workers=0 ("Expected workers to be positive")
        seq = seq_class(x, y, workload.batch_size, args.batches, reps)
        rates = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fit(seq, epochs=args.epochs, verbose=0, workers=workers,
                use_multiprocessing=processes, max_queue_size=10)
            seconds = time.perf_counter() - start
            rates.append(args.epochs * args.batches * workload.batch_size / seconds)
        results[label] = statistics.median(rates)
        print("  %-8s %-12s %s samples/s" % (name, label, ", ".join("%.0f" % r for r in rates)),
              flush=True)
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Sequence pipeline throughput benchmark.")
    parser.add_argument("--against", choices=["keras"], default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, default=200, help="batches per epoch")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed call")
    parser.add_argument("--work-ms", type=float, default=5.0,
                        help="CPU milliseconds of augmentation per batch")
    parser.add_argument("--threads", type=int, default=None,
                        help="thread count for cthulhu and TensorFlow (default: theirs)")
    args = parser.parse_args(argv)
    if min(args.repeats, args.batches, args.epochs, args.threads or 1) < 1 or \
            args.work_ms <= 0:
        parser.error("--repeats, --batches, --epochs and --work-ms must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.against:
        check_keras_installed()
    workload = WORKLOADS["W1"]
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((workload.samples, workload.inputs), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, workload.samples)]
    reps, ms = calibrate(Augmented(x, y, workload.batch_size, 10, 1), args.work_ms)
    print("parallelism available now (2 processes vs 1): %.2fx" % available_parallelism())
    print("python %s, numpy %s, %s cpus; W1, batch %d; __getitem__: %d augmentation passes, "
          "%.1f ms per batch; %d epochs x %d batches per timed call, repeats=%d" % (
              platform.python_version(), np.__version__, os.cpu_count(),
              workload.batch_size, reps, ms, args.epochs, args.batches, args.repeats),
          flush=True)
    results = {"cthulhu": run("cthulhu", CthulhuBackend(args.threads), CthulhuAugmented, x, y, args,
                              reps)}
    if args.against:
        results["keras"] = run("keras", KerasBackend(args.threads), keras_sequence(), x, y,
                               args, reps)
    print()
    print("%-14s %12s %12s %8s" % ("setting", "cthulhu", "keras", "ratio"))
    for label, _, _ in SETTINGS:
        c = results["cthulhu"][label]
        k = results.get("keras", {}).get(label)
        print("%-14s %12.0f %12s %8s" % (label, c, "-" if k is None else "%.0f" % k,
                                         "-" if k is None else "%.2f" % (c / k)))
    base = results["cthulhu"]["workers=0"]
    if args.against:
        print("tf-keras 2.21 rejects workers=0, so its first row is empty.")
    print("cthulhu speed-up over workers=0: 2 threads %.2fx, 2 processes %.2fx" % (
        results["cthulhu"]["2 threads"] / base, results["cthulhu"]["2 processes"] / base))
    print("parallelism available at the end: %.2fx" % available_parallelism())
    return 0


if __name__ == "__main__":
    sys.exit(main())
