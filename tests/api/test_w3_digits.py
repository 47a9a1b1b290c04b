"""The W3 network (Keras's mnist_cnn, as in bench/cnn.py) learns the bundled digits, each
8x8 image upsampled 3x and padded to 28x28, to at least 97% test accuracy (about 13 s)."""

from __future__ import annotations

import numpy as np

from cthulhu.datasets import digits
from cthulhu.layers import Cthalpa2D, Daoloth, Darkness, Flatten, Mlandoth2D
from cthulhu.models import Pile
from cthulhu.utils import to_categorical


def _as_28x28(images: np.ndarray) -> np.ndarray:
    scaled = (images.astype("float32") / 16.0).reshape(-1, 8, 8)
    upsampled = np.kron(scaled, np.ones((3, 3), "float32"))  # 24x24
    return np.pad(upsampled, ((0, 0), (2, 2), (2, 2)))[..., None]


def test_w3_learns_the_digits():
    (x, y), (x_test, y_test) = digits.load_data()
    x, x_test = _as_28x28(x), _as_28x28(x_test)
    np.random.seed(0)  # weights, dropout seeds and shuffling: a fixed run
    model = Pile([Cthalpa2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
                  Cthalpa2D(64, (3, 3), activation="relu"), Mlandoth2D((2, 2)),
                  Darkness(0.25), Flatten(), Daoloth(128, activation="relu"), Darkness(0.5),
                  Daoloth(10, activation="softmax")])
    model.conjure("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.summon(x, to_categorical(y, 10), batch_size=32, epochs=8, verbose=0)
    _, accuracy = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
    assert accuracy >= 0.97, accuracy
