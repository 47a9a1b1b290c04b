"""The callback hooks, History and BaseLogger, and the list that calls them."""

from __future__ import annotations

from typing import Any, Optional


class Callback:
    """Base class: override the hooks you need. ``self.model`` and ``self.params`` are set
    before training starts."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict = {}

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_train_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_train_end(self, logs: Optional[dict] = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_test_end(self, logs: Optional[dict] = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_predict_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_predict_end(self, logs: Optional[dict] = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Optional[dict] = None) -> None: ...


class History(Callback):
    """Records the epoch logs: ``history.history[name]`` is a list with one value per epoch."""

    def on_train_begin(self, logs=None):
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class BaseLogger(Callback):
    """Averages the per-batch values of the metrics over each epoch into the epoch logs
    (Keras 2 applies it to every model; cthulhu's loop already reports epoch averages, so
    adding it changes nothing but it keeps scripts that name it working)."""

    def __init__(self, stateful_metrics=None) -> None:
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or [])

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.totals: dict[str, float] = {}

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        size = logs.get("size", 0)
        self.seen += size
        for key, value in logs.items():
            if key in ("batch", "size"):
                continue
            if key in self.stateful_metrics:
                self.totals[key] = value
            else:
                self.totals[key] = self.totals.get(key, 0.0) + value * size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.seen:
            return
        for key, value in self.totals.items():
            if key not in logs:
                logs[key] = value if key in self.stateful_metrics else value / self.seen


class CallbackList:
    def __init__(self, callbacks: list[Callback], model: Any, params: dict) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got "
                                f"{type(cb).__name__}")
            cb.set_model(model)
            cb.set_params(params)

    def call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def overrides(self, *hooks: str) -> bool:
        """True when some callback overrides one of ``hooks`` (else skip building logs)."""
        return any(hook in vars(cb) or getattr(type(cb), hook) is not getattr(Callback, hook)
                   for cb in self.callbacks for hook in hooks)

    @property
    def active(self) -> bool:
        """True when some callback has a per-batch hook of training."""
        return self.overrides("on_batch_end", "on_batch_begin", "on_train_batch_end",
                              "on_train_batch_begin")
