"""Array data: validation against the model, and batch assembly into plan buffers."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_array(data: Any, what: str) -> np.ndarray:
    """One numeric array from what a user passed for one input or target."""
    if isinstance(data, (list, tuple)) and len(data) == 1 and hasattr(data[0], "shape"):
        data = data[0]
    if isinstance(data, dict):
        raise NotImplementedError(f"{what} as a dict is not supported for a Pile yet")
    if isinstance(data, (list, tuple)) and data and hasattr(data[0], "shape"):
        raise ValueError(f"Error when checking model {what}: the model expects 1 array, but "
                         f"got a list of {len(data)} arrays")
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Error when checking model {what}: expected numeric data, got an "
                        f"array of dtype {array.dtype}")
    if array.ndim == 0:
        raise ValueError(f"Error when checking model {what}: expected an array with a batch "
                         f"axis, got a scalar")
    return array


def check_shape(array: np.ndarray, expected: tuple, what: str, name: str) -> np.ndarray:
    """Keras's standardize check: a 1-D array becomes (n, 1) when the model expects 2-D."""
    if array.ndim == 1 and len(expected) == 2:
        array = array.reshape(-1, 1)
    if array.ndim != len(expected):
        raise ValueError(f"Error when checking {what}: expected {name} to have {len(expected)} "
                         f"dimensions, but got array with shape {array.shape}")
    for want, got in zip(expected[1:], array.shape[1:]):
        if want is not None and want != got:
            raise ValueError(f"Error when checking {what}: expected {name} to have shape "
                             f"{tuple(expected[1:])} but got array with shape "
                             f"{tuple(array.shape[1:])}")
    return np.ascontiguousarray(array)


def check_same_length(x: np.ndarray, y: np.ndarray) -> None:
    if len(x) != len(y):
        raise ValueError(f"Input arrays should have the same number of samples as target "
                         f"arrays. Found {len(x)} input samples and {len(y)} target samples.")


def check_batch_size(batch_size: Any) -> int:
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class BatchFeeder:
    """Copies batches (by index or by slice) straight into a plan's input buffers, converting
    dtypes on the way, in native code."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        from cthulhu._kernels.gather import copy_rows, gather_rows
        self.arrays = arrays
        self._gather, self._copy = gather_rows, copy_rows

    def gather(self, index: np.ndarray, buffers: list[np.ndarray]) -> None:
        for src, dst in zip(self.arrays, buffers):
            self._gather(src, index, dst)

    def slice(self, start: int, stop: int, buffers: list[np.ndarray]) -> None:
        for src, dst in zip(self.arrays, buffers):
            self._copy(src, start, stop, dst)
