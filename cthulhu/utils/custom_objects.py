"""Custom objects: names that configs may refer to besides cthulhu's own classes and
functions, given per call (``custom_objects=``), inside a ``CustomObjectScope``, or
registered globally in ``get_custom_objects()``."""

from __future__ import annotations

import threading
from typing import Any, Optional

_GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
_SCOPES = threading.local()  # each thread sees only the scopes it entered


def get_custom_objects() -> dict[str, Any]:
    """The global registry (a live dict: add to it to register an object everywhere)."""
    return _GLOBAL_CUSTOM_OBJECTS


def _scope_stack() -> list[dict[str, Any]]:
    if not hasattr(_SCOPES, "stack"):
        _SCOPES.stack = []
    return _SCOPES.stack


def active_custom_objects(extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Every custom object visible here: global ones, then scopes (innermost wins), then
    ``extra`` (the ``custom_objects`` argument of the call), which wins over all."""
    merged = dict(_GLOBAL_CUSTOM_OBJECTS)
    for scope in _scope_stack():
        merged.update(scope)
    merged.update(extra or {})
    return merged


class CustomObjectScope:
    """``with CustomObjectScope({"MyLayer": MyLayer}): load_model(path)``."""

    def __init__(self, *scopes: dict[str, Any]) -> None:
        self._objects: dict[str, Any] = {}
        for scope in scopes:
            if not isinstance(scope, dict):
                raise TypeError(f"CustomObjectScope takes dicts of name -> object, got "
                                f"{type(scope).__name__}")
            self._objects.update(scope)

    def __enter__(self) -> CustomObjectScope:
        _scope_stack().append(self._objects)
        return self

    def __exit__(self, *exc: Any) -> None:
        _scope_stack().remove(self._objects)


def custom_object_scope(*scopes: dict[str, Any]) -> CustomObjectScope:
    return CustomObjectScope(*scopes)
