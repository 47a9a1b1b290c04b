"""Bad files raise errors that name the file, the layer and the shapes, and nothing is
partially loaded; an interrupted save leaves the previous file intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from cthulhu.layers import Daoloth
from cthulhu.models import Pile, load_model
from cthulhu.saving import SaveFileError, h5_weights

from .helpers import assert_same_weights, data, mlp

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def saved(tmp_path):
    model = mlp(seed=1)
    model.conjure("adam", "categorical_crossentropy")
    x, _, y, _ = data()
    model.train_on_batch(x, y)
    path = str(tmp_path / "m.h5")
    model.save(path)
    return model, path


def _unchanged(model, before):
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_not_hdf5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("these are not weights\n" * 100)
    with pytest.raises(SaveFileError, match=r"notes\.h5.*not a readable HDF5 file"):
        load_model(path)
    model = mlp()
    before = model.get_weights()
    with pytest.raises(SaveFileError, match=r"notes\.h5"):
        model.load_weights(path)
    _unchanged(model, before)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.h5"):
        load_model(tmp_path / "nothing.h5")


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.95])
def test_truncated(saved, keep):
    _, path = saved
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * keep))
    with pytest.raises(SaveFileError, match=r"m\.h5.*(truncated|corrupt)"):
        load_model(path)
    model = mlp(seed=2)
    before = model.get_weights()
    with pytest.raises(SaveFileError, match=r"m\.h5"):
        model.load_weights(path)
    _unchanged(model, before)


def test_corrupt_weight_data_is_detected(saved):
    model, path = saved
    with h5py.File(path, "r") as f:
        offset = f["model_weights/out/out/kernel:0"].id.get_offset()
    if offset is None:  # chunked: find the chunk's address
        with h5py.File(path, "r") as f:
            offset = f["model_weights/out/out/kernel:0"].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as f:
        f.seek(offset + 4)
        f.write(b"\xff\x00\xff\x00")
    fresh = mlp(seed=2)
    before = fresh.get_weights()
    with pytest.raises(SaveFileError, match=r"m\.h5.*weight 'out/kernel:0' of layer 'out'"):
        fresh.load_weights(path)
    _unchanged(fresh, before)


def test_missing_weight(saved):
    _, path = saved
    with h5py.File(path, "r+") as f:
        del f["model_weights/out/out/bias:0"]
    with pytest.raises(SaveFileError, match=r"m\.h5.*layer 'out'.*'out/bias:0'.*missing"):
        load_model(path)
    model = mlp(seed=2)
    before = model.get_weights()
    with pytest.raises(SaveFileError, match="missing weight"):
        model.load_weights(path)
    _unchanged(model, before)  # h1 was readable, and still was not assigned


def test_wrong_shape_names_file_layer_and_shapes(saved):
    _, path = saved
    np.random.seed(0)
    # The first layer fits; the second does not: nothing may be loaded.
    model = Pile([Daoloth(6, activation="relu", input_shape=(4,), name="h1"),
                  Daoloth(5, name="wide")])
    before = model.get_weights()
    with pytest.raises(SaveFileError) as err:
        model.load_weights(path)
    message = str(err.value)
    assert "m.h5" in message and "'wide'" in message and "saved as 'out'" in message
    assert "(6, 5)" in message and "(6, 3)" in message
    _unchanged(model, before)


def test_layer_count_mismatch(saved):
    _, path = saved
    model = Pile([Daoloth(6, input_shape=(4,))])
    with pytest.raises(SaveFileError, match=r"layer count mismatch.*1 layer.*2"):
        model.load_weights(path)


def test_weights_only_file_is_not_a_model(tmp_path):
    model = mlp()
    model.save_weights(tmp_path / "w.h5")
    with pytest.raises(SaveFileError, match=r"w\.h5.*no model_config.*load_weights"):
        load_model(tmp_path / "w.h5")


def test_bad_optimizer_state(saved):
    _, path = saved
    with h5py.File(path, "r+") as f:
        group = f["optimizer_weights"]
        data_ = group["Adam/m/out/kernel:0"][()]
        del group["Adam/m/out/kernel:0"]
        group.create_dataset("Adam/m/out/kernel:0", data=data_[:, :2])
    with pytest.raises(SaveFileError, match=r"m\.h5.*'Adam/m/out/kernel:0'.*\(6, 3\).*\(6, 2\)"):
        load_model(path)


# ---- atomic writes --------------------------------------------------------------------------
def _siblings(path):
    return sorted(os.listdir(os.path.dirname(path)))


def test_failed_save_leaves_previous_file_intact(saved, monkeypatch):
    model, path = saved
    original = Path(path).read_bytes()
    real = h5_weights.write_array
    calls = []

    def failing(group, name, value):
        calls.append(name)
        if len(calls) % 3 == 0:  # part of the file is written already
            raise OSError("disk full (simulated)")
        real(group, name, value)

    monkeypatch.setattr(h5_weights, "write_array", failing)
    listing = _siblings(path)
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    with pytest.raises(OSError, match="simulated"):
        model.save_weights(path)
    assert len(calls) == 6
    assert _siblings(path) == listing  # the temporary files are gone
    assert Path(path).read_bytes() == original
    monkeypatch.undo()
    assert_same_weights(load_model(path), model)


def test_save_keeps_file_mode_of_plain_open(tmp_path):
    model = mlp()
    model.save(tmp_path / "m.h5")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "m.h5").st_mode & 0o777 == 0o666 & ~umask


_KILLED_WRITER = textwrap.dedent("""
    import time
    from cthulhu.saving import h5_weights
    from tests.saving.helpers import mlp
    model = mlp(seed=7)
    model.save({path!r})
    print("FIRST", flush=True)
    model.set_weights([w + 1.0 for w in model.get_weights()])
    real = h5_weights.write_array
    count = [0]
    def slow(group, name, value):
        real(group, name, value)
        count[0] += 1
        if count[0] == 2:
            group.file.flush()  # part of the new file is on disk
            print("MIDDLE", flush=True)
            time.sleep(60)
    h5_weights.write_array = slow
    model.save({path!r})
    print("DONE", flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_during_save_keeps_previous_checkpoint(tmp_path):
    path = str(tmp_path / "ckpt.h5")
    script = _KILLED_WRITER.format(path=path)
    # The child imports cthulhu and the tests exactly as this process does.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            text=True, cwd=REPO, env=env)
    try:
        assert proc.stdout.readline().strip() == "FIRST"
        assert proc.stdout.readline().strip() == "MIDDLE"
        temporaries = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        assert temporaries and os.path.getsize(tmp_path / temporaries[0]) > 0
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    loaded = load_model(path, compile=False)
    assert_same_weights(loaded, mlp(seed=7))  # the first save, untouched
