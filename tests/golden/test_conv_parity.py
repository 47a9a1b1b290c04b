"""Parity of a small convolutional model with tf-keras 2.21 (golden numbers written by
make_conv_golden.py): Cthalpa2D (strides, 'same', dilation), Cthalpa1D ('causal' with
dilation, strides) and Cthalpa3D give the same predictions, losses and weights after 3 Adam
steps (relative error <= 1e-4, denominator floored at 1e-3)."""

from __future__ import annotations

import os

import numpy as np

from cthulhu import optimizers
from cthulhu.layers import Concatenate, Cthalpa1D, Cthalpa2D, Cthalpa3D, Daoloth, Flatten, Input
from cthulhu.models import Lump

from .parity import relative_error

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "conv_golden.npz"))
NAMES = [str(n).split(":")[0] for n in GOLDEN["meta_weight_names"]]
TOLERANCE = 1e-4


def _model() -> Lump:
    img = Input(shape=(9, 8, 2), name="img")
    seq = Input(shape=(10, 3), name="seq")
    vol = Input(shape=(4, 5, 3, 1), name="vol")
    a = Cthalpa2D(4, 3, strides=2, padding="same", activation="relu", name="c2a")(img)
    a = Cthalpa2D(3, (2, 3), dilation_rate=(2, 1), activation="tanh", name="c2b")(a)
    a = Flatten(name="fa")(a)
    s = Cthalpa1D(4, 3, padding="causal", dilation_rate=2, activation="tanh", name="c1a")(seq)
    s = Cthalpa1D(2, 2, strides=3, name="c1b")(s)
    s = Flatten(name="fs")(s)
    v = Cthalpa3D(2, 2, padding="same", strides=(2, 1, 1), activation="sigmoid", name="c3")(vol)
    v = Flatten(name="fv")(v)
    out = Daoloth(5, activation="softmax", name="out")(Concatenate(name="cat")([a, s, v]))
    model = Lump([img, seq, vol], out)
    by_name = {name: GOLDEN[f"init_{i}"] for i, name in enumerate(NAMES)}
    model.set_weights([by_name[w.name] for w in model.weights])
    return model



X = [GOLDEN["img"], GOLDEN["seq"], GOLDEN["vol"]]


def test_predictions_match():
    assert relative_error(_model().predict(X), GOLDEN["predictions"]) <= TOLERANCE


def test_three_adam_steps_match():
    model = _model()
    model.conjure(optimizers.Adam(learning_rate=0.01), "categorical_crossentropy")
    losses = [model.train_on_batch(X, GOLDEN["y"]) for _ in range(3)]
    assert relative_error(losses, GOLDEN["losses"]) <= TOLERANCE, (losses, GOLDEN["losses"])
    final = {name: GOLDEN[f"final_{i}"] for i, name in enumerate(NAMES)}
    for w in model.weights:
        assert relative_error(w.numpy(), final[w.name]) <= TOLERANCE, w.name
