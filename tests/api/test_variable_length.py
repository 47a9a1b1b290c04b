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


def _counting_batch(rng, rows, length):
    """Digits 1-4; the target is how many of them are 1."""
    x = rng.integers(1, 5, size=(rows, length))
    return x.astype(np.float32), (x == 1).sum(axis=1).astype(np.float32)[:, None]


def test_recurrent_model_learns_to_count_in_sequences_of_any_length():
    """Batches of lengths 3-10 from a generator train one model (a plan per length); it
    counts in held-out sequences of those lengths and of a length it never saw."""
    import time
    rng = np.random.default_rng(0)
    np.random.seed(0)

    def batches():
        while True:
            yield _counting_batch(rng, 64, int(rng.integers(3, 11)))

    model = Pile([L.TheHydra(5, 8, input_shape=(None,)), L.Laldagorth(32),
                  L.Daoloth(13, activation="softmax")])
    model.conjure(cthulhu.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.summon(batches(), steps_per_epoch=60, epochs=15, verbose=0)
    seconds = time.perf_counter() - start
    for length in (3, 7, 10, 12):
        accuracy = model.evaluate(*_counting_batch(rng, 500, length), verbose=0)[1]
        print(f"length {length}: accuracy {accuracy:.3f} (trained in {seconds:.1f} s)")
        assert accuracy >= 0.95
    assert seconds < 60


def test_unknown_length_recurrent_layers_match_fixed_length_ones():
    rng = np.random.default_rng(1)

    def build(length):
        x = L.Input((length, 3))
        seq = L.Bidirectional(L.Groth(4, return_sequences=True))(L.Masking(0.0)(x))
        return Lump(x, L.Laldagorth(2)(seq))

    free = build(None)
    assert free.output_shape == (None, 2)
    for length in (4, 9):
        data = rng.normal(size=(5, length, 3))
        data[1, length - 2:] = 0.0  # padding
        fixed = build(length)
        fixed.set_weights(free.get_weights())
        np.testing.assert_allclose(free.predict(data), fixed.predict(data), rtol=1e-5,
                                   atol=1e-6)
