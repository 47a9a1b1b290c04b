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


class SwitchingPlan(FakePlan):
    """A FakePlan whose slow thread count changes to `then` after `calls` calls."""

    def __init__(self, slow_threads: int, then: int, calls: int) -> None:
        super().__init__(slow_threads)
        self.then, self.calls = then, calls

    def run(self, rows: int) -> None:
        if len(self.used) == self.calls:
            self.slow_threads = self.then
        super().run(rows)


def runs(used: list[int]) -> list[tuple[int, int]]:
    """(thread count, how many calls in a row) over the calls of a plan."""
    out: list[tuple[int, int]] = []
    for n in used:
        if out and out[-1][0] == n:
            out[-1] = (n, out[-1][1] + 1)
        else:
            out.append((n, 1))
    return out


def test_a_choice_that_wins_again_runs_twice_as_long_up_to_the_cap():
    cthulhu.set_num_threads(2)
    tuner = _threads.ThreadTuner(explore_calls=2, exploit_calls=5, max_exploit_calls=20,
                                 watch_min_seconds=1e-4)
    plan = FakePlan(slow_threads=1)
    for _ in range(4 * 4 + 5 + 10 + 20 + 20):
        tuner.run(plan, 8)
    # Each timing is 2 calls on 2 threads, then 2 on 1; the 2-thread calls that exploit the
    # choice run on into the next timing's first two.
    assert runs(plan.used) == [(2, 2), (1, 2), (2, 5 + 2), (1, 2), (2, 10 + 2), (1, 2),
                               (2, 20 + 2), (1, 2), (2, 20)]


def test_a_change_of_choice_and_one_thread_run_exploit_calls():
    cthulhu.set_num_threads(2)
    tuner = _threads.ThreadTuner(explore_calls=2, exploit_calls=5, max_exploit_calls=40,
                                 watch_calls=1000, watch_min_seconds=1e-4)
    # 1 thread is slow for the first 4 + 5 + 4 + 10 calls, then 2 threads are.
    plan = SwitchingPlan(slow_threads=1, then=2, calls=23)
    for _ in range(23 + 4 + 5 + 4 + 5 + 2):
        tuner.run(plan, 8)
    # 1 thread wins the third timing and the fourth: each time it runs 5 calls.
    assert runs(plan.used) == [(2, 2), (1, 2), (2, 5 + 2), (1, 2), (2, 10 + 2), (1, 2 + 5),
                               (2, 2), (1, 2 + 5), (2, 2)]


def test_a_choice_that_turns_slow_is_timed_again_at_once():
    cthulhu.set_num_threads(2)
    tuner = _threads.ThreadTuner(explore_calls=2, exploit_calls=100, watch_calls=3,
                                 watch_min_seconds=1e-4)
    # 2 threads win the first timing, then turn slow 10 calls into the exploitation.
    plan = SwitchingPlan(slow_threads=1, then=2, calls=14)
    for _ in range(14 + 3 + 4 + 5):
        tuner.run(plan, 8)
    assert runs(plan.used) == [(2, 2), (1, 2), (2, 10 + 3 + 2), (1, 2 + 5)]


def test_cheap_calls_are_neither_run_longer_nor_watched():
    """Below watch_min_seconds a call is timed every exploit_calls calls, as it wins or
    turns slow."""
    cthulhu.set_num_threads(2)
    tuner = _threads.ThreadTuner(explore_calls=2, exploit_calls=5, watch_calls=1,
                                 watch_min_seconds=1.0)
    plan = SwitchingPlan(slow_threads=1, then=2, calls=6)   # 2 threads turn slow in use
    for _ in range(4 + 5 + 4 + 5):
        tuner.run(plan, 8)
    assert runs(plan.used) == [(2, 2), (1, 2), (2, 5 + 2), (1, 2 + 5)]


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
