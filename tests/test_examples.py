"""The examples keep running: the main job and a Keras 2 script under `import cthulhu as
keras`."""

import os
import runpy
import sys

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def test_keras_names_script_runs_unchanged(capsys):
    runpy.run_path(os.path.join(EXAMPLES, "keras_names_digits.py"), run_name="__main__")
    out = capsys.readouterr().out
    accuracy = float(out.split("Test accuracy:")[1].split()[0])
    assert accuracy > 0.9
    assert "Epoch 1/20" in out and "val_loss" in out


def test_main_job_runs(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["digits_mlp.py", "--epochs", "3"])
    runpy.run_path(os.path.join(EXAMPLES, "digits_mlp.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "Test accuracy:" in out
    assert float(out.split("Test accuracy:")[1].split()[0]) > 0.8
