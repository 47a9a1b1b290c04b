"""cthulhu.metrics: metric functions (y_true, y_pred) -> one value per sample; any loss is
also a metric."""

from __future__ import annotations

from typing import Any, Callable

from cthulhu import backend as K
from cthulhu import losses


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return K.mean(K.equal(y_true, K.greater(y_pred, threshold)), axis=-1)


def categorical_accuracy(y_true, y_pred):
    return K.equal(K.argmax(y_true, axis=-1), K.argmax(y_pred, axis=-1))


def _labels(y_true, y_pred):
    """Sparse labels as (batch,): a trailing axis of 1 is dropped."""
    return K.flatten_last(y_true) if len(y_true.shape) == len(y_pred.shape) else y_true


def sparse_categorical_accuracy(y_true, y_pred):
    return K.equal(_labels(y_true, y_pred), K.argmax(y_pred, axis=-1))


def _in_top_k(y_pred, one_hot_target, k: int):
    # As tf.math.in_top_k: the target is in the top k unless k or more classes score
    # strictly higher (ties at the boundary count as in).
    target_score = K.sum(one_hot_target * y_pred, axis=-1, keepdims=True)
    higher = K.sum(K.greater(y_pred, target_score), axis=-1)
    return K.less(higher, float(k))


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    classes = y_pred.shape[-1]
    return _in_top_k(y_pred, K.one_hot(K.argmax(y_true, axis=-1), classes), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    classes = y_pred.shape[-1]
    return _in_top_k(y_pred, K.one_hot(_labels(y_true, y_pred), classes), k)


_BY_NAME: dict[str, Callable] = {f.__name__: f for f in (
    binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy)}
_SHAPE_RESOLVED = {"accuracy": "accuracy", "acc": "accuracy", "crossentropy": "crossentropy",
                   "ce": "crossentropy"}


def resolve(name: str, target_shape: tuple, output_shape: tuple) -> Callable:
    """'accuracy'/'acc' and 'crossentropy'/'ce' as reference Keras resolves them: binary for
    one output unit, sparse for (batch, 1) targets against several units, else categorical."""
    kind = _SHAPE_RESOLVED[name]
    binary = output_shape[-1] == 1
    sparse = len(target_shape) < len(output_shape) or (
        target_shape[-1] == 1 and output_shape[-1] != 1)
    if kind == "accuracy":
        return binary_accuracy if binary else (
            sparse_categorical_accuracy if sparse else categorical_accuracy)
    return losses.binary_crossentropy if binary else (
        losses.sparse_categorical_crossentropy if sparse else losses.categorical_crossentropy)


def is_shape_resolved(identifier: Any) -> bool:
    return isinstance(identifier, str) and identifier in _SHAPE_RESOLVED


def get(identifier: Any) -> Callable:
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            try:
                return losses.per_sample_function(losses.get(identifier))
            except ValueError:
                raise ValueError(f"Unknown metric function: {identifier!r}") from None
        return fn
    if isinstance(identifier, losses.Loss):
        return identifier.call
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric function identifier: {identifier!r}")


def serialize(fn: Callable) -> str:
    return getattr(fn, "__name__", str(fn))
