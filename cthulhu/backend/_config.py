"""Backend defaults: float type, epsilon and image data format.

Read once from ``~/.cthulhu/cthulhu.json`` (or ``$CTHULHU_HOME/cthulhu.json``), as Keras reads
``~/.keras/keras.json``; the setters change them for the rest of the process.
"""

from __future__ import annotations

import json
import os

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"

def _read_config() -> None:
    """Defaults from ~/.cthulhu/cthulhu.json, as Keras reads ~/.keras/keras.json."""
    global _FLOATX, _EPSILON, _IMAGE_DATA_FORMAT
    home = os.environ.get("CTHULHU_HOME") or os.path.join(os.path.expanduser("~"), ".cthulhu")
    path = os.path.join(home, "cthulhu.json")
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError):
        return
    if not isinstance(config, dict):
        return
    _FLOATX = config.get("floatx", _FLOATX) if config.get("floatx") in (
        "float32", "float64") else _FLOATX
    if isinstance(config.get("epsilon"), (int, float)):
        _EPSILON = float(config["epsilon"])
    if config.get("image_data_format") in ("channels_last", "channels_first"):
        _IMAGE_DATA_FORMAT = config["image_data_format"]


_read_config()


def floatx() -> str:
    return _FLOATX


def set_floatx(value: str) -> None:
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}; expected 'float32' or 'float64'")
    _FLOATX = str(value)


def epsilon() -> float:
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    global _IMAGE_DATA_FORMAT
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format!r}")
    _IMAGE_DATA_FORMAT = data_format

