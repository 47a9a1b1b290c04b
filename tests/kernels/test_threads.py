import os
import subprocess
import sys

import pytest

from cthulhu._kernels import threads

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def restore_threads():
    n = threads.get_num_threads()
    yield
    threads.set_num_threads(n)


def test_constants():
    assert threads.PARALLEL_MIN_WORK == 32768
    assert isinstance(threads.openmp_enabled(), bool)
    assert threads.get_num_threads() >= 1


def test_set_get(restore_threads):
    threads.set_num_threads(3)
    assert threads.get_num_threads() == 3
    threads.set_num_threads(1)
    assert threads.get_num_threads() == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_set_invalid(bad, restore_threads):
    before = threads.get_num_threads()
    with pytest.raises(ValueError):
        threads.set_num_threads(bad)
    assert threads.get_num_threads() == before


def test_threads_for(restore_threads):
    threads.set_num_threads(2)
    limit = threads.PARALLEL_MIN_WORK
    assert threads.threads_for_np(0) == 1
    assert threads.threads_for_np(limit - 1) == 1
    expected = 2 if threads.openmp_enabled() else 1
    assert threads.threads_for_np(limit) == expected
    assert threads.threads_for_np(10**9) == expected
    threads.set_num_threads(1)
    assert threads.threads_for_np(10**9) == 1


def _run(env_extra):
    env = dict(os.environ)
    env.pop("CTHULHU_NUM_THREADS", None)
    env.update(env_extra)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    code = "from cthulhu._kernels import threads; print(threads.get_num_threads())"
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                          capture_output=True, text=True)


def test_env_num_threads():
    r = _run({"CTHULHU_NUM_THREADS": "3"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"


@pytest.mark.parametrize("value", ["abc", "0", "-2"])
def test_env_num_threads_invalid(value):
    r = _run({"CTHULHU_NUM_THREADS": value})
    assert r.returncode != 0
    assert "CTHULHU_NUM_THREADS" in r.stderr


def test_omp_num_threads_honoured():
    r = _run({"OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


def test_default_capped_at_cpus():
    r = _run({"OMP_NUM_THREADS": "64"})
    assert r.returncode == 0, r.stderr
    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:
        ncpu = os.cpu_count()
    expected = min(64, ncpu) if threads.openmp_enabled() else 1
    assert int(r.stdout) == expected
