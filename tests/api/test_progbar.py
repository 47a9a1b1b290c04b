"""Tests of cthulhu.utils.progbar.Progbar (tf-keras 2.x visual style).

A fake clock replaces time.time inside the module so every line is exact.
"""

import pytest

from cthulhu.utils import progbar as progbar_module
from cthulhu.utils.progbar import Progbar

T0 = 1000.0  # wall-clock origin; real clocks are far from 0 too


class FakeClock:
    def __init__(self, now=T0):
        self.now = now

    def time(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progbar_module, "time", fake)
    return fake


def make_bar(clock, target, dynamic=True, **kwargs):
    bar = Progbar(target, **kwargs)
    bar._dynamic_display = dynamic
    return bar


def step(bar, clock, t, current, values=None, **kwargs):
    """Update ``bar`` to ``current`` at ``t`` seconds after its creation."""
    clock.now = T0 + t
    bar.update(current, values, **kwargs)


# ----------------------------------------------------------------------
# verbose = 1
# ----------------------------------------------------------------------
def test_verbose1_progress_and_final_line_exact(clock, capsys):
    bar = make_bar(clock, 10)
    step(bar, clock, 1.0, 1, [("loss", 2.0), ("accuracy", 0.5)])
    first = capsys.readouterr().out
    assert first == (
        "\r 1/10 [==>...........................] - ETA: 9s"
        " - loss: 2.0000 - accuracy: 0.5000"
    )

    step(bar, clock, 1.9, 10, [("loss", 1.0), ("accuracy", 1.0)])
    final = capsys.readouterr().out
    # Previous line is erased with backspaces, then \r, then the new line.
    assert final.startswith("\b" * len(first[1:]) + "\r")
    body = final.lstrip("\b")
    # Averages weighted by steps: loss (2*1 + 1*9)/10, accuracy (0.5 + 9)/10.
    assert body == (
        "\r10/10 [==============================] - 2s 100ms/step"
        " - loss: 1.1000 - accuracy: 0.9500\n"
    )


def test_verbose1_keras_fit_shaped_line(clock, capsys):
    bar = make_bar(clock, 1437)
    step(bar, clock, 0.01, 32, [("loss", 2.302585), ("accuracy", 0.125)])
    out = capsys.readouterr().out
    assert out == (
        "\r  32/1437 [..............................] - ETA: 0s"
        " - loss: 2.3026 - accuracy: 0.1250"
    )


def test_verbose1_microseconds_per_step(clock, capsys):
    bar = make_bar(clock, 1437)
    step(bar, clock, 0.0, 1)
    step(bar, clock, 0.1436, 1437, [("loss", 0.5)])
    out = capsys.readouterr().out.split("\r")[-1]
    assert out == "1437/1437 [==============================] - 0s 100us/step - loss: 0.5000\n"


def test_verbose1_eta_formats(clock, capsys):
    bar = make_bar(clock, 10000, interval=0)
    step(bar, clock, 2.0, 1)  # 2 s/step: ETA 9999*2 s > 1 hour
    assert "ETA: 5:33:18" in capsys.readouterr().out
    step(bar, clock, 2.0 + 0.01 * 1, 2)  # 10 ms/step -> 99.98 s
    assert "ETA: 1:39" in capsys.readouterr().out
    step(bar, clock, 2.0 + 0.001 * 99, 100)  # 1 ms/step -> 9.9 s
    assert "ETA: 9s" in capsys.readouterr().out
    step(bar, clock, 3.0, 1001)  # first filled cell shows as ">"
    assert "1001/10000 [==>......" in capsys.readouterr().out


def test_verbose1_stateful_metric_shown_as_is(clock, capsys):
    bar = make_bar(clock, 4, stateful_metrics=["accuracy"])
    step(bar, clock, 1.0, 2, [("loss", 1.0), ("accuracy", 0.25)])
    step(bar, clock, 2.0, 4, [("loss", 3.0), ("accuracy", 0.75)])
    last = capsys.readouterr().out.split("\r")[-1]
    assert "loss: 2.0000" in last  # averaged: (1*2 + 3*2) / 4
    assert "accuracy: 0.7500" in last  # stateful: last value
    assert last.endswith("\n")


def test_averaging_weights_by_steps_covered(clock, capsys):
    bar = make_bar(clock, 10)
    step(bar, clock, 1.0, 1, [("loss", 10.0)])
    step(bar, clock, 2.0, 10, [("loss", 1.0)])
    last = capsys.readouterr().out.split("\r")[-1]
    assert "loss: 1.9000" in last  # (10*1 + 1*9)/10, not (10+1)/2


def test_small_values_use_exponent_format(clock, capsys):
    bar = make_bar(clock, 2)
    step(bar, clock, 1.0, 2, [("loss", 0.0001234), ("mae", -0.5)])
    last = capsys.readouterr().out.split("\r")[-1]
    assert "loss: 1.2340e-04" in last
    assert "mae: -0.5000" in last


def test_updates_inside_interval_are_skipped(clock, capsys):
    bar = make_bar(clock, 100, interval=0.05)
    step(bar, clock, 1.00, 1)
    assert capsys.readouterr().out != ""
    step(bar, clock, 1.01, 2)
    step(bar, clock, 1.02, 3)
    assert capsys.readouterr().out == ""
    step(bar, clock, 1.10, 4)
    assert " 4/100" in capsys.readouterr().out
    # The final update is never skipped.
    step(bar, clock, 1.11, 100)
    assert capsys.readouterr().out.endswith("\n")


def test_shorter_line_is_padded_with_spaces(clock, capsys):
    bar = make_bar(clock, 10, interval=0)
    step(bar, clock, 0.5, 1, [("loss", 12345.0)])
    first = capsys.readouterr().out[1:]
    step(bar, clock, 1.0, 2, [("loss", -12345.0 * 3)])
    second = capsys.readouterr().out.lstrip("\b")[1:]
    assert len(second) >= len(first)
    # A line that is shorter than the previous one is padded to its width.
    bar2 = make_bar(clock, 10, interval=0)
    step(bar2, clock, 1.5, 1, [("loss", 1.0), ("long_metric_name", 1.0)])
    first = capsys.readouterr().out[1:]
    bar2._values_order.remove("long_metric_name")
    step(bar2, clock, 2.0, 2)
    second = capsys.readouterr().out
    assert second.startswith("\b" * len(first) + "\r")
    assert len(second.lstrip("\b")[1:]) == len(first)
    assert second.endswith(" ")


def test_non_dynamic_display_starts_each_redraw_on_new_line(clock, capsys):
    bar = make_bar(clock, 3, dynamic=False, interval=0)
    step(bar, clock, 1.0, 1, [("loss", 1.0)])
    step(bar, clock, 2.0, 2, [("loss", 1.0)])
    step(bar, clock, 3.0, 3, [("loss", 1.0)])
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out
    lines = out.split("\n")
    assert lines[0] == ""
    assert lines[1].startswith("1/3 [=========>....................] - ETA: 2s")
    assert lines[3] == "3/3 [==============================] - 3s 1s/step - loss: 1.0000"
    assert lines[4] == ""


def test_unknown_target(clock, capsys):
    bar = make_bar(clock, None)
    step(bar, clock, 1.0, 5, [("loss", 0.5)])
    out = capsys.readouterr().out
    assert out == "\r      5/Unknown - 1s 200ms/step - loss: 0.5000"
    bar.update(6, finalize=True)
    assert capsys.readouterr().out.endswith("\n")


def test_add_advances_by_n(clock, capsys):
    bar = make_bar(clock, 6, interval=0)
    clock.now = T0 + 1.0
    bar.add(2, [("loss", 3.0)])
    clock.now = T0 + 2.0
    bar.add(4, [("loss", 0.0)])
    last = capsys.readouterr().out.split("\r")[-1]
    assert last.startswith("6/6 [==============================]")
    assert "loss: 1.0000" in last  # (3*2 + 0*4)/6


def test_verbose0_prints_nothing(clock, capsys):
    bar = make_bar(clock, 3, verbose=0)
    step(bar, clock, 1.0, 1, [("loss", 1.0)])
    step(bar, clock, 2.0, 3, [("loss", 1.0)])
    assert capsys.readouterr().out == ""


def test_default_dynamic_display_on_posix_even_without_tty(capsys):
    # tf-keras redraws in place whenever the "posix" module is loaded.
    import os
    import sys

    bar = Progbar(5)
    expected = sys.stdout.isatty() or "posix" in sys.modules or "PYCHARM_HOSTED" in os.environ
    assert bar._dynamic_display == expected


# ----------------------------------------------------------------------
# verbose = 2
# ----------------------------------------------------------------------
def test_verbose2_single_summary_line(clock, capsys):
    bar = make_bar(clock, 4, verbose=2)
    step(bar, clock, 0.5, 2, [("loss", 1.0), ("accuracy", 0.5)])
    assert capsys.readouterr().out == ""
    step(bar, clock, 2.0, 4, [("loss", 3.0), ("accuracy", 1.0)])
    out = capsys.readouterr().out
    assert out == "4/4 - 2s - loss: 2.0000 - accuracy: 0.7500 - 2s/epoch - 500ms/step\n"


def test_verbose2_keras_fit_shaped_line(clock, capsys):
    bar = make_bar(clock, 1437, verbose=2, stateful_metrics=["loss", "accuracy"])
    step(bar, clock, 0.1, 700, [("loss", 0.9), ("accuracy", 0.6)])
    step(bar, clock, 0.17244, 1437, [("loss", 0.25), ("accuracy", 0.9375)])
    out = capsys.readouterr().out
    assert out == (
        "1437/1437 - 0s - loss: 0.2500 - accuracy: 0.9375 - 172ms/epoch - 120us/step\n"
    )


def test_verbose2_forced_finalize_without_reaching_target(clock, capsys):
    bar = make_bar(clock, 10, verbose=2)
    step(bar, clock, 1.0, 5, [("loss", 0.5)], finalize=True)
    out = capsys.readouterr().out
    assert out == " 5/10 - 1s - loss: 0.5000\n"
