"""Save and load round trips: every layer, Pile, Lump, nested models, shared layers, with and
without optimizer state; configs and JSON; weights-only files by topology and by name."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from cthulhu import layers
from cthulhu.layers import Daoloth, Input
from cthulhu.models import Lump, Pile, load_model, model_from_config, model_from_json
from cthulhu.saving import SaveFileError

from ..api.test_layers import CASE_INPUTS, CASES
from .helpers import assert_same_weights, data, mlp, two_input

EXTRA_CASES = [
    ("darkness", lambda: layers.Darkness(0.3, seed=1), [(4,)]),
    ("daoloth_regularized", lambda: Daoloth(3, kernel_regularizer="l2", bias_regularizer="l1",
                                            kernel_constraint="max_norm",
                                            bias_constraint="non_neg",
                                            activity_regularizer="l1_l2",
                                            kernel_initializer="he_normal"), [(4,)]),
    ("daoloth_no_bias", lambda: Daoloth(2, use_bias=False, activation="hard_sigmoid"), [(3,)]),
]
ALL_CASES = [(c[0], c[1], c[2]) for c in CASES] + EXTRA_CASES


def _json(config):
    return json.loads(json.dumps(config))


def _inputs(shapes, rng, name=""):
    make = CASE_INPUTS.get(name, lambda r, shape: r.normal(size=shape))
    xs = [make(rng, (5,) + s).astype("float32") for s in shapes]
    return xs if len(xs) > 1 else xs[0]


@pytest.mark.parametrize("name,make,shapes", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_every_layer_round_trips_through_a_file(tmp_path, name, make, shapes):
    np.random.seed(0)
    ins = [Input(s) for s in shapes]
    layer = make()
    model = Lump(ins, layer(ins if len(ins) > 1 else ins[0]))
    x = _inputs(shapes, np.random.default_rng(0), name)
    want = model.predict(x)
    model.save(tmp_path / "m.h5")
    # Our own file: a LuKthu case may hold a lambda, which safe mode would refuse.
    loaded = load_model(tmp_path / "m.h5", compile=False, safe_mode=False)
    twin = loaded.get_layer(layer.name)
    assert type(twin) is type(layer)
    assert _json(twin.get_config()) == _json(layer.get_config())
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x), want)


def test_every_exported_layer_has_a_round_trip_case():
    tested = set()
    for _, make, _ in ALL_CASES:
        np.random.seed(0)
        tested.add(type(make()))
    exported = {obj for obj in vars(layers).values()
                if isinstance(obj, type) and issubclass(obj, layers.Layer)}
    untested = {cls.__name__ for cls in exported - tested} - {"Layer", "InputLayer"}
    assert not untested, f"layers without a saving round trip: {sorted(untested)}"


def test_file_layout_is_keras_2(tmp_path):
    model = mlp()
    model.conjure("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert set(f.attrs) >= {"keras_version", "backend", "model_config", "training_config"}
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        classes = [spec["class_name"] for spec in config["config"]["layers"]]
        assert classes == ["InputLayer", "Dense", "Dropout", "Dense"]
        names = [n.decode() for n in f["model_weights"].attrs["layer_names"]]
        assert names == ["h1", "drop", "out"]
        weights = [n.decode() for n in f["model_weights/h1"].attrs["weight_names"]]
        assert weights == ["h1/kernel:0", "h1/bias:0"]
        assert f["model_weights/h1/h1/kernel:0"].shape == (4, 6)
        opt = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        assert opt[:3] == ["iteration:0", "Adam/m/h1/kernel:0", "Adam/v/h1/kernel:0"]
        train = json.loads(f.attrs["training_config"])
        assert train["loss"] == "categorical_crossentropy"
        assert train["optimizer_config"]["class_name"] == "Adam"


def test_pile_with_optimizer_state(tmp_path):
    x, _, y, _ = data()
    model = mlp()
    model.conjure("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.summon(x, y, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m.h5")
    loaded = load_model(tmp_path / "m.h5")
    assert isinstance(loaded, Pile) and loaded.name == "mlp"
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert int(loaded.optimizer.iterations.numpy()) == 8
    for a, b in zip(model.optimizer.get_weights(), loaded.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.metrics_names == model.metrics_names
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))


def test_without_optimizer_and_without_compile(tmp_path):
    model = mlp()
    model.conjure("sgd", "mse")
    model.save(tmp_path / "m.h5", include_optimizer=False)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert "optimizer_weights" not in f
    assert load_model(tmp_path / "m.h5").optimizer is not None
    assert load_model(tmp_path / "m.h5", compile=False).optimizer is None
    unconjured = mlp()
    unconjured.save(tmp_path / "u.h5")
    with pytest.warns(UserWarning, match="not conjured"):
        assert load_model(tmp_path / "u.h5").optimizer is None


def test_lump_two_inputs(tmp_path):
    x, xb, _, yb = data()
    model = two_input()
    model.conjure("rmsprop", "binary_crossentropy", metrics=["accuracy"])
    model.summon([x, xb], yb, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "f.h5")
    loaded = load_model(tmp_path / "f.h5")
    assert isinstance(loaded, Lump)
    assert [la.name for la in loaded.layers] == [la.name for la in model.layers]
    assert loaded.input_names == ["a", "b"]
    np.testing.assert_array_equal(loaded.predict([x, xb]), model.predict([x, xb]))


def test_nested_models_and_shared_layers(tmp_path):
    np.random.seed(0)
    inner_pile = Pile([Daoloth(3, activation="relu", input_shape=(4,), name="p1")], name="pile")
    i = Input((3,), name="inner_in")
    inner_lump = Lump(i, Daoloth(2, name="l1")(i), name="lump_in")
    shared = Daoloth(3, activation="tanh", name="shared")
    a, b = Input((4,), name="a"), Input((4,), name="b")
    ha, hb = inner_pile(a), inner_pile(b)          # a nested Pile called twice
    sa, sb = shared(ha), shared(hb)                # a shared layer
    out = inner_lump(layers.Add(name="add")([sa, sb]))  # a nested Lump
    model = Lump([a, b], [out, sa], name="outer")
    model.conjure("adam", ["mse", "mse"])
    x, _, _, _ = data()
    model.train_on_batch([x, x[::-1]], [np.ones((16, 2)), np.zeros((16, 3))])
    model.save(tmp_path / "n.h5")
    loaded = load_model(tmp_path / "n.h5")
    for got, want in zip(loaded.predict([x, x[::-1]]), model.predict([x, x[::-1]])):
        np.testing.assert_array_equal(got, want)
    assert isinstance(loaded.get_layer("pile"), Pile)
    assert isinstance(loaded.get_layer("lump_in"), Lump)
    assert_same_weights(model, loaded)
    # The shared layer is one layer with its weights once.
    assert len(loaded.weights) == len(model.weights)
    nodes = {spec["name"]: spec["inbound_nodes"]
             for spec in model.get_config()["layers"]}
    # Keras numbering: a nested model's own node is 0, so its calls start at 1.
    assert nodes["shared"] == [[["pile", 1, 0, {}]], [["pile", 2, 0, {}]]]
    assert nodes["lump_in"] == [[["add", 0, 0, {}]]]
    for got, want in zip(loaded.optimizer.get_weights(), model.optimizer.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_get_config_from_config_and_json():
    x, xb, _, _ = data()
    for model, feed in ((mlp(), x), (two_input(), [x, xb])):
        config = model.get_config()
        clone = type(model).from_config(config)
        assert clone.get_config() == config
        clone.set_weights(model.get_weights())
        np.testing.assert_array_equal(clone.predict(feed), model.predict(feed))
        text = model.to_json()
        assert json.loads(text)["class_name"] in ("Sequential", "Functional")
        again = model_from_json(text)
        assert again.get_config() == config
        again = model_from_config({"class_name": type(model).__name__, "config": config})
        assert again.get_config() == config


def test_both_spellings_are_read():
    config = json.loads(mlp().to_json())
    for spec in config["config"]["layers"]:
        spec["class_name"] = {"Dense": "Daoloth", "Dropout": "Darkness"}.get(
            spec["class_name"], spec["class_name"])
    config["class_name"] = "Pile"
    model = model_from_config(config)
    assert [type(la).__name__ for la in model.layers] == ["Daoloth", "Darkness", "Daoloth"]
    functional = json.loads(two_input().to_json())
    functional["class_name"] = "Model"  # Keras 2.2's spelling
    assert isinstance(model_from_config(functional), Lump)


def test_save_weights_and_load_weights_by_topology(tmp_path):
    x, _, _, _ = data()
    model = mlp(seed=1)
    model.save_weights(tmp_path / "w.h5")
    other = mlp(seed=2)
    other.load_weights(tmp_path / "w.h5")
    assert_same_weights(model, other)
    # Topological loading ignores names.
    np.random.seed(5)
    renamed = Pile([Daoloth(6, activation="relu", input_shape=(4,)), layers.Darkness(0.1),
                    Daoloth(3, activation="softmax")])
    renamed.load_weights(tmp_path / "w.h5")
    np.testing.assert_array_equal(renamed.predict(x), model.predict(x))
    # A full model file holds the weights too.
    model.save(tmp_path / "m.h5")
    third = mlp(seed=3)
    third.load_weights(tmp_path / "m.h5")
    assert_same_weights(model, third)


def test_load_weights_by_name_and_skip_mismatch(tmp_path):
    model = mlp(seed=1)
    model.save_weights(tmp_path / "w.h5")
    np.random.seed(9)
    other = Pile([Daoloth(6, input_shape=(4,), name="h1"), Daoloth(7, name="out"),
                  Daoloth(2, name="extra")])
    before = other.get_weights()
    with pytest.raises(SaveFileError, match=r"layer 'out'.*\(6, 7\).*\(6, 3\)"):
        other.load_weights(tmp_path / "w.h5", by_name=True)
    for a, b in zip(before, other.get_weights()):  # nothing was loaded
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="Skipping loading weights for layer 'out'"):
        other.load_weights(tmp_path / "w.h5", by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(other.get_layer("h1").get_weights()[0],
                                  model.get_layer("h1").get_weights()[0])
    np.testing.assert_array_equal(other.get_layer("out").get_weights()[0], before[2])
    with pytest.raises(ValueError, match="by_name"):
        other.load_weights(tmp_path / "w.h5", skip_mismatch=True)


def test_custom_objects_and_scope(tmp_path):
    from cthulhu.utils import CustomObjectScope, custom_object_scope

    class Doubler(layers.Layer):
        def call(self, inputs, training=False):
            return inputs * 2.0

    def scaled_mse(y_true, y_pred):
        from cthulhu import backend as K
        return K.mean(K.square(y_true - y_pred), axis=-1) * 3.0

    np.random.seed(0)
    model = Pile([Daoloth(2, input_shape=(3,), name="d"), Doubler(name="twice")])
    model.conjure("sgd", scaled_mse)
    model.save(tmp_path / "c.h5")
    with pytest.raises(ValueError, match="Unknown layer: 'Doubler'.*custom_objects"):
        load_model(tmp_path / "c.h5")
    objects = {"Doubler": Doubler, "scaled_mse": scaled_mse}
    x = np.ones((2, 3), "float32")
    loaded = load_model(tmp_path / "c.h5", custom_objects=objects)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.loss_fn is scaled_mse
    with CustomObjectScope(objects):
        assert isinstance(load_model(tmp_path / "c.h5").get_layer("twice"), Doubler)
    with custom_object_scope(objects):
        assert isinstance(model_from_json(model.to_json()).get_layer("twice"), Doubler)
    with pytest.raises(ValueError, match="Unknown layer"):  # the scope ended
        model_from_json(model.to_json())


def test_unsupported_arguments_raise():
    model = mlp()
    with pytest.raises(NotImplementedError, match="save_format"):
        model.save("x.keras", save_format="tf")
    with pytest.raises(NotImplementedError, match="to_json"):
        model.to_yaml()


def test_open_h5py_files(tmp_path):
    model = mlp()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:  # reading from an open file works
        assert_same_weights(load_model(f, compile=False), model)
        model.load_weights(f)
    with h5py.File(tmp_path / "x.h5", "w") as f, \
            pytest.raises(NotImplementedError, match="open h5py.File"):
        model.save(f)
    with pytest.raises(NotImplementedError, match="overwrite=False"):
        model.save(tmp_path / "m.h5", overwrite=False)


def test_loaded_weights_reach_compiled_plans(tmp_path):
    x, _, y, _ = data()
    source = mlp(seed=11)
    source.save_weights(tmp_path / "w.h5")
    model = mlp(seed=12)
    model.conjure("sgd", "categorical_crossentropy")
    before = model.predict(x)  # the predict plan exists now
    model.evaluate(x, y, verbose=0)
    model.load_weights(tmp_path / "w.h5")
    after = model.predict(x)
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(after, source.predict(x))
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0),
                               _conjured(source).evaluate(x, y, verbose=0), rtol=1e-6)


def _conjured(model):
    model.conjure("sgd", "categorical_crossentropy")
    return model


def test_keras_spellings(tmp_path):
    import cthulhu as keras
    model = keras.models.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    keras.models.save_model(model, str(tmp_path / "k.h5"))
    loaded = keras.models.load_model(str(tmp_path / "k.h5"))
    assert_same_weights(loaded, model)
    cb = keras.callbacks.ModelCheckpoint(str(tmp_path / "c.h5"))
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0, callbacks=[cb])
    with keras.utils.CustomObjectScope({}):
        assert_same_weights(keras.models.load_model(str(tmp_path / "c.h5")), model)
