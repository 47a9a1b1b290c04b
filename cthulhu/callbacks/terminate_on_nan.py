"""TerminateOnNaN: stop training as soon as a batch loss is NaN or infinite."""

from __future__ import annotations

import math

from cthulhu.callbacks.base import Callback


class TerminateOnNaN(Callback):
    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
