"""Python functions inside configs (a Lambda layer's ``function``), in the form Keras 2
writes: ``[base64 of the marshalled code object, default arguments, closure values]``.

Loading such a function executes code from the file; ``serialization.check_lambda_safety``
refuses it unless the caller passed ``safe_mode=False``, before this module is reached."""

from __future__ import annotations

import base64
import marshal
import types
from typing import Any, Callable, Optional


def dump_function(fn: Callable) -> list:
    # Marshal version 2 has no back-references: the same function always gives the same text.
    code = base64.b64encode(marshal.dumps(fn.__code__, 2)).decode("ascii")
    closure = [cell.cell_contents for cell in fn.__closure__] if fn.__closure__ else None
    return [code, list(fn.__defaults__) if fn.__defaults__ else None, closure]


def _cell(value: Any) -> Any:
    return (lambda: value).__closure__[0]  # type: ignore[index]


def load_function(entry: Any, globals_: Optional[dict] = None) -> Callable:
    """The function of a ``dump_function`` entry (Keras also wrote the bare code string)."""
    if isinstance(entry, (list, tuple)):
        code_text, defaults, closure = (list(entry) + [None, None])[:3]
    else:
        code_text, defaults, closure = entry, None, None
    try:
        code = marshal.loads(base64.b64decode(code_text.encode("ascii")))
    except (ValueError, EOFError, TypeError) as err:
        raise ValueError(f"Cannot load the function's bytecode (it may come from another "
                         f"Python version): {err}") from None
    cells = tuple(_cell(v) for v in closure) if closure else None
    # As in Keras, a lambda from a file may use K (the backend) without importing it.
    from cthulhu import backend
    namespace = {"__builtins__": __builtins__, "K": backend, "backend": backend}
    namespace.update(globals_ or {})
    return types.FunctionType(code, namespace, code.co_name,
                              tuple(defaults) if defaults else None, cells)


def function_config(fn: Callable) -> dict:
    """The ``function``, ``function_type`` and ``module`` entries Keras writes for ``fn``:
    a named function by name (loaded from custom objects), a lambda as bytecode."""
    # A lambda, or a nested function holding a closure, cannot be found again by name.
    if getattr(fn, "__name__", "") == "<lambda>" or getattr(fn, "__closure__", None):
        return {"function": dump_function(fn), "function_type": "lambda",
                "module": getattr(fn, "__module__", None)}
    return {"function": fn.__name__, "function_type": "function",
            "module": getattr(fn, "__module__", None)}


def function_from_config(config: dict, key: str = "function") -> Any:
    """The function a Lambda config holds (``key``: "function" or "output_shape"). Bytecode
    was vetted by the safety check before; a named function comes from the custom objects,
    or, only outside safe mode, from the module the config names."""
    import sys

    from cthulhu.saving import serialization
    custom_objects = serialization.custom_objects()
    kind = config.get(f"{key}_type", "function")
    value = config.get(key)
    module_name = config.get("module" if key == "function" else f"{key}_module")
    if value is None:
        return None
    if kind == "lambda":
        # Also here, for callers that reach a layer's from_config directly.
        serialization.check_lambda_safety("Lambda", {**config, "function_type": kind})
        module = sys.modules.get(module_name or "")
        return load_function(value, dict(vars(module)) if module else None)
    if kind == "function":
        if value in custom_objects:
            return custom_objects[value]
        module = sys.modules.get(module_name or "")
        if not serialization.safe_mode() and module is not None and hasattr(module, value):
            return getattr(module, value)
        raise ValueError(f"Unknown function {value!r} in a Lambda config: pass it in "
                         f"custom_objects (or load with safe_mode=False to take it from "
                         f"module {module_name!r})")
    if kind == "raw":
        return value
    raise NotImplementedError(f"{key}_type={kind!r} in a Lambda config is not supported")
