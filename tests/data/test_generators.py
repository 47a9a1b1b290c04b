"""Plain generators through summon / evaluate / predict and the *_generator methods:
results equal to the same batches fed one by one, varying batch sizes, sample and class
weights, validation, running out of data, thread safety, and malformed batches."""

from __future__ import annotations

import inspect
import threading
import time

import numpy as np
import pytest

import cthulhu
from cthulhu.callbacks import Callback
from cthulhu.layers import Daoloth
from cthulhu.models import Pile
from cthulhu.utils import GeneratorEnqueuer, threadsafe_generator
from tests.data import helpers


def model(seed=0):
    np.random.seed(seed)
    m = Pile([Daoloth(helpers.CLASSES, input_shape=(helpers.FEATURES,))])
    m.conjure(cthulhu.optimizers.SGD(0.05), "categorical_crossentropy", metrics=["accuracy"])
    return m


def batches(sizes, seed=0, weights=False):
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        x = rng.normal(size=(n, helpers.FEATURES)).astype("float32")
        y = np.eye(helpers.CLASSES, dtype="float32")[rng.integers(0, helpers.CLASSES, n)]
        out.append((x, y, rng.uniform(0.5, 2.0, n)) if weights else (x, y))
    return out


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("workers", [0, 1])
def test_varying_batch_sizes_train_like_train_on_batch(workers):
    data = batches([3, 8, 5, 20, 1, 7])  # the plan must grow for 8 and 20
    a, b = model(), model()
    for x, y in data:
        a.train_on_batch(x, y)
    history = b.summon(iter(data), steps_per_epoch=6, epochs=1, verbose=0, workers=workers)
    assert_same_weights(a, b)
    assert len(history.history["loss"]) == 1


def test_sample_weights_and_class_weight_from_a_generator():
    data = batches([6, 6], weights=True)
    a, b = model(), model()
    for x, y, w in data:
        a.train_on_batch(x, y, sample_weight=w)
    b.summon(iter(data), steps_per_epoch=2, verbose=0)
    assert_same_weights(a, b)
    cw = {0: 2.0, 1: 0.5}
    c, d = model(), model()
    for x, y in batches([6, 6]):
        c.train_on_batch(x, y, class_weight=cw)
    d.summon_generator(iter(batches([6, 6])), steps_per_epoch=2, class_weight=cw, verbose=0)
    assert_same_weights(c, d)


def test_dict_and_list_batches_for_a_two_input_lump():
    from cthulhu.layers import Concatenate, Input
    from cthulhu.models import Lump
    a, b = Input((2,), name="a"), Input((1,), name="b")
    out = Daoloth(helpers.CLASSES, name="out")(Concatenate()([a, b]))
    m = Lump([a, b], out)
    m.conjure("sgd", "mse")
    x, y = batches([5])[0]

    def gen():
        yield {"a": x[:, :2], "b": x[:, 2:]}, {"out": y}
        yield [x[:, :2], x[:, 2:]], y

    history = m.summon(gen(), steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_evaluate_and_predict_generators_match_arrays():
    data = batches([4, 4, 3])
    x = np.concatenate([d[0] for d in data])
    y = np.concatenate([d[1] for d in data])
    m = model()
    want = m.evaluate(x, y, batch_size=4, verbose=0)
    assert m.evaluate(iter(data), verbose=0) == pytest.approx(want)
    assert m.evaluate_generator(iter(data), steps=3) == pytest.approx(want)
    np.testing.assert_allclose(m.predict(iter(data)), m.predict(x), rtol=1e-6)
    np.testing.assert_allclose(m.predict_generator(iter(d[0] for d in data), steps=2),
                               m.predict(x[:8]), rtol=1e-6)


def test_validation_generator_with_steps_and_freq():
    train = batches([8] * 3)
    val = batches([5, 5], seed=1)
    m = model()

    def forever(items):
        while True:
            yield from items

    history = m.summon(forever(train), steps_per_epoch=3, epochs=4, verbose=0,
                       validation_data=forever(val), validation_steps=2, validation_freq=2)
    assert len(history.history["loss"]) == 4
    assert len(history.history["val_loss"]) == 2  # after epochs 2 and 4
    xv = np.concatenate([d[0] for d in val])
    yv = np.concatenate([d[1] for d in val])
    assert history.history["val_loss"][-1] == pytest.approx(
        m.evaluate(xv, yv, batch_size=5, verbose=0)[0], rel=1e-6)


def test_callbacks_see_epochs_times_steps_batches_and_keras_params():
    seen = {"batches": 0, "epochs": 0}

    class Count(Callback):
        def on_train_begin(self, logs=None):
            seen["params"] = dict(self.params)

        def on_train_batch_end(self, batch, logs=None):
            seen["batches"] += 1
            assert set(logs) >= {"batch", "size", "loss", "accuracy"}

        def on_epoch_end(self, epoch, logs=None):
            seen["epochs"] += 1

    def forever():
        while True:
            yield from batches([4, 4])

    model().summon(forever(), steps_per_epoch=5, epochs=3, verbose=0, workers=1,
                   callbacks=[Count()])
    assert seen["batches"] == 15 and seen["epochs"] == 3
    assert seen["params"]["steps"] == 5 and seen["params"]["epochs"] == 3


def test_finite_generator_without_steps_is_one_epoch_then_a_warning():
    m = model()
    history = m.summon(iter(batches([4] * 5)), epochs=1, verbose=0)  # no warning: 1 epoch
    assert len(history.history["loss"]) == 1
    with pytest.warns(UserWarning, match="generator ran out of data after 5 batch"):
        history = m.summon(iter(batches([4] * 5)), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1
    with pytest.warns(UserWarning, match="after 1 batch.*epoch 3"):
        history = m.summon(iter(batches([4] * 7)), steps_per_epoch=3, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3  # the partial third epoch is recorded


def test_several_threads_on_a_plain_generator_raise_a_clear_error():
    gen = (b for b in batches([4] * 3))
    assert inspect.isgenerator(gen)
    with pytest.raises(ValueError, match="cannot share a Python generator"):
        model().summon(gen, steps_per_epoch=3, verbose=0, workers=2)


def test_a_racy_iterator_is_reported_not_duplicated():
    def slow():
        while True:
            time.sleep(0.05)  # a second thread calls next() meanwhile
            yield helpers.batch(0)

    class Racy:  # an iterator that claims nothing and is not thread-safe
        def __init__(self):
            self.inner = slow()

        def __iter__(self):
            return self

        def __next__(self):
            return next(self.inner)

    with pytest.raises(ValueError, match="not thread-safe") as info:
        model().summon(Racy(), steps_per_epoch=20, verbose=0, workers=3)
    assert "already executing" in str(info.value.__cause__)


def test_threadsafe_generator_with_threads_yields_each_item_once():
    @threadsafe_generator
    def numbered(n):
        for i in range(n):
            time.sleep(0.001)
            yield helpers.batch(i)

    enqueuer = GeneratorEnqueuer(numbered(40))
    enqueuer.start(workers=3, max_queue_size=4)
    try:
        got = sorted(int(x[0, 0]) for x, _ in enqueuer.get())
    finally:
        enqueuer.stop()
    assert got == list(range(40))
    history = model().summon(numbered(12), steps_per_epoch=4, epochs=3, workers=3, verbose=0)
    assert len(history.history["loss"]) == 3


def test_generator_queue_is_bounded():
    produced = []
    lock = threading.Lock()

    @threadsafe_generator
    def counted():
        i = 0
        while True:
            with lock:
                produced.append(i)
            yield helpers.batch(i)
            i += 1

    over = []

    class Check(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            # batch + 1 batches consumed: wait (at most 2 s) until the threads have produced
            # max_queue_size more, then a little longer to overshoot if they can.
            deadline = time.monotonic() + 2.0
            while len(produced) < batch + 1 + 3 and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(0.01)
            with lock:
                over.append(len(produced) - (batch + 1))

    model().summon(counted(), steps_per_epoch=15, verbose=0, workers=2, max_queue_size=3,
                   callbacks=[Check()])
    assert max(over) == 3  # filled up to, never beyond, max_queue_size


def test_generators_cannot_use_processes():
    with pytest.raises(ValueError, match="needs a cthulhu.utils.Sequence"):
        model().summon(iter(batches([4])), steps_per_epoch=1, verbose=0,
                       use_multiprocessing=True)


@pytest.mark.parametrize("bad,message", [
    ((np.ones((4, 3)), np.ones((4, 2)), np.ones(4), np.ones(4)),
     "expected a tuple \\(x, y\\) or \\(x, y, sample_weight\\), got a tuple of length 4"),
    (np.ones((4, 3)), "got a ndarray"),
    ((np.ones((4, 3)), np.ones((5, 2))), "same number of samples.*4 input.*5 target"),
    ((np.ones((4, 7)), np.ones((4, 2))), "expected .* to have shape \\(3,\\) but got array "
                                         "with shape \\(7,\\)"),
    ((np.ones((4, 3)), np.ones((4, 2)), np.ones(3)), "one weight per sample"),
    ((np.ones((0, 3)), np.ones((0, 2))), "empty"),
])
def test_malformed_batches_get_a_value_error_naming_the_batch(bad, message):
    def gen():
        yield batches([4])[0]
        yield bad

    with pytest.raises(ValueError, match="Batch 1 from the generator: .*" + message):
        model().summon(gen(), steps_per_epoch=2, verbose=0)


def test_array_only_arguments_are_rejected_with_a_generator():
    with pytest.raises(ValueError, match="`y` must not be given"):
        model().summon(iter(batches([4])), np.ones((4, 2)), verbose=0)
    with pytest.raises(ValueError, match="validation_split needs arrays"):
        model().summon(iter(batches([4])), validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="summon_generator needs a generator"):
        model().summon_generator(np.ones((4, 3)))


def test_generator_methods_have_the_keras_2_arguments():
    m = model()
    expected = {
        "summon_generator": ["generator", "steps_per_epoch", "epochs", "verbose", "callbacks",
                             "validation_data", "validation_steps", "validation_freq",
                             "class_weight", "max_queue_size", "workers",
                             "use_multiprocessing", "shuffle", "initial_epoch"],
        "evaluate_generator": ["generator", "steps", "callbacks", "max_queue_size", "workers",
                               "use_multiprocessing", "verbose"],
        "predict_generator": ["generator", "steps", "callbacks", "max_queue_size", "workers",
                              "use_multiprocessing", "verbose"],
    }
    for name, args in expected.items():
        assert list(inspect.signature(getattr(m, name)).parameters) == args
    assert m.fit_generator == m.summon_generator


def test_progress_bar_without_a_known_step_count(capsys):
    model().summon(iter(batches([4] * 3)), epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "loss" in out


def test_a_finite_validation_generator_validates_once_then_warns():
    def forever():
        while True:
            yield from batches([4, 4])

    with pytest.warns(UserWarning, match="validation generator had no batch left"):
        history = model().summon(forever(), steps_per_epoch=2, epochs=3, verbose=0,
                                 validation_data=iter(batches([4, 4], seed=2)))
    assert len(history.history["loss"]) == 3 and len(history.history["val_loss"]) == 1
