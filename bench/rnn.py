"""Training-throughput benchmark W4, the Keras imdb_lstm shape: cthulhu against tf-keras.

Usage::

    python bench/rnn.py [--against keras] [--repeats 3] [--threads N] [--busy]

W4  integer sequences of length 80 -> TheHydra(20000, 128) -> Laldagorth(128,
    recurrent_activation="sigmoid") -> Daoloth(1, sigmoid); Adam(), binary_crossentropy,
    batch 32, 3,200 synthetic samples (token ids uniform in [1, 20000), random 0/1 labels).

recurrent_activation is given explicitly on both sides: Keras 2's default is hard_sigmoid,
tf-keras's is sigmoid. Each repeat times one ``summon``/``fit`` epoch (verbose=0) after a
warm-up epoch on a slice; the number reported is the median over the repeats, in training
samples per second. The measuring, the busy loop, the table and the backends'
set-up are bench/mlp.py's.
"""

import os
import sys
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlp  # noqa: E402
from mlp import (  # noqa: E402
    benchmark_parser,
    checked_args,
    measure_training,
    run_training_benchmark,
)

SEED = 0
# What mlp.measure_training reads (name, samples, batch_size), and the layer sizes.
W4 = SimpleNamespace(name="W4", samples=3_200, batch_size=32, length=80, vocabulary=20_000,
                     embedding=128, units=128)


def make_data():
    rng = np.random.default_rng(SEED)
    x = rng.integers(1, W4.vocabulary, size=(W4.samples, W4.length), dtype=np.int32)
    y = rng.integers(0, 2, size=(W4.samples, 1)).astype(np.float32)
    return x, y


def network(lib):
    """The W4 layers from a namespace holding Keras-named classes."""
    return [lib.Input(shape=(W4.length,)),
            lib.Embedding(W4.vocabulary, W4.embedding),
            lib.LSTM(W4.units, recurrent_activation="sigmoid"),
            lib.Dense(1, activation="sigmoid")]


class CthulhuBackend(mlp.CthulhuBackend):
    def __init__(self, threads=None):
        # This checkout's cthulhu, even where another one is installed.
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        super().__init__(threads)
        from cthulhu.layers import Daoloth, Input, Laldagorth, TheHydra
        self.lib = type("lib", (), dict(Input=Input, Embedding=TheHydra, LSTM=Laldagorth,
                                        Dense=Daoloth))

    def build(self, workload):
        model = self.Pile(network(self.lib))
        model.conjure(optimizer=self.cthulhu.optimizers.Adam(), loss="binary_crossentropy")
        return model


class KerasBackend(mlp.KerasBackend):
    def build(self, workload):
        model = self.keras.Sequential(network(
            type("lib", (), dict(vars(self.keras.layers), Input=self.keras.Input))))
        model.compile(optimizer=self.keras.optimizers.Adam(), loss="binary_crossentropy")
        return model


def parse_args(argv=None):
    return checked_args(benchmark_parser("imdb_lstm (W4) training throughput."), argv)


def main(argv=None):
    return run_training_benchmark(
        parse_args(argv), __doc__.split("\n\n")[3], make_data,
        {"cthulhu": CthulhuBackend, "keras": KerasBackend},
        lambda backend, x, y, repeats: measure_training(backend, W4, x, y, repeats))


if __name__ == "__main__":
    sys.exit(main())
