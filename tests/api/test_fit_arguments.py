"""summon / evaluate / *_on_batch arguments, each checked by its documented effect."""

from __future__ import annotations

import numpy as np
import pytest

import cthulhu
from cthulhu.engine.data import batch_shuffled_index
from cthulhu.layers import Daoloth
from cthulhu.models import Pile


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype("float32")
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x, cthulhu.utils.to_categorical(labels, 3), labels


def _model(seed=0, lr=0.1):
    np.random.seed(seed)
    model = Pile([Daoloth(8, activation="tanh", input_shape=(5,)),
                  Daoloth(3, activation="softmax")])
    model.conjure(cthulhu.optimizers.SGD(lr), "categorical_crossentropy", metrics=["accuracy"])
    return model


def _per_sample_cce(model, x, y):
    p = np.clip(model.predict(x), 1e-7, 1 - 1e-7)
    return -(y * np.log(p)).sum(axis=1)


def test_validation_split_holds_out_the_last_samples_untouched():
    x, y, _ = _data()
    split = int(len(x) * 0.8)
    a = _model()
    history = a.summon(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                       validation_split=0.2)
    b = _model()
    b.summon(x[:split], y[:split], batch_size=16, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    val_loss = a.evaluate(x[split:], y[split:], verbose=0)[0]
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)


def test_sample_weight_weights_the_loss_exactly():
    x, y, _ = _data(40)
    model = _model()
    weights = np.linspace(0.0, 2.0, len(x))
    got = model.test_on_batch(x, y, sample_weight=weights)[0]
    want = np.mean(_per_sample_cce(model, x, y) * weights)
    assert got == pytest.approx(want, rel=1e-5)
    assert model.evaluate(x, y, sample_weight=weights, batch_size=7,
                          verbose=0)[0] == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="one weight per sample"):
        model.test_on_batch(x, y, sample_weight=weights[:-1])
    with pytest.raises(ValueError, match="NaN"):
        model.test_on_batch(x, y, sample_weight=np.full(len(x), np.nan))


def test_class_weight_equals_the_matching_sample_weights():
    x, y, labels = _data(40)
    class_weight = {0: 3.0, 1: 0.5, 2: 1.0}
    a, b = _model(), _model()
    loss_a = a.train_on_batch(x, y, class_weight=class_weight)[0]
    loss_b = b.train_on_batch(x, y, sample_weight=np.array([class_weight[c] for c in labels]))[0]
    assert loss_a == pytest.approx(loss_b, rel=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    # The weighted loss moves training: weights differ from an unweighted step.
    c = _model()
    c.train_on_batch(x, y)
    assert not np.allclose(c.get_weights()[0], a.get_weights()[0])
    with pytest.raises(ValueError, match="keys from 0"):
        a.summon(x, y, class_weight={1: 2.0}, verbose=0)
    with pytest.raises(ValueError, match="no weight for class 2"):
        a.summon(x, y, class_weight={0: 1.0, 1: 1.0}, verbose=0)


def test_validation_freq_as_int_and_container():
    x, y, _ = _data()
    model = _model()
    history = model.summon(x, y, epochs=4, verbose=0, validation_split=0.25,
                           validation_freq=[1, 3])
    assert len(history.history["val_loss"]) == 2 and len(history.history["loss"]) == 4
    history = model.summon(x, y, epochs=4, verbose=0, validation_data=(x[:10], y[:10]),
                           validation_freq=2)
    assert len(history.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="validation_freq"):
        model.summon(x, y, epochs=1, verbose=0, validation_freq=0)


def test_validation_data_with_sample_weights():
    x, y, _ = _data()
    model = _model(lr=0.0)
    weights = np.arange(10, dtype=float)
    history = model.summon(x, y, epochs=1, verbose=0,
                           validation_data=(x[:10], y[:10], weights))
    want = np.mean(_per_sample_cce(model, x[:10], y[:10]) * weights)
    assert history.history["val_loss"][0] == pytest.approx(want, rel=1e-5)


def test_initial_epoch_and_epochs_as_final_epoch():
    x, y, _ = _data()
    history = _model().summon(x, y, epochs=3, initial_epoch=1, verbose=0)
    assert history.epoch == [1, 2]


def test_shuffle_batch_moves_whole_blocks():
    np.random.seed(0)
    index = batch_shuffled_index(23, 5)
    assert sorted(index) == list(range(23))
    blocks = index[:20].reshape(4, 5)
    assert all(list(b) == list(range(b[0], b[0] + 5)) for b in blocks)
    assert list(index[20:]) == [20, 21, 22]
    assert list(index[:20]) != list(range(20))
    x, y, _ = _data()
    _model().summon(x, y, epochs=1, shuffle="batch", verbose=0)
    with pytest.raises(ValueError, match="shuffle"):
        _model().summon(x, y, epochs=1, shuffle="rows", verbose=0)


def test_reset_metrics_false_accumulates_across_calls():
    x, y, _ = _data(40)
    model = _model()
    first = model.test_on_batch(x[:10], y[:10], reset_metrics=False)
    second = model.test_on_batch(x[10:40], y[10:40], reset_metrics=False)
    alone = _model().test_on_batch(x[10:40], y[10:40])
    expected = (np.array(first) * 10 + np.array(alone) * 30) / 40
    np.testing.assert_allclose(second, expected, rtol=1e-6)
    model.reset_metrics()
    np.testing.assert_allclose(model.test_on_batch(x[10:40], y[10:40]), alone, rtol=1e-6)


def test_metrics_names_order_matches_evaluate():
    x, y, _ = _data()
    model = _model()
    assert model.metrics_names == ["loss", "accuracy"]
    scores = model.evaluate(x, y, verbose=0)
    assert len(scores) == 2 and 0 <= scores[1] <= 1


def test_weighted_metrics_average_with_the_sample_weights():
    x, y, labels = _data(40)
    np.random.seed(0)
    model = Pile([Daoloth(8, activation="tanh", input_shape=(5,)),
                  Daoloth(3, activation="softmax")])
    model.conjure("sgd", "categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy", "mse"])
    assert model.metrics_names == ["loss", "accuracy", "weighted_accuracy", "mse"]
    weights = np.linspace(0.0, 3.0, len(x))
    scores = model.evaluate(x, y, sample_weight=weights, batch_size=7, verbose=0)
    p = model.predict(x)
    hit = (p.argmax(1) == labels).astype(float)
    assert scores[1] == pytest.approx(hit.mean(), rel=1e-6)
    assert scores[2] == pytest.approx(np.sum(hit * weights) / weights.sum(), rel=1e-6)
    mse = ((p - y) ** 2).mean(axis=1)
    assert scores[3] == pytest.approx(np.sum(mse * weights) / weights.sum(), rel=1e-5)


def test_target_tensors_stand_in_for_y():
    x, y, _ = _data(40)
    a, b = _model(), _model()
    b.conjure(cthulhu.optimizers.SGD(0.1), "categorical_crossentropy", metrics=["accuracy"],
              target_tensors=[y])
    a.summon(x, y, epochs=2, shuffle=False, verbose=0)
    b.summon(x, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert b.evaluate(x, verbose=0) == a.evaluate(x, y, verbose=0)
    with pytest.raises(ValueError, match="target_tensors"):
        _model().summon(x, epochs=1, verbose=0)


def test_sample_weight_mode_is_validated():
    with pytest.raises(ValueError, match="sample_weight_mode"):
        _model().conjure("sgd", "mse", sample_weight_mode="sideways")
    with pytest.raises(ValueError, match="rank 3"):
        _model().conjure("sgd", "mse", sample_weight_mode=["temporal"])
    _model().conjure("sgd", "mse", sample_weight_mode=None)


def test_steps_per_epoch_continues_the_stream_across_epochs():
    from cthulhu.engine.data import BatchStream
    stream = BatchStream(10, 4, shuffle=False, steps_per_epoch=2)
    first = [list(b) for b in stream.epoch()]
    second = [list(b) for b in stream.epoch()]
    assert first == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert second == [[8, 9], [0, 1, 2, 3]]  # the pass ends, a new one begins
    whole = BatchStream(10, 4, shuffle=False)
    assert [len(b) for b in whole.epoch()] == [4, 4, 2] == [len(b) for b in whole.epoch()]
    x, y, _ = _data(64)
    seen = []
    cb = cthulhu.callbacks.LambdaCallback(on_batch_end=lambda b, logs: seen.append(b))
    history = _model().summon(x, y, batch_size=16, epochs=2, steps_per_epoch=3, verbose=0,
                              callbacks=[cb])
    assert seen == [0, 1, 2, 0, 1, 2] and len(history.history["loss"]) == 2
    with pytest.raises(ValueError, match="steps_per_epoch"):
        _model().summon(x, y, steps_per_epoch=0, verbose=0)


def test_steps_on_evaluate_predict_and_validation():
    x, y, _ = _data(64)
    model = _model()
    first_batch = model.evaluate(x[:16], y[:16], verbose=0)
    assert model.evaluate(x, y, batch_size=16, steps=1, verbose=0) == pytest.approx(
        first_batch, rel=1e-6)
    assert model.predict(x, batch_size=16, steps=2).shape == (32, 3)
    model_val = _model(lr=0.0)
    history = model_val.summon(x, y, epochs=1, verbose=0, validation_data=(x, y),
                               validation_steps=1, batch_size=16)
    assert history.history["val_loss"][0] == pytest.approx(first_batch[0], rel=1e-6)
    with pytest.raises(ValueError, match="steps"):
        model.predict(x, steps=0)
