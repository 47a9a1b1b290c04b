"""ModelCheckpoint writes through the saving path (atomic, Keras 2 layout)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cthulhu.callbacks import ModelCheckpoint
from cthulhu.models import load_model

from .helpers import assert_same_weights, data, mlp


def _fit(model, callbacks, epochs=3):
    x, _, y, _ = data()
    model.conjure("adam", "categorical_crossentropy", metrics=["accuracy"])
    return model.summon(x, y, batch_size=4, epochs=epochs, validation_split=0.25,
                        callbacks=callbacks, verbose=0, shuffle=False)


def test_every_epoch_with_formatted_names(tmp_path):
    pattern = str(tmp_path / "ckpt.{epoch:02d}-{val_loss:.3f}.h5")
    model = mlp()
    history = _fit(model, [ModelCheckpoint(pattern)])
    names = sorted(os.listdir(tmp_path))
    want = [f"ckpt.{e + 1:02d}-{v:.3f}.h5" for e, v in enumerate(history.history["val_loss"])]
    assert names == sorted(want)
    last = load_model(tmp_path / want[-1])
    assert_same_weights(last, model)
    assert int(last.optimizer.iterations.numpy()) == 9


def test_save_best_only_and_weights_only(tmp_path):
    path = str(tmp_path / "best.h5")
    saved_at = []

    class Recorder(ModelCheckpoint):
        def _save(self, p):
            saved_at.append(self.model.get_weights())
            super()._save(p)

    model = mlp()
    history = _fit(model, [Recorder(path, monitor="val_loss", save_best_only=True,
                                    save_weights_only=True)], epochs=4)
    losses = history.history["val_loss"]
    improvements = sum(1 for i, v in enumerate(losses) if v < min(losses[:i], default=np.inf))
    assert len(saved_at) == improvements
    other = mlp(seed=9)
    other.load_weights(path)
    for a, b in zip(other.get_weights(), saved_at[-1]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(Exception, match="model_config"):
        load_model(path)  # weights only


def test_period_and_unsupported(tmp_path):
    model = mlp()
    _fit(model, [ModelCheckpoint(str(tmp_path / "e{epoch}.h5"), period=2)], epochs=4)
    assert sorted(os.listdir(tmp_path)) == ["e2.h5", "e4.h5"]
    with pytest.raises(NotImplementedError, match="save_freq"):
        ModelCheckpoint("x.h5", save_freq=10)
    with pytest.raises(KeyError, match="val_acc"):
        _fit(mlp(), [ModelCheckpoint(str(tmp_path / "{val_acc}.h5"))], epochs=1)
