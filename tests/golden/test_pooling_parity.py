"""Parity of pooling, padding, cropping and upsampling with tf-keras 2.21 (golden numbers
written by make_pooling_golden.py): Mlandoth / AiuebGnshal 1D-3D with 'same' and 'valid'
padding, the global poolings (GrothAiuebGnshal1D with a mask), Xexanoth, Cropping and
UbboSathla (nearest and bilinear) give the same predictions, losses and weights after 3
Adam steps (relative error <= 1e-4, denominator floored at 1e-3)."""

from __future__ import annotations

import os

import numpy as np

from cthulhu import optimizers
from cthulhu.layers import (
    AiuebGnshal1D,
    AiuebGnshal2D,
    AiuebGnshal3D,
    Concatenate,
    Cropping1D,
    Cropping2D,
    Cropping3D,
    Daoloth,
    GhrothMlandoth1D,
    GhrothMlandoth2D,
    GhrothMlandoth3D,
    GrothAiuebGnshal1D,
    GrothAiuebGnshal2D,
    GrothAiuebGnshal3D,
    Input,
    Masking,
    Mlandoth1D,
    Mlandoth2D,
    Mlandoth3D,
    UbboSathla1D,
    UbboSathla2D,
    UbboSathla3D,
    Xexanoth1D,
    Xexanoth2D,
    Xexanoth3D,
)
from cthulhu.models import Lump

from .parity import relative_error

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "pooling_golden.npz"))
NAMES = [str(n).split(":")[0] for n in GOLDEN["meta_weight_names"]]
TOLERANCE = 1e-4


def _model() -> Lump:
    img = Input(shape=(7, 6, 3), name="img")
    seq = Input(shape=(9, 3), name="seq")
    vol = Input(shape=(4, 4, 4, 2), name="vol")
    h = Daoloth(4, activation="tanh", name="img_dense")(img)
    h = Xexanoth2D(((1, 0), (0, 1)), name="pad2")(h)
    h = Mlandoth2D(2, padding="same", name="max2")(h)
    h = UbboSathla2D(2, interpolation="bilinear", name="up2_bilinear")(h)
    h = Cropping2D(((1, 1), (2, 0)), name="crop2")(h)
    h = AiuebGnshal2D(3, strides=2, padding="same", name="avg2")(h)
    h = Daoloth(5, activation="relu", name="img_dense2")(h)
    h = UbboSathla2D(2, name="up2")(h)
    a = GhrothMlandoth2D(name="gmax2")(h)
    b = GrothAiuebGnshal2D(name="gavg2")(h)
    s = Daoloth(4, activation="tanh", name="seq_dense")(seq)
    s = Xexanoth1D((1, 2), name="pad1")(s)
    s = Mlandoth1D(3, strides=2, padding="same", name="max1")(s)
    s = UbboSathla1D(2, name="up1")(s)
    s = Cropping1D((1, 1), name="crop1")(s)
    s = AiuebGnshal1D(2, name="avg1")(s)
    s = GhrothMlandoth1D(name="gmax1")(s)
    m = GrothAiuebGnshal1D(name="gavg1_masked")(Masking(0.0, name="mask")(seq))
    v = Daoloth(3, activation="tanh", name="vol_dense")(vol)
    v = Mlandoth3D(2, name="max3")(v)
    g = GrothAiuebGnshal3D(name="gavg3")(v)
    v = UbboSathla3D((1, 2, 1), name="up3")(v)
    v = Xexanoth3D(1, name="pad3")(v)
    v = Cropping3D(((0, 1), (1, 0), (0, 0)), name="crop3")(v)
    v = AiuebGnshal3D(2, padding="same", name="avg3")(v)
    v = GhrothMlandoth3D(name="gmax3")(v)
    j = Concatenate(name="concat")([a, b, s, m, v, g])
    out = Daoloth(4, activation="softmax", name="out")(j)
    model = Lump([img, seq, vol], out)
    by_name = {name: GOLDEN[f"init_{i}"] for i, name in enumerate(NAMES)}
    model.set_weights([by_name[w.name] for w in model.weights])
    return model



def _inputs() -> list:
    return [GOLDEN["img"], GOLDEN["seq"], GOLDEN["vol"]]


def test_predictions_match():
    got = _model().predict(_inputs())
    assert relative_error(got, GOLDEN["predictions"]) <= TOLERANCE


def test_three_adam_steps_match():
    model = _model()
    model.conjure(optimizers.Adam(learning_rate=0.01), "categorical_crossentropy")
    losses = [model.train_on_batch(_inputs(), GOLDEN["y"]) for _ in range(3)]
    assert relative_error(losses, GOLDEN["losses"]) <= TOLERANCE, (losses, GOLDEN["losses"])
    final = {name: GOLDEN[f"final_{i}"] for i, name in enumerate(NAMES)}
    for w in model.weights:
        assert relative_error(w.numpy(), final[w.name]) <= TOLERANCE, w.name
