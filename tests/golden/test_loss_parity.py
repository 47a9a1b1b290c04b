"""Every Keras 2 loss and metric against tf-keras (golden values from make_loss_golden.py):
per-sample values, and for losses the gradient of the batch mean, through both the native
plan and the reference interpreter."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from compiler.autodiff import grad
from compiler.builder import Builder
from compiler.interpret import interpret
from compiler.pipeline import optimize_step
from cthulhu import backend as K
from cthulhu import losses, metrics

from ..compiler.harness import run_native

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "loss_golden.npz"))
CASES = json.loads(str(GOLDEN["meta_cases"]))


def _cthulhu_function(name: str, case: dict):
    module = losses if case["kind"] == "loss" else metrics
    fn = module.get(name.rsplit("_01", 1)[0].rsplit("_pm1", 1)[0].replace("_delta", ""))
    kwargs = case["kwargs"]
    return lambda t, p: fn(t, p, **kwargs)


def _graph(fn, y_true: np.ndarray, y_pred: np.ndarray, with_grad: bool):
    b = Builder("float64")
    trace = K.Trace(b, training=False)
    with K.tracing(trace):
        t = K.Tensor(b.input((None,) + y_true.shape[1:]), (None,) + y_true.shape[1:], "float64")
        p = K.Tensor(b.input((None,) + y_pred.shape[1:]), (None,) + y_pred.shape[1:], "float64")
        value = fn(t, p)
        outputs = {"value": value.value}
        if with_grad:
            mean = K.mean(value)
            (outputs["grad"],) = grad(b, mean.value, [p.value])
        return optimize_step(b.graph(outputs), check=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_tf_keras(name):
    case = CASES[name]
    y_true, y_pred = GOLDEN[f"{name}_y_true"], GOLDEN[f"{name}_y_pred"]
    is_loss = case["kind"] == "loss"
    graph = _graph(_cthulhu_function(name, case), y_true, y_pred, is_loss)
    reference = interpret(graph, [y_true, y_pred], [])[0]
    native = run_native(graph, [y_true, y_pred])
    want = {"value": GOLDEN[f"{name}_value"]}
    if is_loss:
        want["grad"] = GOLDEN[f"{name}_grad"]
    for key, expected in want.items():
        for got in (reference[key], native[key]):
            np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=1e-6,
                                       atol=1e-9, err_msg=f"{name} {key}")


def test_loss_classes_and_reductions():
    y_true, y_pred = GOLDEN["huber_delta_y_true"], GOLDEN["huber_delta_y_pred"]
    expected = GOLDEN["huber_delta_value"]
    for loss, want in ((losses.Huber(delta=0.5), expected.mean()),
                       (losses.Huber(0.5, reduction="sum"), expected.sum())):
        def fn(t, p, loss=loss):
            return loss(t, p)
        graph = _graph(fn, y_true, y_pred, with_grad=False)
        np.testing.assert_allclose(run_native(graph, [y_true, y_pred])["value"], want,
                                   rtol=1e-7)
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="bogus")
    with pytest.raises(NotImplementedError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=0.1)
    with pytest.raises(TypeError):
        losses.MeanSquaredError(delta=1.0)
    config = losses.serialize(losses.Huber(delta=0.5))
    assert losses.deserialize(config).get_config()["delta"] == 0.5


def test_every_keras_loss_name_resolves():
    names = ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
             "mean_squared_logarithmic_error", "squared_hinge", "hinge", "categorical_hinge",
             "logcosh", "huber", "categorical_crossentropy", "sparse_categorical_crossentropy",
             "binary_crossentropy", "kullback_leibler_divergence", "poisson",
             "cosine_proximity", "mse", "mae", "mape", "msle", "kld", "cosine"]
    for name in names:
        assert callable(losses.get(name)), name
        assert callable(metrics.get(name)), name
