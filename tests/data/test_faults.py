"""Faults in the pipeline: exceptions from a Sequence or generator (threads, processes, the
caller's thread), a worker killed with SIGKILL, Ctrl-C during summon, Sequences that cannot
be pickled, and a parent that ran OpenMP kernels before starting worker processes. The
autouse fixture (conftest) checks that no thread, process or segment is left after each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import cthulhu
from cthulhu.callbacks import Callback
from cthulhu.layers import Daoloth
from cthulhu.models import Pile
from cthulhu.utils import WorkerDiedError, WorkerError
from cthulhu.utils._worker import RemoteTraceback
from tests.data import helpers
from tests.data.conftest import assert_no_leftovers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def model():
    np.random.seed(0)
    m = Pile([Daoloth(helpers.CLASSES, input_shape=(helpers.FEATURES,))])
    m.conjure(cthulhu.optimizers.SGD(0.01), "mse")
    return m


def usable(m):
    """The model still trains and predicts after a fault."""
    x, y = helpers.batch(1, rows=8)
    m.summon(x, y, epochs=1, verbose=0)
    assert m.predict(x).shape == (8, helpers.CLASSES)
    m.summon(helpers.FailingSequence(bad=-1), epochs=1, verbose=0, workers=2)


@pytest.mark.parametrize("workers", [0, 2])
def test_sequence_exception_in_threads_keeps_type_and_traceback(workers):
    m = model()
    with pytest.raises(helpers.DataError, match="cannot read batch 3") as info:
        m.summon(helpers.FailingSequence(bad=3), epochs=1, verbose=0, workers=workers)
    frames = [entry.name for entry in info.traceback]
    assert "__getitem__" in frames  # the frame that raised, not only ours
    usable(m)


def test_sequence_exception_in_process_keeps_type_and_chains_remote_traceback():
    m = model()
    with pytest.raises(helpers.DataError, match="cannot read batch 2") as info:
        m.summon(helpers.FailingSequence(bad=2), epochs=1, verbose=0, workers=2,
                 use_multiprocessing=True)
    cause = info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "in __getitem__" in str(cause) and "helpers.py" in str(cause)
    assert "worker process" in str(cause)
    usable(m)


def test_unpicklable_exception_from_a_process_still_reaches_the_caller():
    with pytest.raises(WorkerError, match="UnpicklableError: 0/x"):
        model().predict(helpers.UnpicklableErrorSequence(bad=0), workers=1,
                        use_multiprocessing=True)


def test_generator_exception_keeps_type_and_traceback():
    def gen():
        yield helpers.batch(0)
        raise helpers.DataError("the source broke")

    for workers in (0, 1):
        m = model()
        with pytest.raises(helpers.DataError, match="source broke") as info:
            m.summon(gen(), steps_per_epoch=5, epochs=1, verbose=0, workers=workers)
        assert "gen" in [entry.name for entry in info.traceback]
        usable(m)


def test_sigkilled_worker_is_reported_within_seconds():
    killed = {}

    class Kill(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                victim = [p for p in __import__("multiprocessing").active_children()
                          if p.name.startswith("cthulhu-worker")][0]
                os.kill(victim.pid, signal.SIGKILL)
                killed["pid"], killed["at"] = victim.pid, time.monotonic()

    m = model()
    # Batch 5 sleeps long: without the health checks the wait for it would hang.
    seq = helpers.SlowSequence(slow=5, seconds=30.0, n=8)
    with pytest.raises(WorkerDiedError, match="SIGKILL") as info:
        m.summon(seq, epochs=1, verbose=0, workers=2, use_multiprocessing=True,
                 max_queue_size=2, shuffle=False, callbacks=[Kill()])
    assert time.monotonic() - killed["at"] < 5.0
    assert f"pid {killed['pid']}" in str(info.value)
    usable(m)


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_keyboard_interrupt_stops_workers_and_model_stays_usable(processes):
    class CtrlC(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                raise KeyboardInterrupt

    m = model()
    with pytest.raises(KeyboardInterrupt):
        m.summon(helpers.SlowSequence(slow=-1, seconds=0, n=50), epochs=2, verbose=0,
                 workers=2, use_multiprocessing=processes, callbacks=[CtrlC()])
    assert_no_leftovers()
    usable(m)


def test_sigint_while_waiting_on_a_stuck_worker_process():
    """A real SIGINT arrives while the main thread waits on a batch that takes 30 s: the
    wait ends at once and the stuck worker is terminated, not waited for."""
    m = model()
    main = threading.get_ident()
    timer = threading.Timer(1.0, lambda: signal.pthread_kill(main, signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            m.summon(helpers.SlowSequence(slow=0, seconds=30.0), epochs=1, verbose=0,
                     workers=1, use_multiprocessing=True)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 10.0
    usable(m)


def test_workers_ignore_a_sigint_sent_to_them():
    """Ctrl-C in a terminal reaches every process of the group: the parent decides."""
    class Poke(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                for p in __import__("multiprocessing").active_children():
                    if p.name.startswith("cthulhu-worker"):
                        os.kill(p.pid, signal.SIGINT)
                time.sleep(0.2)

    history = model().summon(helpers.SlowSequence(slow=-1, seconds=0, n=6), epochs=2,
                             verbose=0, workers=2, use_multiprocessing=True,
                             callbacks=[Poke()])
    assert len(history.history["loss"]) == 2


def test_unpicklable_sequence_gets_a_clear_error():
    with pytest.raises(ValueError, match="pickling it, which failed"):
        model().summon(helpers.LockedSequence(), verbose=0, workers=2,
                       use_multiprocessing=True)


def test_parent_that_ran_openmp_then_starts_process_workers_does_not_hang():
    """The parent runs a plan on 2 OpenMP threads, then workers run OpenMP kernels too. A
    worker forked from this parent would hang in the GNU runtime; ours start from a fork
    server (or spawn) and finish. Run in a fresh interpreter, under a timeout."""
    script = textwrap.dedent("""
        import numpy as np, cthulhu
        from cthulhu.layers import Daoloth
        from cthulhu.models import Pile
        from cthulhu._kernels.threads import get_num_threads
        from tests.data.helpers import OpenMPSequence, FEATURES, CLASSES
        if __name__ == "__main__":
            cthulhu.set_num_threads(2)
            big = Pile([Daoloth(512, input_shape=(784,)), Daoloth(10)])
            big.conjure("sgd", "mse")
            x = np.ones((256, 784), "float32")
            big.summon(x, np.ones((256, 10), "float32"), batch_size=128, verbose=0)
            assert get_num_threads() == 2
            m = Pile([Daoloth(CLASSES, input_shape=(FEATURES,))])
            m.conjure("sgd", "mse")
            h = m.summon(OpenMPSequence(4), epochs=2, verbose=0, workers=2,
                         use_multiprocessing=True)
            print("done", len(h.history["loss"]))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("done 2")


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_an_os_error_from_a_batch_is_the_users_not_a_dead_worker(processes):
    with pytest.raises(FileNotFoundError, match="batch-1.npy"):
        model().summon(helpers.MissingFileSequence(bad=1), verbose=0, workers=2,
                       use_multiprocessing=processes)


def test_keyboard_interrupt_with_a_generator_thread():
    class CtrlC(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                raise KeyboardInterrupt

    def forever():
        while True:
            time.sleep(0.005)
            yield helpers.batch(0)

    m = model()
    with pytest.raises(KeyboardInterrupt):
        m.summon(forever(), steps_per_epoch=10, epochs=2, verbose=0, workers=1,
                 callbacks=[CtrlC()])
    assert_no_leftovers()
    usable(m)


def test_a_batch_that_cannot_be_pickled_is_reported_by_the_worker():
    with pytest.raises(AttributeError, match="Can't pickle local object") as info:
        model().summon(helpers.UnpicklableBatchSequence(bad=-1), verbose=0, workers=1,
                       use_multiprocessing=True)
    assert isinstance(info.value.__cause__, RemoteTraceback)
