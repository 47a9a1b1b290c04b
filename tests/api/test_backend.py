"""The backend K: every function against numpy, and its gradient (through K.gradients and
K.function, in float64) against central finite differences of the function itself."""

from __future__ import annotations

import numpy as np
import pytest

from cthulhu import backend as K
from cthulhu.layers import Input, LuKthu
from cthulhu.models import Lump

RNG = np.random.default_rng(0)
R = RNG.normal(size=(4, 3, 5))  # a fixed random array, for second operands


def normal(shape):
    return RNG.normal(size=shape)


def positive(shape):
    return RNG.uniform(0.5, 2.0, size=shape)


def away(shape):
    """Away from zero and from .5 boundaries (sign, abs, round stay smooth)."""
    return RNG.uniform(0.1, 0.4, size=shape) * RNG.choice([-1, 1], size=shape) + \
        RNG.integers(-2, 3, size=shape)


def distinct(shape):
    n = int(np.prod(shape))
    return (RNG.permutation(n).reshape(shape) - n / 2) * 0.1


def probabilities(shape):
    p = RNG.uniform(0.1, 1.0, size=shape)
    return p / p.sum(axis=-1, keepdims=True)


def softmax_ref(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid_ref(x):
    return 1 / (1 + np.exp(-x))



# (name, K function of x, numpy reference of x, input maker, shape, differentiable)
CASES = [
    ("square", K.square, np.square, normal, (4, 5), True),
    ("sqrt", K.sqrt, np.sqrt, positive, (4, 5), True),
    ("exp", K.exp, np.exp, normal, (4, 5), True),
    ("log", K.log, np.log, positive, (4, 5), True),
    ("abs", K.abs, np.abs, away, (4, 5), True),
    ("pow", lambda x: K.pow(x, 3), lambda x: x ** 3, normal, (4, 5), True),
    ("clip", lambda x: K.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), away, (4, 5),
     True),
    ("maximum", lambda x: K.maximum(x, K.constant(R[0, 0])), lambda x: np.maximum(x, R[0, 0]),
     away, (4, 5), True),
    ("minimum", lambda x: K.minimum(x, 0.2), lambda x: np.minimum(x, 0.2), away, (4, 5), True),
    ("sign", K.sign, np.sign, away, (4, 5), False),
    ("round", K.round, np.round, away, (4, 5), False),
    ("relu", K.relu, lambda x: np.maximum(x, 0), away, (4, 5), True),
    ("relu_args", lambda x: K.relu(x, alpha=0.1, max_value=1.5, threshold=0.5),
     lambda x: np.minimum(np.where(x >= 0.5, x, 0.1 * (x - 0.5)), 1.5), away, (4, 5), True),
    ("elu", K.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1), away, (4, 5), True),
    ("elu_alpha", lambda x: K.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)),
     away, (4, 5), True),
    ("sigmoid", K.sigmoid, sigmoid_ref, normal, (4, 5), True),
    ("hard_sigmoid", K.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1), away, (4, 5),
     True),
    ("tanh", K.tanh, np.tanh, normal, (4, 5), True),
    ("softmax", K.softmax, softmax_ref, normal, (4, 5), True),
    ("softmax_axis1", lambda x: K.softmax(x, axis=1), lambda x: softmax_ref(x, 1), normal,
     (4, 3, 5), True),
    ("softplus", K.softplus, lambda x: np.log1p(np.exp(x)), normal, (4, 5), True),
    ("softsign", K.softsign, lambda x: x / (1 + np.abs(x)), away, (4, 5), True),
    ("l2_normalize", lambda x: K.l2_normalize(x, axis=-1),
     lambda x: x / np.sqrt(np.sum(x * x, axis=-1, keepdims=True)), normal, (4, 5), True),
    ("mean", lambda x: K.mean(x, axis=1), lambda x: x.mean(axis=1), normal, (4, 3, 5), True),
    ("sum_keepdims", lambda x: K.sum(x, axis=-1, keepdims=True),
     lambda x: x.sum(axis=-1, keepdims=True), normal, (4, 3, 5), True),
    ("sum_all", K.sum, np.sum, normal, (4, 5), True),
    ("mean_nonadjacent", lambda x: K.mean(x, axis=(0, 2)), lambda x: x.mean(axis=(0, 2)),
     normal, (4, 3, 5), True),
    ("sum_nonadjacent_keepdims", lambda x: K.sum(x, axis=[0, 2], keepdims=True),
     lambda x: x.sum(axis=(0, 2), keepdims=True), normal, (4, 3, 5), True),
    ("max", lambda x: K.max(x, axis=-1), lambda x: x.max(axis=-1), distinct, (4, 5), True),
    ("min", lambda x: K.min(x, axis=1, keepdims=True), lambda x: x.min(axis=1, keepdims=True),
     distinct, (4, 3, 5), True),
    ("prod", lambda x: K.prod(x, axis=-1), lambda x: x.prod(axis=-1), away, (4, 5), True),
    ("std", lambda x: K.std(x, axis=-1), lambda x: x.std(axis=-1), normal, (4, 5), True),
    ("var", lambda x: K.var(x, axis=1, keepdims=True), lambda x: x.var(axis=1, keepdims=True),
     normal, (4, 3, 5), True),
    ("any", lambda x: K.any(K.greater(x, 1.0), axis=-1),
     lambda x: np.any(x > 1.0, axis=-1).astype(float), away, (4, 5), False),
    ("all", lambda x: K.all(K.greater(x, -1.0), axis=1),
     lambda x: np.all(x > -1.0, axis=1).astype(float), away, (4, 5), False),
    ("argmax", lambda x: K.argmax(x, axis=-1), lambda x: np.argmax(x, -1).astype(float),
     distinct, (4, 5), False),
    ("argmin", lambda x: K.argmin(x, axis=1), lambda x: np.argmin(x, 1).astype(float),
     distinct, (4, 3, 5), False),
    ("equal", lambda x: K.equal(K.round(x), 1.0), lambda x: (np.round(x) == 1).astype(float),
     away, (4, 5), False),
    ("not_equal", lambda x: K.not_equal(K.round(x), 1.0),
     lambda x: (np.round(x) != 1).astype(float), away, (4, 5), False),
    ("greater", lambda x: K.greater(x, 0.0), lambda x: (x > 0).astype(float), away, (4, 5),
     False),
    ("greater_equal", lambda x: K.greater_equal(x, 0.0), lambda x: (x >= 0).astype(float),
     away, (4, 5), False),
    ("less", lambda x: K.less(x, 0.0), lambda x: (x < 0).astype(float), away, (4, 5), False),
    ("less_equal", lambda x: K.less_equal(x, 0.0), lambda x: (x <= 0).astype(float), away,
     (4, 5), False),
    ("operators", lambda x: (2.0 - x) * x / 3.0 + x ** 2 - (-x) + abs(x),
     lambda x: (2.0 - x) * x / 3.0 + x ** 2 + x + np.abs(x), away, (4, 5), True),
    ("comparison_operators", lambda x: (x > 0.0) * 2.0 + (x <= -1.0),
     lambda x: (x > 0) * 2.0 + (x <= -1), away, (4, 5), False),
    ("switch", lambda x: K.switch(K.greater(x, 0.0), x * 2.0, K.square(x)),
     lambda x: np.where(x > 0, 2 * x, x * x), away, (4, 5), True),
    ("cast", lambda x: K.cast(x, "float32") * 1.0, lambda x: x.astype(np.float32), normal,
     (4, 5), False),
    ("reshape", lambda x: K.reshape(x, (-1, 5, 3)), lambda x: x.reshape(-1, 5, 3), normal,
     (4, 3, 5), True),
    ("permute_dimensions", lambda x: K.permute_dimensions(x, (0, 2, 1)),
     lambda x: x.transpose(0, 2, 1), normal, (4, 3, 5), True),
    ("expand_dims", lambda x: K.expand_dims(x, 1), lambda x: x[:, None], normal, (4, 5), True),
    ("squeeze", lambda x: K.squeeze(x, 1), lambda x: x[:, 0], normal, (4, 1, 5), True),
    ("concatenate", lambda x: K.concatenate([x, K.square(x)], axis=1),
     lambda x: np.concatenate([x, x * x], axis=1), normal, (4, 3, 5), True),
    ("stack", lambda x: K.stack([x, 2.0 * x], axis=1), lambda x: np.stack([x, 2 * x], axis=1),
     normal, (4, 5), True),
    ("repeat", lambda x: K.repeat(x, 3), lambda x: np.repeat(x[:, None], 3, axis=1), normal,
     (4, 5), True),
    ("repeat_elements", lambda x: K.repeat_elements(x, 2, axis=1),
     lambda x: np.repeat(x, 2, axis=1), normal, (4, 3, 5), True),
    ("tile", lambda x: K.tile(x, (1, 2, 3)), lambda x: np.tile(x, (1, 2, 3)), normal, (4, 3, 5),
     True),
    ("batch_flatten", K.batch_flatten, lambda x: x.reshape(len(x), -1), normal, (4, 3, 5), True),
    ("slice", lambda x: x[:, 1:3, -2:], lambda x: x[:, 1:3, -2:], normal, (4, 3, 5), True),
    ("index", lambda x: x[:, 0] + x[..., -1, None][:, 1],
     lambda x: x[:, 0] + x[..., -1, None][:, 1], normal, (4, 3, 5), True),
    ("one_hot", lambda x: K.one_hot(K.argmax(x, axis=-1), 5),
     lambda x: np.eye(5)[np.argmax(x, -1)], distinct, (4, 5), False),
    ("zeros_like", lambda x: K.zeros_like(x) + x, lambda x: x, normal, (4, 5), True),
    ("ones_like", lambda x: K.ones_like(x) * 2.0, lambda x: np.full_like(x, 2.0), normal, (4, 5),
     False),
]


@pytest.fixture(autouse=True)
def float64():
    K.set_floatx("float64")
    yield
    K.set_floatx("float32")


def _compiled(fn, shape):
    x = Input(shape[1:])
    y = LuKthu(fn)(x)
    return x, y


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_value_against_numpy(case):
    name, fn, reference, make, shape, _ = case
    data = make(shape)
    x, y = _compiled(fn, shape)
    (got,) = K.function([x], [y])([data])
    np.testing.assert_allclose(got, reference(data), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", [c for c in CASES if c[5]], ids=[c[0] for c in CASES if c[5]])
def test_gradient_against_finite_differences(case):
    name, fn, reference, make, shape, _ = case
    data = make(shape)
    x, y = _compiled(fn, shape)
    weights = np.random.default_rng(1).normal(size=(1,) + tuple(y.shape[1:]))
    loss = K.sum(y * K.constant(weights)) if len(y.shape) > 1 else K.sum(y)
    value = K.function([x], [loss])
    (analytic,) = K.function([x], K.gradients(loss, [x]))([data])
    numeric = np.zeros_like(data)
    h = 1e-6
    for index in np.ndindex(*data.shape):
        plus, minus = data.copy(), data.copy()
        plus[index] += h
        minus[index] -= h
        numeric[index] = (value([plus])[0] - value([minus])[0]) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


ONE_HOT = np.eye(5)[RNG.integers(0, 5, size=4)]
LABELS = RNG.integers(0, 5, size=(4, 1)).astype(float)
BINARY = RNG.integers(0, 2, size=(4, 5)).astype(float)

# (name, K function of (target, x), numpy reference, target): x is (4, 5) logits
LOSS_CASES = [
    ("categorical_crossentropy", lambda t, x: K.categorical_crossentropy(t, K.softmax(x)),
     lambda t, x: -np.sum(t * np.log(softmax_ref(x)), axis=-1), ONE_HOT),
    ("categorical_crossentropy_logits",
     lambda t, x: K.categorical_crossentropy(t, x, from_logits=True),
     lambda t, x: -np.sum(t * np.log(softmax_ref(x)), axis=-1), ONE_HOT),
    ("sparse_categorical_crossentropy",
     lambda t, x: K.sparse_categorical_crossentropy(t, K.softmax(x)),
     lambda t, x: -np.log(softmax_ref(x)[np.arange(4), t[:, 0].astype(int)]), LABELS),
    ("binary_crossentropy", lambda t, x: K.binary_crossentropy(t, K.sigmoid(x)),
     lambda t, x: -(t * np.log(sigmoid_ref(x)) + (1 - t) * np.log(1 - sigmoid_ref(x))), BINARY),
]


@pytest.mark.parametrize("case", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_crossentropies_value_and_gradient(case):
    name, fn, reference, target = case
    logits = normal((4, 5))
    t, x = Input(target.shape[1:]), Input((5,))
    y = LuKthu(lambda pair: fn(pair[0], pair[1]))([t, x])
    (got,) = K.function([t, x], [y])([target, logits])
    np.testing.assert_allclose(got, reference(target, logits), rtol=1e-6, atol=1e-7)
    loss = K.sum(y)
    value = K.function([t, x], [loss])
    (analytic,) = K.function([t, x], K.gradients(loss, [x]))([target, logits])
    numeric = np.zeros_like(logits)
    for index in np.ndindex(*logits.shape):
        plus, minus = logits.copy(), logits.copy()
        plus[index] += 1e-6
        minus[index] -= 1e-6
        numeric[index] = (value([target, plus])[0] - value([target, minus])[0]) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


def test_gather_picks_rows_and_its_gradient_adds_them_back():
    table = K.variable(np.arange(12.0).reshape(4, 3))
    x = Input((2,))
    y = LuKthu(lambda t: K.gather(table, t))(x)
    indices = np.array([[0, 3], [3, 3]], dtype=np.float64)
    (got,) = K.function([x], [y])([indices])
    np.testing.assert_allclose(got, np.arange(12.0).reshape(4, 3)[indices.astype(int)])
    (g,) = K.function([x], K.gradients(K.sum(y), [table]))([indices])
    np.testing.assert_allclose(g, np.array([1, 0, 0, 3])[:, None] * np.ones((1, 3)))


def test_an_element_wise_chain_in_a_lukthu_is_one_fused_kernel():
    from cthulhu.layers import Daoloth
    x = Input((6,))
    h = Daoloth(6)(x)
    y = LuKthu(lambda t: K.exp(K.abs(t) * 2.0 + 1.0) - K.square(t) / (1.0 + K.abs(t)))(h)
    summary = Lump(x, y).plan_summary("predict", 8)
    lines = [line for line in summary.splitlines() if "lu_kthu" in line]
    assert len(lines) == 1 and "fused_elementwise" in lines[0], summary


def test_eval_runs_expressions_of_variables():
    v = K.variable([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(K.eval(K.mean(v, axis=0)), [2.0, 3.5])
    np.testing.assert_allclose(K.eval(K.softmax(K.constant([0.0, np.log(3.0)]))), [0.25, 0.75])
    np.testing.assert_allclose(K.eval(K.dot(K.eye(2), v)) if hasattr(K, "dot") else v.numpy(),
                               v.numpy())
    assert K.eval(v).shape == (2, 2)
    np.testing.assert_allclose(K.eval(K.zeros((2, 3))), np.zeros((2, 3)))
    np.testing.assert_allclose(K.eval(K.ones((2,))), np.ones(2))
    np.testing.assert_allclose(K.eval(K.eye(3)), np.eye(3))
    np.testing.assert_allclose(K.eval(K.constant(2.0, shape=(2, 2))), np.full((2, 2), 2.0))


def test_shape_ndim_dtype_and_int_shape():
    x = Input((3, 5))
    assert K.int_shape(x) == (None, 3, 5)
    assert K.ndim(x) == 3
    assert K.dtype(x) == "float64"
    # K.shape inside a function: the batch size is known only when the plan runs.
    y = LuKthu(lambda t: t * 0.0 + K.cast(K.shape(t)[0], "float64") + K.shape(t)[2])(x)
    (got,) = K.function([x], [y])([np.zeros((7, 3, 5))])
    np.testing.assert_allclose(got, np.full((7, 3, 5), 12.0))


def test_learning_phase_chooses_the_training_branch():
    x = Input((4,))
    y = LuKthu(lambda t: K.in_train_phase(t * 2.0, t * 3.0))(x)
    f = K.function([x, K.learning_phase()], [y])
    data = np.ones((2, 4))
    np.testing.assert_allclose(f([data, 1])[0], 2 * data)
    np.testing.assert_allclose(f([data, 0])[0], 3 * data)


def test_backend_calls_on_layer_graph_tensors_become_layers():
    a, b = Input((4,)), Input((4,))
    out = K.mean(a * b, axis=-1, keepdims=True) + K.max(b, axis=-1, keepdims=True)
    model = Lump([a, b], out)
    xa, xb = np.arange(8.0).reshape(2, 4), np.ones((2, 4)) * 2
    want = (xa * xb).mean(-1, keepdims=True) + 2
    np.testing.assert_allclose(model.predict([xa, xb]), want)


def test_gradients_with_respect_to_weights():
    from cthulhu.layers import Daoloth
    x = Input((3,))
    dense = Daoloth(2, use_bias=False)
    loss = K.sum(K.square(dense(x)))
    (g,) = K.function([x], K.gradients(loss, [dense.kernel]))([np.ones((1, 3))])
    w = dense.get_weights()[0]
    np.testing.assert_allclose(g, 2 * np.ones((3, 1)) @ (np.ones((1, 3)) @ w), rtol=1e-10)


def test_batch_axis_functions_say_what_to_use_instead():
    x = Input((3, 5))
    with pytest.raises(NotImplementedError, match="batch_flatten"):
        LuKthu(K.flatten)(x)
    with pytest.raises(NotImplementedError, match="batch axis"):
        LuKthu(lambda t: t[1:])(x)
    with pytest.raises(NotImplementedError, match="batch axis"):
        LuKthu(lambda t: K.tile(t, (2, 1, 1)))(x)
    with pytest.raises(ValueError, match="squeeze"):
        LuKthu(lambda t: K.squeeze(t, 1))(x)


def test_config_file_sets_the_defaults(tmp_path):
    import json
    import os
    import subprocess
    import sys
    (tmp_path / "cthulhu.json").write_text(json.dumps(
        {"floatx": "float64", "epsilon": 1e-5, "image_data_format": "channels_first"}))
    code = ("from cthulhu import backend as K; "
            "print(K.floatx(), K.epsilon(), K.image_data_format())")
    env = {**os.environ, "CTHULHU_HOME": str(tmp_path)}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["float64", "1e-05", "channels_first"]


def test_setters_validate():
    with pytest.raises(ValueError, match="floatx"):
        K.set_floatx("float16x")
    with pytest.raises(ValueError, match="data_format"):
        K.set_image_data_format("channels_middle")
    old = K.epsilon()
    K.set_epsilon(1e-4)
    assert K.epsilon() == 1e-4
    K.set_epsilon(old)


def test_a_custom_loss_and_metric_written_with_k_train_a_model():
    from cthulhu.layers import Daoloth
    from cthulhu.models import Pile

    K.set_floatx("float32")

    def weighted_mse(y_true, y_pred):
        weights = K.constant(np.array([1.0, 2.0], dtype="float32"))
        return K.mean(K.square(y_pred - y_true) * weights, axis=-1)

    def within_tenth(y_true, y_pred):
        return K.mean(K.cast(K.less(K.abs(y_pred - y_true), 0.1), "float32"), axis=-1)

    rng = np.random.default_rng(3)
    x = rng.normal(size=(128, 3)).astype("float32")
    y = np.stack([x[:, 0] - x[:, 1], 0.5 * x[:, 2]], axis=1)
    model = Pile([Daoloth(2, input_shape=(3,))])
    from cthulhu import optimizers
    model.conjure(optimizers.Adam(learning_rate=0.05), loss=weighted_mse,
                  metrics=[within_tenth])
    history = model.summon(x, y, epochs=40, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    assert history.history["within_tenth"][-1] > history.history["within_tenth"][0]
    p = model.predict(x)
    want = np.mean(((p - y) ** 2) * np.array([1.0, 2.0]), axis=-1).mean()
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0)[0], want, rtol=1e-4)
