"""Dot, Daoloth on inputs of rank > 2, K.dot / K.batch_dot / K.transpose, noise_shape
dropout, the SpatialDarkness layers, K.random_*, and Input(sparse=..., tensor=...)."""

from __future__ import annotations

import numpy as np
import pytest

import cthulhu  # noqa: F401  (imports the compiler package in a working order)
from compiler.builder import Builder
from compiler.interpret import interpret
from cthulhu import backend as K
from cthulhu import layers
from cthulhu.layers import Daoloth

from .layer_harness import layer_test


def _l2(x, axis):
    return x / np.sqrt(np.maximum((x ** 2).sum(axis=axis, keepdims=True), 1e-12))


LINALG_CASES = [
    ("dot_vectors", lambda: layers.Dot(axes=1), [(5,), (5,)],
     lambda xs, w: (xs[0] * xs[1]).sum(axis=1, keepdims=True)),
    ("dot_matrices", lambda: layers.Dot(axes=(2, 1)), [(3, 4), (4, 2)],
     lambda xs, w: np.einsum("bnm,bmk->bnk", *xs)),
    ("dot_last_axes", lambda: layers.Dot(axes=-1), [(3, 4), (2, 4)],
     lambda xs, w: np.einsum("bnd,bkd->bnk", *xs)),
    ("dot_first_axes", lambda: layers.Dot(axes=[1, 1]), [(3, 4), (3, 2)],
     lambda xs, w: np.einsum("bdn,bdk->bnk", *xs)),
    ("dot_normalize", lambda: layers.Dot(axes=1, normalize=True), [(6,), (6,)],
     lambda xs, w: (_l2(xs[0], 1) * _l2(xs[1], 1)).sum(axis=1, keepdims=True)),
    ("dot_normalize_3d", lambda: layers.Dot(axes=(1, 2), normalize=True), [(3, 4), (2, 3)],
     lambda xs, w: np.einsum("bdn,bkd->bnk", _l2(xs[0], 1), _l2(xs[1], 2))),
    ("daoloth_rank3", lambda: Daoloth(3, activation="tanh", bias_initializer="random_uniform"),
     [(2, 4)], lambda xs, w: np.tanh(xs[0] @ w[0] + w[1])),
    ("daoloth_rank4_softmax", lambda: Daoloth(3, activation="softmax"), [(2, 3, 4)],
     lambda xs, w: np.exp(xs[0] @ w[0]) / np.exp(xs[0] @ w[0]).sum(-1, keepdims=True)),
    ("daoloth_rank3_no_bias", lambda: Daoloth(2, use_bias=False), [(3, 5)],
     lambda xs, w: xs[0] @ w[0]),
]


@pytest.mark.parametrize("name,make,shapes,reference", LINALG_CASES,
                         ids=[c[0] for c in LINALG_CASES])
def test_layer(name, make, shapes, reference):
    layer_test(make, shapes, reference)


def test_functional_dot_and_errors():
    a, b = layers.Input(shape=(3, 4)), layers.Input(shape=(5, 4))
    assert layers.dot([a, b], axes=2).shape == (None, 3, 5)
    assert layers.Dot(axes=(1, 2)).compute_output_shape([(None, 3, 4), (None, 5, 3)]) == \
        (None, 4, 5)
    with pytest.raises(ValueError, match="incompatibility"):
        layers.dot([a, b], axes=1)
    with pytest.raises(ValueError, match="batch axis"):
        layers.Dot(axes=0)([a, b])
    with pytest.raises(ValueError, match="2 inputs"):
        layers.Dot(axes=1)([a, b, b])


def test_daoloth_rank3_is_one_fused_dense_kernel():
    from cthulhu.models import Pile
    model = Pile([Daoloth(4, activation="relu", input_shape=(3, 5))])
    model.conjure("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(6, 3, 5)).astype("float32")
    want = np.maximum(x @ model.get_weights()[0] + model.get_weights()[1], 0)
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-5, atol=1e-6)
    text = model.plan_summary("predict", batch_size=6)
    calls = [line for line in text.splitlines() if line.lstrip()[:1].isdigit()]
    assert len(calls) == 1 and " gemm " in calls[0] and "# dense (" in calls[0], text
    train = model.plan_summary("train", batch_size=6)
    assert sum("# dense (" in line for line in train.splitlines()) == 1, train


# ---- K.dot, K.batch_dot, K.transpose -------------------------------------------------------
def _run_k(fn, input_shapes, variables=(), batch=5, seed=0):
    """Trace fn(*inputs, *variables) in float64; returns (output value, numpy inputs,
    numpy variables, the gradient check of sum(out * c))."""
    rng = np.random.default_rng(seed)
    K.set_floatx("float64")
    try:
        vars_ = [K.variable(rng.normal(size=s)) for s in variables]
        b = Builder("float64")
        trace = K.Trace(b, training=False)
        with K.tracing(trace):
            ins = [K.Tensor(b.input(s), s, "float64") for s in input_shapes]
            out = fn(*ins, *vars_)
            graph = b.graph({"out": out.value})
        xs = [rng.normal(size=tuple(batch if d is None else d for d in s))
              for s in input_shapes]
        result = interpret(graph, xs, [v.numpy() for v in trace.variables])[0]["out"]
        from tests.compiler.harness import run_native
        native = run_native(graph, xs, [v.storage for v in trace.variables])["out"]
        np.testing.assert_allclose(native, result, rtol=1e-12, atol=1e-12)
        return out, result, xs, [v.numpy() for v in vars_]
    finally:
        K.set_floatx("float32")


def test_k_dot_shapes_and_values():
    out, got, xs, ws = _run_k(lambda x, w: K.dot(x, w), [(None, 3, 4)], [(4, 2)])
    assert out.shape == (None, 3, 2)
    np.testing.assert_allclose(got, xs[0] @ ws[0])
    out, got, xs, ws = _run_k(lambda x, w: K.dot(x, w), [(None, 4)], [(6, 4, 2)])
    assert out.shape == (None, 6, 2)
    np.testing.assert_allclose(got, np.einsum("bm,pmk->bpk", xs[0], ws[0]))
    out, got, _, ws = _run_k(lambda w, v: K.dot(w, v), [], [(3, 4), (2, 4, 5)])
    assert out.shape == (3, 2, 5)
    np.testing.assert_allclose(got, np.einsum("nm,pmk->npk", *ws))


def test_k_batch_dot_keras_axes():
    cases = [((None, 4), (None, 4), 1, lambda x, y: (x * y).sum(1, keepdims=True)),
             ((None, 4), (None, 4), None, lambda x, y: (x * y).sum(1, keepdims=True)),
             ((None, 3, 4), (None, 4, 2), None, lambda x, y: x @ y),
             ((None, 3, 4), (None, 2, 4), (2, 2), lambda x, y: np.einsum("bnd,bkd->bnk", x, y)),
             ((None, 3, 4), (None, 4), None, lambda x, y: np.einsum("bnd,bd->bn", x, y)),
             ((None, 3, 4, 6), (None, 6, 5), None, lambda x, y: np.einsum("bnmd,bdk->bnmk", x, y)),
             ((None, 3, 4), (None, 3, 5), 1, lambda x, y: np.einsum("bdn,bdk->bnk", x, y)),
             ((None, 2, 3, 4), (None, 5, 3), (-2, 2), lambda x, y: np.einsum("bndm,bkd->bnmk",
                                                                             x, y))]
    for sx, sy, axes, want in cases:
        out, got, xs, _ = _run_k(lambda x, y, a=axes: K.batch_dot(x, y, a), [sx, sy])
        expected = want(*xs)
        assert out.shape == (None,) + expected.shape[1:], (sx, sy, axes)
        np.testing.assert_allclose(got, expected, err_msg=str((sx, sy, axes)))
    with pytest.raises(ValueError, match="sizes differ"):
        _run_k(lambda x, y: K.batch_dot(x, y, 1), [(None, 3), (None, 4)])


def test_k_batch_dot_of_variables():
    out, got, _, ws = _run_k(lambda v, w: K.batch_dot(v, w, axes=(1, 2)), [],
                             [(2, 3, 4), (2, 5, 3)])
    assert out.shape == (2, 4, 5)
    np.testing.assert_allclose(got, np.einsum("bdn,bkd->bnk", *ws))


def test_dot_in_a_trained_model():
    """A cosine-proximity model: two embeddings learn to agree."""
    from cthulhu.models import Lump
    a, b = layers.Input(shape=(5,)), layers.Input(shape=(5,))
    shared = Daoloth(4)
    cosine = layers.dot([shared(a), Daoloth(4)(b)], axes=-1, normalize=True)
    model = Lump([a, b], cosine)
    model.conjure(cthulhu.optimizers.Adam(0.05), "mse")
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(64, 5)), rng.normal(size=(64, 5))
    history = model.summon([xa, xb], np.ones((64, 1)), epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_k_transpose():
    out, got, _, ws = _run_k(lambda w: K.transpose(w), [], [(2, 3, 4)])
    assert out.shape == (4, 3, 2)
    np.testing.assert_allclose(got, ws[0].T)
    with pytest.raises(NotImplementedError, match="permute_dimensions"):
        _run_k(lambda x: K.transpose(x), [(None, 3)])
    with pytest.raises(NotImplementedError, match="batch_dot"):
        _run_k(lambda x, w: K.dot(w, x), [(None, 3, 4)], [(2, 3)])


def test_k_products_gradients():
    """Finite differences through batch_dot and dot (float64, reference interpreter)."""
    from compiler.autodiff import grad
    K.set_floatx("float64")
    try:
        rng = np.random.default_rng(3)
        w = K.variable(rng.normal(size=(4, 2)))
        b = Builder("float64")
        trace = K.Trace(b, training=False)
        with K.tracing(trace):
            x = K.Tensor(b.input((None, 3, 4)), (None, 3, 4), "float64")
            y = K.Tensor(b.input((None, 2, 4)), (None, 2, 4), "float64")
            out = K.batch_dot(K.dot(x, w), K.batch_dot(x, y, (2, 2)), axes=(1, 1))
            loss = K.sum(out * out)
            wrt = [x.value, y.value, trace.param(w)]
            graph = b.graph({"loss": loss.value,
                             **{f"g{i}": g for i, g in enumerate(grad(b, loss.value, wrt))}})
        arrays = [rng.normal(size=(3, 3, 4)), rng.normal(size=(3, 2, 4)), w.numpy()]
        result = interpret(graph, arrays[:2], arrays[2:])[0]
        for i, array in enumerate(arrays):
            numeric = np.zeros_like(array)
            for idx in np.ndindex(array.shape):
                saved = array[idx]
                values = []
                for delta in (1e-6, -1e-6):
                    array[idx] = saved + delta
                    values.append(float(interpret(graph, arrays[:2], arrays[2:])[0]["loss"]))
                array[idx] = saved
                numeric[idx] = (values[0] - values[1]) / 2e-6
            np.testing.assert_allclose(result[f"g{i}"], numeric, rtol=1e-5, atol=1e-6)
    finally:
        K.set_floatx("float32")


# ---- dropout with noise_shape, SpatialDarkness, K.random_* ---------------------------------
NOISE_CASES = [
    ("darkness_noise_shape", lambda: layers.Darkness(0.4, noise_shape=(None, 1, 4), seed=1),
     [(3, 4)]),
    ("spatial_darkness_1d", lambda: layers.SpatialDarkness1D(0.3, seed=2), [(5, 3)]),
    ("spatial_darkness_2d", lambda: layers.SpatialDarkness2D(0.3), [(2, 3, 4)]),
    ("spatial_darkness_2d_first",
     lambda: layers.SpatialDarkness2D(0.3, data_format="channels_first"), [(2, 3, 4)]),
    ("spatial_darkness_3d", lambda: layers.SpatialDarkness3D(0.5, seed=3), [(2, 2, 3, 2)]),
]


@pytest.mark.parametrize("name,make,shapes", NOISE_CASES, ids=[c[0] for c in NOISE_CASES])
def test_noise_layer_is_the_identity_at_inference(name, make, shapes):
    layer_test(make, shapes, lambda xs, w: xs[0])


def _training_trace(fn, input_shape, step=7, dtype="float64"):
    """Trace fn(x) in training mode with the iteration counter at `step`; returns the graph,
    the step variable and the output tensor."""
    from compiler.pipeline import optimize_step
    counter = K.Variable(np.array(step, dtype=np.int64), "int64", "step", False)
    b = Builder(dtype)
    trace = K.Trace(b, training=True, step_variable=counter)
    with K.tracing(trace):
        x = K.Tensor(b.input(input_shape, dtype), input_shape, dtype)
        out = fn(x)
        graph = optimize_step(b.graph({"y": out.value}), check=True)
    return graph, counter


def _run_both(graph, counter, xs):
    from tests.compiler.harness import run_native
    native = run_native(graph, [xs], [counter.storage])["y"]
    reference = interpret(graph, [xs], [counter.storage])[0]["y"]
    np.testing.assert_allclose(native, reference, rtol=1e-12, atol=0)
    return native


@pytest.mark.parametrize("make,shape,shared_axes", [
    (lambda: layers.Darkness(0.3, noise_shape=(None, 1, 40), seed=4), (None, 6, 40), (1,)),
    (lambda: layers.Darkness(0.3, noise_shape=(1, None, 1), seed=4), (None, 30, 8), (0, 2)),
    (lambda: layers.SpatialDarkness1D(0.3, seed=5), (None, 7, 40), (1,)),
    (lambda: layers.SpatialDarkness2D(0.3, seed=6), (None, 3, 4, 40), (1, 2)),
    (lambda: layers.SpatialDarkness2D(0.3, seed=6, data_format="channels_first"),
     (None, 40, 3, 4), (2, 3)),
    (lambda: layers.SpatialDarkness3D(0.3, seed=7), (None, 2, 3, 2, 40), (1, 2, 3)),
    (lambda: layers.SpatialDarkness3D(0.3, seed=7, data_format="channels_first"),
     (None, 40, 2, 3, 2), (2, 3, 4)),
])
def test_training_masks_are_shared_along_the_noise_axes(make, shape, shared_axes):
    layer = make()
    graph, counter = _training_trace(lambda x: layer.trace_call(x, True), shape)
    xs = np.random.default_rng(0).uniform(0.5, 1.5, size=(9,) + shape[1:])
    y = _run_both(graph, counter, xs)
    kept = y != 0
    np.testing.assert_allclose(y[kept], xs[kept] / 0.7, rtol=1e-12)  # kept ones are scaled
    for axis in shared_axes:  # one draw along each shared axis
        assert (kept == kept.take([0], axis=axis)).all(), axis
    assert 0.55 < kept.mean() < 0.85  # about 1 - rate kept
    # A new step gives a new mask.
    other, counter2 = _training_trace(lambda x: layer.trace_call(x, True), shape, step=8)
    assert ((_run_both(other, counter2, xs) != 0) != kept).any()


def test_noise_shape_kept_fraction_is_one_minus_rate():
    graph, counter = _training_trace(
        lambda x: K.dropout(x, 0.25, noise_shape=(None, 1, None), seed=11), (None, 5, 400))
    y = _run_both(graph, counter, np.ones((50, 5, 400)))
    assert abs((y != 0).mean() - 0.75) < 0.01


def test_noise_shape_dropout_gradient():
    """At a fixed step the mask is fixed: d sum(dropout(x) * c) / dx = mask * c / (1 - rate),
    checked by finite differences through the reference interpreter."""
    from compiler.autodiff import grad
    counter = K.Variable(np.array(3, dtype=np.int64), "int64", "step", False)
    b = Builder("float64")
    trace = K.Trace(b, training=True, step_variable=counter)
    with K.tracing(trace):
        x = K.Tensor(b.input((None, 4, 3)), (None, 4, 3), "float64")
        c = K.Tensor(b.input((None, 4, 3)), (None, 4, 3), "float64")
        loss = K.sum(K.dropout(x, 0.5, noise_shape=(None, 4, 1), seed=2) * c)
        graph = b.graph({"loss": loss.value, "g": grad(b, loss.value, [x.value])[0]})
    rng = np.random.default_rng(1)
    xs, cs = rng.normal(size=(3, 4, 3)), rng.normal(size=(3, 4, 3))
    g = interpret(graph, [xs, cs], [counter.storage])[0]["g"]
    numeric = np.zeros_like(xs)
    for idx in np.ndindex(xs.shape):
        up, down = xs.copy(), xs.copy()
        up[idx] += 1e-6
        down[idx] -= 1e-6
        numeric[idx] = (interpret(graph, [up, cs], [counter.storage])[0]["loss"]
                        - interpret(graph, [down, cs], [counter.storage])[0]["loss"]) / 2e-6
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)
    assert (g == 0).any() and (g != 0).any()
    assert ((g == 0) == (g[:, :, :1] == 0)).all()  # whole rows along the last axis


def test_noise_shape_errors():
    x = layers.Input(shape=(3, 4))
    with pytest.raises(ValueError, match="one entry per axis"):
        layers.Darkness(0.5, noise_shape=(None, 1))(x)
    with pytest.raises(ValueError, match="does not broadcast"):
        layers.Darkness(0.5, noise_shape=(None, 2, 4))(x)
    with pytest.raises(ValueError, match="ndim=4"):
        layers.SpatialDarkness2D(0.5)(x)
    with pytest.raises(ValueError, match="own noise_shape"):
        layers.SpatialDarkness1D(0.5, noise_shape=(None, 1, 4))


def test_spatial_darkness_config():
    layer = layers.SpatialDarkness2D(0.2, data_format="channels_first", seed=3)
    config = layer.get_config()
    assert config["data_format"] == "channels_first" and config["noise_shape"] is None
    assert layers.SpatialDarkness2D.from_config(config).get_config() == config
    assert "data_format" not in layers.SpatialDarkness1D(0.2).get_config()
    assert layers.SpatialDropout3D is layers.SpatialDarkness3D
    K.set_image_data_format("channels_first")
    try:
        assert layers.SpatialDarkness3D(0.1).data_format == "channels_first"
    finally:
        K.set_image_data_format("channels_last")


def test_spatial_darkness_in_a_trained_model():
    from cthulhu.models import Pile
    model = Pile([layers.SpatialDarkness1D(0.5, seed=1, input_shape=(6, 40)),
                  Daoloth(40, kernel_initializer="identity", use_bias=False)])
    model.conjure(cthulhu.optimizers.SGD(0.0), "mse")
    ones = np.ones((8, 6, 40), dtype="float32")
    losses = [model.train_on_batch(ones, ones) for _ in range(3)]
    # Dropped channels give (0 - 1)^2, kept ones (2 - 1)^2: the loss is 1 whatever the mask.
    assert all(v == pytest.approx(1.0, rel=1e-5) for v in losses)
    np.testing.assert_allclose(model.predict(ones), ones, rtol=1e-6)


@pytest.mark.parametrize("fn,check", [
    (lambda: K.random_uniform((300, 200), -1.0, 3.0, seed=1),
     lambda v: v.min() >= -1 and v.max() < 3 and abs(v.mean() - 1.0) < 0.02),
    (lambda: K.random_normal((300, 200), 2.0, 0.5, seed=2),
     lambda v: abs(v.mean() - 2.0) < 0.01 and abs(v.std() - 0.5) < 0.01),
    (lambda: K.random_binomial((300, 200), 0.3, seed=3),
     lambda v: set(np.unique(v)) == {0.0, 1.0} and abs(v.mean() - 0.3) < 0.01),
])
def test_random_tensors(fn, check):
    values = []
    for step in (4, 5):
        graph, counter = _training_trace(lambda x: x * 0.0 + fn(), (300, 200), step=step,
                                         dtype="float32")
        from tests.compiler.harness import run_native
        native = run_native(graph, [np.zeros((300, 200), "float32")], [counter.storage])["y"]
        reference = interpret(graph, [np.zeros((300, 200), "float32")], [counter.storage]
                              )[0]["y"]
        np.testing.assert_allclose(native, reference, rtol=1e-6, atol=1e-6)
        assert native.dtype == np.float32 and check(native.astype(np.float64))
        values.append(native)
    assert (values[0] != values[1]).mean() > 0.3  # fresh at every training step


def test_random_tensors_shapes_and_errors():
    b = Builder("float32")
    with K.tracing(K.Trace(b, training=False)):
        assert K.random_uniform((2, 3), dtype="float64").value.type_str() == "f64[2,3]"
        assert K.random_normal(4).shape == (4,)
        with pytest.raises(NotImplementedError, match="batch"):
            K.random_normal((None, 3))
        with pytest.raises(ValueError, match="p must be"):
            K.random_binomial((2,), 1.5)


# ---- Input(sparse=True), Input(tensor=...) -------------------------------------------------
def _sparse_data(rows=40, cols=6, seed=0):
    from scipy import sparse
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(rows, cols)) * (rng.uniform(size=(rows, cols)) < 0.3)
    return sparse.csr_matrix(dense.astype("float32")), dense.astype("float32")


def test_sparse_input_is_densified_batch_by_batch():
    from cthulhu.models import Lump
    matrix, dense = _sparse_data()
    x = layers.Input(shape=(6,), sparse=True)
    assert x._cthulhu_history[0].get_config()["sparse"] is True
    model = Lump(x, Daoloth(2)(x))
    np.testing.assert_allclose(model.predict(matrix, batch_size=16), model.predict(dense),
                               rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(matrix[:5]), model.predict(dense[:5]),
                               rtol=1e-6)
    model.conjure(cthulhu.optimizers.SGD(0.1), "mse")
    target = dense[:, :2] - dense[:, 2:4]
    assert model.evaluate(matrix, target, verbose=0) == pytest.approx(
        model.evaluate(dense, target, verbose=0), rel=1e-6)
    # Training on the sparse matrix (shuffled, with a validation split) follows training on
    # the dense array exactly.
    start = model.get_weights()
    trained = []
    for data in (matrix.tocoo(), dense):
        model.set_weights(start)
        np.random.seed(0)
        history = model.summon(data, target, batch_size=8, epochs=3, verbose=0,
                               validation_split=0.25)
        assert history.history["loss"][-1] < history.history["loss"][0]
        trained.append(model.get_weights())
    for sparse_w, dense_w in zip(*trained):
        np.testing.assert_allclose(sparse_w, dense_w, rtol=1e-6, atol=1e-7)
    assert model.test_on_batch(matrix[:8], target[:8]) == pytest.approx(
        model.test_on_batch(dense[:8], target[:8]), rel=1e-6)
    before = model.test_on_batch(dense[:8], target[:8])
    model.train_on_batch(matrix[:8], target[:8])
    assert model.test_on_batch(dense[:8], target[:8]) < before
    with pytest.raises(ValueError, match="sparse matrix of shape"):
        model.predict(_sparse_data(cols=5)[0])


def test_input_with_a_fixed_tensor():
    from cthulhu.models import Lump
    rng = np.random.default_rng(0)
    fixed = rng.normal(size=(10, 3)).astype("float32")
    a = layers.Input(tensor=fixed)
    b = layers.Input(shape=(3,))
    assert a.shape == (None, 3)
    out = layers.add([Daoloth(2, name="da")(a), Daoloth(2, name="db")(b)])
    model = Lump([a, b], out)
    free = rng.normal(size=(10, 3)).astype("float32")
    both = model.predict(free)  # data only for the free input
    w = model.get_weights()
    np.testing.assert_allclose(both, fixed @ w[0] + w[1] + free @ w[2] + w[3], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(model.predict({model.input_names[1]: free}), both, rtol=1e-6)
    model.conjure("sgd", "mse")
    model.summon(free, np.zeros((10, 2)), epochs=2, verbose=0)
    with pytest.raises(ValueError, match="do not pass data"):
        model.predict({model.input_names[0]: fixed, model.input_names[1]: free})
    only = Lump(a, Daoloth(1)(a))
    assert only.predict(None).shape == (10, 1)
    with pytest.raises(ValueError, match="does not match"):
        layers.Input(shape=(4,), tensor=fixed)


def test_input_tensor_of_another_input_and_errors():
    a = layers.Input(shape=(3,))
    assert layers.Input(tensor=a) is a
    assert layers.Input(shape=(3,), tensor=a) is a
    with pytest.raises(ValueError, match="does not match"):
        layers.Input(shape=(4,), tensor=a)
    with pytest.raises(NotImplementedError, match="another layer's output"):
        layers.Input(tensor=Daoloth(2)(a))
    with pytest.raises(NotImplementedError, match="variable"):
        layers.Input(tensor=K.variable(np.zeros((2, 3))))
    with pytest.raises(TypeError, match="numpy array"):
        layers.Input(tensor="not a tensor")


@pytest.mark.parametrize("shape_a,shape_b", [((64, 8, 16), (64, 16, 8)),
                                             ((2, 200, 150), (2, 150, 160))])
def test_batch_products_do_not_depend_on_the_thread_count(shape_a, shape_b):
    """Small items run in parallel over the batch, large ones through the threaded GEMM;
    either way each item is one BLAS computation chosen by shape alone."""
    from tests.compiler.harness import op_graph, run_native
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=shape_a).astype("float32"),
              rng.normal(size=shape_b).astype("float32")]
    graph, _, _ = op_graph("batch_matmul", arrays, {"transpose_a": False, "transpose_b": False},
                           [0, 1], "float32")
    results, saved = [], cthulhu.get_num_threads()
    try:
        for threads in (1, 2):
            cthulhu.set_num_threads(threads)
            results.append(run_native(graph, arrays)["out0"])
    finally:
        cthulhu.set_num_threads(saved)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_allclose(results[0], arrays[0] @ arrays[1], rtol=1e-4, atol=1e-4)


def test_input_spec_errors_name_the_layer_and_the_shapes():
    from cthulhu.layers import Daoloth, Flatten, Input, Permute, PReLU, RepeatVector

    x3 = Input((4, 5))
    with pytest.raises(ValueError, match=r"Input 0 of layer 'rv'.*expected ndim=2, found ndim=3"):
        RepeatVector(2, name="rv")(x3)
    with pytest.raises(ValueError, match=r"'perm'.*expected ndim=4"):
        Permute((2, 1, 3), name="perm")(x3)
    dense = Daoloth(3, name="dense_spec")
    dense(Input((5,)))
    with pytest.raises(ValueError, match=r"'dense_spec'.*axis -1 of input shape to have value "
                                         r"5, but received input with shape \(None, 4\)"):
        dense(Input((4,)))
    prelu = PReLU(name="prelu_spec")
    prelu(Input((4, 5)))
    with pytest.raises(ValueError, match=r"'prelu_spec'.*axis 1"):
        prelu(Input((3, 5)))
    assert Flatten()(x3).shape == (None, 20)
