"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, and their functional
forms (``add([a, b])``...). Element-wise, so the fusion pass merges them with their
neighbours."""

from __future__ import annotations

from typing import Any

from cthulhu import backend as K
from cthulhu.layers.base import Layer


class _Merge(Layer):
    """Combines a list of tensors of one shape, element by element."""

    min_inputs = 2
    max_inputs = None
    supports_masking = True

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """A position is kept when every input keeps it (an input without a mask keeps
        all), as Keras's merge layers."""
        kept = [m for m in (mask or []) if m is not None]
        if not kept:
            return None
        out = kept[0]
        for m in kept[1:]:
            out = out * m
        return out

    def _check_inputs(self, shapes: Any) -> None:
        if not isinstance(shapes, list):
            raise ValueError(f"A merge layer ({type(self).__name__}) should be called on a list "
                             f"of inputs.")
        if len(shapes) < self.min_inputs or (self.max_inputs and len(shapes) > self.max_inputs):
            want = self.max_inputs if self.max_inputs == self.min_inputs else \
                f"at least {self.min_inputs}"
            raise ValueError(f"{type(self).__name__} should be called on {want} inputs, got "
                             f"{len(shapes)}")
        if any(tuple(s) != tuple(shapes[0]) for s in shapes[1:]):
            raise ValueError(f"{type(self).__name__} needs inputs of one shape, got "
                             f"{[tuple(s) for s in shapes]}")

    def build(self, input_shape: Any) -> None:
        self._check_inputs(input_shape)
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> K.Tensor:
        self._check_inputs([t.shape for t in inputs] if isinstance(inputs, list) else inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = self._combine(out, x)
        return self._finish(out, len(inputs))

    def _combine(self, a: K.Tensor, b: K.Tensor) -> K.Tensor:
        raise NotImplementedError

    def _finish(self, out: K.Tensor, count: int) -> K.Tensor:
        return out


class Add(_Merge):
    def _combine(self, a, b):
        return a + b


class Subtract(_Merge):
    min_inputs = max_inputs = 2

    def _combine(self, a, b):
        return a - b


class Multiply(_Merge):
    def _combine(self, a, b):
        return a * b


class Average(_Merge):
    def _combine(self, a, b):
        return a + b

    def _finish(self, out, count):
        return out * (1.0 / count)


class Maximum(_Merge):
    def _combine(self, a, b):
        return K.maximum(a, b)


class Minimum(_Merge):
    def _combine(self, a, b):
        return K.minimum(a, b)


class Concatenate(_Merge):
    """Joins its inputs along ``axis`` (every other axis must agree)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def _check_inputs(self, shapes: Any) -> None:
        if not isinstance(shapes, list) or len(shapes) < 2:
            raise ValueError("A `Concatenate` layer should be called on a list of at least 2 "
                             "inputs")
        rank = len(shapes[0])
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis is None or axis == 0:
            raise ValueError(f"Concatenate axis {self.axis} is not a feature axis of inputs "
                             f"of rank {rank}")
        for s in shapes[1:]:
            if len(s) != rank or any(a != b for i, (a, b) in enumerate(zip(s, shapes[0]))
                                     if i != axis):
                raise ValueError(f"A `Concatenate` layer requires inputs with matching shapes "
                                 f"except for the concat axis. Got inputs shapes: "
                                 f"{[tuple(x) for x in shapes]}")

    def call(self, inputs: Any, training: bool = False) -> K.Tensor:
        self._check_inputs([t.shape for t in inputs] if isinstance(inputs, list) else inputs)
        return K.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not mask or all(m is None for m in mask):
            return None
        rank = len(inputs[0].shape)
        if self.axis % rank == rank - 1:  # joined features: kept where every input keeps it
            return super().compute_mask(inputs, mask)
        # Joined along a masked axis: the masks are joined too (no mask keeps all).
        full = [K.ones_like(K.sum(x, axis=-1)) if m is None else m for x, m in zip(inputs, mask)]
        return K.concatenate(full, axis=self.axis % rank)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs: list, axis: int = -1, **kwargs: Any) -> K.Tensor:
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs: list, **kwargs: Any) -> K.Tensor:
    return Add(**kwargs)(inputs)


def subtract(inputs: list, **kwargs: Any) -> K.Tensor:
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list, **kwargs: Any) -> K.Tensor:
    return Multiply(**kwargs)(inputs)


def average(inputs: list, **kwargs: Any) -> K.Tensor:
    return Average(**kwargs)(inputs)


def maximum(inputs: list, **kwargs: Any) -> K.Tensor:
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list, **kwargs: Any) -> K.Tensor:
    return Minimum(**kwargs)(inputs)
