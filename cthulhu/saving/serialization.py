"""Layers to and from their ``{"class_name", "config"}`` form, the JSON encoding of configs,
and the loading options (custom objects, safe mode) that nested ``from_config`` calls see."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np

from cthulhu.saving.names import LAMBDA_NAMES, cthulhu_name, keras_name
from cthulhu.utils.custom_objects import active_custom_objects

_OPTIONS = threading.local()


@contextlib.contextmanager
def loading_options(custom_objects: Optional[dict] = None,
                    safe_mode: Optional[bool] = None) -> Iterator[None]:
    """Custom objects and safe mode for every deserialization inside the block (nested
    models included). ``None`` keeps what an enclosing block set. The loaders (load_model,
    model_from_config, model_from_json) turn safe mode on unless told otherwise; outside
    them, a layer's from_config is a call of the program's own and is trusted, as in
    tf-keras."""
    saved = (getattr(_OPTIONS, "custom_objects", {}), getattr(_OPTIONS, "safe_mode", False))
    _OPTIONS.custom_objects = {**saved[0], **(custom_objects or {})}
    _OPTIONS.safe_mode = saved[1] if safe_mode is None else bool(safe_mode)
    try:
        yield
    finally:
        _OPTIONS.custom_objects, _OPTIONS.safe_mode = saved


def custom_objects() -> dict[str, Any]:
    return active_custom_objects(getattr(_OPTIONS, "custom_objects", {}))


def safe_mode() -> bool:
    return getattr(_OPTIONS, "safe_mode", False)


# ---- JSON -------------------------------------------------------------------------------
def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, bytes):
        return obj.decode("utf-8")
    raise TypeError(f"Cannot serialize {obj!r} ({type(obj).__name__}) to JSON")


def to_json(obj: Any, **kwargs: Any) -> str:
    return json.dumps(obj, default=_json_default, **kwargs)


def from_json(text: Any, what: str = "configuration") -> Any:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        return json.loads(text)
    except (TypeError, ValueError) as err:
        raise ValueError(f"The {what} is not valid JSON: {err}") from None


# ---- classes ----------------------------------------------------------------------------
def _builtin_classes() -> dict[str, type]:
    # Imported here: the model modules import this one.
    from cthulhu import layers, models
    from cthulhu.layers.base import Layer
    found = {name: obj for name, obj in vars(layers).items()
             if isinstance(obj, type) and issubclass(obj, Layer)}
    found.update(Pile=models.Pile, Lump=models.Lump)
    return found


def layer_class(class_name: str) -> type:
    """The class for a saved class name: custom objects first (by the name as written),
    then cthulhu's own classes under either spelling."""
    objects = custom_objects()
    if class_name in objects:
        return objects[class_name]
    builtin = _builtin_classes()
    cls = builtin.get(cthulhu_name(class_name)) or builtin.get(class_name)
    if cls is None:
        raise ValueError(f"Unknown layer: {class_name!r}. Pass its class in custom_objects "
                         f"(load_model(path, custom_objects={{{class_name!r}: "
                         f"{class_name}}})) or use a CustomObjectScope.")
    return cls


def serialize_layer(layer: Any) -> dict:
    return {"class_name": keras_name(layer), "config": layer.get_config()}


# ---- reading configs written by reference Keras ---------------------------------------------
def _dtype_name(dtype: Any) -> Any:
    """tf-keras may write a dtype policy as {"class_name": "Policy", "config": {"name": ...}}."""
    if isinstance(dtype, dict):
        name = dtype.get("config", {}).get("name")
        if name not in ("float32", "float64"):
            raise NotImplementedError(f"dtype policy {name!r} (mixed precision) is not "
                                      f"supported")
        return name
    return dtype


def _plain_activation(value: Any) -> Any:
    """Keras may write an activation as a registered-function dict."""
    if isinstance(value, dict) and isinstance(value.get("config"), str):
        return value["config"]
    return value


def clean_layer_config(class_name: str, config: dict) -> dict:
    """Drop or convert what reference Keras writes that cthulhu's constructors do not take,
    refusing (NotImplementedError) what would change the meaning."""
    if not isinstance(config, dict):  # e.g. the oldest Sequential configs: a list of layers
        return config
    config = dict(config)
    if "dtype" in config:
        config["dtype"] = _dtype_name(config["dtype"])
    for key in ("activation", "recurrent_activation"):
        if key in config:
            config[key] = _plain_activation(config[key])
    if cthulhu_name(class_name) == "InputLayer":
        for flag in ("ragged", "optional"):
            if config.pop(flag, False):
                raise NotImplementedError(f"InputLayer({flag}=True) is not supported")
    return config


def check_lambda_safety(class_name: str, config: dict) -> None:
    """A Lambda config holding Python bytecode runs arbitrary code when loaded: refuse it
    unless the caller opted in with safe_mode=False."""
    if class_name not in LAMBDA_NAMES or not safe_mode():
        return
    kinds = [config.get("function_type"), config.get("output_shape_type")]
    if "lambda" in kinds:
        name = config.get("name", "?")
        raise ValueError(
            f"Refusing to deserialize Lambda layer {name!r}: its config holds a Python lambda "
            f"as marshalled bytecode, and loading it would execute arbitrary code from the "
            f"file. Only do this for files you trust, by passing safe_mode=False (e.g. "
            f"cthulhu.models.load_model(path, safe_mode=False)).")


def deserialize_layer(spec: dict) -> Any:
    """A layer from ``{"class_name", "config"}`` (either spelling of the class name)."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ValueError(f"Not a layer configuration: {spec!r}")
    class_name = str(spec["class_name"])
    config = spec.get("config", {})
    if isinstance(config, dict):
        check_lambda_safety(class_name, config)
    cls = layer_class(class_name)
    config = clean_layer_config(class_name, config)
    try:
        return cls.from_config(config)
    except TypeError as err:
        name = config.get("name", "?") if isinstance(config, dict) else "?"
        raise TypeError(f"Cannot build layer {name!r} ({class_name}) from its config: "
                        f"{err}") from None
