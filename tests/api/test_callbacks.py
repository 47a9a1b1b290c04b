"""Callbacks: the hooks and their order, and each built-in callback's documented effect."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import cthulhu
from cthulhu.callbacks import (
    BaseLogger,
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    TerminateOnNaN,
)
from cthulhu.layers import Daoloth
from cthulhu.models import Pile


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = cthulhu.utils.to_categorical((x[:, 0] > 0).astype(int), 2)
    return x, y


def _model(lr=0.1):
    np.random.seed(0)
    model = Pile([Daoloth(2, activation="softmax", input_shape=(4,))])
    model.conjure(cthulhu.optimizers.SGD(lr), "categorical_crossentropy", metrics=["accuracy"])
    return model


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            events = object.__getattribute__(self, "events")
            return lambda *args: events.append(name)
        return object.__getattribute__(self, name)


def test_hooks_run_in_keras_order_during_fit_evaluate_predict():
    x, y = _data(32)
    model = _model()
    recorder = Recorder()
    # A subclass overriding hooks through __getattribute__ is not seen by the override check,
    # so make the per-batch hooks visible the usual way:
    recorder.on_train_batch_end = recorder.on_train_batch_end
    recorder.on_test_batch_end = recorder.on_test_batch_end
    model.summon(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[recorder],
                 validation_data=(x, y))
    events = recorder.events
    assert events[0] == "on_train_begin" and events[-1] == "on_train_end"
    assert events.index("on_epoch_begin") < events.index("on_train_batch_begin")
    assert events.count("on_train_batch_end") == 2
    assert events.index("on_test_begin") < events.index("on_test_end") < \
        events.index("on_epoch_end")
    recorder.events.clear()
    model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[recorder])
    assert recorder.events[0] == "on_test_begin" and recorder.events[-1] == "on_test_end"
    recorder.events.clear()
    model.predict(x, batch_size=16, callbacks=[recorder])
    assert recorder.events[0] == "on_predict_begin" and recorder.events[-1] == "on_predict_end"


def test_params_and_model_are_set():
    x, y = _data()
    model = _model()
    seen = {}

    class Spy(Callback):
        def on_train_begin(self, logs=None):
            seen.update(model=self.model, params=dict(self.params))

    model.summon(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Spy()])
    assert seen["model"] is model
    assert seen["params"]["epochs"] == 2 and seen["params"]["steps"] == 4
    assert seen["params"]["metrics"] == ["loss", "accuracy"]


def test_lambda_callback_counts_epochs_and_batches():
    x, y = _data()
    counts = {"epochs": 0, "batches": 0}
    cb = LambdaCallback(on_epoch_end=lambda e, logs: counts.__setitem__("epochs",
                                                                        counts["epochs"] + 1),
                        on_batch_end=lambda b, logs: counts.__setitem__("batches",
                                                                        counts["batches"] + 1))
    _model().summon(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[cb])
    assert counts == {"epochs": 3, "batches": 12}
    with pytest.raises(TypeError):
        LambdaCallback(on_nothing=print)


def test_early_stopping_with_patience_and_restore_best_weights():
    x, y = _data()
    model = _model(lr=0.0)  # nothing improves
    history = model.summon(x, y, epochs=10, verbose=0, validation_data=(x, y),
                           callbacks=[EarlyStopping(monitor="val_loss", patience=2)])
    assert len(history.history["loss"]) == 3

    class Stub:
        stop_training = False

        def __init__(self):
            self.weights = [np.zeros(1)]

        def get_weights(self):
            return [w.copy() for w in self.weights]

        def set_weights(self, weights):
            self.weights = weights

    stub = Stub()
    stopper = EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)
    stopper.set_model(stub)
    stopper.on_train_begin()
    for epoch, value in enumerate([0.5, 0.8, 0.7, 0.6]):
        stub.weights = [np.full(1, float(epoch))]
        stopper.on_epoch_end(epoch, {"val_accuracy": value})
        if stub.stop_training:
            break
    assert epoch == 2 and stub.stop_training  # mode 'auto' maximizes *accuracy
    stopper.on_train_end()
    assert stub.weights[0][0] == 1.0  # the weights of the best epoch
    with pytest.raises(ValueError):
        EarlyStopping(mode="sideways")


def test_early_stopping_baseline_and_min_delta():
    stopper = EarlyStopping(monitor="loss", min_delta=0.1, patience=1, baseline=0.5)

    class Stub:
        stop_training = False

    stopper.set_model(Stub())
    stopper.on_train_begin()
    stopper.on_epoch_end(0, {"loss": 0.95})
    stopper.on_epoch_end(1, {"loss": 0.9})  # not better than 0.95 by 0.1
    assert stopper.model.stop_training


def test_terminate_on_nan_stops_at_the_first_bad_batch():
    x, y = _data()
    x[:16] = np.nan
    model = _model()
    history = model.summon(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                           callbacks=[TerminateOnNaN()])
    assert model.stop_training and len(history.history["loss"]) == 1


def test_csv_logger_writes_and_appends(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    _model().summon(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(str(path))])
    _model().summon(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(str(path), append=True)])
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]


def test_base_logger_keeps_the_epoch_averages():
    x, y = _data()
    a = _model().summon(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    b = _model().summon(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False,
                        callbacks=[BaseLogger()])
    assert a.history == b.history


def test_learning_rate_scheduler_changes_the_steps():
    x, y = _data()
    seen = []
    from cthulhu.callbacks import LearningRateScheduler
    schedule = LearningRateScheduler(lambda epoch, lr: 0.0 if epoch == 1 else 0.5)
    model = _model(lr=0.1)

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((logs["lr"], [w.copy() for w in model.get_weights()]))

    history = model.summon(x, y, epochs=3, batch_size=16, verbose=0,
                           callbacks=[schedule, Snapshot()])
    assert history.history["lr"] == [0.5, 0.0, 0.5]
    # Epoch 2 ran with lr 0: its weights equal those after epoch 1.
    for a, b in zip(seen[0][1], seen[1][1]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(seen[1][1][0], seen[2][1][0])
    one_arg = LearningRateScheduler(lambda epoch: 0.25)
    _model().summon(x, y, epochs=1, verbose=0, callbacks=[one_arg])
    with pytest.raises(ValueError, match="float"):
        _model().summon(x, y, epochs=1, verbose=0,
                        callbacks=[LearningRateScheduler(lambda e: "fast")])


def test_set_value_on_lr_takes_effect_at_the_next_step():
    from cthulhu import backend as K
    x, y = _data()
    a, b = _model(lr=0.1), _model(lr=0.3)
    assert float(K.get_value(a.optimizer.lr)) == pytest.approx(0.1)
    a.train_on_batch(x, y)  # compiled with lr 0.1
    K.set_value(a.optimizer.lr, 0.3)
    b.set_weights(a.get_weights())
    a.train_on_batch(x, y)
    b.train_on_batch(x, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    with pytest.raises(TypeError, match="variable"):
        K.set_value(0.1, 0.2)


def test_reduce_lr_on_plateau():
    from cthulhu import backend as K
    from cthulhu.callbacks import ReduceLROnPlateau
    x, y = _data()
    model = _model(lr=0.0)  # the loss never improves
    reducer = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_lr=0.0)
    K.set_value(model.optimizer.lr, 0.4)
    model.optimizer.lr = 0.0  # back to no learning: plateau from the start
    history = model.summon(x, y, epochs=3, verbose=0, callbacks=[reducer])
    assert history.history["lr"] == [0.0, 0.0, 0.0]  # already at min_lr: nothing to reduce

    reducer = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=1)
    model = _model(lr=0.0)
    model.optimizer.lr = 1e-9  # tiny steps: val_loss stays flat
    history = model.summon(x, y, epochs=5, verbose=0, validation_data=(x, y),
                           callbacks=[reducer])
    assert history.history["lr"][0] == pytest.approx(1e-9)
    assert history.history["lr"][-1] < 1e-9
    with pytest.raises(ValueError):
        ReduceLROnPlateau(factor=1.5)


def test_progbar_logger_draws_a_bar_per_epoch(capsys):
    from cthulhu.callbacks import ProgbarLogger
    x, y = _data()
    _model().summon(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[ProgbarLogger()])
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "4/4 [==============================]" in out and "accuracy:" in out
    with pytest.raises(ValueError):
        ProgbarLogger(count_mode="minutes")
