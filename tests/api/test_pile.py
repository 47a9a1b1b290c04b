"""The Pile slice of the Keras API: conjure/summon/evaluate/predict/*_on_batch, the stack
methods, errors on bad input, and the training output."""

from __future__ import annotations

import numpy as np
import pytest

import cthulhu
from cthulhu.layers import Azatoth, Daoloth, Darkness
from cthulhu.models import Pile


def _data(n=200, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x, cthulhu.utils.to_categorical(labels, classes), labels


def _model(features=6, classes=3, dropout=0.0):
    layers = [Daoloth(16, activation="relu", input_shape=(features,))]
    if dropout:
        layers.append(Darkness(dropout))
    layers.append(Daoloth(classes, activation="softmax"))
    return Pile(layers)


def test_summon_before_conjure_raises_runtime_error():
    x, y, _ = _data()
    with pytest.raises(RuntimeError, match="conjure"):
        _model().summon(x, y, verbose=0)


def test_wrong_input_shape_names_input_and_both_shapes():
    model = _model()
    model.conjure("sgd", "categorical_crossentropy")
    x, y, _ = _data(features=5)
    with pytest.raises(ValueError) as err:
        model.summon(x, y, verbose=0)
    text = str(err.value)
    assert "daoloth" in text and "(6,)" in text and "(5,)" in text


def test_wrong_target_shape_and_lengths_and_empty_and_dtype():
    model = _model()
    model.conjure("sgd", "categorical_crossentropy")
    x, y, _ = _data()
    with pytest.raises(ValueError, match=r"target.*\(3,\).*\(4,\)"):
        model.summon(x, np.zeros((len(x), 4)), verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        model.summon(x, y[:10], verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.summon(x[:0], y[:0], verbose=0)
    with pytest.raises(TypeError, match="numeric"):
        model.summon(np.array([["a"] * 6] * 3), y[:3], verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.summon(x, y, batch_size=0, verbose=0)


def test_invalid_conjure_arguments_raise_value_error():
    with pytest.raises(ValueError, match="optimizer"):
        _model().conjure("no_such_optimizer", "mse")
    with pytest.raises(ValueError, match="loss"):
        _model().conjure("sgd", "no_such_loss")
    with pytest.raises(ValueError, match="metric"):
        Pile([Daoloth(3)]).conjure("sgd", "mse", metrics=["no_such_metric"])


def test_temporal_weights_need_the_temporal_mode_and_a_sequence_output():
    model = _model()
    model.conjure("sgd", "categorical_crossentropy")
    x, y, _ = _data()
    with pytest.raises(ValueError, match="sample_weight_mode='temporal'"):
        model.summon(x, y, sample_weight=np.ones((len(x), 2)), verbose=0)
    with pytest.raises(ValueError, match="rank 3"):
        _model().conjure("sgd", "mse", sample_weight_mode="temporal")


def test_training_learns_and_history_records_epochs():
    np.random.seed(0)
    x, y, labels = _data(n=600)
    model = _model()
    model.conjure(cthulhu.optimizers.Adam(0.01), "categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.summon(x, y, batch_size=32, epochs=8, verbose=0, validation_split=0.2)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 8 for v in history.history.values())
    assert history.epoch == list(range(8))
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy > 0.9
    predictions = model.predict(x, batch_size=7)
    assert predictions.shape == (600, 3)
    assert np.mean(predictions.argmax(axis=1) == labels) == pytest.approx(accuracy, abs=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:5]), predictions[:5], rtol=1e-6)


def test_evaluate_scalar_without_metrics_and_on_batch_methods():
    x, y, _ = _data()
    model = _model()
    model.conjure("sgd", "categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    before = model.get_weights()
    test_loss = model.test_on_batch(x[:16], y[:16])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    train_loss = model.train_on_batch(x[:16], y[:16])
    assert train_loss == pytest.approx(test_loss, rel=1e-6)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_validation_data_and_keras_aliases():
    x, y, _ = _data()
    model = cthulhu.models.Sequential([cthulhu.layers.Dense(8, input_shape=(6,),
                                                            activation="tanh"),
                                       cthulhu.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, y, epochs=2, verbose=0, validation_data=(x[:50], y[:50]))
    assert set(history.history) == {"loss", "acc", "val_loss", "val_acc"}


def test_verbose_outputs(capsys):
    x, y, _ = _data(n=64)
    model = _model()
    model.conjure("sgd", "categorical_crossentropy", metrics=["accuracy"])
    model.summon(x, y, batch_size=32, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.summon(x, y, batch_size=32, epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("2/2 - ") and "loss: " in lines[1] and "accuracy: " in lines[1]
    model.summon(x, y, batch_size=32, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "2/2 [==============================]" in out and "/step - loss:" in out


def test_dropout_is_identity_at_inference_and_active_in_training():
    x, y, _ = _data()
    model = _model(dropout=0.5)
    model.conjure(cthulhu.optimizers.SGD(0.0), "categorical_crossentropy")
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    # With a zero learning rate, the training loss differs from the test loss only through
    # the dropout masks, which change from step to step.
    losses = {round(model.train_on_batch(x, y), 7) for _ in range(3)}
    assert len(losses) == 3
    assert model.test_on_batch(x, y) not in losses
    with pytest.raises(ValueError, match="rate"):
        Darkness(1.0)


def test_results_do_not_depend_on_thread_count():
    x, y, _ = _data(n=256)
    results = []
    for threads in (1, 2):
        cthulhu.set_num_threads(threads)
        np.random.seed(3)
        model = _model(dropout=0.3)
        model.conjure("adam", "categorical_crossentropy")
        model.summon(x, y, batch_size=64, epochs=2, verbose=0)
        results.append(model.get_weights())
    cthulhu.set_num_threads(2)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        cthulhu.set_num_threads(0)


def test_stack_methods_and_summary(capsys):
    model = _model()
    assert [layer.name for layer in model.layers] == [model.get_layer(index=i).name
                                                       for i in range(2)]
    assert model.get_layer(name=model.layers[0].name) is model.layers[0]
    with pytest.raises(ValueError):
        model.get_layer(name="missing")
    with pytest.raises(ValueError):
        model.get_layer(index=5)
    model.add(Azatoth("tanh"))
    assert model.output_shape == (None, 3)
    model.pop()
    assert len(model.layers) == 2
    with pytest.raises(ValueError, match="expects 4 weights"):
        model.set_weights([np.zeros(1)])
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([np.zeros((6, 15)), np.zeros(16), np.zeros((16, 3)), np.zeros(3)])
    model.summary()
    out = capsys.readouterr().out
    assert "Total params: 163" in out and "(None, 16)" in out and "Daoloth" in out


def test_float64_models_train():
    cthulhu.backend.set_floatx("float64")
    try:
        x, y, _ = _data()
        model = _model()
        model.conjure("adam", "categorical_crossentropy")
        model.summon(x, y, epochs=1, verbose=0)
        assert model.get_weights()[0].dtype == np.float64
        assert model.predict(x).dtype == np.float64
    finally:
        cthulhu.backend.set_floatx("float32")


@pytest.mark.parametrize("loss,activation,make_y", [
    ("mse", "linear", lambda labels: labels[:, None].astype("float32")),
    ("mae", "linear", lambda labels: labels[:, None].astype("float32")),
    ("binary_crossentropy", "sigmoid", lambda labels: (labels > 0)[:, None].astype("float32")),
    ("sparse_categorical_crossentropy", "softmax", lambda labels: labels),
])
def test_other_losses_train(loss, activation, make_y):
    x, _, labels = _data(n=300)
    units = 3 if loss.startswith("sparse") else 1
    model = Pile([Daoloth(16, activation="relu", input_shape=(6,)),
                  Daoloth(units, activation=activation)])
    model.conjure(cthulhu.optimizers.Adam(0.01), loss, metrics=["accuracy"])
    history = model.summon(x, make_y(labels), epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_digits_main_job_reaches_95_percent():
    np.random.seed(1)
    (x_train, y_train), (x_test, y_test) = cthulhu.datasets.digits.load_data()
    x_train = x_train.reshape(-1, 64) / 16.0
    x_test = x_test.reshape(-1, 64) / 16.0
    model = Pile([Daoloth(128, activation="relu", input_shape=(64,)), Darkness(0.2),
                  Daoloth(64, activation="relu"), Daoloth(10, activation="softmax")])
    model.conjure("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summon(x_train, y_train, epochs=30, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] >= 0.95


def test_input_layer_starts_a_pile_and_module_aliases_import():
    from cthulhu import deities, pantheon
    from cthulhu.engine.input_layer import Input
    model = pantheon.Pile()
    model.add(Input(shape=(6,)))
    model.add(deities.Daoloth(2, activation="softmax"))
    assert model.input_shape == (None, 6) and model.output_shape == (None, 2)
    model.conjure("sgd", "categorical_crossentropy")
    x, _, labels = _data()
    y = cthulhu.utils.to_categorical(labels > 0, 2)
    assert model.train_on_batch(x, y) > 0


def test_predict_without_conjure_and_batch_larger_than_data():
    x, y, _ = _data(n=10)
    model = _model()
    assert model.predict(x, batch_size=4).shape == (10, 3)
    model.conjure("sgd", "categorical_crossentropy")
    model.summon(x, y, batch_size=10**6, epochs=1, verbose=0)
    assert model._plans["train"].capacity == 10  # sized to the data, not to batch_size
    history = model.summon(x, y, epochs=0, verbose=0)
    assert history.history == {}
