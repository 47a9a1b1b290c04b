"""Parity of a model of the core layers with tf-keras 2.21 (golden numbers written by
make_core_layers_golden.py): Masking with a temporal loss, PReLU, Reshape, Permute,
RepeatVector, Concatenate and an antirectifier LuKthu give the same predictions, the same
train_on_batch values and the same weights after 3 Adam steps (relative error <= 1e-4,
denominator floored at 1e-3)."""

from __future__ import annotations

import os

import numpy as np

from cthulhu import optimizers
from cthulhu.layers import (
    Azatoth,
    Concatenate,
    Daoloth,
    Input,
    LuKthu,
    Masking,
    Permute,
    PReLU,
    RepeatVector,
    Reshape,
)
from cthulhu.models import Lump

from ..api.test_lukthu_masking import antirectifier, antirectifier_output_shape
from .parity import relative_error

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "core_layers_golden.npz"))
NAMES = [str(n).split(":")[0] for n in GOLDEN["meta_weight_names"]]
TOLERANCE = 1e-4



def _model() -> Lump:
    seq = Input(shape=(5, 4), name="seq")
    vec = Input(shape=(6,), name="vec")
    m = Masking(0.0, name="mask")(seq)
    m = PReLU(name="prelu_seq")(m)
    v = Daoloth(12, activation="tanh", name="vec_dense")(vec)
    v = Reshape((3, 4), name="reshape_a")(v)
    v = Permute((2, 1), name="permute")(v)
    v = Reshape((12,), name="reshape_b")(v)
    v = LuKthu(antirectifier, output_shape=antirectifier_output_shape, name="antirectifier")(v)
    v = Daoloth(4, name="vec_dense2")(v)
    v = RepeatVector(5, name="repeat")(v)
    j = Concatenate(name="concat")([m, v])
    j = PReLU(shared_axes=[1], name="prelu_joint")(j)
    out = Azatoth("softmax", name="out")(j)
    model = Lump([seq, vec], out)
    by_name = {name: GOLDEN[f"init_{i}"] for i, name in enumerate(NAMES)}
    model.set_weights([by_name[w.name] for w in model.weights])
    return model



def test_predictions_match():
    model = _model()
    got = model.predict([GOLDEN["seq"], GOLDEN["vec"]])
    assert relative_error(got, GOLDEN["predictions"]) <= TOLERANCE


def test_three_adam_steps_with_a_masked_temporal_loss_match():
    model = _model()
    model.conjure(optimizers.Adam(learning_rate=0.01), "categorical_crossentropy",
                  metrics=["accuracy"], sample_weight_mode="temporal")
    assert model.metrics_names == ["loss", "accuracy"]
    x = [GOLDEN["seq"], GOLDEN["vec"]]
    values = [model.train_on_batch(x, GOLDEN["y"], sample_weight=GOLDEN["sw"])
              for _ in range(3)]
    assert relative_error(values, GOLDEN["values"]) <= TOLERANCE, (values, GOLDEN["values"])
    final = {name: GOLDEN[f"final_{i}"] for i, name in enumerate(NAMES)}
    for w in model.weights:
        assert relative_error(w.numpy(), final[w.name]) <= TOLERANCE, w.name
