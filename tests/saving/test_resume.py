"""After a save and a load, training continues exactly: the same weights after N more steps
as a model that was never saved. And hard_sigmoid keeps its Keras 2 definition."""

from __future__ import annotations

import numpy as np
import pytest

from cthulhu import layers, optimizers
from cthulhu.layers import Daoloth, Input
from cthulhu.models import Lump, Pile, load_model

from .helpers import data, mlp, two_input

OPTIMIZERS = [
    ("adam", lambda: optimizers.Adam(0.01)),
    ("amsgrad", lambda: optimizers.Adam(0.01, amsgrad=True)),
    ("sgd_nesterov", lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    ("rmsprop_centered", lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True)),
    ("adagrad", lambda: optimizers.Adagrad(0.05)),
    ("adadelta", lambda: optimizers.Adadelta(1.0)),
    ("adamax", lambda: optimizers.Adamax(0.01)),
    ("nadam", lambda: optimizers.Nadam(0.01)),
    ("adam_decay", lambda: optimizers.Adam(0.01, decay=0.1)),
]


def _train(model, x, y, steps, start=0):
    for i in range(start, start + steps):
        rows = slice(4 * (i % 4), 4 * (i % 4) + 4)
        model.train_on_batch([a[rows] for a in x] if isinstance(x, list) else x[rows],
                             y[rows])


@pytest.mark.parametrize("name,make", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_training_resumes_exactly(tmp_path, name, make):
    x, _, y, _ = data()
    never_saved = mlp(seed=4)
    never_saved.conjure(make(), "categorical_crossentropy", metrics=["accuracy"])
    _train(never_saved, x, y, 5)

    first = mlp(seed=4)
    first.conjure(make(), "categorical_crossentropy", metrics=["accuracy"])
    _train(first, x, y, 3)
    first.save(tmp_path / "c.h5")
    resumed = load_model(tmp_path / "c.h5")
    _train(resumed, x, y, 2, start=3)

    assert int(resumed.optimizer.iterations.numpy()) == 5
    for got, want in zip(resumed.get_weights(), never_saved.get_weights()):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(resumed.optimizer.get_weights(), never_saved.optimizer.get_weights()):
        np.testing.assert_array_equal(got, want)


def _unseeded_pile(seed):
    np.random.seed(seed)  # also draws the Darkness and GaussianNoise seeds
    return Pile([Daoloth(6, activation="relu", input_shape=(4,)), layers.Darkness(0.4),
                 layers.GaussianNoise(0.3), Daoloth(3, activation="softmax")])


def test_unseeded_random_layers_resume_exactly(tmp_path):
    x, _, y, _ = data()
    never_saved = _unseeded_pile(8)
    never_saved.conjure("adam", "categorical_crossentropy")
    _train(never_saved, x, y, 5)
    first = _unseeded_pile(8)
    first.conjure("adam", "categorical_crossentropy")
    _train(first, x, y, 3)
    first.save(tmp_path / "c.h5")
    np.random.seed(123)  # the loaded layers draw other seeds, then get the saved ones
    resumed = load_model(tmp_path / "c.h5")
    assert resumed.layers[1].get_config()["seed"] is None
    _train(resumed, x, y, 2, start=3)
    for got, want in zip(resumed.get_weights(), never_saved.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_frozen_layer_resumes_exactly(tmp_path):
    x, xb, _, yb = data()

    def frozen():
        model = two_input(seed=3)
        model.get_layer("ha").trainable = False
        model.conjure(optimizers.Adam(0.02), "binary_crossentropy")
        return model

    never_saved = frozen()
    _train(never_saved, [x, xb], yb, 4)
    first = frozen()
    _train(first, [x, xb], yb, 2)
    first.save(tmp_path / "f.h5")
    resumed = load_model(tmp_path / "f.h5")
    assert resumed.get_layer("ha").trainable is False
    assert len(resumed.trainable_weights) == 2
    _train(resumed, [x, xb], yb, 2, start=2)
    for got, want in zip(resumed.get_weights(), never_saved.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_resume_with_summon_on_a_lump(tmp_path):
    x, xb, _, yb = data()
    reference = two_input(seed=2)
    reference.conjure(optimizers.Adam(0.02), "binary_crossentropy")
    reference.summon([x, xb], yb, batch_size=4, epochs=2, shuffle=False, verbose=0)

    model = two_input(seed=2)
    model.conjure(optimizers.Adam(0.02), "binary_crossentropy")
    model.summon([x, xb], yb, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "f.h5")
    resumed = load_model(tmp_path / "f.h5")
    resumed.summon([x, xb], yb, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for got, want in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_a_state_saved_before_any_step_resumes_like_a_fresh_optimizer(tmp_path):
    x, _, y, _ = data()
    fresh = mlp(seed=6)
    fresh.conjure("adam", "categorical_crossentropy")
    fresh.save(tmp_path / "c.h5")
    loaded = load_model(tmp_path / "c.h5")
    _train(fresh, x, y, 2)
    _train(loaded, x, y, 2)
    for got, want in zip(loaded.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(got, want)


def _keras2_hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def test_hard_sigmoid_is_the_keras_2_one_after_loading(tmp_path):
    # Keras 3 redefined hard_sigmoid as relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1); a saved
    # Keras 2 model must keep clip(0.2 x + 0.5, 0, 1). The two differ at every point below
    # but 0.
    inp = Input((1,))
    model = Lump(inp, Daoloth(1, activation="hard_sigmoid", kernel_initializer="ones",
                              name="hs")(inp))
    model.save(tmp_path / "hs.h5")
    loaded = load_model(tmp_path / "hs.h5", compile=False)
    points = np.array([[-3.0], [-2.4], [-1.0], [0.0], [0.7], [2.0], [2.4], [3.0]], "float32")
    got = loaded.predict(points)
    np.testing.assert_allclose(got, _keras2_hard_sigmoid(points), rtol=0, atol=1e-7)
    assert not np.allclose(got[1:3], np.clip(points[1:3] / 6 + 0.5, 0, 1))


def test_hard_sigmoid_pile_matches_keras_2_formula(tmp_path):
    np.random.seed(0)
    model = Pile([Daoloth(3, activation="hard_sigmoid", input_shape=(2,), name="d")])
    model.save(tmp_path / "p.h5")
    loaded = load_model(tmp_path / "p.h5", compile=False)
    x = np.random.default_rng(0).normal(scale=4.0, size=(32, 2)).astype("float32")
    kernel, bias = loaded.get_weights()
    np.testing.assert_allclose(loaded.predict(x), _keras2_hard_sigmoid(x @ kernel + bias),
                               rtol=1e-6, atol=1e-6)
