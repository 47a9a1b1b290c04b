"""Parity of the W3 network (Keras's mnist_cnn, bench/cnn.py) with tf-keras 2.21, golden
numbers written by make_w3_golden.py: with the same (numpy-drawn) weights, the same
predictions, the same losses over 3 Adam steps and the same weights after them (relative
error <= 1e-4, denominator floored at 1e-3; weights compared by their sums and 200 sampled
entries each). The Darkness rates are 0: dropout masks cannot match across libraries."""

from __future__ import annotations

import os

import numpy as np

from cthulhu import optimizers
from cthulhu.layers import Cthalpa2D, Daoloth, Darkness, Flatten, Mlandoth2D
from cthulhu.models import Pile

from .parity import relative_error
from .w3_weights import SEED, init_weights

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "w3_golden.npz"))
TOLERANCE = 1e-4



def _w3() -> Pile:
    model = Pile([
        Cthalpa2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        Cthalpa2D(64, (3, 3), activation="relu"),
        Mlandoth2D((2, 2)),
        Darkness(0.0),
        Flatten(),
        Daoloth(128, activation="relu"),
        Darkness(0.0),
        Daoloth(10, activation="softmax")])
    rng = np.random.default_rng(SEED)
    rng.standard_normal((16, 28, 28, 1))  # the data draws come first in the make script
    rng.integers(0, 10, size=16)
    model.set_weights(init_weights(rng))
    return model


def test_w3_predictions_steps_and_weights_match():
    model = _w3()
    assert relative_error(model.predict(GOLDEN["x"]), GOLDEN["predictions"]) <= TOLERANCE
    model.conjure(optimizers.Adam(0.001), "categorical_crossentropy")
    losses = [model.train_on_batch(GOLDEN["x"], GOLDEN["y"]) for _ in range(3)]
    assert relative_error(losses, GOLDEN["losses"]) <= TOLERANCE, (losses, GOLDEN["losses"])
    for i, w in enumerate(model.get_weights()):
        flat = w.astype(np.float64).ravel()
        assert relative_error(flat[GOLDEN[f"final_idx_{i}"]], GOLDEN[f"final_val_{i}"]) \
            <= TOLERANCE, i
        sums = [flat.sum(), (flat * flat).sum()]
        assert relative_error(sums, GOLDEN[f"final_sum_{i}"]) <= 1e-3, i
