"""Parity of every optimizer with tf-keras 2.21: golden numbers written by
make_optimizer_golden.py (the cce MLP of make_mlp_golden.py, 3 train_on_batch steps per
optimizer configuration). Losses and weights after the steps must match with relative error
<= 1e-4 (denominator floored at 1e-3). Also the Keras-level API of cthulhu.optimizers."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest

from cthulhu import optimizers
from cthulhu.layers import Daoloth
from cthulhu.models import Pile

from .parity import relative_error

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "optimizer_golden.npz"))
CONFIG = json.loads(str(GOLDEN["meta_config"]))
TOLERANCE = 1e-4


def _model() -> Pile:
    model = Pile([Daoloth(16, activation="relu", input_shape=(12,)),
                  Daoloth(8, activation="tanh"),
                  Daoloth(3, activation="softmax")])
    model.set_weights([GOLDEN[f"init_l{i}_{kind}"] for i in range(3)
                       for kind in ("kernel", "bias")])
    return model



def _golden_weights(key: str) -> list[np.ndarray]:
    """The flat weights of configuration ``key``, split into the model's weight shapes."""
    flat = GOLDEN[f"{key}_weights"]
    shapes = [GOLDEN[f"init_l{i}_{kind}"].shape for i in range(3) for kind in ("kernel", "bias")]
    ends = np.cumsum([int(np.prod(s)) for s in shapes])
    assert ends[-1] == flat.size
    return [part.reshape(s) for part, s in zip(np.split(flat, ends[:-1]), shapes)]


def _optimizer(key: str) -> optimizers.Optimizer:
    spec = CONFIG["configs"][key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # clipvalue ignored next to clipnorm: as tf-keras
        return getattr(optimizers, spec["optimizer"])(**spec["kwargs"])


def _train(key: str) -> tuple[np.ndarray, list[np.ndarray]]:
    model = _model()
    model.conjure(optimizer=_optimizer(key), loss="categorical_crossentropy")
    losses = [model.train_on_batch(GOLDEN["x"], GOLDEN["y"]) for _ in range(3)]
    return np.array(losses), model.get_weights()


@pytest.mark.parametrize("key", sorted(CONFIG["configs"]))
def test_three_steps_match_tf_keras(key):
    losses, weights = _train(key)
    errors = {"losses": relative_error(losses, GOLDEN[f"{key}_losses"])}
    for i, (got, expected) in enumerate(zip(weights, _golden_weights(key))):
        errors[f"weight {i}"] = relative_error(got, expected)
    worst = max(errors, key=errors.get)
    assert errors[worst] <= TOLERANCE, f"{key}: {worst} relative error {errors[worst]:.3g}"


def test_golden_covers_every_optimizer_with_defaults_and_a_variant():
    by_class: dict[str, list[dict]] = {}
    for spec in CONFIG["configs"].values():
        by_class.setdefault(spec["optimizer"], []).append(spec["kwargs"])
    assert set(by_class) == {"SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax",
                             "Nadam"}
    for name, runs in by_class.items():
        assert {} in runs and len(runs) >= 2, name


def test_weights_move_for_every_config():
    # the golden steps must be large enough for a 1e-4 check to mean something
    init = [GOLDEN[f"init_l{i}_{kind}"] for i in range(3) for kind in ("kernel", "bias")]
    for key in CONFIG["configs"]:
        after = _golden_weights(key)
        assert max(relative_error(a, b) for a, b in zip(after, init)) > 1e-3, key


# ---- the Keras-level API ------------------------------------------------------------------
ALL = [optimizers.SGD, optimizers.RMSprop, optimizers.Adagrad, optimizers.Adadelta,
       optimizers.Adam, optimizers.Adamax, optimizers.Nadam]


@pytest.mark.parametrize("name", ["sgd", "SGD", "rmsprop", "RMSprop", "adagrad", "Adadelta",
                                  "adam", "ADAMAX", "nadam", "Nadam"])
def test_get_by_name_is_case_insensitive(name):
    opt = optimizers.get(name)
    assert type(opt).__name__.lower() == name.lower()
    assert optimizers.get(opt) is opt


def test_nadam_refuses_decay():
    with pytest.raises(NotImplementedError, match="decay"):
        optimizers.Nadam(decay=0.1)


def test_module_aliases_and_defaults():
    assert optimizers.rmsprop is optimizers.RMSprop and optimizers.nadam is optimizers.Nadam
    assert optimizers.adagrad is optimizers.Adagrad and optimizers.adamax is optimizers.Adamax
    assert optimizers.adadelta is optimizers.Adadelta
    # tf-keras 2.x defaults
    assert optimizers.SGD().learning_rate == 0.01
    assert optimizers.Adadelta().learning_rate == 0.001 and optimizers.Adadelta().rho == 0.95
    ada = optimizers.Adagrad()
    assert (ada.learning_rate, ada.initial_accumulator_value, ada.epsilon) == (0.001, 0.1, 1e-7)
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == \
        (0.001, 0.9, 0.0, 1e-7, False)
    for cls in (optimizers.Adam, optimizers.Adamax, optimizers.Nadam):
        opt = cls()
        assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == \
            (0.001, 0.9, 0.999, 1e-7)


@pytest.mark.parametrize("cls", ALL)
def test_config_round_trips(cls):
    decay = 0.0 if cls is optimizers.Nadam else 0.01  # Nadam refuses a decay
    opt = cls(lr=0.05, decay=decay, clipnorm=1.5)
    config = opt.get_config()
    assert config["learning_rate"] == 0.05 and config["decay"] == decay
    assert config["clipnorm"] == 1.5 and config["clipvalue"] is None
    again = optimizers.get({"class_name": cls.__name__, "config": config})
    assert type(again) is cls and again.get_config() == config
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("arg,value", [("global_clipnorm", 1.0), ("use_ema", True),
                                       ("weight_decay", 0.004), ("jit_compile", False),
                                       ("ema_momentum", 0.9)])
def test_unsupported_arguments_raise_not_implemented(cls, arg, value):
    with pytest.raises(NotImplementedError, match=arg):
        cls(**{arg: value})
    cls(**{arg: {"use_ema": False, "jit_compile": True, "ema_momentum": 0.99}.get(arg)})


def test_optimizer_specific_unsupported_arguments():
    with pytest.raises(NotImplementedError, match="adaptive_epsilon"):
        optimizers.Adam(adaptive_epsilon=True)
    with pytest.raises(NotImplementedError, match="schedule_decay"):
        optimizers.Nadam(schedule_decay=0.004)


@pytest.mark.parametrize("cls", ALL)
def test_unknown_keyword_raises_type_error(cls):
    with pytest.raises(TypeError, match="no_such_argument"):
        cls(no_such_argument=1)


def test_invalid_values():
    with pytest.raises(ValueError, match="decay"):
        optimizers.Adam(decay=-1.0)
    with pytest.raises(ValueError, match="clipnorm"):
        optimizers.SGD(clipnorm=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        optimizers.Adagrad(initial_accumulator_value=-0.1)
    with pytest.warns(UserWarning, match="clipvalue is ignored"):
        optimizers.SGD(clipnorm=1.0, clipvalue=0.5)


def test_optimizer_state_after_training():
    model = _model()
    opt = optimizers.Nadam()
    model.conjure(optimizer=opt, loss="categorical_crossentropy")
    for _ in range(3):
        model.train_on_batch(GOLDEN["x"], GOLDEN["y"])
    weights = opt.get_weights()
    assert int(weights[0]) == 3
    mu = [0.9 * (1 - 0.5 * 0.96**t) for t in (1, 2, 3)]
    assert float(weights[1]) == pytest.approx(np.prod(mu), rel=1e-12)
    assert len(weights) == 2 + 2 * 6                     # iterations, u_product, m and v

    model = _model()
    opt = optimizers.Adagrad(initial_accumulator_value=0.25)
    model.conjure(optimizer=opt, loss="categorical_crossentropy")
    model.train_on_batch(GOLDEN["x"], GOLDEN["y"])
    assert all(np.all(acc >= 0.25) for acc in opt.get_weights()[1:])


def test_update_is_one_fused_node_and_clipping_is_fused():
    model = _model()
    model.conjure(optimizer=optimizers.RMSprop(clipnorm=0.5, momentum=0.5),
                  loss="categorical_crossentropy")
    model.train_on_batch(GOLDEN["x"], GOLDEN["y"])
    summary = model.plan_summary()
    assert summary.count("rmsprop ") == 6
    assert "rmsprop_update" in summary
