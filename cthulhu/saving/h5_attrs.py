"""HDF5 attribute encodings of the Keras 2 layout: strings may be stored as bytes or str,
and a list of names too large for one attribute header is split into ``name0``, ``name1``,
... (reference Keras's limit is 64512 bytes per attribute)."""

from __future__ import annotations

from typing import Any

import numpy as np

HEADER_LIMIT = 64512


def as_text(value: Any) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return as_text(value[()])
    return str(value)


def write_names(attrs: Any, key: str, names: list[str]) -> None:
    """A list of names, as UTF-8 bytes (what Keras 2 writes), split into chunks if needed."""
    if not names:
        attrs[key] = np.array([], dtype=np.float64)  # what reference Keras writes for none
        return
    data = np.array([n.encode("utf-8") for n in names])
    if any(len(n) > HEADER_LIMIT for n in data):
        raise ValueError(f"A name in {key!r} is longer than {HEADER_LIMIT} bytes")
    chunks = 1
    while any(part.nbytes > HEADER_LIMIT for part in np.array_split(data, chunks)):
        chunks += 1
    if chunks == 1:
        attrs[key] = data
        return
    for index, part in enumerate(np.array_split(data, chunks)):
        attrs[f"{key}{index}"] = part


def read_names(attrs: Any, key: str) -> list[str]:
    """The list under ``key``, or the concatenation of its chunks ``key0``, ``key1``..."""
    if key in attrs:
        return [as_text(n) for n in np.atleast_1d(attrs[key])]
    names: list[str] = []
    index = 0
    while f"{key}{index}" in attrs:
        names += [as_text(n) for n in np.atleast_1d(attrs[f"{key}{index}"])]
        index += 1
    if index == 0:
        raise KeyError(key)
    return names


def has_names(attrs: Any, key: str) -> bool:
    return key in attrs or f"{key}0" in attrs
