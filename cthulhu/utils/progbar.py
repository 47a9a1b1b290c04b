"""A text progress bar that looks like the one of Keras 2 (tf-keras 2.x).

verbose=1 redraws one line in place while an epoch runs::

      32/1437 [>.............................] - ETA: 3s - loss: 2.3026 - accuracy: 0.1250

and ends it with the time per step::

    1437/1437 [==============================] - 0s 120us/step - loss: 0.2 - accuracy: 0.9

verbose=2 prints only one summary line when the bar is finalized::

    1437/1437 - 0s - loss: 0.2000 - accuracy: 0.9000 - 170ms/epoch - 118us/step

Redrawing: when the output can move the cursor back (a tty, Jupyter, or any
POSIX system, as in tf-keras, which checks ``"posix" in sys.modules`` and so
redraws in place on Linux and macOS even when stdout is a file or a pipe) each
redraw starts with backspaces over the previous line plus ``\\r``; otherwise
each redraw starts on a new line. Redraws are throttled to one per
``interval`` seconds; the final one is always printed and ends with ``\\n``.

Only ``sys``, ``os``, ``time`` and ``numpy`` are imported.
"""

import os
import sys
import time

import numpy as np


def _dynamic_display_supported():
    """Whether the bar may be redrawn in place (tf-keras's rule)."""
    stream = sys.stdout
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty()) if isatty is not None else False
    except (ValueError, OSError):  # closed or detached stream
        tty = False
    return (
        tty
        or "ipykernel" in sys.modules
        or "posix" in sys.modules
        or "PYCHARM_HOSTED" in os.environ
    )


def _format_number(value):
    """A metric value as tf-keras's verbose=1 line shows it."""
    if abs(value) > 1e-3:
        return "%.4f" % value
    return "%.4e" % value


def _format_time(seconds, unit_name):
    """`` 3s/epoch``, `` 12ms/step`` or `` 120us/step`` (leading space)."""
    if seconds >= 1 or seconds == 0:
        return " %.0fs/%s" % (seconds, unit_name)
    if seconds >= 1e-3:
        return " %.0fms/%s" % (seconds * 1e3, unit_name)
    return " %.0fus/%s" % (seconds * 1e6, unit_name)


def _format_eta(eta):
    """Remaining time as ``h:mm:ss``, ``m:ss`` or ``Ns``."""
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


class Progbar:
    """Displays a progress bar on ``sys.stdout``.

    Args:
        target: total number of steps expected, or None if unknown.
        width: width of the bar in characters (between the brackets).
        verbose: 0 (silent), 1 (bar redrawn in place), 2 (one line when
            finalized).
        interval: minimum time in seconds between two redraws (verbose=1).
        stateful_metrics: names of metrics shown as given instead of being
            averaged over the steps seen so far.
        unit_name: name of one step in the time display (``'step'``,
            ``'sample'``...).
    """

    def __init__(
        self,
        target,
        width=30,
        verbose=1,
        interval=0.05,
        stateful_metrics=None,
        unit_name="step",
    ):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()

        self._dynamic_display = _dynamic_display_supported()
        self._total_width = 0
        self._seen_so_far = 0
        # name -> [weighted sum, weight]; for stateful metrics [value, 1].
        self._values = {}
        self._values_order = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_at_epoch_start = self._start
        self._time_at_epoch_end = None
        self._time_after_first_step = None

    # ------------------------------------------------------------------
    # public API
    # ------------------------------------------------------------------
    def update(self, current, values=None, finalize=None):
        """Moves the bar to step ``current``.

        Args:
            current: index of the current step (steps done so far).
            values: list of ``(name, value_for_last_step)`` pairs. A stateful
                metric is shown as given; any other is averaged over the
                steps, each value weighted by the steps it covers.
            finalize: whether this is the last update of the bar; by default
                ``current >= target`` (never when target is None).
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target

        self._accumulate(current, values or [])
        self._seen_so_far = current

        now = time.time()
        if current == self.target:
            self._time_at_epoch_end = now

        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._write(self._verbose1_message(current, now, finalize))
        elif self.verbose == 2 and finalize:
            self._write(self._verbose2_message(current, now))
        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _accumulate(self, current, values):
        for name, value in values:
            if name not in self._values_order:
                self._values_order.append(name)
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
                continue
            # Weight by the steps this value covers; at least 1 so that a
            # repeated update at the same step still counts.
            weight = max(current - self._seen_so_far, 1)
            if name in self._values:
                self._values[name][0] += value * weight
                self._values[name][1] += weight
            else:
                self._values[name] = [value * weight, weight]

    def _average(self, name):
        total, weight = self._values[name]
        return float(np.mean(total / max(1, weight)))

    def _count_width(self):
        return len(str(int(self.target))) if self.target else 1

    def _bar(self, current):
        if self.target is None:
            return "%7d/Unknown" % current
        text = "%*d/%d [" % (self._count_width(), current, self.target)
        progress = float(current) / self.target if self.target else 1.0
        filled = int(self.width * progress)
        if filled > 0:
            text += "=" * (filled - 1)
            text += ">" if current < self.target else "="
        text += "." * (self.width - filled)
        return text + "]"

    def _verbose1_message(self, current, now, finalize):
        previous_width = self._total_width
        if self._dynamic_display:
            message = "\b" * previous_width + "\r"
        else:
            message = "\n"

        bar = self._bar(current)
        self._total_width = len(bar)

        time_per_unit = self._estimate_step_duration(current, now)
        if self.target is None or finalize:
            info = " - %.0fs" % (now - self._start)
            info += _format_time(time_per_unit, self.unit_name)
        else:
            info = " - ETA: " + _format_eta(time_per_unit * (self.target - current))

        for name in self._values_order:
            info += " - %s: %s" % (name, _format_number(self._average(name)))

        self._total_width += len(info)
        if previous_width > self._total_width:
            # Blank out what is left of a longer previous line.
            info += " " * (previous_width - self._total_width)
        if finalize:
            info += "\n"
        return message + bar + info

    def _verbose2_message(self, current, now):
        if self.target is None:
            info = "%d" % current
        else:
            info = "%*d/%d" % (self._count_width(), current, self.target)
        info += " - %.0fs" % (now - self._start)
        for name in self._values_order:
            average = self._average(name)
            # tf-keras compares without abs() here (unlike verbose=1).
            if average > 1e-3:
                info += " - %s: %.4f" % (name, average)
            else:
                info += " - %s: %.4e" % (name, average)
        if self._time_at_epoch_end:
            per_epoch = self._time_at_epoch_end - self._time_at_epoch_start
            info += " -" + _format_time(per_epoch, "epoch")
            info += " -" + _format_time(per_epoch / self.target, self.unit_name)
            self._time_at_epoch_start = now
            self._time_at_epoch_end = None
        return info + "\n"

    def _estimate_step_duration(self, current, now):
        """Seconds per step, leaving out the (slow) first step when possible."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            per_step = (now - self._time_after_first_step) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_step

    def _write(self, message):
        sys.stdout.write(message)
        sys.stdout.flush()
