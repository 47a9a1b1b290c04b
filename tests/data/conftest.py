"""Every pipeline test runs under a hard time limit (a hang dumps all stacks and fails the
run instead of stalling it) and must leave no worker thread, process or shared-memory
segment behind."""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import threading
import time

import pytest

from cthulhu.utils._shm import shm_prefix

TIME_LIMIT = 60.0


def leftovers() -> list[str]:
    found = [f"thread {t.name}" for t in threading.enumerate()
             if t.name.startswith("cthulhu-")]
    found += [f"process {p.name} (pid {p.pid})" for p in multiprocessing.active_children()]
    if os.path.isdir("/dev/shm"):
        found += [f"segment {n}" for n in os.listdir("/dev/shm") if n.startswith(shm_prefix())]
    return found


def assert_no_leftovers() -> None:
    # Threads told to stop may need a moment to return; nothing may outlive that.
    deadline = time.monotonic() + 2.0
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert leftovers() == []


@pytest.fixture(autouse=True)
def hard_time_limit_and_cleanup():
    faulthandler.dump_traceback_later(TIME_LIMIT, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert_no_leftovers()
