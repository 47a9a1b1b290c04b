"""Cross-entropies, as Keras's backend defines them."""

from __future__ import annotations

from cthulhu.backend._config import epsilon
from cthulhu.backend._math import clip, log
from cthulhu.backend._tracing import _emit, _value, current_trace


# ---- losses -----------------------------------------------------------------------------
def categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1):
    if from_logits:
        value = _value(output)
        loss, _ = _emit("softmax_xent", value, _value(target, value), sparse=False)
        return loss
    out = _value(output)
    return _emit("categorical_crossentropy", _value(target, out), out, eps=epsilon())


def sparse_categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1):
    out = _value(output)
    target_value = _value(target, out)
    if target_value.dtype != out.dtype:
        target_value = current_trace().builder.emit("cast", target_value, dtype=out.dtype)
    if from_logits:
        loss, _ = _emit("softmax_xent", out, target_value, sparse=True)
        return loss
    return _emit("sparse_categorical_crossentropy", target_value, out, eps=epsilon())


def binary_crossentropy(target, output, from_logits: bool = False):
    if from_logits:
        raise NotImplementedError("binary_crossentropy(from_logits=True) is not supported yet")
    eps = epsilon()
    p = clip(output, eps, 1.0 - eps)
    return -(target * log(p + eps) + (1.0 - target) * log(1.0 - p + eps))
