"""Regularizers add exactly their penalty (and its gradient); constraints project weights
after every update; every initializer exists with its documented properties."""

from __future__ import annotations

import numpy as np
import pytest

import cthulhu
from cthulhu import constraints, initializers, regularizers
from cthulhu.layers import Daoloth
from cthulhu.models import Pile


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4))
    return x, rng.normal(size=(n, 3))


def _model(**layer_args):
    np.random.seed(0)
    model = Pile([Daoloth(3, input_shape=(4,), **layer_args)])
    model.conjure(cthulhu.optimizers.SGD(0.1), "mse")
    return model


def test_l1_l2_penalties_are_added_to_the_loss():
    x, y = _data()
    plain = _model()
    for reg, penalty in ((regularizers.l2(0.01), lambda w: 0.01 * np.sum(w ** 2)),
                         (regularizers.l1(0.02), lambda w: 0.02 * np.sum(np.abs(w))),
                         (regularizers.l1_l2(0.01, 0.03),
                          lambda w: 0.01 * np.sum(np.abs(w)) + 0.03 * np.sum(w ** 2))):
        model = _model(kernel_regularizer=reg)
        kernel = model.get_weights()[0]
        want = plain.evaluate(x, y, verbose=0) + penalty(kernel)
        assert model.evaluate(x, y, verbose=0) == pytest.approx(want, rel=1e-5)


def test_l2_gradient_enters_the_update():
    x, y = _data()
    plain, model = _model(), _model(kernel_regularizer=regularizers.l2(0.05))
    kernel = model.get_weights()[0].copy()
    plain.train_on_batch(x, y)
    model.train_on_batch(x, y)
    step_difference = model.get_weights()[0] - plain.get_weights()[0]
    np.testing.assert_allclose(step_difference, -0.1 * 2 * 0.05 * kernel, atol=1e-6)


def test_activity_regularizer_is_divided_by_the_batch_size():
    x, y = _data()
    plain = _model()
    model = _model(activity_regularizer=regularizers.l1(0.1))
    outputs = model.predict(x)
    want = plain.evaluate(x, y, batch_size=32, verbose=0) + \
        0.1 * np.abs(outputs).sum() / len(x)
    assert model.evaluate(x, y, batch_size=32, verbose=0) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("constraint,check", [
    (constraints.non_neg(), lambda w: np.all(w >= 0)),
    (constraints.max_norm(0.5), lambda w: np.all(np.linalg.norm(w, axis=0) <= 0.5 + 1e-5)),
    (constraints.unit_norm(), lambda w: np.allclose(np.linalg.norm(w, axis=0), 1, atol=1e-5)),
    (constraints.min_max_norm(1.5, 2.0),
     lambda w: np.all((np.linalg.norm(w, axis=0) >= 1.5 - 1e-5)
                      & (np.linalg.norm(w, axis=0) <= 2.0 + 1e-5))),
])
def test_constraints_hold_after_each_update(constraint, check):
    x, y = _data()
    model = _model(kernel_constraint=constraint)
    assert not check(model.get_weights()[0]) or isinstance(constraint, constraints.MaxNorm)
    model.summon(x, y, epochs=2, batch_size=8, verbose=0)
    assert check(model.get_weights()[0])


def test_constraint_formulas_match_numpy():
    x, y = _data()
    plain = _model()
    model = _model(kernel_constraint=constraints.max_norm(0.3))
    plain.train_on_batch(x, y)
    model.train_on_batch(x, y)
    w = plain.get_weights()[0]
    norms = np.linalg.norm(w, axis=0, keepdims=True)
    want = w * (np.clip(norms, 0, 0.3) / (1e-7 + norms))
    np.testing.assert_allclose(model.get_weights()[0], want, rtol=1e-5)


def test_initializers():
    np.random.seed(0)
    q = initializers.get("orthogonal")((6, 6), "float64")
    np.testing.assert_allclose(q.T @ q, np.eye(6), atol=1e-10)
    wide = initializers.Orthogonal(gain=2.0)((3, 5), "float64")
    np.testing.assert_allclose(wide @ wide.T, 4 * np.eye(3), atol=1e-10)
    np.testing.assert_array_equal(initializers.get("identity")((3, 3)), np.eye(3))
    a = initializers.RandomNormal(seed=3)((4, 4))
    b = initializers.RandomNormal(seed=3)((4, 4))
    np.testing.assert_array_equal(a, b)
    for name in ("zeros", "ones", "constant", "random_normal", "random_uniform",
                 "truncated_normal", "variance_scaling", "orthogonal", "identity",
                 "lecun_uniform", "lecun_normal", "glorot_uniform", "glorot_normal",
                 "he_uniform", "he_normal"):
        assert initializers.get(name)((4, 4)).shape == (4, 4), name
    limit = np.sqrt(6 / 8)
    assert np.abs(initializers.get("glorot_uniform")((4, 4))).max() <= limit


def test_serialization_round_trips():
    reg = regularizers.deserialize(regularizers.serialize(regularizers.l1_l2(0.1, 0.2)))
    assert (reg.l1, reg.l2) == (0.1, 0.2)
    con = constraints.deserialize(constraints.serialize(constraints.max_norm(3, axis=1)))
    assert (con.max_value, con.axis) == (3, 1)
    with pytest.raises(ValueError):
        regularizers.get("l3")
    with pytest.raises(ValueError):
        constraints.get("bounded")
    config = Daoloth(2, kernel_regularizer="l2", kernel_constraint="non_neg").get_config()
    assert config["kernel_regularizer"]["class_name"] == "L2"
    assert config["kernel_constraint"]["class_name"] == "NonNeg"
