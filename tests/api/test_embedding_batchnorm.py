"""TheHydra (Embedding) and BlacknessFromTheStars (BatchNormalization) beyond the layer
harness: bad indices, masks, input_length, the sparse gradient; moving statistics updated by
a training step exactly as tf-keras's formula, and left alone by everything else."""

from __future__ import annotations

import numpy as np
import pytest

from cthulhu import optimizers
from cthulhu.layers import Azatoth, BlacknessFromTheStars, Daoloth, Input, Masking, TheHydra
from cthulhu.models import Lump, Pile


def _embedding_model(**kwargs):
    np.random.seed(0)
    model = Pile([TheHydra(6, 3, input_length=4, name="emb", **kwargs),
                  Daoloth(1, name="head")])
    model.conjure(optimizers.SGD(0.1), "mse")
    return model


@pytest.mark.parametrize("bad", [6.0, -1.0, 1e12, np.nan])
def test_out_of_range_index_raises_and_changes_nothing(bad):
    model = _embedding_model()
    x = np.array([[0, 1, 2, 3], [5, 4, bad, 1]], dtype=np.float32)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(IndexError, match=r"emb.*indices\[6\]"):
        model.predict(x)
    with pytest.raises(IndexError, match=r"not in \[0, 6\)"):
        model.train_on_batch(x, np.zeros((2, 4, 1), np.float32))
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    # The plan is still usable with good data.
    assert model.predict(x[:1]).shape == (1, 4, 1)


def test_indices_are_truncated_like_a_cast_to_int():
    np.random.seed(0)
    x = Input((4,))
    layer = TheHydra(6, 3)
    model = Lump(x, layer(x))
    got = model.predict(np.array([[0.9, 1.5, 5.99, -0.5]], dtype=np.float32))
    np.testing.assert_array_equal(got[0], layer.get_weights()[0][[0, 1, 5, 0]])


def test_input_length_is_checked():
    with pytest.raises(ValueError, match="input_length"):
        TheHydra(5, 2, input_length=3)(Input((4,)))


def test_the_gradient_is_a_scatter_add_not_a_one_hot_product():
    summary = _embedding_model().plan_summary("train", 8)
    assert "scatter_add" in summary and "one_hot" not in summary, summary
    kernels = [line.split()[1] for line in summary.splitlines()[1:] if "(emb)" in line]
    assert "gemm" not in kernels, summary


def test_sparse_gradient_touches_only_the_rows_used():
    model = _embedding_model()
    table = model.get_weights()[0].copy()
    model.train_on_batch(np.array([[1, 1, 3, 3]], np.float32), np.ones((1, 4, 1), np.float32))
    changed = np.any(model.get_weights()[0] != table, axis=1)
    np.testing.assert_array_equal(changed, [False, True, False, True, False, False])


def test_mask_zero_masks_the_loss():
    np.random.seed(1)
    x = Input((4,))
    h = TheHydra(6, 2, mask_zero=True, name="emb")(x)
    assert h._mask is not None and h._mask.shape == (None, 4)
    model = Lump(x, Daoloth(1, name="head")(h))
    model.conjure(optimizers.SGD(0.0), "mse")
    xs = np.array([[1, 2, 0, 0], [3, 0, 4, 5]], np.float32)
    y = np.zeros((2, 4, 1), np.float32)
    pred = model.predict(xs)
    keep = xs != 0
    want = (pred[..., 0] ** 2)[keep].mean()
    np.testing.assert_allclose(model.evaluate(xs, y, verbose=0), want, rtol=1e-5)


# ---- batch normalization -------------------------------------------------------------------
def _bn_model(shape, axis, momentum):
    np.random.seed(2)
    x = Input(shape)
    bn = BlacknessFromTheStars(axis=axis, momentum=momentum, name="bn",
                               gamma_initializer="random_uniform",
                               moving_mean_initializer="random_uniform")
    model = Lump(x, Daoloth(2, name="head")(bn(x)))
    model.conjure(optimizers.SGD(0.1), "mse")
    return model, bn


@pytest.mark.parametrize("shape,axis", [((5, 3), -1), ((3, 4, 2), 1), ((4,), 1)])
def test_a_training_step_updates_the_moving_statistics_as_tf_keras(shape, axis):
    model, bn = _bn_model(shape, axis, momentum=0.9)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7,) + shape).astype(np.float32) * 2 + 1
    y = rng.normal(size=(7,) + shape[:-1] + (2,)).astype(np.float32)
    mean0, var0 = (w.copy() for w in bn.get_weights()[2:])
    gamma, beta = (w.copy() for w in bn.get_weights()[:2])
    model.train_on_batch(x, y)
    a = axis % (len(shape) + 1)
    axes = tuple(i for i in range(x.ndim) if i != a)
    mean = x.astype(np.float64).mean(axis=axes)
    var = x.astype(np.float64).var(axis=axes)  # biased, as tf-keras's moving variance
    mm, mv = bn.get_weights()[2:]
    # tf-keras: moving -= (moving - batch_stat) * (1 - momentum)
    np.testing.assert_allclose(mm, mean0 - (mean0 - mean) * 0.1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mv, var0 - (var0 - var) * 0.1, rtol=1e-5, atol=1e-6)
    # gamma and beta were trained with the batch statistics (they moved).
    assert not np.allclose(bn.get_weights()[0], gamma) or not np.allclose(
        bn.get_weights()[1], beta)


def test_predict_evaluate_and_frozen_layers_leave_the_moving_statistics_alone():
    model, bn = _bn_model((3,), -1, momentum=0.5)
    x = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    y = np.zeros((6, 2), np.float32)
    before = [w.copy() for w in bn.get_weights()]
    model.predict(x)
    model.evaluate(x, y, verbose=0)
    for w, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    # trainable=False: inference mode in training too (tf-keras 2), nothing updated.
    bn.trainable = False
    model.conjure(optimizers.SGD(0.1), "mse")
    model.train_on_batch(x, y)
    for w, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(w, b)


def test_training_normalizes_with_the_batch_statistics():
    """With lr 0 the training loss is that of batch-normalized inputs (not moving ones)."""
    np.random.seed(3)
    x = Input((3,))
    model = Lump(x, BlacknessFromTheStars(name="bn", center=False)(x))
    model.conjure(optimizers.SGD(0.0), "mse")
    data = np.random.default_rng(2).normal(size=(8, 3)).astype(np.float32) * 3 + 2
    normalized = (data - data.mean(0)) / np.sqrt(data.var(0) + 1e-3)
    loss = model.train_on_batch(data, np.zeros_like(data))
    np.testing.assert_allclose(loss, (normalized ** 2).mean(), rtol=1e-5)


@pytest.mark.parametrize("kwargs", [{"renorm": True}, {"virtual_batch_size": 2},
                                    {"adjustment": lambda s: s}, {"axis": [1, 2]}])
def test_unsupported_arguments_raise(kwargs):
    with pytest.raises(NotImplementedError):
        BlacknessFromTheStars(**kwargs)


def test_batch_axis_is_refused():
    with pytest.raises(ValueError, match="axis"):
        BlacknessFromTheStars(axis=0)(Input((3,)))


def _bn_relu_model():
    np.random.seed(4)
    x = Input((5, 6))
    h = BlacknessFromTheStars(name="bn", beta_initializer="random_normal")(x)
    h = Azatoth("relu", name="act")(h)
    model = Lump(x, Daoloth(2, name="head")(h))
    model.conjure(optimizers.SGD(0.1), "mse")
    return model


def test_a_following_relu_is_fused_into_the_batchnorm_kernel(monkeypatch):
    model = _bn_relu_model()
    for mode in ("train", "predict"):
        summary = model.plan_summary(mode, 8)
        assert not any(line.split()[1] == "activation" for line in summary.splitlines()[1:]
                       if len(line.split()) > 1), summary
    rng = np.random.default_rng(5)
    x = rng.normal(size=(8, 5, 6)).astype(np.float32)
    y = rng.normal(size=(8, 5, 2)).astype(np.float32)
    fused_pred = model.predict(x)
    model.train_on_batch(x, y)
    monkeypatch.setenv("CTHULHU_NO_FUSION", "1")
    plain = _bn_relu_model()
    np.testing.assert_allclose(plain.predict(x), fused_pred, rtol=1e-5, atol=1e-6)
    plain.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_masked_training_needs_the_channel_axis_last():
    x = Input((4, 3))
    h = BlacknessFromTheStars(axis=1)(Masking(0.0)(x))
    model = Lump(x, Daoloth(1)(h))
    model.conjure(optimizers.SGD(0.1), "mse")
    with pytest.raises(NotImplementedError, match="last axis"):
        model.train_on_batch(np.ones((2, 4, 3), np.float32), np.zeros((2, 4, 1), np.float32))


def test_masked_training_uses_the_masked_moments():
    np.random.seed(5)
    x = Input((4, 2))
    bn = BlacknessFromTheStars(momentum=0.0, center=False, name="bn")
    model = Lump(x, bn(Masking(0.0)(x)))
    model.conjure(optimizers.SGD(0.0), "mse")
    data = np.random.default_rng(3).normal(size=(3, 4, 2)).astype(np.float32)
    data[0, 2:] = 0.0
    data[2, 1] = 0.0
    model.train_on_batch(data, np.zeros_like(data))
    kept = data[np.any(data != 0, axis=-1)].astype(np.float64)
    np.testing.assert_allclose(bn.get_weights()[1], kept.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.get_weights()[2], kept.var(0), rtol=1e-5)


def test_tables_too_large_for_float32_indices_are_refused():
    with pytest.raises(NotImplementedError, match="2\\*\\*24"):
        TheHydra(2 ** 24 + 1, 1)(Input((2,)))
