"""Parity with reference Keras: golden numbers written by tf-keras 2.21 (see
make_mlp_golden.py) for a 2-hidden-layer MLP: predictions, loss, and weights after 3 SGD and
3 Adam steps must match (relative error <= 1e-5 on predictions, <= 1e-4 on weights)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from cthulhu import optimizers
from cthulhu.layers import Daoloth
from cthulhu.models import Pile

from .parity import relative_error

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "mlp_golden.npz"))
CONFIG = json.loads(str(GOLDEN["meta_config"]))
RUNS = [(prefix, run) for prefix, case in sorted(CONFIG["cases"].items())
        for run in sorted(case["runs"])]


def _model(prefix: str) -> Pile:
    case = CONFIG["cases"][prefix]
    (units1, act1), (units2, act2) = CONFIG["hidden"]
    model = Pile([Daoloth(units1, activation=act1, input_shape=(CONFIG["features"],)),
                  Daoloth(units2, activation=act2),
                  Daoloth(case["units"], activation=case["activation"])])
    model.set_weights([GOLDEN[f"{prefix}_init_l{i}_{kind}"] for i in range(3)
                       for kind in ("kernel", "bias")])
    return model



@pytest.mark.parametrize("prefix", sorted(CONFIG["cases"]))
def test_initial_predictions_and_loss(prefix):
    model = _model(prefix)
    model.conjure(optimizer="sgd", loss=CONFIG["cases"][prefix]["loss"])
    x, y = GOLDEN[f"{prefix}_x"], GOLDEN[f"{prefix}_y"]
    assert relative_error(model.predict(x), GOLDEN[f"{prefix}_init_pred"]) <= 1e-5
    loss = model.evaluate(x, y, batch_size=32, verbose=0)
    assert relative_error(np.array(loss), GOLDEN[f"{prefix}_init_loss"]) <= 1e-5


@pytest.mark.parametrize("prefix,run", RUNS)
def test_weights_after_three_steps(prefix, run):
    case = CONFIG["cases"][prefix]
    name, kwargs = case["runs"][run]
    model = _model(prefix)
    model.conjure(optimizer=getattr(optimizers, name)(**kwargs), loss=case["loss"])
    x, y = GOLDEN[f"{prefix}_x"], GOLDEN[f"{prefix}_y"]
    losses = [model.train_on_batch(x, y) for _ in range(3)]
    assert relative_error(np.array(losses), GOLDEN[f"{prefix}_{run}_losses"]) <= 1e-4
    want = [GOLDEN[f"{prefix}_{run}_l{i}_{kind}"] for i in range(3)
            for kind in ("kernel", "bias")]
    for got, expected in zip(model.get_weights(), want):
        assert relative_error(got, expected) <= 1e-4
