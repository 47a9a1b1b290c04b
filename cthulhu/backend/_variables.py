"""Variables: weights and optimizer slots that own their numpy storage."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cthulhu.backend._config import floatx

_uid_counts: dict[str, int] = {}


def get_uid(prefix: str = "") -> int:
    _uid_counts[prefix] = _uid_counts.get(prefix, 0) + 1
    return _uid_counts[prefix]


def reset_uids() -> None:
    _uid_counts.clear()


class Variable:
    """A weight or optimizer slot: owns a C-contiguous numpy array that plans read and update
    in place (so its address must never change: assignment copies into it)."""

    def __init__(self, value: np.ndarray, dtype: Optional[str] = None, name: str = "variable",
                 trainable: bool = True) -> None:
        self._array = np.array(value, dtype=dtype or floatx(), order="C", copy=True)
        self.name = name
        self.trainable = trainable

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def dtype(self) -> str:
        return str(self._array.dtype)

    @property
    def storage(self) -> np.ndarray:
        """The live array (for plans); use ``numpy()`` for a copy."""
        return self._array

    def numpy(self) -> np.ndarray:
        return self._array.copy()

    def assign(self, value: Any) -> None:
        value = np.asarray(value)
        if value.shape != self._array.shape:
            raise ValueError(f"cannot assign a value of shape {value.shape} to variable "
                             f"{self.name!r} of shape {self._array.shape}")
        np.copyto(self._array, value, casting="unsafe")

    def __repr__(self) -> str:
        return f"<Variable {self.name!r} shape={self.shape} dtype={self.dtype}>"


def variable(value: Any, dtype: Optional[str] = None, name: Optional[str] = None) -> Variable:
    return Variable(np.asarray(value), dtype, name or f"variable_{get_uid('variable')}")


def get_value(x: Variable) -> np.ndarray:
    if not hasattr(x, "numpy"):
        raise TypeError(f"get_value needs a variable (e.g. model.optimizer.lr), got "
                        f"{type(x).__name__}")
    return x.numpy()


def set_value(x: Variable, value: Any) -> None:
    if not hasattr(x, "assign"):
        raise TypeError(f"set_value needs a variable (e.g. model.optimizer.lr), got "
                        f"{type(x).__name__}")
    x.assign(value)


def batch_get_value(xs: list[Variable]) -> list[np.ndarray]:
    return [x.numpy() for x in xs]


def batch_set_value(pairs: list[tuple[Variable, Any]]) -> None:
    for x, value in pairs:
        x.assign(value)


def count_params(x: Variable) -> int:
    return int(np.prod(x.shape))

