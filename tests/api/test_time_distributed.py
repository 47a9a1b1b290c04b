"""TimeDistributed: the direct path (one call on the rank-3 tensor), the per-timestep path,
what it refuses, masks, and training through it."""

from __future__ import annotations

import numpy as np
import pytest

from cthulhu import optimizers
from cthulhu.layers import (
    BlacknessFromTheStars,
    Daoloth,
    Darkness,
    Flatten,
    Input,
    Masking,
    TheHydra,
    TimeDistributed,
)
from cthulhu.models import Lump


def test_daoloth_runs_as_one_gemm_over_all_timesteps():
    x = Input((6, 4))
    model = Lump(x, TimeDistributed(Daoloth(3, name="inner"))(x))
    summary = model.plan_summary("predict", 8)
    kernels = [ln.split()[1] for ln in summary.splitlines() if "(inner)" in ln]
    assert kernels == ["gemm"], summary


def test_per_timestep_layers_share_their_weights_and_train():
    np.random.seed(0)
    x = Input((3, 2, 2))
    td = TimeDistributed(Flatten())
    model = Lump(x, TimeDistributed(Daoloth(2), name="td_dense")(td(x)))
    assert len(model.weights) == 2
    model.conjure(optimizers.SGD(0.1), "mse")
    data = np.random.default_rng(0).normal(size=(5, 3, 2, 2)).astype(np.float32)
    before = model.evaluate(data, np.zeros((5, 3, 2), np.float32), verbose=0)
    model.train_on_batch(data, np.zeros((5, 3, 2), np.float32))
    assert model.evaluate(data, np.zeros((5, 3, 2), np.float32), verbose=0) < before


def test_batchnorm_statistics_span_batch_and_time_in_training():
    np.random.seed(0)
    x = Input((3, 2))
    bn = BlacknessFromTheStars(momentum=0.0, center=False)
    model = Lump(x, TimeDistributed(bn)(x))
    model.conjure(optimizers.SGD(0.0), "mse")
    data = np.random.default_rng(1).normal(size=(4, 3, 2)).astype(np.float32)
    model.train_on_batch(data, np.zeros_like(data))
    np.testing.assert_allclose(bn.get_weights()[1], data.reshape(-1, 2).mean(0), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(bn.get_weights()[2], data.reshape(-1, 2).var(0), rtol=1e-5)


def test_random_layers_per_timestep_are_refused_in_training():
    x = Input((3, 4))
    h = TimeDistributed(Darkness(0.5, noise_shape=(None, 1)))(x)
    model = Lump(x, TimeDistributed(Daoloth(1))(h))
    model.predict(np.zeros((2, 3, 4), np.float32))  # inference: the identity, fine
    model.conjure(optimizers.SGD(0.1), "mse")
    with pytest.raises(NotImplementedError, match="random numbers or updates state"):
        model.train_on_batch(np.zeros((2, 3, 4), np.float32), np.zeros((2, 3, 1), np.float32))


def test_masks_pass_through_and_an_inner_embedding_makes_its_own():
    x = Input((3, 4))
    h = TimeDistributed(Daoloth(2))(Masking(0.0)(x))
    assert h._mask is not None and h._mask.shape == (None, 3)
    ids = Input((3, 2))
    e = TimeDistributed(TheHydra(5, 2, mask_zero=True))(ids)
    assert e.shape == (None, 3, 2, 2) and e._mask.shape == (None, 3, 2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="layer instance"):
        TimeDistributed(Daoloth)
    with pytest.raises(ValueError):
        TimeDistributed(Daoloth(2))(Input((4,)))
