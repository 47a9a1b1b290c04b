"""Random ops from a counter-based generator: values depend on (seed, step, element index)
only, so they are the same whatever the thread count, and a backward pass can regenerate a
dropout mask instead of storing it.

The generator (mirrored bit for bit by cthulhu/_kernels/rng.pyx)::

    mix64(z)          = splitmix64 finaliser
    stream_key(s, t)  = mix64(mix64(s ^ SEED_SALT) + (t + 1) * GOLDEN)
    uniform(key, i)   = (mix64(key + (i + 1) * GOLDEN) >> 11) * 2**-53   (i from 0)

Dropout draws 32 bits per element, one hash for two elements (dropout_keep below).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from compiler.ir import Node, Shape, Value
from compiler.ops.registry import define_op

if TYPE_CHECKING:
    from compiler.builder import Builder

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
SEED_SALT = np.uint64(0x5851F42D4C957F2D)
NORMAL_SALT = np.uint64(0xD1B54A32D192ED03)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def mix64(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def stream_key(seed: int, step: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        mixed_seed = mix64(np.asarray(np.uint64(seed) ^ SEED_SALT))
        return mix64(mixed_seed + (np.uint64(step) + np.uint64(1)) * GOLDEN)


def uniform(seed: int, step: int, size: int) -> np.ndarray:
    key = stream_key(seed, step)
    counters = np.arange(1, size + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        bits = mix64(key + counters * GOLDEN)
    return (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53


def dropout_keep(seed: int, step: int, size: int, rate: float) -> np.ndarray:
    """Element i is kept when its 32 bits, the low (i even) or high (i odd) half of
    mix64(key + (i // 2 + 1) * GOLDEN), reach ceil(rate * 2**32): probability 1 - rate."""
    key = stream_key(seed, step)
    pairs = np.arange(1, (size + 1) // 2 + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = mix64(key + pairs * GOLDEN)
    bits = np.empty(2 * len(pairs), np.uint64)
    bits[0::2] = h & np.uint64(0xFFFFFFFF)
    bits[1::2] = h >> np.uint64(32)
    return bits[:size] >= math.ceil(rate * 2.0**32)


def normal(seed: int, step: int, size: int, mean: float, stddev: float) -> np.ndarray:
    """Box-Muller over counter pairs (2p, 2p + 1) of a key salted apart from uniform's."""
    key = stream_key(seed, step) ^ NORMAL_SALT
    counters = np.arange(1, size + 2, dtype=np.uint64)
    with np.errstate(over="ignore"):
        bits = mix64(key + counters * GOLDEN)
    u = (bits >> np.uint64(11)).astype(np.float64) * 2.0**-53
    u1, u2 = u[0:size:2], u[1:size + 1:2]
    r = stddev * np.sqrt(-2.0 * np.log(1.0 - u1))
    out = np.empty(size + (size % 2))
    out[0::2] = mean + r * np.cos(6.283185307179586 * u2)
    out[1::2] = mean + r * np.sin(6.283185307179586 * u2)
    return out[:size]


# ---- noise ops: ([like,] step) -> noise, parameters (a, b) in attrs ------------------------
# random_uniform: uniform in [low, high); random_normal: normal(mean, stddev).
# The noise has like's shape and dtype, or the static ``shape`` attr: its None batch axis, if
# any, is like's batch axis at run time; with no like, the ``dtype`` attr gives the dtype.
_NOISE_PARAMETERS = {"random_uniform": ("low", "high"), "random_normal": ("mean", "stddev")}


def _noise_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    *like, step = inputs
    if step.shape != () or step.dtype != "int64":
        raise ValueError("a random op's step must be an int64 scalar")
    if "stddev" in attrs and attrs["stddev"] < 0:
        raise ValueError(f"stddev must be >= 0, got {attrs['stddev']}")
    if "low" in attrs and not attrs["low"] <= attrs["high"]:
        raise ValueError(f"need low <= high, got {attrs['low']} and {attrs['high']}")
    if len(like) > 1 or (not like and "shape" not in attrs):
        raise ValueError("a random op takes (like, step), or (step,) with a shape attribute")
    if "shape" not in attrs:
        return [(like[0].shape, like[0].dtype)]
    shape = tuple(attrs["shape"])
    if shape[:1] == (None,) and not (like and like[0].batched):
        raise ValueError(f"noise of shape {shape} needs a batched `like` for its batch axis")
    dtype = like[0].dtype if like else attrs["dtype"]
    if dtype == "int64":
        raise ValueError("noise must be float32 or float64")
    return [(shape, dtype)]


def _noise_vjp(b: Builder, node: Node, cts: list) -> list:
    return [None] * len(node.inputs)  # the noise does not depend on the values of `like`


def _noise_lower(lowerer, node: Node) -> None:
    first, second = _NOISE_PARAMETERS[node.op]
    lowerer.noise(node, node.attrs[first], node.attrs[second])


def _uniform_values(attrs: dict, step: int, size: int) -> np.ndarray:
    return attrs["low"] + (attrs["high"] - attrs["low"]) * uniform(attrs["seed"], step, size)


def _normal_values(attrs: dict, step: int, size: int) -> np.ndarray:
    return normal(attrs["seed"], step, size, attrs["mean"], attrs["stddev"])


def _noise_reference(values, attrs: dict, *arrays: np.ndarray) -> tuple:
    *like, step = arrays
    if "shape" in attrs:
        shape = tuple(like[0].shape[0] if d is None else d for d in attrs["shape"])
        dtype = like[0].dtype if like else np.dtype(attrs["dtype"])
    else:
        shape, dtype = like[0].shape, like[0].dtype
    size = int(np.prod(shape))
    return (values(attrs, int(step), size).reshape(shape).astype(dtype),)


for _name, _values in (("random_uniform", _uniform_values), ("random_normal", _normal_values)):
    _op = define_op(_name, "random")
    _op.shape(_noise_shape_rule)
    _op.vjp(_noise_vjp)
    _op.lower(_noise_lower)
    _op.reference(lambda attrs, *arrays, values=_values: _noise_reference(values, attrs,
                                                                          *arrays))


dropout = define_op("dropout", "random")


@dropout.shape
def _dropout_shape_rule(attrs: dict, inputs: list[Value]) -> list[tuple[Shape, str]]:
    x, step = inputs
    if not 0.0 <= attrs["rate"] < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {attrs['rate']}")
    if step.shape != () or step.dtype != "int64":
        raise ValueError("dropout's step must be an int64 scalar")
    return [(x.shape, x.dtype)]


@dropout.reference
def _dropout_reference(attrs: dict, x: np.ndarray, step: np.ndarray) -> tuple:
    rate = attrs["rate"]
    keep = dropout_keep(attrs["seed"], int(step), x.size, rate).reshape(x.shape)
    scale = x.dtype.type(1.0 / (1.0 - rate))
    return (np.where(keep, x * scale, 0).astype(x.dtype),)


@dropout.vjp
def _dropout_vjp(b: Builder, node: Node, cts: list) -> list:
    # The op is linear in x with a mask fixed by (seed, step): its transpose is itself.
    return [b.emit("dropout", cts[0], node.inputs[1], **node.attrs), None]


@dropout.lower
def _dropout_lower(lowerer, node: Node) -> None:
    lowerer.dropout(node)
