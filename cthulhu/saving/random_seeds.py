"""The seeds of random layers (Darkness, the noise layers) whose config says ``seed: None``.

Such a layer draws its seed when it is built, and its masks are a function of that seed and
the step; a loaded model must keep the drawn seed for training to continue exactly. The
seeds travel in a cthulhu-only file attribute (JSON {layer path: seed}); the Keras config
keeps ``seed: None``, and reference Keras ignores the attribute."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

ATTRIBUTE = "cthulhu_random_seeds"


def _walk(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for layer in getattr(model, "layers", []):
        path = f"{prefix}{layer.name}"
        if hasattr(layer, "layers"):
            yield from _walk(layer, path + "/")
        elif isinstance(getattr(layer, "_seed", None), int):
            yield path, layer


def write_seeds(attrs: Any, model: Any) -> None:
    seeds = {path: layer._seed for path, layer in _walk(model)}
    if seeds:
        attrs[ATTRIBUTE] = json.dumps(seeds)


def restore_seeds(attrs: Any, model: Any) -> None:
    """Give a freshly loaded model's random layers their saved seeds (before any plan is
    compiled: plans hold the seeds)."""
    if ATTRIBUTE not in attrs:
        return
    from cthulhu.saving.h5_attrs import as_text
    seeds = json.loads(as_text(attrs[ATTRIBUTE]))
    for path, layer in _walk(model):
        if path in seeds:
            layer._seed = int(seeds[path])
