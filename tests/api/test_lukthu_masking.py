"""LuKthu (Lambda) and Masking: the documentation's examples, untraceable functions, config
round trips, and masks from Masking through layers to the loss and metrics."""

from __future__ import annotations

import numpy as np
import pytest

import cthulhu
from cthulhu import backend as K
from cthulhu.layers import (
    Concatenate,
    Daoloth,
    Flatten,
    Input,
    LuKthu,
    Masking,
    PReLU,
    RepeatVector,
    Softmax,
)
from cthulhu.models import Lump, Pile
from tests.api.layer_harness import layer_test


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def antirectifier_output_shape(input_shape):
    shape = list(input_shape)
    shape[-1] *= 2
    return tuple(shape)


def antirectifier_reference(xs, weights):
    x = xs[0] - xs[0].mean(axis=1, keepdims=True)
    x = x / np.sqrt(np.maximum((x * x).sum(axis=1, keepdims=True), 1e-12))
    return np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], axis=1)


def hadamard_product_sum(tensors):
    out1 = tensors[0] * tensors[1]
    out2 = K.sum(out1, axis=-1)
    return [out1, out2]


def hadamard_product_sum_output_shape(input_shapes):
    shape1, shape2 = list(input_shapes[0]), list(input_shapes[1])
    assert shape1 == shape2
    return [tuple(shape1), tuple(shape2[:-1])]


def test_antirectifier_through_the_layer_harness():
    layer_test(lambda: LuKthu(antirectifier, output_shape=antirectifier_output_shape), [(6,)],
               reference=antirectifier_reference)


def test_antirectifier_trains_in_a_pile():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = np.eye(2)[(x[:, 0] > x[:, 1]).astype(int)]
    model = Pile([Daoloth(16, input_shape=(8,)), LuKthu(antirectifier, antirectifier_output_shape),
                  Daoloth(2, activation="softmax")])
    model.conjure(cthulhu.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["acc"])
    history = model.summon(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["acc"][-1] > 0.9
    assert model.predict(x[:3]).shape == (3, 2)


def test_lambda_with_arguments_and_a_closure_round_trips_its_config():
    scale = 3.0
    layer = LuKthu(lambda x, offset: x * scale + offset, arguments={"offset": 1.0})
    layer_test(lambda: LuKthu(lambda x, offset: x * scale + offset, arguments={"offset": 1.0}),
               [(4,)], reference=lambda xs, w: xs[0] * 3.0 + 1.0)
    config = layer.get_config()
    assert config["function_type"] == "lambda" and config["arguments"] == {"offset": 1.0}
    clone = LuKthu.from_config(config)
    x = Input((4,))
    model = Lump(x, clone(x))
    np.testing.assert_allclose(model.predict(np.ones((2, 4))), np.full((2, 4), 4.0))


def test_named_function_config_names_it_and_custom_objects_find_it():
    config = LuKthu(antirectifier).get_config()
    assert config["function"] == "antirectifier" and config["function_type"] == "function"
    assert LuKthu.from_config(dict(config)).function is antirectifier
    config["module"] = "no.such.module"
    with pytest.raises(ValueError, match="custom_objects"):
        LuKthu.from_config(dict(config))
    found = LuKthu.from_config(dict(config), custom_objects={"antirectifier": antirectifier})
    assert found.function is antirectifier


def test_two_outputs_hadamard_build_train_and_predict():
    a, b = Input((4,)), Input((4,))
    h = Daoloth(4)(a)
    product, total = LuKthu(hadamard_product_sum, hadamard_product_sum_output_shape)([h, b])
    assert product.shape == (None, 4) and total.shape == (None,)
    model = Lump([a, b], [product, total])
    model.conjure("adam", ["mse", "mse"])
    xa, xb = np.ones((8, 4), "float32"), np.full((8, 4), 2.0, "float32")
    before = model.evaluate([xa, xb], [xa, xa[:, 0] * 4], verbose=0)[0]
    model.summon([xa, xb], [xa, xa[:, 0] * 4], epochs=5, verbose=0)
    assert model.evaluate([xa, xb], [xa, xa[:, 0] * 4], verbose=0)[0] < before
    p, s = model.predict([xa, xb])
    np.testing.assert_allclose(s, p.sum(axis=-1), rtol=1e-5)


def test_untraceable_function_fails_at_build_naming_the_layer():
    x = Input((4,))
    with pytest.raises(TypeError, match=r"LuKthu layer 'bad_numpy'.*numpy\.exp"):
        LuKthu(lambda t: np.exp(t), name="bad_numpy")(x)
    with pytest.raises(TypeError, match=r"'bad_if'.*truth value.*K\.switch"):
        LuKthu(lambda t: t if t > 0 else -t, name="bad_if")(x)
    with pytest.raises(TypeError, match=r"'bad_array'.*numpy array"):
        LuKthu(lambda t: np.asarray(t) + 1, name="bad_array")(x)
    with pytest.raises(TypeError, match=r"'bad_return'.*returned ndarray"):
        LuKthu(lambda t: np.ones(3), name="bad_return")(x)
    with pytest.raises(TypeError, match=r"'bad_attr'.*numpy"):
        LuKthu(lambda t: t.numpy(), name="bad_attr")(x)


def test_declared_output_shape_must_agree_with_the_function():
    x = Input((4,))
    with pytest.raises(ValueError, match=r"output_shape says \(None, 5\)"):
        LuKthu(lambda t: t * 2, output_shape=(5,))(x)
    y = LuKthu(lambda t: t * 2, output_shape=(4,))(x)
    assert y.shape == (None, 4)


def _sequences():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5, 3)).astype("float32")
    x[0, 3:] = 0.0  # masked timesteps
    x[2, :2] = 0.0
    x[4, 1] = 0.0
    keep = (x != 0).any(axis=-1).astype("float32")
    return x, keep


def test_masking_values_and_mask():
    x, keep = _sequences()
    inp = Input((5, 3))
    masked = Masking(0.0)(inp)
    assert masked._mask is not None and masked._mask.shape == (None, 5)
    seen = LuKthu(lambda t, mask: mask * 1.0, mask=lambda t, mask: mask)(masked)
    got = Lump(inp, seen).predict(x)
    np.testing.assert_allclose(got, keep)
    layer_test(lambda: Masking(0.5), [(5, 3)], reference=lambda xs, w: xs[0])


def test_a_layer_without_mask_support_rejects_a_mask_at_build():
    inp = Input((5, 3))
    with pytest.raises(TypeError, match=r"'flatten_masked' \(Flatten\) does not support masking"):
        Flatten(name="flatten_masked")(Masking()(inp))
    with pytest.raises(TypeError, match="does not support masking"):
        LuKthu(lambda t: t * 2)(Masking()(inp))


def test_masked_timesteps_do_not_count_in_the_loss_or_the_metrics():
    x, keep = _sequences()
    rng = np.random.default_rng(1)
    y = np.eye(3)[rng.integers(0, 3, size=(6, 5))].astype("float32")
    sw = rng.uniform(0.5, 2.0, size=(6, 5)).astype("float32")
    inp = Input((5, 3))
    out = Softmax()(PReLU()(Masking()(inp)))
    model = Lump(inp, out)
    model.conjure("sgd", "categorical_crossentropy", metrics=["acc"],
                  weighted_metrics=["acc"], sample_weight_mode="temporal")
    p = model.predict(x).astype(np.float64)
    per_step = -np.sum(y * np.log(np.clip(p, 1e-7, 1 - 1e-7)), axis=-1)
    hits = (p.argmax(-1) == y.argmax(-1)).astype(np.float64)
    loss, acc, weighted_acc = model.evaluate(x, y, sample_weight=sw, batch_size=6, verbose=0)
    np.testing.assert_allclose(loss, (per_step * sw * keep).sum() / keep.sum(), rtol=1e-5)
    np.testing.assert_allclose(acc, (hits * keep).sum() / keep.sum(), rtol=1e-6)
    np.testing.assert_allclose(weighted_acc, (hits * keep * sw).sum() / (keep * sw).sum(),
                               rtol=1e-6)
    # Over several batches, the logs combine the batches exactly.
    loss3, acc3, _ = model.evaluate(x, y, sample_weight=sw, batch_size=2, verbose=0)
    np.testing.assert_allclose(acc3, acc, rtol=1e-6)


def test_temporal_sample_weights_without_a_mask():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 3, 2)).astype("float32")
    y = rng.normal(size=(4, 3, 2)).astype("float32")
    sw = rng.uniform(0.0, 2.0, size=(4, 3)).astype("float32")
    inp = Input((3, 2))
    model = Lump(inp, PReLU()(inp))
    model.conjure("sgd", "mse", sample_weight_mode="temporal")
    p = model.predict(x)
    want = (((p - y) ** 2).mean(-1) * sw).mean()
    np.testing.assert_allclose(model.evaluate(x, y, sample_weight=sw, verbose=0), want,
                               rtol=1e-5)
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        model.evaluate(x, y, sample_weight=sw[:, :2], verbose=0)
    with pytest.raises(NotImplementedError, match="class_weight"):
        model.summon(x, y, class_weight={0: 1.0}, verbose=0)


def test_masks_merge_through_concatenate_with_an_unmasked_branch():
    x, keep = _sequences()
    seq, vec = Input((5, 3)), Input((2,))
    joined = Concatenate()([Masking()(seq), RepeatVector(5)(vec)])
    assert joined._mask is not None
    seen = LuKthu(lambda t, mask: mask * 1.0, mask=lambda t, mask: mask)(joined)
    got = Lump([seq, vec], seen).predict([x, np.ones((6, 2), "float32")])
    np.testing.assert_allclose(got, keep)


def test_a_nested_model_passes_masks_through():
    x, keep = _sequences()
    inner_in = Input((5, 3))
    inner = Lump(inner_in, PReLU()(inner_in))
    outer_in = Input((5, 3))
    out = inner(Masking()(outer_in))
    assert out._mask is not None
    seen = LuKthu(lambda t, mask: mask * 1.0, mask=lambda t, mask: mask)(out)
    np.testing.assert_allclose(Lump(outer_in, seen).predict(x), keep)
