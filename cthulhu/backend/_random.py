"""Random tensors from the counter-based generator: fresh at every training step, the same
for a given seed and step whatever the thread count.

Outside training (prediction, evaluation, shape inference) there is no iteration counter:
the noise is that of step 0, the same at every call for a given seed.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from compiler.ir import Value
from cthulhu.backend._config import floatx
from cthulhu.backend._tracing import Tensor, _emit, _value, current_trace


def _seed(seed: Optional[int]) -> int:
    return int(seed) if seed is not None else int(np.random.randint(0, 2**31 - 1))


def _step() -> Value:
    trace = current_trace()
    if trace.step_variable is None:
        return trace.builder.const(0, "int64")
    return trace.step()


def resolve_noise_shape(input_shape: tuple, noise_shape) -> tuple:
    """Keras semantics: None entries take the input's size; other entries must equal it or
    be 1 (the mask is then the same along that axis)."""
    noise_shape, input_shape = tuple(noise_shape), tuple(input_shape)
    if len(noise_shape) != len(input_shape):
        raise ValueError(f"noise_shape {noise_shape} must have one entry per axis of the input "
                         f"of shape {input_shape}")
    out = []
    for axis, (want, have) in enumerate(zip(noise_shape, input_shape)):
        if want is None or want == have:
            out.append(have)
        elif int(want) == 1:
            out.append(1)
        elif axis == 0 and have is None:
            raise NotImplementedError(f"noise_shape {noise_shape}: a fixed batch size on axis 0 "
                                      f"is not supported; use None (one mask per sample) or 1")
        else:
            raise ValueError(f"noise_shape {noise_shape} does not broadcast to the input shape "
                             f"{input_shape}: each entry must be None, 1 or the input's size")
    return tuple(out)


def _single_broadcast_range(mask: Value, shape: tuple) -> Value:
    """The element-wise kernel broadcasts an operand over one contiguous range of axes:
    materialise the broadcast axes after the first such range (never the batch axis)."""
    axes = [i for i, (m, d) in enumerate(zip(mask.shape, shape)) if m == 1 and d != 1]
    if not axes:
        return mask
    first_run_end = axes[0]
    while first_run_end + 1 in axes:
        first_run_end += 1
    target = tuple(d if i > first_run_end and i in axes else m
                   for i, (m, d) in enumerate(zip(mask.shape, shape)))
    if target == mask.shape:
        return mask
    return _emit("broadcast_to", mask, shape=target).value


def dropout(x, level: float, noise_shape=None, seed: Optional[int] = None) -> Tensor:
    """x / (1 - level) where a uniform draw is >= level, else 0. With ``noise_shape`` one
    draw is shared along the axes where it is 1 (whole feature maps, say)."""
    if not 0.0 <= level < 1.0:
        raise ValueError(f"dropout level must be in [0, 1), got {level}")
    value = _value(x)
    shape = value.shape if noise_shape is None else resolve_noise_shape(value.shape,
                                                                         noise_shape)
    if shape == value.shape:
        return _emit("dropout", value, _step(), rate=float(level), seed=_seed(seed))
    draw = _emit("random_uniform", value, _step(), seed=_seed(seed), low=0.0, high=1.0,
                 shape=shape).value
    keep = _emit("greater_equal", draw, current_trace().builder.const(level, value.dtype))
    scale = keep * (1.0 / (1.0 - level))
    return Tensor(value, value.shape, value.dtype) * Tensor(
        _single_broadcast_range(scale.value, value.shape), shape, value.dtype)


def uniform_like(x, low: float = 0.0, high: float = 1.0, seed: Optional[int] = None):
    """Uniform noise in [low, high) with the shape of ``x``, fresh at every training step."""
    return _emit("random_uniform", _value(x), _step(), seed=_seed(seed), low=float(low),
                 high=float(high))


def normal_like(x, mean: float = 0.0, stddev: float = 1.0, seed: Optional[int] = None):
    """Normal noise with the shape of ``x``, fresh at every training step (counter-based:
    the same for a given seed and step whatever the thread count)."""
    return _emit("random_normal", _value(x), _step(), seed=_seed(seed), mean=float(mean),
                 stddev=float(stddev))


def _static_shape(shape, what: str) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = tuple(shape)
    if any(d is None for d in shape):
        raise NotImplementedError(
            f"{what}({shape}): shapes with an unknown (batch) axis are not supported; use a "
            f"fixed shape, or K.uniform_like / K.normal_like for noise shaped like a tensor")
    if any(int(d) < 0 for d in shape):
        raise ValueError(f"{what}: negative dimension in {shape}")
    return tuple(int(d) for d in shape)


def _dtype(dtype: Optional[str]) -> str:
    dtype = dtype or floatx()
    if dtype not in ("float32", "float64"):
        raise ValueError(f"random tensors are float32 or float64, got {dtype!r}")
    return dtype


def random_uniform(shape, minval: float = 0.0, maxval: float = 1.0,
                   dtype: Optional[str] = None, seed: Optional[int] = None) -> Tensor:
    """Uniform values in [minval, maxval) of a fixed shape, fresh at every training step."""
    return _emit("random_uniform", _step(), shape=_static_shape(shape, "random_uniform"),
                 dtype=_dtype(dtype), seed=_seed(seed), low=float(minval), high=float(maxval))


def random_normal(shape, mean: float = 0.0, stddev: float = 1.0,
                  dtype: Optional[str] = None, seed: Optional[int] = None) -> Tensor:
    """Normal values of a fixed shape, fresh at every training step."""
    return _emit("random_normal", _step(), shape=_static_shape(shape, "random_normal"),
                 dtype=_dtype(dtype), seed=_seed(seed), mean=float(mean), stddev=float(stddev))


def random_binomial(shape, p: float = 0.0, dtype: Optional[str] = None,
                    seed: Optional[int] = None) -> Tensor:
    """1.0 with probability p, else 0.0, of a fixed shape; fresh at every training step."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"random_binomial p must be in [0, 1], got {p}")
    draw = random_uniform(shape, 0.0, 1.0, dtype, seed)
    return _emit("less", draw.value, current_trace().builder.const(p, draw.dtype))
