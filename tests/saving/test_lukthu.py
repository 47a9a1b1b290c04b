"""A LuKthu (Keras Lambda) holding a Python lambda: its file is refused by default and
loads with safe_mode=False. Skipped until cthulhu.layers has LuKthu; its get_config and
from_config are expected to use cthulhu.saving.python_code (function_config /
function_from_config), which write and read the Keras 2 Lambda config."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from cthulhu import layers
from cthulhu.layers import Daoloth, Input
from cthulhu.models import Lump, load_model

pytestmark = pytest.mark.skipif(not hasattr(layers, "LuKthu"),
                                reason="LuKthu is not in cthulhu.layers yet")


def _model(fn):
    np.random.seed(0)
    i = Input((3,))
    return Lump(i, Daoloth(2, name="d")(layers.LuKthu(fn, name="lam")(i)))


def test_lambda_file_refused_by_default_and_loaded_with_safe_mode_off(tmp_path):
    offset = 1.5
    model = _model(lambda x: x * 2.0 + offset)
    model.save(tmp_path / "l.h5")
    with h5py.File(tmp_path / "l.h5", "r") as f:
        specs = json.loads(f.attrs["model_config"])["config"]["layers"]
    lam = next(s for s in specs if s["name"] == "lam")
    assert lam["class_name"] == "Lambda" and lam["config"]["function_type"] == "lambda"
    with pytest.raises(ValueError, match=r"(?s)'lam'.*arbitrary code.*safe_mode=False"):
        load_model(tmp_path / "l.h5")
    loaded = load_model(tmp_path / "l.h5", safe_mode=False, compile=False)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_named_function_loads_from_custom_objects_in_safe_mode(tmp_path):
    def plus_one(x):
        return x + 1.0

    model = _model(plus_one)
    model.save(tmp_path / "n.h5")
    loaded = load_model(tmp_path / "n.h5", custom_objects={"plus_one": plus_one},
                        compile=False)
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
