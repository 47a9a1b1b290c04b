"""Recurrent layers in Keras files, both ways.

- rnn.h5, written by tf-keras 2.21 (make_keras_files.py): Embedding(mask_zero) ->
  LSTM(return_sequences) -> GRU(reset_after=True) -> Dense, with Adam's state after one step,
  loads into cthulhu as TheHydra -> Laldagorth -> Groth -> Daoloth with tf-keras's weights,
  predictions and recurrent_activation, and two more steps from the saved state give
  tf-keras's weights.
- Models cthulhu saves with these layers (and Masking -> Bidirectional(ShabithKa) -> Groth
  going backwards) load into tf-keras (whole model, and weights into the JSON architecture)
  with cthulhu's predictions and optimizer state, and tf-keras's own re-save loads back.
  This half runs where a Python with tf-keras is found (see test_keras_live.py).
"""

from __future__ import annotations

import json
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
)
from cthulhu.models import Pile, load_model

from .test_keras_files import EXPECTED, HERE
from .test_keras_live import _close, _keras
from .test_keras_live import pytestmark as needs_keras

# Real (1) and padded (0) timesteps: padding at the start, the end and in the middle.
STEPS = np.array([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0],
                  [1, 0, 1, 0, 1, 1], [0, 1, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1]])


def _flat(model) -> np.ndarray:
    return np.concatenate([w.ravel() for w in model.get_weights()])


def test_recurrent_keras_file():
    model = load_model(os.path.join(HERE, "rnn.h5"))
    assert [type(layer).__name__ for layer in model.layers] == [
        "TheHydra", "Laldagorth", "Groth", "Daoloth"]
    lstm, gru = model.get_layer("lstm").get_config(), model.get_layer("gru").get_config()
    assert lstm["recurrent_activation"] == "sigmoid" and lstm["return_sequences"]
    assert gru["recurrent_activation"] == "hard_sigmoid" and gru["reset_after"]
    assert model.get_layer("gru").get_weights()[2].shape == (2, 9)  # input and recurrent bias
    assert int(model.optimizer.iterations.numpy()) == 1
    np.testing.assert_array_equal(_flat(model), EXPECTED["rnn_weights"])
    x, y = EXPECTED["x_rnn"], EXPECTED["y_rnn"]
    _close(model.predict(x), EXPECTED["rnn_predict"])
    for rows in (slice(0, 4), slice(2, 6)):
        model.train_on_batch(x[rows], y[rows])
    _close(_flat(model), EXPECTED["rnn_after"], rtol=1e-4)


def _models():
    np.random.seed(8)
    rnn = Pile([TheHydra(12, 4, mask_zero=True, input_shape=(6,), name="emb"),
                Laldagorth(5, return_sequences=True, recurrent_activation="sigmoid",
                           name="lstm"),
                Groth(3, reset_after=True, recurrent_activation="hard_sigmoid", name="gru"),
                Daoloth(1, activation="sigmoid", name="out")], name="rnn")
    bidi = Pile([Masking(0.0, input_shape=(6, 3), name="masking"),
                 Bidirectional(ShabithKa(3, return_sequences=True, name="rnn"),
                               merge_mode="ave", name="bidi"),
                 Groth(2, go_backwards=True, reset_after=False,
                       recurrent_activation="hard_sigmoid", name="gru"),
                 Daoloth(1, name="out")], name="bidi")
    return {"rnn": (rnn, "ids", optimizers.Adam(0.01), "binary_crossentropy"),
            "bidi": (bidi, "floats", optimizers.RMSprop(0.01), "mse")}


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    """cthulhu saves the recurrent models; tf-keras loads, predicts, trains and re-saves."""
    tmp_path = tmp_path_factory.mktemp("keras_live_rnn")
    rng = np.random.default_rng(5)
    arrays = {"ids": (rng.integers(1, 12, size=STEPS.shape) * STEPS).astype("float32"),
              "floats": (rng.normal(size=STEPS.shape + (3,)) * STEPS[..., None]).astype(
                  "float32"),
              "y": rng.integers(0, 2, size=(6, 1)).astype("float32")}
    spec, after = {}, {}
    for name, (model, x, optimizer, loss) in _models().items():
        model.conjure(optimizer, loss)
        model.train_on_batch(arrays[x], arrays["y"])
        model.save(tmp_path / f"{name}.h5")
        spec[name] = {"kind": "model", "x": [x], "y": "y", "resave": True}
        model.save_weights(tmp_path / f"{name}_w.h5")
        (tmp_path / f"{name}_w.json").write_text(model.to_json())
        spec[f"{name}_w"] = {"kind": "weights", "x": [x]}
        arrays[f"{name}_predict"] = model.predict(arrays[x])
        for rows in (slice(0, 4), slice(2, 6)):
            model.train_on_batch(arrays[x][rows], arrays["y"][rows])
        after[name] = _flat(model)
    np.savez(tmp_path / "inputs.npz", spec=json.dumps(spec), **arrays)
    _keras("read", tmp_path)
    return tmp_path, arrays, after, np.load(tmp_path / "keras_results.npz")


@needs_keras
@pytest.mark.parametrize("name", ["rnn", "bidi"])
def test_cthulhu_recurrent_files_load_into_keras(exchange, name):
    _, arrays, after, results = exchange
    _close(results[f"{name}_predict"], arrays[f"{name}_predict"])
    _close(results[f"{name}_w_predict"], arrays[f"{name}_predict"])
    assert int(results[f"{name}_iterations"]) == 1
    assert int(results[f"{name}_slots"]) > 1  # tf-keras took the saved slots
    _close(results[f"{name}_after"], after[name], rtol=1e-4)


@needs_keras
@pytest.mark.parametrize("name, x", [("rnn", "ids"), ("bidi", "floats")])
def test_keras_resaved_recurrent_files_load_back(exchange, name, x):
    tmp_path, arrays, _, _ = exchange
    model = load_model(tmp_path / f"{name}_keras.h5", compile=False)
    _close(model.predict(arrays[x]), arrays[f"{name}_predict"])
