"""Every layer through the layer harness."""

from __future__ import annotations

import numpy as np
import pytest

import cthulhu
from cthulhu import layers
from cthulhu.layers import Daoloth

from .conv_reference import (
    conv2d_transpose,
    conv_nd,
    depthwise_conv2d,
    locally_connected,
    separable_conv,
)
from .layer_harness import layer_test
from .pooling_cases import pooling_cases
from .shaping_cases import shaping_cases
from .test_recurrent_layers import recurrent_cases


def away_from_kinks(rng, shape):
    """Values at least 0.1 from 0 and from the thresholds used below."""
    x = rng.uniform(0.1, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return np.where(np.abs(x - 0.5) < 0.05, x + 0.2, x)


def _merge(fn):
    return lambda xs, w: fn(xs)


def double_plus_one(x):
    """A named LuKthu function (its config names it; loading finds it again)."""
    return x * 2.0 + 1.0


def table_indices(rows):
    """Integer indices into a table of ``rows`` rows plus 0.25 (truncated toward zero, as
    Keras casts; finite differences of the inputs then stay on one row)."""
    return lambda rng, shape: rng.integers(0, rows, size=shape) + 0.25


def bn_inference(axis, eps=1e-3, scale=True, center=True):
    """BatchNorm with its moving statistics (the weights after gamma and beta)."""
    def reference(xs, w):
        x, w = xs[0], list(w)
        gamma = w.pop(0) if scale else 1.0
        beta = w.pop(0) if center else 0.0
        mean, var = w
        shape = [1] * x.ndim
        shape[axis] = -1
        ch = lambda v: np.reshape(v, shape) if np.ndim(v) else v  # noqa: E731
        return (x - ch(mean)) / np.sqrt(ch(var) + eps) * ch(gamma) + ch(beta)
    return reference


# Inputs of the cases that need values of their own (default: away_from_kinks).
CASE_INPUTS = {"the_hydra": table_indices(7), "the_hydra_mask_zero": table_indices(7),
               "the_hydra_2d": table_indices(5)}

_RANDOM_BN = dict(beta_initializer="random_uniform", gamma_initializer="random_normal",
                  moving_mean_initializer="random_uniform")

CASES = [
    ("flatten", lambda: layers.Flatten(), [(3, 4)], lambda xs, w: xs[0].reshape(len(xs[0]), -1)),
    ("reshape", lambda: layers.Reshape((2, -1)), [(3, 4)],
     lambda xs, w: xs[0].reshape(len(xs[0]), 2, 6)),
    ("permute", lambda: layers.Permute((2, 1)), [(3, 4)],
     lambda xs, w: xs[0].transpose(0, 2, 1)),
    ("permute_3d", lambda: layers.Permute((3, 1, 2)), [(2, 3, 4)],
     lambda xs, w: xs[0].transpose(0, 3, 1, 2)),
    ("flatten_channels_first", lambda: layers.Flatten(data_format="channels_first"), [(2, 3, 4)],
     lambda xs, w: xs[0].transpose(0, 2, 3, 1).reshape(len(xs[0]), -1)),
    ("gaussian_noise", lambda: layers.GaussianNoise(0.5), [(4,)], lambda xs, w: xs[0]),
    ("gaussian_dropout", lambda: layers.GaussianDropout(0.3), [(4,)], lambda xs, w: xs[0]),
    ("alpha_dropout", lambda: layers.AlphaDropout(0.2), [(4,)], lambda xs, w: xs[0]),
    ("repeat_vector", lambda: layers.RepeatVector(3), [(4,)],
     lambda xs, w: np.repeat(xs[0][:, None, :], 3, axis=1)),
    ("concatenate", lambda: layers.Concatenate(), [(2,), (3,)],
     lambda xs, w: np.concatenate(xs, axis=-1)),
    ("concatenate_axis1", lambda: layers.Concatenate(axis=1), [(2, 3), (1, 3)],
     lambda xs, w: np.concatenate(xs, axis=1)),
    ("add", lambda: layers.Add(), [(5,), (5,), (5,)], _merge(lambda xs: xs[0] + xs[1] + xs[2])),
    ("subtract", lambda: layers.Subtract(), [(5,), (5,)], _merge(lambda xs: xs[0] - xs[1])),
    ("multiply", lambda: layers.Multiply(), [(5,), (5,)], _merge(lambda xs: xs[0] * xs[1])),
    ("average", lambda: layers.Average(), [(5,), (5,)], _merge(lambda xs: (xs[0] + xs[1]) / 2)),
    ("maximum", lambda: layers.Maximum(), [(5,), (5,)], _merge(lambda xs: np.maximum(*xs))),
    ("minimum", lambda: layers.Minimum(), [(5,), (5,)], _merge(lambda xs: np.minimum(*xs))),
    ("leaky_relu", lambda: layers.LeakyReLU(0.2), [(6,)],
     lambda xs, w: np.where(xs[0] > 0, xs[0], 0.2 * xs[0])),
    ("prelu", lambda: layers.PReLU(alpha_initializer="random_uniform"), [(6,)],
     lambda xs, w: np.where(xs[0] > 0, xs[0], w[0] * xs[0])),
    ("prelu_shared", lambda: layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1]),
     [(3, 4)], lambda xs, w: np.where(xs[0] > 0, xs[0], w[0] * xs[0])),
    ("elu", lambda: layers.ELU(0.7), [(6,)],
     lambda xs, w: np.where(xs[0] > 0, xs[0], 0.7 * (np.exp(xs[0]) - 1))),
    ("thresholded_relu", lambda: layers.ThresholdedReLU(0.5), [(6,)],
     lambda xs, w: np.where(xs[0] > 0.5, xs[0], 0.0)),
    ("softmax", lambda: layers.Softmax(), [(6,)],
     lambda xs, w: np.exp(xs[0]) / np.exp(xs[0]).sum(axis=-1, keepdims=True)),
    ("relu_capped", lambda: layers.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.3),
     [(6,)], lambda xs, w: np.minimum(np.where(xs[0] >= 0.3, xs[0], 0.1 * (xs[0] - 0.3)),
                                      0.8)),
    ("activity_regularization", lambda: layers.ActivityRegularization(l1=0.1, l2=0.2), [(4,)],
     lambda xs, w: xs[0]),
    ("daoloth", lambda: Daoloth(3, activation="tanh", bias_initializer="random_uniform"),
     [(4,)], lambda xs, w: np.tanh(xs[0] @ w[0] + w[1])),
    ("azatoth", lambda: layers.Azatoth("softsign"), [(4,)],
     lambda xs, w: xs[0] / (1 + np.abs(xs[0]))),
    ("dot", lambda: layers.Dot(axes=1), [(5,), (5,)],
     _merge(lambda xs: (xs[0] * xs[1]).sum(axis=-1, keepdims=True))),
    ("lukthu", lambda: layers.LuKthu(double_plus_one), [(4,)], lambda xs, w: xs[0] * 2 + 1),
    ("masking", lambda: layers.Masking(0.25), [(3, 4)], lambda xs, w: xs[0]),
    ("darkness_rate", lambda: layers.Darkness(0.3, seed=1), [(4,)], lambda xs, w: xs[0]),
    ("darkness_noise_shape", lambda: layers.Darkness(0.3, noise_shape=(None, 1, 4), seed=2),
     [(3, 4)], lambda xs, w: xs[0]),
    ("spatial_darkness_1d", lambda: layers.SpatialDarkness1D(0.3), [(3, 4)],
     lambda xs, w: xs[0]),
    ("spatial_darkness_2d", lambda: layers.SpatialDarkness2D(0.3), [(2, 3, 4)],
     lambda xs, w: xs[0]),
    ("spatial_darkness_3d", lambda: layers.SpatialDarkness3D(0.3), [(2, 2, 3, 4)],
     lambda xs, w: xs[0]),
    ("the_hydra", lambda: layers.TheHydra(7, 3, embeddings_initializer="random_normal"),
     [(5,)], lambda xs, w: w[0][xs[0].astype(int)]),
    ("the_hydra_mask_zero", lambda: layers.TheHydra(7, 3, mask_zero=True, input_length=5),
     [(5,)], lambda xs, w: w[0][xs[0].astype(int)]),
    ("the_hydra_2d", lambda: layers.TheHydra(5, 2, input_length=(2, 3)), [(2, 3)],
     lambda xs, w: w[0][xs[0].astype(int)]),
    ("blackness_from_the_stars", lambda: layers.BlacknessFromTheStars(**_RANDOM_BN), [(4,)],
     bn_inference(-1)),
    ("blackness_from_the_stars_channels_first",
     lambda: layers.BlacknessFromTheStars(axis=1, momentum=0.9, epsilon=0.01, **_RANDOM_BN),
     [(3, 2, 2)], bn_inference(1, eps=0.01)),
    ("blackness_from_the_stars_plain",
     lambda: layers.BlacknessFromTheStars(center=False, scale=False,
                                          moving_mean_initializer="random_uniform"),
     [(2, 3)], bn_inference(-1, scale=False, center=False)),
    ("time_distributed_daoloth",
     lambda: layers.TimeDistributed(Daoloth(3, bias_initializer="random_uniform")), [(4, 5)],
     lambda xs, w: xs[0] @ w[0] + w[1]),
    ("time_distributed_flatten", lambda: layers.TimeDistributed(layers.Flatten()),
     [(3, 2, 2)], lambda xs, w: xs[0].reshape(len(xs[0]), 3, 4)),
    ("time_distributed_batchnorm",
     lambda: layers.TimeDistributed(layers.BlacknessFromTheStars(**_RANDOM_BN)), [(3, 4)],
     bn_inference(-1)),
    ("time_distributed_batchnorm_axis1",
     lambda: layers.TimeDistributed(layers.BlacknessFromTheStars(axis=1, **_RANDOM_BN)),
     [(2, 3, 2)], bn_inference(2)),
    # More convolution combinations: tests/api/test_conv_layers.py.
    ("cthalpa_1d", lambda: layers.Cthalpa1D(3, 2, padding="causal", activation="tanh"),
     [(5, 2)], lambda xs, w: conv_nd(xs[0], w[0], w[1], padding="causal", activation="tanh")),
    ("cthalpa_2d", lambda: layers.Cthalpa2D(3, (2, 3), strides=(1, 2), padding="same"),
     [(4, 5, 2)], lambda xs, w: conv_nd(xs[0], w[0], w[1], (1, 2), "same")),
    # channels_last only here: TensorFlow's CPU kernels (the live round trip) lack NCHW.
    ("cthalpa_3d", lambda: layers.Cthalpa3D(2, 2, dilation_rate=(1, 2, 1)), [(2, 3, 3, 2)],
     lambda xs, w: conv_nd(xs[0], w[0], w[1], dilation=(1, 2, 1))),
    ("conv2d_transpose", lambda: layers.Conv2DTranspose(3, (3, 2), strides=2, padding="same",
                                                        output_padding=1),
     [(3, 4, 2)], lambda xs, w: conv2d_transpose(xs[0], w[0], w[1], (2, 2), "same", (1, 1))),
    ("dendrrah_2d", lambda: layers.Dendrrah2D(2, depth_multiplier=2, padding="same"),
     [(4, 5, 3)], lambda xs, w: depthwise_conv2d(xs[0], w[0], w[1], padding="same")),
    ("sucnaath_1d", lambda: layers.SucNaath1D(3, 2, padding="causal", depth_multiplier=2),
     [(5, 2)], lambda xs, w: separable_conv(xs[0], w[0], w[1], w[2], padding="causal")),
    ("sucnaath_2d", lambda: layers.SucNaath2D(3, 2, strides=2, padding="same"),
     [(5, 4, 2)], lambda xs, w: separable_conv(xs[0], w[0], w[1], w[2], 2, "same")),
    ("lukthu_1d", lambda: layers.LuKthu1D(3, 2, strides=2), [(7, 2)],
     lambda xs, w: locally_connected(xs[0], w[0], w[1], (2,), 2)),
    ("lukthu_2d", lambda: layers.LuKthu2D(2, (2, 3)), [(4, 5, 2)],
     lambda xs, w: locally_connected(xs[0], w[0], w[1], (2, 3))),
]

CASES += pooling_cases() + shaping_cases() + recurrent_cases()


@pytest.mark.parametrize("name,make,shapes,reference", CASES, ids=[c[0] for c in CASES])
def test_layer(name, make, shapes, reference):
    layer_test(make, shapes, reference, make_inputs=CASE_INPUTS.get(name, away_from_kinks))


def test_merge_errors():
    a, b = layers.Input(shape=(3,)), layers.Input(shape=(4,))
    with pytest.raises(ValueError, match="one shape"):
        layers.add([a, b])
    with pytest.raises(ValueError, match="list"):
        layers.Add()(a)
    with pytest.raises(ValueError, match="2 inputs"):
        layers.Subtract()([a, a, a])
    with pytest.raises(ValueError, match="total size"):
        layers.Reshape((5,))(a)


def test_merge_in_a_trained_model():
    from cthulhu.models import Lump
    x = layers.Input(shape=(4,))
    h = layers.add([Daoloth(3)(x), Daoloth(3)(x)])
    model = Lump(x, Daoloth(1)(layers.LeakyReLU()(h)))
    model.conjure("adam", "mse")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(64, 4))
    target = data[:, :1] - data[:, 1:2]
    history = model.summon(data, target, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("layer,std", [
    (lambda: layers.GaussianNoise(0.5, seed=1, input_shape=(500,)), 0.5),
    (lambda: layers.GaussianDropout(0.2, seed=1, input_shape=(500,)), np.sqrt(0.2 / 0.8)),
])
def test_noise_layers_in_training(layer, std):
    """On inputs of ones, followed by an identity Daoloth that does not learn (lr 0), the
    training loss (mse against the ones) is the variance of the noise."""
    from cthulhu.models import Pile
    model = Pile([layer(), Daoloth(500, kernel_initializer="identity")])
    model.conjure(cthulhu.optimizers.SGD(0.0), "mse")
    ones = np.ones((8, 500), dtype="float32")
    losses = [model.train_on_batch(ones, ones) for _ in range(3)]
    assert all(v == pytest.approx(std ** 2, rel=0.1) for v in losses)
    assert len(set(losses)) == 3  # fresh noise at every step
    np.testing.assert_allclose(model.predict(ones), ones, rtol=1e-6)  # identity at inference


def test_alpha_dropout_in_training_matches_its_formula():
    from compiler.builder import Builder
    from compiler.ops.random import uniform
    from compiler.pipeline import optimize_step
    from cthulhu import backend as K

    from ..compiler.harness import run_native
    layer = layers.AlphaDropout(0.3, seed=5)
    step = K.Variable(np.array(7, dtype=np.int64), "int64", "step", False)
    b = Builder("float32")
    trace = K.Trace(b, training=True, step_variable=step)
    with K.tracing(trace):
        x = K.Tensor(b.input((None, 50)), (None, 50), "float32")
        graph = optimize_step(b.graph({"y": layer.trace_call(x, True).value}), check=True)
    xs = np.random.default_rng(0).normal(size=(6, 50)).astype("float32")
    got = run_native(graph, [xs], [step.storage])["y"]
    keep = uniform(5, 7, xs.size).reshape(xs.shape) >= 0.3
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.3) * (1 + 0.3 * alpha_p ** 2)) ** -0.5
    want = a * np.where(keep, xs, alpha_p) - a * alpha_p * 0.3
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert 0.5 < keep.mean() < 0.85
