"""ModelCheckpoint: save the model (or its weights) after epochs, through the atomic HDF5
writer, so that an interrupted save never destroys the previous checkpoint."""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from cthulhu.callbacks.base import Callback


class ModelCheckpoint(Callback):
    """Keras 2 semantics: ``filepath`` may hold format fields filled from the epoch number
    (1-based) and the epoch logs, e.g. ``"weights.{epoch:02d}-{val_loss:.2f}.h5"``."""

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: Any = "epoch", period: Optional[int] = None,
                 options: Any = None, initial_value_threshold: Optional[float] = None,
                 **kwargs: Any) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"ModelCheckpoint: unexpected keyword argument(s) {sorted(kwargs)}")
        if save_freq != "epoch":
            raise NotImplementedError("ModelCheckpoint(save_freq=<number of batches>) is not "
                                      "supported; checkpoints are written after epochs")
        if options is not None:
            raise NotImplementedError("ModelCheckpoint(options=...) is not supported")
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"ModelCheckpoint mode {mode!r} is unknown, fallback to auto mode.",
                          stacklevel=2)
            mode = "auto"
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.period = int(period) if period is not None else 1
        maximize = mode == "max" or (mode == "auto" and (
            "acc" in monitor or monitor.startswith("fmeasure")))
        self.monitor_op = np.greater if maximize else np.less
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = -np.inf if maximize else np.inf
        self._epochs_since_last_save = 0

    def _path(self, epoch: int, logs: dict) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as err:
            raise KeyError(f"Failed to format the ModelCheckpoint filepath {self.filepath!r}: "
                           f"reason {err} is not among the logs ({sorted(logs)})") from None

    def _save(self, path: str) -> None:
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        logs = dict(logs or {})
        self._epochs_since_last_save += 1
        if self._epochs_since_last_save < self.period:
            return
        self._epochs_since_last_save = 0
        path = self._path(epoch, logs)
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {path}")
            self._save(path)
            return
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, "
                          f"skipping.", stacklevel=2)
            return
        if self.monitor_op(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
            self._save(path)
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                  f"{self.best:.5f}")
