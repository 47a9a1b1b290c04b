"""Random tensors from the counter-based generator: fresh at every training step, the same
for a given seed and step whatever the thread count."""

from __future__ import annotations

from typing import Optional

import numpy as np

from cthulhu.backend._tracing import Tensor, _emit, _value, current_trace


def dropout(x, level: float, noise_shape=None, seed: Optional[int] = None) -> Tensor:
    if noise_shape is not None:
        raise NotImplementedError("dropout with noise_shape is not supported yet")
    if not 0.0 <= level < 1.0:
        raise ValueError(f"dropout level must be in [0, 1), got {level}")
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    return _emit("dropout", _value(x), current_trace().step(), rate=float(level), seed=int(seed))


def uniform_like(x, low: float = 0.0, high: float = 1.0, seed: Optional[int] = None):
    """Uniform noise in [low, high) with the shape of ``x``, fresh at every training step."""
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    return _emit("random_uniform", _value(x), current_trace().step(), seed=int(seed),
                 low=float(low), high=float(high))


def normal_like(x, mean: float = 0.0, stddev: float = 1.0, seed: Optional[int] = None):
    """Normal noise with the shape of ``x``, fresh at every training step (counter-based:
    the same for a given seed and step whatever the thread count)."""
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    return _emit("random_normal", _value(x), current_trace().step(), seed=int(seed),
                 mean=float(mean), stddev=float(stddev))

