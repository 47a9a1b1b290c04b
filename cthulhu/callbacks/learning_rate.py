"""Learning-rate callbacks: LearningRateScheduler and ReduceLROnPlateau. Both set
``model.optimizer.lr`` through ``K.set_value``; the change applies from the next step."""

from __future__ import annotations

import inspect
import warnings
from typing import Callable

import numpy as np

from cthulhu import backend as K
from cthulhu.callbacks.base import Callback


class LearningRateScheduler(Callback):
    """At the start of each epoch, lr = schedule(epoch, lr) (or schedule(epoch))."""

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        self.schedule, self.verbose = schedule, verbose
        try:
            self._takes_lr = len(inspect.signature(schedule).parameters) >= 2
        except (TypeError, ValueError):
            self._takes_lr = True

    def on_epoch_begin(self, epoch, logs=None):
        current = float(K.get_value(self.model.optimizer.lr))
        lr = self.schedule(epoch, current) if self._takes_lr else self.schedule(epoch)
        if not isinstance(lr, (float, int, np.floating, np.integer)):
            raise ValueError(f'The output of the "schedule" function should be a float, got '
                             f"{lr!r}")
        K.set_value(self.model.optimizer.lr, float(lr))
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(K.get_value(self.model.optimizer.lr))


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs, then wait ``cooldown`` epochs; never below ``min_lr``."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0, **kwargs) -> None:
        super().__init__()
        if "epsilon" in kwargs:  # the Keras 2.1 name of min_delta
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected keyword argument(s) {sorted(kwargs)}")
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0.")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ReduceLROnPlateau mode must be 'auto', 'min' or 'max', got "
                             f"{mode!r}")
        self.monitor, self.factor, self.patience = monitor, float(factor), patience
        self.verbose, self.cooldown, self.min_lr = verbose, cooldown, float(min_lr)
        maximize = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.monitor_op = (lambda a, b: a > b + min_delta) if maximize else \
            (lambda a, b: a < b - min_delta)
        self._maximize = maximize
        self._reset()

    def _reset(self) -> None:
        self.best = -np.inf if self._maximize else np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["lr"] = float(K.get_value(self.model.optimizer.lr))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: "
                          f"{', '.join(logs)}", stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(K.get_value(self.model.optimizer.lr))
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    K.set_value(self.model.optimizer.lr, new)
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
