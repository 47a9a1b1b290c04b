"""Backend calls on layer-graph tensors, outside any compilation, become layers.

``K.mean(model.output)`` or ``model.output * 2`` written at model-building time cannot be
computed yet: the call is recorded as a ``LuKthu`` layer applied to the layer-graph tensors
among its arguments, and traced with the rest of the model when it is compiled (as Keras
wraps backend operations on symbolic tensors in layers).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from cthulhu.backend._tracing import Tensor, in_trace
from cthulhu.backend._variables import get_uid


def _is_layer_graph(x: Any) -> bool:
    return isinstance(x, Tensor) and x.value is None


def _collect(obj: Any, found: list[Tensor]) -> None:
    if _is_layer_graph(obj):
        found.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _collect(item, found)
    elif isinstance(obj, dict):
        for item in obj.values():
            _collect(item, found)


def _substitute(obj: Any, by_id: dict[int, Tensor]) -> Any:
    if _is_layer_graph(obj):
        return by_id[id(obj)]
    if isinstance(obj, list):
        return [_substitute(item, by_id) for item in obj]
    if isinstance(obj, tuple):
        return tuple(_substitute(item, by_id) for item in obj)
    if isinstance(obj, dict):
        return {key: _substitute(item, by_id) for key, item in obj.items()}
    return obj


def as_layer(fn: Callable, args: tuple, kwargs: dict, name: str = "") -> Any:
    """``fn(*args, **kwargs)`` as a LuKthu layer called on the layer-graph tensors in args."""
    from cthulhu.layers.lukthu import LuKthu  # the layers import the backend

    found: list[Tensor] = []
    _collect((args, kwargs), found)
    originals = list({id(t): t for t in found}.values())

    def call(inputs: Any) -> Any:
        traced = inputs if isinstance(inputs, list) else [inputs]
        by_id = {id(t): x for t, x in zip(originals, traced)}
        return fn(*_substitute(args, by_id), **_substitute(kwargs, by_id))

    name = "k_" + (name or getattr(fn, "__name__", "op").strip("_"))
    layer = LuKthu(call, name=f"{name}_{get_uid(name)}")
    return layer(originals if len(originals) > 1 else originals[0])


def deferrable(fn: Callable) -> Callable:
    """``fn``, recorded as a layer when called on layer-graph tensors outside a trace."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not in_trace():
            found: list[Tensor] = []
            _collect((args, kwargs), found)
            if found:
                return as_layer(fn, args, kwargs)
        return fn(*args, **kwargs)
    return wrapper
