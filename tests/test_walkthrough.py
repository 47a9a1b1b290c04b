"""The executable tour in docs/ must keep running: it breaks when the design drifts."""

import os
import runpy


def test_walkthrough_runs(capsys):
    path = os.path.join(os.path.dirname(__file__), "..", "docs", "walkthrough.py")
    runpy.run_path(path, run_name="__main__")
    out = capsys.readouterr().out
    assert "dense(" in out and "softmax_xent(" in out and "arena" in out
    assert "largest weight difference" in out
