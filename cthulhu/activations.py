"""cthulhu.activations: the Keras 2 activation functions, by name or as functions."""

from __future__ import annotations

from typing import Any, Callable

from cthulhu import backend as K
from cthulhu.backend._math import _activation


def linear(x):
    return x


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    return K.relu(x, alpha, max_value, threshold)


def sigmoid(x):
    return K.sigmoid(x)


def hard_sigmoid(x):
    """Keras 2: clip(0.2 * x + 0.5, 0, 1)."""
    return K.hard_sigmoid(x)


def tanh(x):
    return K.tanh(x)


def softmax(x, axis=-1):
    return K.softmax(x, axis)


def elu(x, alpha=1.0):
    return K.elu(x, alpha)


def selu(x):
    return _activation("selu", x)


def softplus(x):
    return K.softplus(x)


def softsign(x):
    return K.softsign(x)


def exponential(x):
    return _activation("exponential", x)


_BY_NAME: dict[str, Callable] = {f.__name__: f for f in (
    linear, relu, sigmoid, hard_sigmoid, tanh, softmax, elu, selu, softplus, softsign,
    exponential)}


def get(identifier: Any) -> Callable:
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]
        except KeyError:
            raise ValueError(f"Unknown activation function: {identifier!r}. Known: "
                             f"{', '.join(sorted(_BY_NAME))}") from None
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(fn: Callable) -> str:
    return getattr(fn, "__name__", str(fn))


def deserialize(name: str) -> Callable:
    return get(name)
