"""cthulhu.initializers: Keras 2 initializers, drawing from numpy's global generator (so
``np.random.seed`` makes model construction reproducible)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


class Initializer:
    def __call__(self, shape: tuple, dtype: Optional[str] = None) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Initializer:
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, dtype=dtype or "float32")


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, dtype=dtype or "float32")


class Constant(Initializer):
    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=dtype or "float32")

    def get_config(self):
        return {"value": self.value}


class _Random(Initializer):
    def __init__(self, seed: Optional[int] = None) -> None:
        self.seed = seed

    def _rng(self):
        return np.random.RandomState(self.seed) if self.seed is not None else np.random


class RandomNormal(_Random):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None) -> None:
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return self._rng().normal(self.mean, self.stddev, shape).astype(dtype or "float32")

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Random):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None) -> None:
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(dtype or "float32")

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None):
        rng = self._rng()
        out = rng.normal(self.mean, self.stddev, shape)
        bad = np.abs(out - self.mean) > 2 * self.stddev
        while bad.any():
            out[bad] = rng.normal(self.mean, self.stddev, int(bad.sum()))
            bad = np.abs(out - self.mean) > 2 * self.stddev
        return out.astype(dtype or "float32")


class Orthogonal(_Random):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal matrix, times gain."""

    def __init__(self, gain: float = 1.0, seed=None) -> None:
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape of rank >= 2, got {shape}")
        rows = int(np.prod(shape[:-1]))
        cols = shape[-1]
        flat = self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).astype(dtype or "float32")

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """gain times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D shape, got {shape}")
        return (self.gain * np.eye(*shape)).astype(dtype or "float32")

    def get_config(self):
        return {"gain": self.gain}


def _fans(shape: tuple) -> tuple[float, float]:
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) > 2:  # convolution kernels (..., in, out)
        receptive = float(np.prod(shape[:-2]))
        return shape[-2] * receptive, shape[-1] * receptive
    size = float(np.prod(shape)) if shape else 1.0
    return size, size


class VarianceScaling(_Random):
    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "normal",
                 seed=None) -> None:
        if scale <= 0:
            raise ValueError(f"`scale` must be a positive float, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode!r}")
        if distribution not in ("normal", "uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}")
        super().__init__(seed)
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(tuple(shape))
        denom = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        variance = self.scale / max(1.0, denom[self.mode])
        rng = self._rng()
        if self.distribution == "uniform":
            limit = np.sqrt(3.0 * variance)
            out = rng.uniform(-limit, limit, shape)
        elif self.distribution == "untruncated_normal":
            out = rng.normal(0.0, np.sqrt(variance), shape)
        else:  # truncated normal, with the stddev correction Keras applies
            stddev = np.sqrt(variance) / 0.87962566103423978
            out = TruncatedNormal(0.0, stddev, self.seed)(shape, "float64")
        return np.asarray(out).astype(dtype or "float32")

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def glorot_uniform(seed=None): return VarianceScaling(1.0, "fan_avg", "uniform", seed)
def glorot_normal(seed=None): return VarianceScaling(1.0, "fan_avg", "truncated_normal", seed)
def he_uniform(seed=None): return VarianceScaling(2.0, "fan_in", "uniform", seed)
def he_normal(seed=None): return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)
def lecun_uniform(seed=None): return VarianceScaling(1.0, "fan_in", "uniform", seed)
def lecun_normal(seed=None): return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


zeros, ones = Zeros, Ones
_BY_NAME: dict[str, Any] = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "normal": RandomNormal, "random_uniform": RandomUniform,
    "uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal, "he_uniform": he_uniform, "he_normal": he_normal,
    "lecun_uniform": lecun_uniform, "lecun_normal": lecun_normal,
    "orthogonal": Orthogonal, "identity": Identity,
}
# tf-keras writes the class spellings of the named schemes.
_BY_NAME.update(GlorotUniform=glorot_uniform, GlorotNormal=glorot_normal, HeUniform=he_uniform,
                HeNormal=he_normal, LecunUniform=lecun_uniform, LecunNormal=lecun_normal)
for _cls in (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal,
             VarianceScaling, Orthogonal, Identity):
    _BY_NAME[_cls.__name__] = _cls


def get(identifier: Any) -> Initializer:
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        factory = _BY_NAME.get(identifier)
        if factory is None:
            raise ValueError(f"Unknown initializer: {identifier!r}")
        return factory()
    if isinstance(identifier, dict):
        factory = _BY_NAME.get(identifier.get("class_name", ""))
        if factory is None:
            raise ValueError(f"Unknown initializer: {identifier!r}")
        return factory(**identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


def serialize(init: Initializer) -> dict:
    return {"class_name": type(init).__name__, "config": init.get_config()}
