"""Small models and data shared by the saving tests."""

from __future__ import annotations

import numpy as np

from cthulhu.layers import Daoloth, Darkness, Input, concatenate
from cthulhu.models import Lump, Pile


def mlp(seed: int = 0, hidden_activation: str = "relu") -> Pile:
    np.random.seed(seed)
    return Pile([Daoloth(6, activation=hidden_activation, input_shape=(4,), name="h1"),
                 Darkness(0.25, seed=3, name="drop"),
                 Daoloth(3, activation="softmax", name="out")], name="mlp")


def two_input(seed: int = 0) -> Lump:
    np.random.seed(seed)
    a, b = Input((4,), name="a"), Input((2,), name="b")
    h = Daoloth(5, activation="tanh", name="ha")(a)
    merged = concatenate([h, b], name="merge")
    out = Daoloth(1, activation="sigmoid", name="out")(merged)
    return Lump([a, b], out, name="two_input")


def data(seed: int = 1, rows: int = 16):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype("float32")
    xb = rng.normal(size=(rows, 2)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, rows)]
    yb = (rng.random((rows, 1)) > 0.5).astype("float32")
    return x, xb, y, yb


def assert_same_weights(a, b) -> None:
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)
