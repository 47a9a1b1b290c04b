"""Parity of a 1D-convolution text model with tf-keras 2.21 (golden numbers written by
make_text_conv_golden.py): TheHydra -> Cthalpa1D -> BlacknessFromTheStars ->
GhrothMlandoth1D -> Daoloth give the same predictions, the same train_on_batch values and the
same weights (moving statistics included) after 3 Adam steps (relative error <= 1e-4,
denominator floored at 1e-3)."""

from __future__ import annotations

import os

import numpy as np

from cthulhu import optimizers
from cthulhu.layers import BlacknessFromTheStars, Cthalpa1D, Daoloth, GhrothMlandoth1D, TheHydra
from cthulhu.models import Pile

from .parity import relative_error

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "text_conv_golden.npz"))
NAMES = [str(n).split(":")[0] for n in GOLDEN["meta_weight_names"]]
TOLERANCE = 1e-4



def _model() -> Pile:
    model = Pile([TheHydra(40, 8, input_length=12, name="emb", input_shape=(12,)),
                  Cthalpa1D(6, 3, activation="relu", name="conv"),
                  BlacknessFromTheStars(name="bn"),
                  GhrothMlandoth1D(name="pool"),
                  Daoloth(1, activation="sigmoid", name="out")])
    init = {name: GOLDEN[f"init_{i}"] for i, name in enumerate(NAMES)}
    model.set_weights([init[w.name] for w in model.weights])
    return model


def test_text_conv_model_matches_over_three_adam_steps():
    model = _model()
    assert relative_error(model.predict(GOLDEN["x"]), GOLDEN["predictions"]) <= TOLERANCE
    model.conjure(optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    values = [model.train_on_batch(GOLDEN["x"], GOLDEN["y"]) for _ in range(3)]
    assert relative_error(values, GOLDEN["values"]) <= TOLERANCE, (values, GOLDEN["values"])
    final = {name: GOLDEN[f"final_{i}"] for i, name in enumerate(NAMES)}
    for w in model.weights:
        assert relative_error(w.numpy(), final[w.name]) <= TOLERANCE, w.name
