"""Sequences through summon / evaluate / predict and the OrderedEnqueuer: order, every
index exactly once per epoch, on_epoch_end, shuffle, steps, bounded queue, seeds, shared
memory; with workers 0, 1 and 2, threads and processes."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cthulhu
from cthulhu.callbacks import Callback
from cthulhu.layers import Daoloth
from cthulhu.models import Pile
from cthulhu.utils import OrderedEnqueuer
from cthulhu.utils._shm import shm_prefix
from tests.data import helpers
from tests.data.helpers import LoggedSequence, read_log

WORKERS = [(0, False), (1, False), (2, False), (1, True), (2, True)]
IDS = ["inline", "1-thread", "2-threads", "1-process", "2-processes"]


def model(seed=0):
    np.random.seed(seed)
    m = Pile([Daoloth(helpers.CLASSES, input_shape=(helpers.FEATURES,))])
    m.conjure(cthulhu.optimizers.SGD(0.01), "mse")
    return m


def sum_model():
    """predict gives each row's sum: the batch index times FEATURES."""
    m = Pile([Daoloth(1, use_bias=False, kernel_initializer="ones",
                      input_shape=(helpers.FEATURES,))])
    m.conjure("sgd", "mse")
    return m


class Counter(Callback):
    def __init__(self):
        super().__init__()
        self.batches, self.epochs = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch)

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


@pytest.mark.parametrize("workers,processes", WORKERS, ids=IDS)
def test_every_index_exactly_once_per_epoch_and_on_epoch_end_seen(tmp_path, workers,
                                                                   processes):
    log = str(tmp_path / "log")
    seq = LoggedSequence(log, n=7)
    counter = Counter()
    history = model().summon(seq, epochs=3, verbose=0, workers=workers, callbacks=[counter],
                             use_multiprocessing=processes, max_queue_size=3)
    # on_epoch_end ran after every epoch, and each epoch's batches were computed by a
    # Sequence that had seen the previous on_epoch_end (epoch tag = epoch number).
    assert seq.ends == 3
    entries = read_log(log)
    for epoch in range(3):
        assert sorted(i for e, i, _ in entries if e == epoch) == list(range(7))
    assert len(entries) == 21
    assert counter.batches == list(range(7)) * 3 and counter.epochs == [0, 1, 2]
    assert len(history.history["loss"]) == 3
    pids = {pid for _, _, pid in entries}
    if processes:
        assert os.getpid() not in pids and len(pids) == workers
    else:
        assert pids == {os.getpid()}


@pytest.mark.parametrize("workers,processes", WORKERS, ids=IDS)
def test_batches_arrive_in_order(workers, processes):
    seq = helpers.SlowSequence(slow=1, seconds=0.05, n=9)  # batch 1 finishes last
    got = sum_model().predict(seq, workers=workers, use_multiprocessing=processes,
                              max_queue_size=4)
    want = np.repeat(np.arange(9) * helpers.FEATURES, 4).reshape(-1, 1)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_enqueuer_get_runs_passes_in_order_with_on_epoch_end_between(tmp_path, processes):
    seq = LoggedSequence(str(tmp_path / "log"), n=5)
    with OrderedEnqueuer(seq, use_multiprocessing=processes) as enqueuer:
        enqueuer.start(workers=2, max_queue_size=2)
        stream = enqueuer.get()
        firsts = [int(next(stream)[0][0, 0]) for _ in range(12)]
    assert firsts == [0, 1, 2, 3, 4] * 2 + [0, 1]
    assert seq.ends == 2
    assert [e for e, _, _ in read_log(str(tmp_path / "log"))][:10] == [0] * 5 + [1] * 5


def test_shuffle_permutes_batches_each_epoch(tmp_path):
    log = str(tmp_path / "log")
    np.random.seed(1)
    model().summon(LoggedSequence(log, n=20), epochs=2, verbose=0, workers=0, shuffle=True)
    entries = read_log(log)
    orders = [[i for e, i, _ in entries if e == epoch] for epoch in (0, 1)]
    for order in orders:
        assert sorted(order) == list(range(20)) and order != list(range(20))
    assert orders[0] != orders[1]
    os.remove(log)
    model().summon(LoggedSequence(log, n=20), epochs=1, verbose=0, workers=0, shuffle=False)
    assert [i for _, i, _ in read_log(log)] == list(range(20))


def test_steps_per_epoch_default_and_initial_epoch(tmp_path):
    log = str(tmp_path / "log")
    seq = LoggedSequence(log, n=6)
    counter = Counter()
    model().summon(seq, epochs=4, initial_epoch=1, steps_per_epoch=4, verbose=0,
                   shuffle=False, callbacks=[counter])
    assert counter.epochs == [1, 2, 3] and counter.batches == list(range(4)) * 3
    assert [i for _, i, _ in read_log(log)] == list(range(4)) * 3
    assert seq.ends == 3


def test_steps_beyond_the_sequence_stop_training_with_a_warning(tmp_path):
    seq = LoggedSequence(str(tmp_path / "log"), n=3)
    with pytest.warns(UserWarning, match="ran out of data after 3 batch"):
        history = model().summon(seq, epochs=3, steps_per_epoch=5, verbose=0)
    assert len(history.history["loss"]) == 1


@pytest.mark.parametrize("workers,processes", [(2, False), (2, True)], ids=IDS[2::2])
def test_at_most_max_queue_size_batches_in_flight(tmp_path, workers, processes):
    import time
    log, n, queue_size = str(tmp_path / "log"), 12, 3
    ahead = []

    class Check(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            # A slow consumer: let the workers run as far ahead as they are allowed to
            # (batch + queue_size, at most 2 s), then a little longer to overshoot if they can.
            limit = min(batch + queue_size, n - 1)
            deadline = time.monotonic() + 2.0
            while max(self.started(), default=-1) < limit and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(0.01)
            started = self.started()
            assert len(started) == len(set(started))
            ahead.append(max(started) - batch)

        def started(self):
            return [i for _, i, _ in read_log(log)]

    model().summon(LoggedSequence(log, n=n), epochs=1, verbose=0, shuffle=False,
                   workers=workers, use_multiprocessing=processes,
                   max_queue_size=queue_size, callbacks=[Check()])
    # Batch k is being consumed: at most k + max_queue_size were ever submitted, and the
    # workers did get that far (the bound, not slowness, is what held them).
    assert max(ahead) == queue_size


def test_per_worker_seeds_reproducible_and_distinct():
    def run():
        np.random.seed(123)
        with OrderedEnqueuer(helpers.NoisySequence(6), use_multiprocessing=True) as enq:
            enq.start(workers=2, max_queue_size=2)
            return [x for x, _ in enq.run_pass(range(6))]

    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    # Batches 0 and 1 come from different workers: their random streams must differ.
    assert not np.array_equal(first[0], first[1])


def test_large_batches_travel_through_shared_memory_and_are_released():
    seq = helpers.BigSequence(n=6)
    segments = []

    class Look(Callback):
        def on_train_batch_end(self, batch, logs=None):
            segments.extend(n for n in os.listdir("/dev/shm") if n.startswith(shm_prefix()))

    m = Pile([Daoloth(2, input_shape=(seq.features,))])
    m.conjure("sgd", "mse")
    m.summon(seq, epochs=2, verbose=0, workers=2, use_multiprocessing=True,
             max_queue_size=2, callbacks=[Look()])
    assert segments  # seen while training
    assert not [n for n in os.listdir("/dev/shm") if n.startswith(shm_prefix())]


def test_sequence_results_match_arrays():
    x = np.concatenate([helpers.batch(i)[0] for i in range(5)])
    y = np.random.default_rng(0).normal(size=(20, helpers.CLASSES)).astype("float32")

    class XY(cthulhu.utils.Sequence):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return x[4 * i:4 * i + 4], y[4 * i:4 * i + 4]

    a, b = model(), model()
    a.summon(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    b.summon(XY(), epochs=2, shuffle=False, verbose=0, workers=2)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert b.evaluate(XY(), verbose=0) == pytest.approx(a.evaluate(x, y, verbose=0))
    np.testing.assert_array_equal(b.predict(XY()), a.predict(x))
    assert b.evaluate(XY(), steps=2, verbose=0) == pytest.approx(
        a.evaluate(x[:8], y[:8], verbose=0))


def test_validation_sequence_in_processes_matches_evaluate(tmp_path):
    val = LoggedSequence(str(tmp_path / "val"), n=3)
    m = model()
    history = m.summon(LoggedSequence(str(tmp_path / "log"), n=4), epochs=3, verbose=0,
                       validation_data=val, validation_freq=[1, 3], workers=2,
                       use_multiprocessing=True)
    assert len(history.history["val_loss"]) == 2
    assert val.ends == 2  # one pass per validation run, then on_epoch_end
    x = np.concatenate([helpers.batch(i)[0] for i in range(3)])
    y = np.zeros((12, helpers.CLASSES), dtype="float32")
    assert history.history["val_loss"][-1] == pytest.approx(m.evaluate(x, y, verbose=0),
                                                            rel=1e-6)
    entries = read_log(str(tmp_path / "val"))
    for run in (0, 1):  # each validation run computed every index once
        assert sorted(i for e, i, _ in entries if e == run) == [0, 1, 2]
    assert len(entries) == 6


def test_workers_zero_runs_in_the_calling_thread():
    import threading
    threads = set()

    class Where(cthulhu.utils.Sequence):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            threads.add(threading.get_ident())
            return helpers.batch(i)

    model().summon(Where(), epochs=2, verbose=0, workers=0)
    assert threads == {threading.get_ident()}
    threads.clear()
    model().summon(Where(), epochs=1, verbose=0, workers=1)
    assert threading.get_ident() not in threads and len(threads) == 1


def test_sequence_data_is_shared_copy_on_write_and_updated_between_epochs():
    seq = helpers.DataSequence(n=4)
    assert seq.data.nbytes >= 2 ** 20  # large enough to be shared, not pickled
    with OrderedEnqueuer(seq, use_multiprocessing=True) as enqueuer:
        enqueuer.start(workers=2, max_queue_size=2)
        first = [x[:, 0] for x, _ in enqueuer.run_pass(range(4))]
        names = [n for n in os.listdir("/dev/shm") if n.startswith(shm_prefix())]
        enqueuer.end_pass()
        second = [x[:, 0] for x, _ in enqueuer.run_pass(range(4))]
    assert names  # the data went through shared memory
    np.testing.assert_array_equal(np.concatenate(first), np.arange(16))
    np.testing.assert_array_equal(np.concatenate(second), np.arange(16) + 100)
    assert seq.data[-1].min() == 116.0  # the workers' writes never reached the parent


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_stop_training_mid_epoch_then_on_epoch_end_waits_for_running_batches(tmp_path,
                                                                            processes):
    class Stop(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    log = str(tmp_path / "log")
    seq = LoggedSequence(log, n=10, delay=0.02)
    history = model().summon(seq, epochs=3, verbose=0, workers=2, shuffle=False,
                             use_multiprocessing=processes, max_queue_size=4,
                             callbacks=[Stop()])
    assert len(history.history["loss"]) == 1 and seq.ends == 1
    # Batches submitted ahead were computed with the epoch-0 state, none after the change.
    assert {e for e, _, _ in read_log(log)} == {0}


def test_process_training_is_reproducible_from_one_seed():
    def run():
        np.random.seed(7)
        m = model(seed=7)
        m.summon(helpers.NoisySequence(6), epochs=2, verbose=0, workers=2,
                 use_multiprocessing=True, shuffle=True)
        return m.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_spawn_start_method_works_too(monkeypatch, tmp_path):
    from cthulhu.utils import _process_pool
    monkeypatch.setattr(_process_pool, "START_METHODS", ("spawn",))
    seq = LoggedSequence(str(tmp_path / "log"), n=3)
    got = sum_model().predict(seq, workers=1, use_multiprocessing=True)
    np.testing.assert_array_equal(got[::4, 0], np.arange(3) * helpers.FEATURES)
    assert {pid for _, _, pid in read_log(str(tmp_path / "log"))} != {os.getpid()}


def test_worker_processes_yield_the_cores_to_training():
    import multiprocessing

    from cthulhu.utils import _process_pool
    niceness = []

    class Look(Callback):
        def on_train_batch_end(self, batch, logs=None):
            niceness.extend(os.getpriority(os.PRIO_PROCESS, p.pid)
                            for p in multiprocessing.active_children())

    model().summon(helpers.SlowSequence(slow=-1, seconds=0, n=3), verbose=0, workers=2,
                   use_multiprocessing=True, callbacks=[Look()])
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert niceness and set(niceness) == {min(19, mine + _process_pool.WORKER_NICE)}
