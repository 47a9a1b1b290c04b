"""Inputs with axes unknown until run time (a sequence length): shape inference on the layer
graph, and one plan per distinct input shape, which computes exactly what a model of that
fixed shape computes."""

from __future__ import annotations

import numpy as np
import pytest

import cthulhu
from cthulhu import layers as L
from cthulhu.models import Lump, Pile


def _conv_model(length):
    model = Pile([L.Cthalpa1D(4, 3, padding="same", input_shape=(length, 5)),
                  L.Daoloth(2)])
    model.conjure(cthulhu.optimizers.Adam(0.01), "mse")
    return model


def test_layer_graph_shapes_with_unknown_length():
    x = L.Input((None, 5))
    conv = L.Cthalpa1D(4, 3, strides=2)(x)
    assert conv.shape == (None, None, 4)
    pooled = L.Mlandoth1D()(conv)
    assert pooled.shape == (None, None, 4)
    assert L.GhrothMlandoth1D()(pooled).shape == (None, 4)
    masked = L.Daoloth(3)(L.Masking()(x))
    assert masked.shape == (None, None, 3) and masked._mask.shape == (None, None)
    # Known axes stay known; the flattened size of an unknown length is unknown.
    assert L.Cropping1D((1, 1))(L.Input((9, 5))).shape == (None, 7, 5)
    with pytest.raises(ValueError, match="last dimension of the inputs to Daoloth"):
        L.Daoloth(3)(L.Flatten()(x))


def test_each_length_trains_as_a_fixed_length_model_would():
    rng = np.random.default_rng(0)
    free, weights = _conv_model(None), None
    weights = free.get_weights()
    for length in (7, 11, 7):
        x = rng.normal(size=(6, length, 5))
        y = rng.normal(size=(6, length, 2))
        fixed = _conv_model(length)
        fixed.set_weights(free.get_weights())
        np.testing.assert_allclose(free.predict(x), fixed.predict(x), rtol=1e-6, atol=1e-6)
        loss_free = free.train_on_batch(x, y)
        loss_fixed = fixed.train_on_batch(x, y)
        assert loss_free == pytest.approx(loss_fixed, rel=1e-6)
    assert free.output_shape == (None, None, 2)
    assert [w.shape for w in free.get_weights()] == [w.shape for w in weights]


def test_generator_of_varying_lengths_keeps_a_few_plans():
    model = _conv_model(None)
    lengths = [3 + i % 11 for i in range(24)]
    seen = []

    def batches():
        for length in lengths:
            seen.append(length)
            yield np.ones((2, length, 5)), np.zeros((2, length, 2))

    history = model.summon(batches(), steps_per_epoch=len(lengths), epochs=1, verbose=0)
    assert seen == lengths and np.isfinite(history.history["loss"][0])
    assert len(model._shelved) <= 8
    assert model._plan_shapes["train"] == ((None, lengths[-1], 5),)


def test_targets_must_follow_the_output_length():
    model = _conv_model(None)
    with pytest.raises(ValueError, match=r"target y0.*\(None, 9, 2\).*\(3, 8, 2\)"):
        model.train_on_batch(np.ones((3, 9, 5)), np.zeros((3, 8, 2)))
    with pytest.raises(ValueError, match="unknown until run time"):
        model.plan_summary("train")


def test_masked_sequences_of_unknown_length_in_a_lump():
    x = L.Input((None, 3))
    y = L.Daoloth(1)(L.Masking(0.0)(x))
    model = Lump(x, y)
    model.conjure("sgd", "mse")
    data = np.ones((2, 6, 3))
    data[0, 4:] = 0.0  # padding: excluded from the loss
    target = np.zeros((2, 6, 1))
    pred = model.predict(data)
    kept = np.ones((2, 6), bool)
    kept[0, 4:] = False
    expected = float(np.mean(pred[..., 0][kept] ** 2))
    assert model.evaluate(data, target, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_backend_function_of_unknown_length():
    from cthulhu import backend as K
    x = L.Input((None, 3))
    f = K.function([x], [K.sum(x, axis=1)])
    for length in (4, 6):
        data = np.arange(2 * length * 3, dtype=float).reshape(2, length, 3)
        np.testing.assert_allclose(f([data])[0], data.sum(axis=1), rtol=1e-6)
    with pytest.raises(ValueError, match="does not match"):
        f([np.ones((2, 6, 4))])
