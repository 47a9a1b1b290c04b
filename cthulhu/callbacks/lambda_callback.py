"""LambdaCallback: a callback made of plain functions."""

from __future__ import annotations

from typing import Callable, Optional

from cthulhu.callbacks.base import Callback

_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
          "on_train_begin", "on_train_end")


class LambdaCallback(Callback):
    """``on_epoch_*(epoch, logs)``, ``on_batch_*(batch, logs)``, ``on_train_*(logs)``."""

    def __init__(self, on_epoch_begin: Optional[Callable] = None,
                 on_epoch_end: Optional[Callable] = None,
                 on_batch_begin: Optional[Callable] = None,
                 on_batch_end: Optional[Callable] = None,
                 on_train_begin: Optional[Callable] = None,
                 on_train_end: Optional[Callable] = None, **kwargs: Callable) -> None:
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end, **kwargs)
        for name, fn in given.items():
            if not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: unknown hook {name!r}")
            if fn is not None:
                setattr(self, name, fn)
