"""cthulhu.callbacks: the Keras 2 callback hooks, History, and the list that calls them."""

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


class History(Callback):
    """Records the epoch logs: ``history.history[name]`` is a list with one value per epoch."""

    def on_train_begin(self, logs=None):
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


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

    @property
    def active(self) -> bool:
        """True when some callback overrides a per-batch hook (else skip building logs)."""
        return any(type(cb).on_batch_end is not Callback.on_batch_end
                   or type(cb).on_batch_begin is not Callback.on_batch_begin
                   or type(cb).on_train_batch_end is not Callback.on_train_batch_end
                   or type(cb).on_train_batch_begin is not Callback.on_train_batch_begin
                   for cb in self.callbacks)
