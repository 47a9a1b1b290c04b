"""Thread settings: one setting for kernels and BLAS, a tuner that follows the machine's
load, and results that never depend on the thread count."""

from __future__ import annotations

import ctypes
import time

import numpy as np
import pytest

import cthulhu
from cthulhu import _threads
from cthulhu.layers import Daoloth, Darkness
from cthulhu.models import Pile


class FakePlan:
    """run() sleeps longer per row with the thread count the tuner should avoid."""

    def __init__(self, slow_threads: int) -> None:
        self.slow_threads = slow_threads
        self.used: list[int] = []

    def run(self, rows: int) -> None:
        active = _threads._active
        self.used.append(active)
        time.sleep(0.004 if active == self.slow_threads else 0.0005)


@pytest.mark.parametrize("slow", [1, 2])
def test_tuner_settles_on_the_faster_thread_count(slow):
    cthulhu.set_num_threads(2)
    tuner = _threads.ThreadTuner(explore_calls=2, exploit_calls=10)
    plan = FakePlan(slow_threads=slow)
    for _ in range(14):
        tuner.run(plan, 8)
    assert plan.used[:4] == [2, 2, 1, 1]  # both timed first
    assert set(plan.used[4:14]) == {3 - slow}  # then the faster one only
    tuner.run(plan, 8)
    assert plan.used[-1] == 2  # timed again after exploit_calls


def test_scipy_blas_is_pinned_to_one_thread():
    _threads.configure_threads()
    pinned = False
    for path in _threads._scipy_blas_paths():
        getter = getattr(ctypes.CDLL(path), "scipy_openblas_get_num_threads", None)
        if getter is not None:
            assert getter() == 1
            pinned = True
    if not pinned:
        pytest.skip("scipy's BLAS here is not the bundled OpenBLAS")


def test_large_products_give_identical_results_on_one_and_two_threads():
    """GEMMs above the parallel threshold are cut by shape, not by thread count."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 300)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 256)]
    weights = []
    for threads in (1, 2):
        cthulhu.set_num_threads(threads)
        np.random.seed(5)
        model = Pile([Daoloth(512, activation="relu", input_shape=(300,)), Darkness(0.2),
                      Daoloth(10, activation="softmax")])
        model.conjure("adam", "categorical_crossentropy")
        model.summon(x, y, batch_size=128, epochs=2, verbose=0)
        weights.append(model.get_weights())
    cthulhu.set_num_threads(2)
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_thread_count_is_validated():
    with pytest.raises(ValueError):
        cthulhu.set_num_threads(0)
    cthulhu.set_num_threads(1)
    assert cthulhu.get_num_threads() == 1
    cthulhu.set_num_threads(2)
