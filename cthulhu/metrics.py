"""cthulhu.metrics: metric functions (y_true, y_pred) -> one value per sample."""

from __future__ import annotations

from typing import Any, Callable

from cthulhu import backend as K
from cthulhu import losses


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return K.mean(K.equal(y_true, K.greater(y_pred, threshold)), axis=-1)


def categorical_accuracy(y_true, y_pred):
    return K.equal(K.argmax(y_true, axis=-1), K.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred):
    labels = K.flatten_last(y_true) if len(y_true.shape) == len(y_pred.shape) else y_true
    return K.equal(labels, K.argmax(y_pred, axis=-1))


_BY_NAME: dict[str, Callable] = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
}


def resolve_accuracy(loss_fn: Callable, output_shape: tuple) -> Callable:
    """What 'accuracy' means for a loss, as Keras decides it."""
    if loss_fn is losses.binary_crossentropy or output_shape[-1] == 1:
        return binary_accuracy
    if loss_fn is losses.sparse_categorical_crossentropy:
        return sparse_categorical_accuracy
    return categorical_accuracy


def get(identifier: Any) -> Callable:
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier)
        if fn is None:
            try:
                return losses.get(identifier)
            except ValueError:
                raise ValueError(f"Unknown metric function: {identifier!r}") from None
        return fn
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret metric function identifier: {identifier!r}")
