"""Parity of masked recurrent models with tf-keras 2.21 (golden numbers written by
make_rnn_golden.py): TheHydra(mask_zero) -> Laldagorth -> Daoloth, Masking -> Groth
(reset_after False and True) -> temporal Daoloth / TimeDistributed, and Masking ->
Bidirectional(ShabithKa) in the merge modes concat, sum, ave and mul give, from the same
initial weights, the same predictions, the same loss at each of 3 Adam steps and the same
weights after them (relative error <= 1e-4, denominator floored at 1e-3). Padding sits at
the start, the end and the middle of rows, so a mask handled wrongly anywhere shows."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cthulhu import optimizers
from cthulhu.layers import (
    Bidirectional,
    Daoloth,
    Groth,
    Laldagorth,
    Masking,
    ShabithKa,
    TheHydra,
    TimeDistributed,
)
from cthulhu.models import Pile

from .parity import relative_error

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "rnn_golden.npz"))
TOLERANCE = 1e-4


def _lstm(recurrent_activation):
    return Pile([TheHydra(20, 6, mask_zero=True, input_shape=(7,), name="emb"),
                 Laldagorth(5, recurrent_activation=recurrent_activation, name="lstm"),
                 Daoloth(1, activation="sigmoid", name="out")]), "binary_crossentropy"


def _gru(reset_after, recurrent_activation, time_distributed):
    dense = Daoloth(2, name="out")
    return Pile([Masking(0.0, input_shape=(6, 3), name="masking"),
                 Groth(4, return_sequences=True, reset_after=reset_after,
                       recurrent_activation=recurrent_activation, name="gru"),
                 TimeDistributed(dense, name="td") if time_distributed else dense]), "mse"


def _bidi(merge_mode):
    return Pile([Masking(0.0, input_shape=(6, 3), name="masking"),
                 Bidirectional(ShabithKa(3, return_sequences=True, name="rnn"),
                               merge_mode=merge_mode, name="bidi"),
                 Daoloth(2, name="out")]), "mse"


# The same models as make_rnn_golden.py, with recurrent_activation always given (Keras 2's
# and tf-keras's defaults differ).
MODELS = {
    "lstm": lambda: _lstm("hard_sigmoid"),
    "lstm_sigmoid": lambda: _lstm("sigmoid"),
    "gru_v1": lambda: _gru(False, "hard_sigmoid", False),
    "gru_v3": lambda: _gru(True, "sigmoid", True),
    **{f"bidi_{mode}": (lambda mode=mode: _bidi(mode))
       for mode in ("concat", "sum", "ave", "mul")},
}


def _golden(name, key):
    return GOLDEN[f"{name}_{key}"]


def _weights(name, stage):
    count = len(_golden(name, "weight_names"))
    return [_golden(name, f"{stage}_{i}") for i in range(count)]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_recurrent_model_matches_over_three_adam_steps(name):
    model, loss = MODELS[name]()
    init = _weights(name, "init")
    # Keras's weight order (kernel, recurrent_kernel, bias; forward then backward layer):
    # the shapes must agree one by one before the values are set.
    assert [tuple(w.shape) for w in model.get_weights()] == [w.shape for w in init]
    model.set_weights(init)
    x, y = _golden(name, "x"), _golden(name, "y")
    error = relative_error(model.predict(x), _golden(name, "predictions"))
    assert error <= TOLERANCE, f"predictions: relative error {error:.3g}"
    model.conjure(optimizers.Adam(0.01), loss)
    values = [float(model.train_on_batch(x, y)) for _ in range(3)]
    assert relative_error(values, _golden(name, "values")) <= TOLERANCE, (
        values, _golden(name, "values"))
    names = [str(n) for n in _golden(name, "weight_names")]
    for got, want, weight in zip(model.get_weights(), _weights(name, "final"), names):
        error = relative_error(got, want)
        assert error <= TOLERANCE, f"{weight} after 3 steps: relative error {error:.3g}"
