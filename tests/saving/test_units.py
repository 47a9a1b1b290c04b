"""Small parts: custom-object scopes, the Lambda safety check on hand-built configs, the
bytecode round trip, attribute chunks, and the atomic writer."""

from __future__ import annotations

import json
import os
import threading

import h5py
import numpy as np
import pytest

from cthulhu.models import model_from_config, model_from_json
from cthulhu.saving import atomic, h5_attrs, python_code, serialization
from cthulhu.utils import CustomObjectScope, get_custom_objects

from .helpers import mlp


def _lambda_config(function_type="lambda"):
    fn = python_code.dump_function(lambda x: x * 2) if function_type == "lambda" else "double"
    return {"class_name": "Functional", "config": {
        "name": "with_lambda", "layers": [
            {"class_name": "InputLayer", "name": "i", "inbound_nodes": [],
             "config": {"batch_input_shape": [None, 3], "dtype": "float32", "name": "i"}},
            {"class_name": "Lambda", "name": "lam", "inbound_nodes": [[["i", 0, 0, {}]]],
             "config": {"name": "lam", "trainable": True, "dtype": "float32",
                        "function": fn, "function_type": function_type, "module": "__main__",
                        "output_shape": None, "output_shape_type": "raw",
                        "output_shape_module": None, "arguments": {}}}],
        "input_layers": [["i", 0, 0]], "output_layers": [["lam", 0, 0]]}}


def test_lambda_bytecode_config_is_refused_by_default():
    for spelling in ("Lambda", "LuKthu"):
        config = _lambda_config()
        config["config"]["layers"][1]["class_name"] = spelling
        with pytest.raises(ValueError, match=r"(?s)Refusing.*'lam'.*arbitrary code.*"
                                             r"safe_mode=False"):
            model_from_config(config)
        with pytest.raises(ValueError, match="Refusing"):
            model_from_json(json.dumps(config))


def test_lambda_checks_lifted_by_safe_mode_false_only_inside_the_call():
    config = _lambda_config()
    try:
        model_from_config(config, safe_mode=False)
    except ValueError as err:  # without LuKthu the class is what is missing
        assert "Unknown layer: 'Lambda'" in str(err)
    assert serialization.safe_mode() is False  # outside the loaders, from_config is trusted
    with pytest.raises(ValueError, match="Refusing"):
        model_from_config(config)


def test_named_function_lambda_is_not_refused():
    try:
        model_from_config(_lambda_config("function"), custom_objects={"double": lambda x: x})
    except ValueError as err:
        assert "Refusing" not in str(err)


def test_output_shape_bytecode_is_refused_too():
    config = _lambda_config("function")
    config["config"]["layers"][1]["config"].update(
        output_shape=python_code.dump_function(lambda s: s), output_shape_type="lambda")
    with pytest.raises(ValueError, match="Refusing"):
        model_from_config(config)


def test_function_config_round_trip():
    offset = 3.0

    def make():
        return lambda x, k=2.0: x * k + offset

    fn = make()
    entry = python_code.function_config(fn)
    assert entry["function_type"] == "lambda"
    again = python_code.load_function(json.loads(json.dumps(entry["function"])))
    assert again(1.0) == 5.0 and again(1.0, 1.0) == 4.0
    # A named function is written by name (unless it holds a closure, like make).
    assert python_code.function_config(make)["function_type"] == "lambda"

    def plain(x):
        return x + 1.0

    with serialization.loading_options({"plain": plain}):
        assert python_code.function_from_config(python_code.function_config(plain)) is plain
    # In safe mode (the loaders' default), a name is not looked up in arbitrary modules.
    with serialization.loading_options(safe_mode=True), \
            pytest.raises(ValueError, match="custom_objects"):
        python_code.function_from_config({"function": "system", "function_type": "function",
                                          "module": "os"})


def test_scopes_nest_and_stay_per_thread():
    class A:
        pass

    class B:
        pass

    with CustomObjectScope({"X": A}):
        with CustomObjectScope({"X": B}):
            assert serialization.custom_objects()["X"] is B
        assert serialization.custom_objects()["X"] is A
        seen = []
        thread = threading.Thread(target=lambda: seen.append(
            "X" in serialization.custom_objects()))
        thread.start()
        thread.join()
        assert seen == [False]
    assert "X" not in serialization.custom_objects()
    get_custom_objects()["Y"] = A
    try:
        assert serialization.custom_objects()["Y"] is A
    finally:
        del get_custom_objects()["Y"]


def test_chunked_names_round_trip(tmp_path, monkeypatch):
    names = [f"layer_{i:04d}" for i in range(50)]
    monkeypatch.setattr(h5_attrs, "HEADER_LIMIT", 64)
    with h5py.File(tmp_path / "a.h5", "w") as f:
        h5_attrs.write_names(f.attrs, "names", names)
        h5_attrs.write_names(f.attrs, "empty", [])
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert "names" not in f.attrs and "names0" in f.attrs
        assert all(f.attrs[k].nbytes <= 64 for k in f.attrs if k.startswith("names"))
        assert h5_attrs.read_names(f.attrs, "names") == names
        assert h5_attrs.read_names(f.attrs, "empty") == []
        with pytest.raises(KeyError):
            h5_attrs.read_names(f.attrs, "absent")


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic.atomic_path(str(target)) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise RuntimeError("crash")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["f.bin"]
    with atomic.atomic_path(str(target)) as tmp, open(tmp, "wb") as f:
        f.write(b"new")
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["f.bin"]


def test_json_of_numpy_values():
    text = serialization.to_json({"a": np.int64(3), "b": np.float32(0.5), "c": (1, 2)})
    assert json.loads(text) == {"a": 3, "b": 0.5, "c": [1, 2]}
    with pytest.raises(ValueError, match="not valid JSON"):
        model_from_json("{not json")
    assert json.loads(mlp().to_json())["backend"] == "cthulhu"


def _dense_spec(**config):
    return {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2],
                                                "dtype": "float32", "name": "i", **config.pop(
                                                    "input_extra", {})}},
        {"class_name": "Dense", "config": {"name": "d", "units": 1, **config}}]}}


def test_unsupported_configs_raise_clearly():
    with pytest.raises(NotImplementedError, match="mixed precision"):
        model_from_config(_dense_spec(dtype={"class_name": "Policy",
                                             "config": {"name": "mixed_float16"}}))
    with pytest.raises(NotImplementedError, match="ragged"):
        model_from_config(_dense_spec(input_extra={"ragged": True}))
    with pytest.raises(TypeError, match=r"layer 'd' \(Dense\).*unexpected keyword"):
        model_from_config(_dense_spec(kernel_quantizer="int8"))
    model = model_from_config(_dense_spec(dtype={"class_name": "Policy",
                                                 "config": {"name": "float32"}},
                                          activation={"class_name": "function",
                                                      "config": "relu"}))
    assert model.layers[0].get_config()["activation"] == "relu"
    lump = {"class_name": "Functional", "config": {
        "name": "f", "layers": [
            {"class_name": "InputLayer", "name": "i", "inbound_nodes": [],
             "config": {"batch_input_shape": [None, 2], "dtype": "float32", "name": "i"}},
            {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 1},
             "inbound_nodes": [[["i", 0, 0, {"training": True}]]]}],
        "input_layers": [["i", 0, 0]], "output_layers": [["d", 0, 0]]}}
    with pytest.raises(NotImplementedError, match="keyword arguments"):
        model_from_config(lump)
    lump["config"]["layers"][1]["inbound_nodes"] = [[["nowhere", 0, 0, {}]]]
    with pytest.raises(ValueError, match=r"inconsistent.*\['d'\]"):
        model_from_config(lump)


def test_training_config_from_tf_keras_forms():
    from cthulhu.saving import training_config
    args = training_config.conjure_args({
        "loss": {"out": {"class_name": "MeanSquaredError",
                         "config": {"reduction": "auto", "name": "mean_squared_error"}}},
        "metrics": [[{"class_name": "MeanMetricWrapper",
                      "config": {"name": "mae", "dtype": "float32",
                                 "fn": "mean_absolute_error"}},
                     {"class_name": "MeanMetricWrapper",
                      "config": {"name": "accuracy", "fn": "categorical_accuracy"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Custom>RMSprop", "config": {
            "name": "RMSprop", "learning_rate": 0.5, "rho": 0.8, "momentum": 0.0,
            "epsilon": 1e-7, "centered": False, "weight_decay": None, "clipnorm": None,
            "global_clipnorm": None, "clipvalue": None, "use_ema": False,
            "ema_momentum": 0.99, "ema_overwrite_frequency": 100, "jit_compile": True,
            "is_legacy_optimizer": False}}}, {})
    assert type(args["optimizer"]).__name__ == "RMSprop"
    assert args["optimizer"].learning_rate == 0.5 and args["optimizer"].rho == 0.8
    assert args["metrics"] == [["mae", "accuracy"]]
    assert type(args["loss"]["out"]).__name__ == "MeanSquaredError"
    with pytest.raises(NotImplementedError, match="schedules"):
        training_config.conjure_args({"optimizer_config": {"class_name": "Adam", "config": {
            "learning_rate": {"class_name": "ExponentialDecay", "config": {}}}}}, {})
    with pytest.raises(NotImplementedError, match="AUC"):
        training_config.conjure_args({"metrics": [{"class_name": "AUC", "config": {}}],
                                      "optimizer_config": {"class_name": "SGD",
                                                           "config": {}}}, {})


def test_unknown_optimizer_suggests_compile_false(tmp_path):
    from cthulhu.models import load_model
    model = mlp()
    model.conjure("sgd", "mse")
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        train = json.loads(f.attrs["training_config"])
        train["optimizer_config"]["class_name"] = "Ftrl"
        f.attrs["training_config"] = json.dumps(train)
    with pytest.raises(ValueError, match=r"m\.h5.*Unknown optimizer: 'Ftrl'.*compile=False"):
        load_model(tmp_path / "m.h5")
    assert load_model(tmp_path / "m.h5", compile=False).optimizer is None
