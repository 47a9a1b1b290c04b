"""ProgbarLogger: the progress bar as a callback (summon draws its own bar for verbose=1/2;
this class is for scripts that add it explicitly, e.g. with verbose=0)."""

from __future__ import annotations

from typing import Optional

from cthulhu.callbacks.base import Callback
from cthulhu.utils.progbar import Progbar


class ProgbarLogger(Callback):
    def __init__(self, count_mode: str = "steps", stateful_metrics=None) -> None:
        super().__init__()
        if count_mode not in ("steps", "samples"):
            raise ValueError(f"Unknown `count_mode`: {count_mode!r}")
        self.count_mode = count_mode
        self.stateful_metrics = set(stateful_metrics or [])
        self.progbar: Optional[Progbar] = None
        self.seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", 1)
        print(f"Epoch {epoch + 1}/{epochs}")
        target = self.params.get("steps") if self.count_mode == "steps" else \
            self.params.get("samples")
        names = set(self.params.get("metrics", [])) | self.stateful_metrics
        self.progbar = Progbar(target, verbose=1, stateful_metrics=names,
                               unit_name="step" if self.count_mode == "steps" else "sample")
        self.seen = 0

    def on_batch_end(self, batch, logs=None):
        logs = dict(logs or {})
        size = logs.pop("size", 1)
        logs.pop("batch", None)
        self.seen += 1 if self.count_mode == "steps" else size
        if self.progbar is not None:
            self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.progbar is not None:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=True)
