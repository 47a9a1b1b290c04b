"""CSVLogger: one CSV row of epoch logs per epoch."""

from __future__ import annotations

import csv
from typing import Any

from cthulhu.callbacks.base import Callback


class CSVLogger(Callback):
    """Writes ``epoch`` and every log key (sorted) to ``filename``; ``append`` continues an
    existing file (without writing its header again)."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = str(filename), separator, append
        self.keys: list[str] = []
        self._file: Any = None
        self._writer: Any = None

    def on_train_begin(self, logs=None):
        has_rows = False
        if self.append:
            try:
                with open(self.filename) as f:
                    has_rows = bool(f.readline())
            except OSError:
                pass
        # Open for the whole run: one row is written and flushed per epoch.
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._header_needed = not has_rows
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            self.keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, ["epoch"] + self.keys,
                                          delimiter=self.sep)
            if self._header_needed:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None
