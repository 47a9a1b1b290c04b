"""Argument checks shared by the kernels' numpy wrappers (the `*_np` functions)."""

import numpy as np


def check_array(name, arr, dtype=None, ndim=None, size=None, writeable=False):
    """A C-contiguous float32/float64 numpy array, optionally of a given dtype, rank, size."""
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype != np.float32 and arr.dtype != np.float64:
        raise ValueError(f"{name} must be float32 or float64, got {arr.dtype}")
    if dtype is not None and arr.dtype != dtype:
        raise ValueError(f"{name} has dtype {arr.dtype}, expected {dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if size is not None and arr.size != size:
        raise ValueError(f"{name} has {arr.size} elements, expected {size}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if writeable and not arr.flags.writeable:
        raise ValueError(f"{name} must be writeable")
