"""Lump, the functional API: single and several inputs/outputs, named data, shared layers,
nested models, get_layer, and fused training against the reference interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import cthulhu
from compiler.interpret import interpret
from cthulhu import backend as K
from cthulhu.engine.graphs import build_graph
from cthulhu.layers import Daoloth, Input
from cthulhu.models import Lump, Model, Pile


def _xy(n=48, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 5)).astype("float32")
    b = rng.normal(size=(n, 3)).astype("float32")
    return a, b


def test_single_io_lump_matches_pile():
    np.random.seed(0)
    pile = Pile([Daoloth(6, activation="tanh", input_shape=(5,)), Daoloth(2)])
    inp = Input(shape=(5,))
    out = pile.layers[1](pile.layers[0](inp))
    for model in (Lump(inp, out), Lump(inputs=inp, outputs=out), Model(input=inp, output=out)):
        a, _ = _xy()
        np.testing.assert_array_equal(model.predict(a), pile.predict(a))
        assert model.input_shape == (None, 5) and model.output_shape == (None, 2)
        assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Daoloth",
                                                                    "Daoloth"]


def _two_by_two(seed=0):
    np.random.seed(seed)
    in_a, in_b = Input(shape=(5,), name="a"), Input(shape=(3,), name="b")
    shared = Daoloth(4, activation="relu", name="shared")
    h = Daoloth(4, activation="tanh", name="mix")(shared(in_a))
    c = Daoloth(4, name="c_proj")(in_b)
    out_cls = Daoloth(3, activation="softmax", name="cls")(h)
    out_reg = Daoloth(1, name="reg")(c)
    return Lump([in_a, in_b], [out_cls, out_reg]), shared


def _targets(n=48, seed=1):
    rng = np.random.default_rng(seed)
    return np.eye(3, dtype="float32")[rng.integers(0, 3, n)], rng.normal(size=(n, 1))


def test_two_inputs_two_outputs_with_dicts_weights_and_metrics():
    model, _ = _two_by_two()
    assert model.input_names == ["a", "b"] and model.output_names == ["cls", "reg"]
    assert model.output_shape == [(None, 3), (None, 1)]
    model.conjure("adam", loss={"cls": "categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5},
                  metrics={"cls": ["accuracy"], "reg": ["mae"]})
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    a, b = _xy()
    y_cls, y_reg = _targets()
    scores = model.evaluate({"a": a, "b": b}, {"cls": y_cls, "reg": y_reg}, verbose=0)
    assert scores[0] == pytest.approx(scores[1] + 0.5 * scores[2], rel=1e-6)
    history = model.summon([a, b], [y_cls, y_reg], epochs=3, batch_size=16, verbose=0)
    assert set(history.history) == set(model.metrics_names)
    assert history.history["loss"][-1] < history.history["loss"][0]
    predictions = model.predict([a, b])
    assert [p.shape for p in predictions] == [(48, 3), (48, 1)]
    on_batch = model.predict_on_batch([a[:4], b[:4]])
    np.testing.assert_allclose(on_batch[1], predictions[1][:4], rtol=1e-6)


def test_loss_list_sample_weights_per_output_and_errors():
    model, _ = _two_by_two()
    model.conjure("sgd", loss=["categorical_crossentropy", "mse"], loss_weights=[0.0, 1.0])
    a, b = _xy()
    y_cls, y_reg = _targets()
    weights = np.linspace(0, 1, len(a))
    unweighted = model.evaluate([a, b], [y_cls, y_reg], verbose=0)
    weighted = model.evaluate([a, b], [y_cls, y_reg], sample_weight={"reg": weights},
                              verbose=0)
    pred = model.predict([a, b])[1]
    want = np.mean((pred - y_reg) ** 2 * weights[:, None])
    assert weighted[2] == pytest.approx(want, rel=1e-5)
    assert weighted[0] == pytest.approx(weighted[2], rel=1e-6)  # cls loss weighted 0
    assert unweighted[1] == pytest.approx(weighted[1], rel=1e-6)
    with pytest.raises(ValueError, match="expects 2 arrays"):
        model.evaluate(a, [y_cls, y_reg], verbose=0)
    with pytest.raises(ValueError, match="No data provided"):
        model.evaluate({"a": a}, [y_cls, y_reg], verbose=0)
    with pytest.raises(ValueError, match="one entry per"):
        model.conjure("sgd", loss=["mse"])
    with pytest.raises(ValueError, match="Unknown entries"):
        model.conjure("sgd", loss={"nope": "mse", "cls": "mse", "reg": "mse"})


def test_shared_layer_weights_count_once_and_gradients_accumulate():
    K.set_floatx("float64")
    try:
        np.random.seed(3)
        x1, x2 = Input(shape=(4,)), Input(shape=(4,))
        shared = Daoloth(3, activation="tanh")
        merged_in = Daoloth(2)(shared(x1))
        other = Daoloth(2)(shared(x2))
        model = Lump([x1, x2], [merged_in, other])
        assert len(model.weights) == 6  # shared kernel and bias once
        model.conjure(cthulhu.optimizers.SGD(0.1), loss="mse")
        rng = np.random.default_rng(0)
        xs = [rng.normal(size=(7, 4)), rng.normal(size=(7, 4))]
        ys = [rng.normal(size=(7, 2)), rng.normal(size=(7, 2))]
        reference = build_graph(model, "train", fusion=False, check=True)
        ones = np.ones(7)
        outputs, new_state = interpret(reference.graph, [xs[0], xs[1], ys[0], ones, ys[1],
                                                         ones],
                                       [v.numpy() for v in reference.variables])
        loss = model.train_on_batch(xs, ys)[0]
        assert loss == pytest.approx(float(outputs["loss"]), rel=1e-10)
        for var, want in zip(reference.variables, new_state):
            np.testing.assert_allclose(var.numpy(), want, rtol=1e-10, atol=1e-12)
    finally:
        K.set_floatx("float32")


def test_nested_models_as_layers():
    np.random.seed(1)
    inner_in = Input(shape=(5,))
    inner = Lump(inner_in, Daoloth(4, activation="relu")(inner_in), name="inner")
    stack = Pile([Daoloth(3, input_shape=(4,))], name="stack")
    outer_in = Input(shape=(5,))
    outer = Lump(outer_in, stack(inner(outer_in)))
    a, _ = _xy()
    manual = stack.predict(inner.predict(a))
    np.testing.assert_allclose(outer.predict(a), manual, rtol=1e-6)
    assert len(outer.weights) == 4
    outer.conjure("sgd", "mse")
    before = inner.get_weights()[0].copy()
    outer.train_on_batch(a, np.ones((len(a), 3)))
    assert not np.array_equal(before, inner.get_weights()[0])  # trained through the nesting


def test_get_layer_and_errors(capsys):
    model, shared = _two_by_two()
    assert model.get_layer("shared") is shared
    assert model.get_layer(index=0).name == "a"
    assert model.get_layer(name="reg", index=0).name == "a"  # index wins
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("missing")
    with pytest.raises(ValueError, match="index 99"):
        model.get_layer(index=99)
    stray = Input(shape=(5,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        Lump(Input(shape=(5,)), Daoloth(2)(stray))
    with pytest.raises(ValueError, match="Input"):
        t = Daoloth(2)(Input(shape=(2,)))
        Lump(t, Daoloth(1)(t))
    model.summary()
    out = capsys.readouterr().out
    assert "shared (Daoloth)" in out and "Total params:" in out


def test_class_weight_per_output_weights_each_output_loss_exactly():
    model, _ = _two_by_two()
    model.conjure("sgd", ["categorical_crossentropy", "mse"])
    rng = np.random.default_rng(5)
    xa, xb = rng.normal(size=(48, 5)), rng.normal(size=(48, 3))
    y1, y2 = _targets()
    p1, p2 = model.predict([xa, xb])
    table = {0: 1.0, 1: 3.0, 2: 0.5}
    cls_name = model.output_names[0]
    # train_on_batch reports the losses of the forward pass before its update.
    values = model.train_on_batch([xa, xb], [y1, y2], class_weight={cls_name: table})
    w = np.array([table[c] for c in y1.argmax(-1)])
    ce = -np.sum(y1 * np.log(np.clip(p1, 1e-7, 1 - 1e-7)), axis=-1)
    np.testing.assert_allclose(values[1], (ce * w).mean(), rtol=1e-5)
    np.testing.assert_allclose(values[2], ((p2 - y2) ** 2).mean(), rtol=1e-5)  # unweighted
    with pytest.raises(ValueError, match="keyed by output name"):
        model.train_on_batch([xa, xb], [y1, y2], class_weight=table)
    with pytest.raises(ValueError, match="one dict per model output"):
        model.train_on_batch([xa, xb], [y1, y2], class_weight=[table])
