"""Training-throughput benchmark W3, the Keras mnist_cnn network: cthulhu against tf-keras.

Usage::

    python bench/cnn.py [--against keras] [--repeats 3] [--threads N] [--busy]
                        [--only cthulhu|keras]

W3  28x28x1 -> Cthalpa2D(32, 3x3, relu) -> Cthalpa2D(64, 3x3, relu) -> Mlandoth2D(2x2)
    -> Darkness(0.25) -> Flatten -> Daoloth(128, relu) -> Darkness(0.5)
    -> Daoloth(10, softmax); Adam(), categorical_crossentropy, batch 128, 6,000 synthetic
    samples (standard normal images, random one-hot labels).

Each repeat times one ``summon``/``fit`` epoch (verbose=0) after a warm-up epoch on a
slice; the number reported is the median over the repeats, in training samples per second.
"""

import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp import (  # noqa: E402
    benchmark_parser,
    checked_args,
    run_training_benchmark,
    time_call,
)

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


def network(lib):
    """The W3 layers from a namespace holding Keras-named classes."""
    return [lib.Input(shape=(28, 28, 1)), lib.Conv2D(32, (3, 3), activation="relu"),
            lib.Conv2D(64, (3, 3), activation="relu"), lib.MaxPooling2D((2, 2)),
            lib.Dropout(0.25), lib.Flatten(), lib.Dense(128, activation="relu"),
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
        self.layers = type("lib", (), dict(
            Input=layers.Input, Conv2D=layers.Cthalpa2D, Dropout=layers.Darkness,
            Flatten=layers.Flatten, Dense=layers.Daoloth, MaxPooling2D=layers.Mlandoth2D))
        self.version = getattr(cthulhu, "__version__", "?")

    def build(self):
        from cthulhu.models import Pile
        model = Pile(network(self.layers))
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

    def build(self):
        model = self.keras.Sequential(network(self.layers))
        model.compile(optimizer=self.keras.optimizers.Adam(), loss="categorical_crossentropy")
        return model

    def train_epoch(self, model, x, y):
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)


def measure(backend, x, y, repeats):
    model = backend.build()
    backend.train_epoch(model, x[:WARMUP_SAMPLES], y[:WARMUP_SAMPLES])
    rates = [len(x) / time_call(backend.train_epoch, model, x, y) for _ in range(repeats)]
    return statistics.median(rates), rates


def parse_args(argv=None):
    return checked_args(benchmark_parser("mnist_cnn (W3) training throughput."), argv)


def main(argv=None):
    return run_training_benchmark(parse_args(argv), __doc__.split("\n\n")[3], make_data,
                                  {"cthulhu": CthulhuBackend, "keras": KerasBackend}, measure)


if __name__ == "__main__":
    sys.exit(main())
