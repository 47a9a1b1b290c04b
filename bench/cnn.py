"""Training-throughput benchmark W3, the Keras mnist_cnn network: cthulhu against tf-keras.

Usage::

    python bench/cnn.py [--against keras] [--repeats 3] [--threads N] [--busy]

W3  28x28x1 -> Cthalpa2D(32, 3x3, relu) -> Cthalpa2D(64, 3x3, relu) -> Mlandoth2D(2x2)
    -> Darkness(0.25) -> Flatten -> Daoloth(128, relu) -> Darkness(0.5)
    -> Daoloth(10, softmax); Adam(), categorical_crossentropy, batch 128, 6,000 synthetic
    samples (standard normal images, random one-hot labels).

While cthulhu has no Mlandoth2D (MaxPooling2D), the cthulhu side measures the network
WITHOUT the pooling layer (Flatten then sees 24x24x64) and says so in its output; the keras
side then measures both networks, so the ratio is always like for like. Each repeat times
one ``summon``/``fit`` epoch (verbose=0) after a warm-up epoch on a slice; the number
reported is the median over the repeats, in training samples per second.
"""

import argparse
import os
import platform
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp import check_keras_installed, start_busy_process, stop_busy_process, time_call  # noqa: E402

SEED = 0
SAMPLES = 6_000
BATCH = 128
WARMUP_SAMPLES = 5 * BATCH + SAMPLES % BATCH
FLOPS_PER_SAMPLE = 72e6  # forward + backward multiply-adds x 2, the two convolutions


def make_data():
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((SAMPLES, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=SAMPLES)]
    return x, y


def network(lib, pooling):
    """The W3 layers from a namespace holding Keras-named classes."""
    layers = [lib.Input(shape=(28, 28, 1)),
              lib.Conv2D(32, (3, 3), activation="relu"),
              lib.Conv2D(64, (3, 3), activation="relu")]
    if pooling:
        layers.append(lib.MaxPooling2D((2, 2)))
    return layers + [lib.Dropout(0.25), lib.Flatten(), lib.Dense(128, activation="relu"),
                     lib.Dropout(0.5), lib.Dense(10, activation="softmax")]


class CthulhuBackend:
    name = "cthulhu"

    def __init__(self, threads=None):
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        import cthulhu
        from cthulhu import layers
        if threads:
            cthulhu.set_num_threads(threads)
        self.cthulhu = cthulhu
        # The Cthulhu names, under the Keras names network() uses.
        self.has_pooling = hasattr(layers, "Mlandoth2D")
        self.layers = type("lib", (), dict(
            Input=layers.Input, Conv2D=layers.Cthalpa2D, Dropout=layers.Darkness,
            Flatten=layers.Flatten, Dense=layers.Daoloth,
            MaxPooling2D=getattr(layers, "Mlandoth2D", None)))
        self.version = getattr(cthulhu, "__version__", "?")

    def build(self, pooling):
        from cthulhu.models import Pile
        model = Pile(network(self.layers, pooling))
        model.conjure(optimizer=self.cthulhu.optimizers.Adam(), loss="categorical_crossentropy")
        return model

    def train_epoch(self, model, x, y):
        model.summon(x, y, batch_size=BATCH, epochs=1, verbose=0)


class KerasBackend:
    name = "keras"

    def __init__(self, threads=None):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
        import tf_keras
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf_keras.utils.set_random_seed(SEED)
        self.keras = tf_keras
        self.layers = type("lib", (), dict(vars(tf_keras.layers), Input=tf_keras.Input))
        self.version = "tf_keras %s, tensorflow %s" % (tf_keras.__version__, tf.__version__)

    def build(self, pooling):
        model = self.keras.Sequential(network(self.layers, pooling))
        model.compile(optimizer=self.keras.optimizers.Adam(), loss="categorical_crossentropy")
        return model

    def train_epoch(self, model, x, y):
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)


def measure(backend, pooling, x, y, repeats):
    model = backend.build(pooling)
    backend.train_epoch(model, x[:WARMUP_SAMPLES], y[:WARMUP_SAMPLES])
    rates = [len(x) / time_call(backend.train_epoch, model, x, y) for _ in range(repeats)]
    return statistics.median(rates), rates


def label(pooling):
    return "W3" if pooling else "W3 without pooling"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="mnist_cnn (W3) training throughput.")
    parser.add_argument("--against", choices=["keras"], default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--busy", action="store_true",
                        help="run one busy-loop process during the measurements")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.against:
        check_keras_installed()
    print("python %s, numpy %s, %s cpus, threads=%s, busy=%s, repeats=%d" % (
        platform.python_version(), np.__version__, os.cpu_count(), args.threads or "default",
        args.busy, args.repeats))
    print(__doc__.split("\n\n")[3].strip())
    x, y = make_data()
    busy = start_busy_process() if args.busy else None
    results = {}
    try:
        cth = CthulhuBackend(args.threads)
        variants = [True] if cth.has_pooling else [False]
        if not cth.has_pooling:
            print("NOTE: cthulhu has no Mlandoth2D yet: measuring W3 WITHOUT the pooling "
                  "layer on both sides")
        print("cthulhu: %s" % cth.version, flush=True)
        for pooling in variants:
            results[("cthulhu", pooling)] = measure(cth, pooling, x, y, args.repeats)
            print("  cthulhu %s: %s samples/s" % (label(pooling), ", ".join(
                "%.0f" % r for r in results[("cthulhu", pooling)][1])), flush=True)
        if args.against:
            ker = KerasBackend(args.threads)
            print("keras: %s" % ker.version, flush=True)
            for pooling in sorted({True} | set(variants), reverse=True):
                results[("keras", pooling)] = measure(ker, pooling, x, y, args.repeats)
                print("  keras   %s: %s samples/s" % (label(pooling), ", ".join(
                    "%.0f" % r for r in results[("keras", pooling)][1])), flush=True)
    finally:
        stop_busy_process(busy)
    print()
    print("%-28s %12s %12s %8s" % ("workload (samples/s)", "cthulhu", "keras", "ratio"))
    for pooling in (True, False):
        c = results.get(("cthulhu", pooling), (None,))[0]
        k = results.get(("keras", pooling), (None,))[0]
        if c is None and k is None:
            continue
        ratio = "%.2f" % (c / k) if c and k else "-"
        print("%-28s %12s %12s %8s" % (label(pooling), "%.0f" % c if c else "-",
                                       "%.0f" % k if k else "-", ratio))
    print("ratio > 1 means cthulhu is faster.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
