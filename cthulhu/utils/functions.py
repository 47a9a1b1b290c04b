"""Python functions in layer configs, in the Keras 2 format: a named function by its name
(found again in custom objects or its module), a lambda as its marshalled bytecode in base64
with its defaults and closure values.

Loading bytecode runs code from the file: loaders must ask the caller first (safe_mode).
"""

from __future__ import annotations

import base64
import marshal
import sys
import types
from typing import Any, Callable, Optional


def is_lambda(fn: Callable) -> bool:
    return isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>"


def dump_function(fn: Callable) -> tuple[Any, str, Optional[str]]:
    """(value, type, module) for a config: type is 'lambda' or 'function'."""
    module = getattr(fn, "__module__", None)
    if is_lambda(fn) or getattr(fn, "__closure__", None):
        # Version 2 has no back-references: the same function always gives the same text.
        code = base64.b64encode(marshal.dumps(fn.__code__, 2)).decode("ascii")
        closure = None
        if fn.__closure__:
            closure = tuple(cell.cell_contents for cell in fn.__closure__)
        return (code, fn.__defaults__, closure), "lambda", module
    return fn.__name__, "function", module


def load_function(value: Any, kind: str, module: Optional[str],
                  custom_objects: Optional[dict] = None) -> Callable:
    """The function a config describes (the inverse of dump_function)."""
    if kind == "function":
        if custom_objects and value in custom_objects:
            return custom_objects[value]
        found = getattr(sys.modules.get(module or ""), value, None)
        if found is None:
            raise ValueError(f"Unknown function {value!r} (from module {module!r}): pass it in "
                             f"custom_objects")
        return found
    if kind != "lambda":
        raise ValueError(f"Unknown function type {kind!r} in a layer config")
    code, defaults, closure = value if isinstance(value, (list, tuple)) else (value, None, None)
    raw = base64.b64decode(code.encode("ascii") if isinstance(code, str) else code)
    try:
        bytecode = marshal.loads(raw)
    except (ValueError, EOFError, TypeError) as err:
        raise ValueError(f"cannot load a lambda from its bytecode (written by another Python "
                         f"version?): {err}") from err
    cells = None
    if closure is not None:
        cells = tuple(types.CellType(value) for value in closure)
    # As Keras: a lambda from a file may use K (the backend) without importing it.
    from cthulhu import backend
    namespace = {"K": backend, "backend": backend}
    if module in sys.modules:
        namespace.update(vars(sys.modules[module]))
    namespace.update(custom_objects or {})
    return types.FunctionType(bytecode, namespace, bytecode.co_name,
                              tuple(defaults) if defaults is not None else None, cells)
