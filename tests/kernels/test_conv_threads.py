"""A convolution network's training step gives bit-identical results on 1 and 2 threads
(parts of the batch and chunks depend on the batch size only)."""

from __future__ import annotations

import numpy as np

import cthulhu
from cthulhu import layers
from cthulhu.models import Pile


def _train(threads: int) -> list:
    old = cthulhu.get_num_threads()
    cthulhu.set_num_threads(threads)
    try:
        np.random.seed(3)
        model = Pile([layers.Input(shape=(30, 30, 3)),
                      layers.Cthalpa2D(16, 3, padding="same", activation="relu"),
                      layers.Cthalpa2D(8, 3, strides=2, activation="tanh"),
                      layers.Flatten(), layers.Daoloth(2)])
        model.conjure("adam", "mse")
        rng = np.random.default_rng(0)
        x = rng.normal(size=(37, 30, 30, 3)).astype("float32")
        model.train_on_batch(x, rng.normal(size=(37, 2)).astype("float32"))
        return model.get_weights()
    finally:
        cthulhu.set_num_threads(old)


def test_conv_training_step_is_the_same_on_any_thread_count():
    for a, b in zip(_train(1), _train(2)):
        np.testing.assert_array_equal(a, b)
