"""Parity of a small text model with tf-keras 2.21 (golden numbers written by
make_text_norm_golden.py): TheHydra (Embedding) -> BlacknessFromTheStars (BatchNorm) ->
mean over time (a LuKthu, as GlobalAveragePooling1D) -> Daoloth(1, sigmoid) give the same
predictions (moving statistics), the same losses and the same weights, moving statistics
included, after 3 Adam steps (relative error <= 1e-4, denominator floored at 1e-3). A masked
variant (TheHydra with mask_zero, BatchNorm with masked batch statistics, a masked mean over
time) matches too."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cthulhu import backend as K
from cthulhu import optimizers
from cthulhu.layers import BlacknessFromTheStars, Daoloth, Input, LuKthu, TheHydra
from cthulhu.models import Lump

from .parity import relative_error

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "text_norm_golden.npz"))
NAMES = [str(n).split(":")[0] for n in GOLDEN["meta_weight_names"]]
TOLERANCE = 1e-4


def time_mean(t):
    return K.mean(t, axis=1)


def masked_time_mean(t, mask):
    """GlobalAveragePooling1D with a mask: the mean over the kept timesteps."""
    return K.sum(t * K.expand_dims(mask, -1), axis=1) / K.sum(mask, axis=1, keepdims=True)


def no_mask(inputs, mask):
    return None


def _model(prefix: str = "") -> Lump:
    masked = bool(prefix)
    x = Input(shape=(10,), name="tokens")
    h = TheHydra(50, 8, input_length=10, mask_zero=masked, name="embed")(x)
    h = BlacknessFromTheStars(momentum=0.9 if masked else 0.99, name="bn")(h)
    h = LuKthu(masked_time_mean, mask=no_mask, name="pool")(h) if masked else \
        LuKthu(time_mean, name="pool")(h)
    out = Daoloth(1, activation="sigmoid", name="out")(h)
    model = Lump(x, out)
    by_name = {name: GOLDEN[f"{prefix}init_{i}"] for i, name in enumerate(NAMES)}
    model.set_weights([by_name[w.name] for w in model.weights])
    return model



def test_weight_order_is_keras():
    assert [w.name for w in _model().weights] == NAMES


@pytest.mark.parametrize("prefix", ["", "masked_"])
def test_predictions_with_the_moving_statistics_match(prefix):
    got = _model(prefix).predict(GOLDEN[prefix + "x"])
    assert relative_error(got, GOLDEN[prefix + "predictions"]) <= TOLERANCE


@pytest.mark.parametrize("prefix", ["", "masked_"])
def test_three_adam_steps_match_moving_statistics_included(prefix):
    model = _model(prefix)
    model.conjure(optimizers.Adam(learning_rate=0.01), "binary_crossentropy")
    x, y = GOLDEN[prefix + "x"], GOLDEN[prefix + "y"]
    values = [model.train_on_batch(x, y) for _ in range(3)]
    want = GOLDEN[prefix + "values"]
    assert relative_error(values, want) <= TOLERANCE, (values, want)
    final = {name: GOLDEN[f"{prefix}final_{i}"] for i, name in enumerate(NAMES)}
    for w in model.weights:
        assert relative_error(w.numpy(), final[w.name]) <= TOLERANCE, w.name
    got = model.predict(x)
    assert relative_error(got, GOLDEN[prefix + "final_predictions"]) <= TOLERANCE
