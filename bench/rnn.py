"""Training-throughput benchmark W4, the Keras imdb_lstm shape: cthulhu against tf-keras.

Usage::

    python bench/rnn.py [--against keras] [--repeats 3] [--threads N] [--busy]

W4  integer sequences of length 80 -> TheHydra(20000, 128) -> Laldagorth(128,
    recurrent_activation="sigmoid") -> Daoloth(1, sigmoid); Adam(), binary_crossentropy,
    batch 32, 3,200 synthetic samples (token ids uniform in [1, 20000), random 0/1 labels).

recurrent_activation is given explicitly on both sides: Keras 2's default is hard_sigmoid,
tf-keras's is sigmoid. Each repeat times one ``summon``/``fit`` epoch (verbose=0) after a
warm-up epoch on a slice; the number reported is the median over the repeats, in training
samples per second. The measuring, the busy loop and the table are bench/mlp.py's.
"""

import argparse
import os
import platform
import sys
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp import (  # noqa: E402
    check_keras_installed,
    make_backend,
    measure_training,
    print_table,
    selected_backends,
    start_busy_process,
    stop_busy_process,
)

SEED = 0
W4 = SimpleNamespace(name="W4", samples=3_200, batch_size=32, length=80, vocabulary=20_000,
                     embedding=128, units=128)


def make_data():
    rng = np.random.default_rng(SEED)
    x = rng.integers(1, W4.vocabulary, size=(W4.samples, W4.length), dtype=np.int32)
    y = rng.integers(0, 2, size=(W4.samples, 1)).astype(np.float32)
    return x, y


class CthulhuBackend:
    name = "cthulhu"

    def __init__(self, threads=None):
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        import cthulhu
        import cthulhu.optimizers  # noqa: F401  (make sure the submodule is loaded)
        from cthulhu.layers import Daoloth, Laldagorth, TheHydra
        from cthulhu.models import Pile
        if threads:
            cthulhu.set_num_threads(threads)
        self.cthulhu = cthulhu
        self.Pile, self.TheHydra, self.Laldagorth, self.Daoloth = (
            Pile, TheHydra, Laldagorth, Daoloth)
        self.version = getattr(cthulhu, "__version__", "?")

    def build(self, workload):
        model = self.Pile([
            self.TheHydra(workload.vocabulary, workload.embedding,
                          input_shape=(workload.length,)),
            self.Laldagorth(workload.units, recurrent_activation="sigmoid"),
            self.Daoloth(1, activation="sigmoid")])
        model.conjure(optimizer=self.cthulhu.optimizers.Adam(), loss="binary_crossentropy")
        return model

    def train_epoch(self, model, x, y, batch_size):
        model.summon(x, y, batch_size=batch_size, epochs=1, verbose=0)


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
        self.version = "tf_keras %s, tensorflow %s" % (tf_keras.__version__, tf.__version__)

    def build(self, workload):
        layers = self.keras.layers
        model = self.keras.Sequential([
            self.keras.Input(shape=(workload.length,), dtype="int32"),
            layers.Embedding(workload.vocabulary, workload.embedding),
            layers.LSTM(workload.units, recurrent_activation="sigmoid"),
            layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=self.keras.optimizers.Adam(), loss="binary_crossentropy")
        return model

    def train_epoch(self, model, x, y, batch_size):
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="imdb_lstm (W4) training throughput.")
    parser.add_argument("--against", choices=["keras"], default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--busy", action="store_true",
                        help="run one busy-loop process during the measurements")
    # Run only one side (the tf-keras figure before cthulhu has the layer, say).
    parser.add_argument("--only", choices=["cthulhu", "keras"], default=None)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    backend_names = selected_backends(args)
    if "keras" in backend_names:
        check_keras_installed()
    print("python %s, numpy %s, %s cpus, threads=%s, busy=%s, repeats=%d" % (
        platform.python_version(), np.__version__, os.cpu_count(), args.threads or "default",
        args.busy, args.repeats))
    print(__doc__.split("\n\n")[3].strip())
    x, y = make_data()
    busy = start_busy_process() if args.busy else None
    results = {}
    try:
        for name in backend_names:
            # Imported in turn, so TensorFlow's threads are not around during cthulhu's runs.
            backend = make_backend({"cthulhu": CthulhuBackend, "keras": KerasBackend}[name],
                                   args.threads)
            print("%s: %s" % (backend.name, backend.version), flush=True)
            rates = measure_training(backend, W4, x, y, args.repeats)
            results[name] = {"W4": rates}
            print("  %-8s W4 train: %s samples/s" % (
                name, ", ".join("%.0f" % r for r in rates[1])), flush=True)
    finally:
        stop_busy_process(busy)
    print_table(results, ["W4"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
