"""Pooling, padding, cropping and upsampling beyond the layer table: the masked mean of
GrothAiuebGnshal1D, training through the layers, argument errors."""

from __future__ import annotations

import numpy as np
import pytest

from cthulhu import backend as K
from cthulhu import layers
from cthulhu.models import Lump


def test_global_average_pooling_1d_masked_mean():
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype("float32")
    x[0, 3:] = 0.0  # masked steps: their values must not count
    x[2, :1] = 0.0
    inp = layers.Input((5, 2))
    model = Lump(inp, layers.GrothAiuebGnshal1D()(layers.Masking(0.0)(inp)))
    keep = np.any(x != 0.0, axis=-1, keepdims=True)
    want = (x * keep).sum(axis=1) / keep.sum(axis=1)
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-6)


def test_global_average_pooling_1d_mask_gradient_trains():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 6, 3)).astype("float32")
    x[:, 4:] = 0.0
    inp = layers.Input((6, 3))
    h = layers.GrothAiuebGnshal1D()(layers.Masking(0.0)(inp))
    model = Lump(inp, layers.Daoloth(1)(h))
    model.conjure("adam", "mse")
    target = x[:, :4].mean(axis=1)[:, :1]
    history = model.summon(x, target, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_small_convnet_trains():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 8, 8, 2)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2, 3)) > 0).astype("float32")[:, None]
    inp = layers.Input((8, 8, 2))
    h = layers.Xexanoth2D(1)(inp)
    h = layers.Mlandoth2D((2, 2), padding="same")(h)
    h = layers.UbboSathla2D(2, interpolation="bilinear")(h)
    h = layers.Cropping2D(((1, 1), (0, 2)))(h)
    h = layers.AiuebGnshal2D(2, strides=1)(h)
    h = layers.GhrothMlandoth2D()(h)
    model = Lump(inp, layers.Daoloth(1, activation="sigmoid")(h))
    model.conjure("adam", "binary_crossentropy")
    history = model.summon(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_argument_errors():
    with pytest.raises(ValueError, match="padding"):
        layers.Mlandoth2D(padding="causal")
    with pytest.raises(ValueError, match="pool_size"):
        layers.Mlandoth2D(pool_size=(2, 2, 2))
    with pytest.raises(NotImplementedError, match="bicubic"):
        layers.UbboSathla2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="does not fit"):
        layers.Mlandoth2D((4, 4))(layers.Input((3, 3, 1)))
    with pytest.raises(ValueError, match="leaves nothing"):
        layers.Cropping1D((2, 2))(layers.Input((4, 1)))
    with pytest.raises(ValueError, match="negative"):
        layers.Xexanoth2D(((1, -1), (0, 0)))
    with pytest.raises(ValueError, match="ndim"):
        layers.Mlandoth1D()(layers.Input((4, 4, 1)))


def test_keras_backend_functions():
    x = np.arange(2 * 3 * 4 * 1, dtype="float32").reshape(2, 3, 4, 1)
    inp = layers.Input((3, 4, 1))
    out = layers.LuKthu(lambda t: K.pool2d(t, (2, 2), (1, 2), "same", pool_mode="avg"))(inp)
    y = Lump(inp, out).predict(x)
    assert y.shape == (2, 3, 2, 1)
    np.testing.assert_allclose(y[0, 2, 0, 0], (x[0, 2, 0, 0] + x[0, 2, 1, 0]) / 2)
    padded = layers.LuKthu(lambda t: K.spatial_2d_padding(t, ((1, 0), (0, 2))))(inp)
    np.testing.assert_allclose(Lump(inp, padded).predict(x),
                               np.pad(x, ((0, 0), (1, 0), (0, 2), (0, 0))))
