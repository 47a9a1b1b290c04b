"""Cthalpa1D / 2D / 3D through the layer harness, over the padding, stride, dilation and
data_format combinations Keras allows, against an independent numpy convolution."""

from __future__ import annotations

import numpy as np
import pytest

from cthulhu import backend as K
from cthulhu import layers

from .conv_reference import conv_nd
from .layer_harness import layer_test


def _reference(kwargs):
    def ref(xs, w):
        bias = w[1] if kwargs.get("use_bias", True) else None
        return conv_nd(xs[0], w[0], bias, kwargs.get("strides", 1), kwargs.get("padding", "valid"),
                       kwargs.get("dilation_rate", 1), kwargs.get("data_format", "channels_last"),
                       kwargs.get("activation"))
    return ref


def _combos(rank):
    out = []
    for padding in ("valid", "same") + (("causal",) if rank == 1 else ()):
        for strides, dilation in ((1, 1), (2, 1), (1, 2)):
            for data_format in ("channels_last", "channels_first"):
                out.append(dict(padding=padding, strides=strides, dilation_rate=dilation,
                                data_format=data_format))
    return out


SHAPES = {1: (7, 3), 2: (6, 5, 2), 3: (4, 5, 3, 2)}
KERNELS = {1: 3, 2: (3, 2), 3: (2, 3, 2)}
LAYERS = {1: layers.Cthalpa1D, 2: layers.Cthalpa2D, 3: layers.Cthalpa3D}


def _cases():
    out = []
    for rank in (1, 2, 3):
        for kw in _combos(rank):
            if rank == 3 and kw["strides"] == 2 and kw["padding"] == "valid":
                continue  # keep the 3D list short; strides are covered by 'same'
            out.append((rank, kw))
    return out


def _id(case):
    rank, kw = case
    return f"{rank}d-{kw['padding']}-s{kw['strides']}-d{kw['dilation_rate']}-" \
           f"{'cf' if kw['data_format'] == 'channels_first' else 'cl'}"


@pytest.mark.parametrize("case", _cases(), ids=[_id(c) for c in _cases()])
def test_conv_layer(case):
    rank, kw = case
    kw = dict(kw, activation="tanh", bias_initializer="random_uniform")
    shape = SHAPES[rank]
    if kw["data_format"] == "channels_first":
        shape = (shape[-1],) + shape[:-1]
    layer_test(lambda: LAYERS[rank](3, KERNELS[rank], **kw), [shape], _reference(kw))


@pytest.mark.parametrize("kw", [
    dict(use_bias=False),
    dict(activation="relu", kernel_size=1),
    dict(kernel_size=(1, 1), strides=2),
    dict(strides=(2, 3), padding="same"),
    dict(dilation_rate=(2, 1), padding="same", activation="sigmoid"),
])
def test_conv2d_arguments(kw):
    kw = dict(kw)
    kernel = kw.pop("kernel_size", (3, 3))
    make_inputs = None
    if kw.get("activation") == "relu":  # away from the kink of relu
        make_inputs = lambda rng, shape: rng.uniform(0.1, 1.0, size=shape)  # noqa: E731
        kw["kernel_initializer"] = "ones"
    layer_test(lambda: layers.Cthalpa2D(4, kernel, **kw), [(7, 6, 3)], _reference(kw),
               make_inputs=make_inputs)


def test_default_data_format_follows_backend():
    old = K.image_data_format()
    try:
        K.set_image_data_format("channels_first")
        layer = layers.Cthalpa2D(2, 3)
        assert layer.data_format == "channels_first"
        assert layer.compute_output_shape((None, 3, 8, 9)) == (None, 2, 6, 7)
        assert layers.Cthalpa1D(2, 3).data_format == "channels_last"
    finally:
        K.set_image_data_format(old)


def test_shapes_and_weights_layout():
    layer = layers.Cthalpa2D(5, (3, 2), strides=(2, 1), padding="same")
    assert layer.compute_output_shape((None, 9, 8, 3)) == (None, 5, 8, 5)
    assert [w.shape for w in layer.get_weights()] == [(3, 2, 3, 5), (5,)]
    assert layers.Cthalpa1D(2, 4, padding="causal", dilation_rate=2).compute_output_shape(
        (None, 10, 3)) == (None, 10, 2)
    assert layers.Cthalpa3D(2, 2, strides=2).compute_output_shape((None, 5, 6, 7, 1)) == \
        (None, 2, 3, 3, 2)


def test_argument_errors():
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Cthalpa2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding"):
        layers.Cthalpa2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="filters"):
        layers.Cthalpa2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Cthalpa2D(2, (3, 3, 3))
    with pytest.raises(NotImplementedError, match="groups"):
        layers.Cthalpa2D(4, 3, groups=2)
    with pytest.raises(ValueError, match="no output"):
        layers.Cthalpa2D(2, 5)(layers.Input(shape=(3, 3, 1)))
    # Spatial axes may be unknown until run time (tests/api/test_variable_length.py).
    assert layers.Cthalpa2D(2, 3)(layers.Input(shape=(None, None, 4))).shape == \
        (None, None, None, 2)


def test_regularizers_and_constraints():
    from cthulhu.models import Pile
    x = np.random.default_rng(0).normal(size=(3, 4, 4, 1)).astype("float32")
    y = -np.ones((3, 3, 3, 2), "float32")

    def model(**kw):
        np.random.seed(0)
        m = Pile([layers.Input(shape=(4, 4, 1)),
                  layers.Cthalpa2D(2, 2, bias_initializer="ones", **kw)])
        m.conjure("sgd", "mse")
        return m
    plain = model()
    regs = dict(kernel_regularizer="l2", bias_regularizer="l1")
    kernel, bias = plain.get_weights()
    want = plain.evaluate(x, y, verbose=0) + 0.01 * (kernel ** 2).sum() + 0.01 * bias.sum()
    assert model(**regs).evaluate(x, y, verbose=0) == pytest.approx(want, rel=1e-5)
    assert model(activity_regularizer="l2").evaluate(x, y, verbose=0) > \
        plain.evaluate(x, y, verbose=0)
    constrained = model(kernel_constraint="non_neg", bias_constraint="non_neg")
    constrained.train_on_batch(x, y)
    assert all((w >= 0).all() for w in constrained.get_weights())


@pytest.mark.parametrize("kw", [
    dict(),
    dict(strides=2),
    dict(strides=(2, 3), padding="same"),
    dict(strides=2, padding="same", output_padding=1),
    dict(strides=(3, 2), output_padding=(2, 1)),
    dict(dilation_rate=2, padding="same"),
    dict(dilation_rate=2),
    dict(strides=2, data_format="channels_first"),
    dict(kernel_size=(2, 2), strides=2, padding="same", use_bias=False),
])
def test_conv2d_transpose(kw):
    from .conv_reference import conv2d_transpose
    kw = dict(kw)
    kernel = kw.pop("kernel_size", (3, 2))
    shape = (3, 4, 5, 2)[1:] if kw.get("data_format") != "channels_first" else (2, 4, 5)

    def ref(xs, w):
        out = conv2d_transpose(xs[0], w[0], w[1] if kw.get("use_bias", True) else None,
                               layers.Cthalpa2D(1, 1, strides=kw.get("strides", 1)).strides,
                               kw.get("padding", "valid"), kw.get("output_padding") and
                               tuple(np.broadcast_to(kw["output_padding"], 2)),
                               layers.Cthalpa2D(1, 1, dilation_rate=kw.get(
                                   "dilation_rate", 1)).dilation_rate,
                               kw.get("data_format", "channels_last"))
        return np.tanh(out)
    layer_test(lambda: layers.Conv2DTranspose(3, kernel, activation="tanh",
                                              bias_initializer="random_uniform", **kw),
               [shape], ref)


def test_conv2d_transpose_shapes_and_errors():
    layer = layers.Conv2DTranspose(4, 3, strides=2)
    assert layer.compute_output_shape((None, 5, 6, 2)) == (None, 11, 13, 4)
    assert [w.shape for w in layer.get_weights()] == [(3, 3, 4, 2), (4,)]
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(4, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="dilation"):
        layers.Conv2DTranspose(4, 3, dilation_rate=(2, 1))


@pytest.mark.parametrize("kw", [
    dict(),
    dict(depth_multiplier=2, padding="same"),
    dict(strides=2, padding="same"),
    dict(dilation_rate=(2, 1), depth_multiplier=3),
    dict(strides=(1, 2), data_format="channels_first", use_bias=False),
])
def test_depthwise_conv2d(kw):
    from .conv_reference import depthwise_conv2d

    def ref(xs, w):
        return np.tanh(depthwise_conv2d(xs[0], w[0], w[1] if kw.get("use_bias", True) else None,
                                        kw.get("strides", 1), kw.get("padding", "valid"),
                                        kw.get("dilation_rate", 1),
                                        kw.get("data_format", "channels_last")))
    shape = (3, 6, 5) if kw.get("data_format") == "channels_first" else (6, 5, 3)
    layer_test(lambda: layers.Dendrrah2D((3, 2), activation="tanh",
                                         bias_initializer="random_uniform", **kw), [shape], ref)


def test_depthwise_config_is_keras_shaped():
    config = layers.Dendrrah2D(3, depth_multiplier=2).get_config()
    assert "filters" not in config and "kernel_initializer" not in config
    assert config["depth_multiplier"] == 2 and "depthwise_initializer" in config
    with pytest.raises(ValueError, match="depth_multiplier"):
        layers.Dendrrah2D(3, depth_multiplier=0)


@pytest.mark.parametrize("rank,kw", [
    (2, dict()),
    (2, dict(depth_multiplier=2, padding="same", strides=2)),
    (2, dict(dilation_rate=2, data_format="channels_first")),
    (1, dict(padding="causal", dilation_rate=2, depth_multiplier=2)),
    (1, dict(padding="same", strides=2, use_bias=False)),
])
def test_separable_conv(rank, kw):
    from .conv_reference import separable_conv

    def ref(xs, w):
        return np.tanh(separable_conv(xs[0], w[0], w[1], w[2] if kw.get("use_bias", True)
                                      else None, kw.get("strides", 1),
                                      kw.get("padding", "valid"), kw.get("dilation_rate", 1),
                                      kw.get("data_format", "channels_last")))
    shape = {1: (7, 3), 2: (6, 5, 3)}[rank]
    if kw.get("data_format") == "channels_first":
        shape = (shape[-1],) + shape[:-1]
    make = layers.SucNaath2D if rank == 2 else layers.SucNaath1D
    layer_test(lambda: make(4, 3, activation="tanh", bias_initializer="random_uniform", **kw),
               [shape], ref)


def test_separable_weights_and_config():
    layer = layers.SucNaath2D(5, (3, 2), depth_multiplier=2)
    assert layer.compute_output_shape((None, 6, 6, 3)) == (None, 4, 5, 5)
    assert [w.shape for w in layer.get_weights()] == [(3, 2, 3, 2), (1, 1, 6, 5), (5,)]
    config = layer.get_config()
    assert "kernel_initializer" not in config and config["depth_multiplier"] == 2
    # Keras writes its base class's kernel_* keys as well: they are accepted.
    layers.SucNaath2D.from_config({**config, "kernel_initializer": "zeros", "groups": 1})


@pytest.mark.parametrize("rank,kw", [
    (2, dict()), (2, dict(strides=(2, 1), use_bias=False)), (1, dict()), (1, dict(strides=2)),
])
def test_locally_connected(rank, kw):
    from .conv_reference import locally_connected
    kernel = (3, 2) if rank == 2 else (3,)

    def ref(xs, w):
        return np.tanh(locally_connected(xs[0], w[0], w[1] if kw.get("use_bias", True)
                                         else None, kernel, kw.get("strides", 1)))
    make = layers.LuKthu2D if rank == 2 else layers.LuKthu1D
    shape = (6, 5, 2) if rank == 2 else (7, 2)
    layer_test(lambda: make(3, kernel, activation="tanh", bias_initializer="random_uniform",
                            **kw), [shape], ref)


def test_locally_connected_weights_and_errors():
    layer = layers.LuKthu2D(4, 3, strides=2)
    assert layer.compute_output_shape((None, 7, 8, 2)) == (None, 3, 3, 4)
    assert [w.shape for w in layer.get_weights()] == [(9, 18, 4), (3, 3, 4)]
    with pytest.raises(ValueError, match="valid"):
        layers.LuKthu2D(2, 3, padding="same")
    with pytest.raises(NotImplementedError, match="implementation"):
        layers.LuKthu1D(2, 3, implementation=2)
    with pytest.raises(NotImplementedError, match="channels_first"):
        layers.LuKthu2D(2, 3, data_format="channels_first")
