"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum (element-wise, so the
fusion pass merges them with their neighbours), Concatenate and Dot, and their functional
forms (``add([a, b])``...)."""

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


class Dot(Layer):
    """Per-sample dot product of two tensors along ``axes`` (an int, or one axis per input;
    axis 0 is the batch axis). With ``normalize`` both inputs are l2-normalized along those
    axes first, which gives the cosine proximity. (batch, n) . (batch, n) -> (batch, 1)."""

    def __init__(self, axes, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2 or not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Dot axes must be an int or a list/tuple of two ints, got "
                                 f"{axes!r}")
            axes = list(axes)
        elif not isinstance(axes, int):
            raise TypeError(f"Dot axes must be an int or a list/tuple of two ints, got "
                            f"{axes!r}")
        self.axes = axes
        self.normalize = bool(normalize)

    def _axes_for(self, shapes: Any) -> tuple[int, int]:
        if not isinstance(shapes, list) or len(shapes) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs.")
        ranks = [len(s) for s in shapes]
        axes = self.axes if isinstance(self.axes, list) else [self.axes] * 2
        if any(not -r <= a < r for a, r in zip(axes, ranks)):
            raise ValueError(f"Dot axes {self.axes} are out of range for inputs of shapes "
                             f"{[tuple(s) for s in shapes]}")
        ax, ay = (a % r for a, r in zip(axes, ranks))
        if ax == 0 or ay == 0:
            raise ValueError("Dot cannot contract the batch axis (axis 0)")
        if shapes[0][ax] != shapes[1][ay]:
            raise ValueError(f"Dimension incompatibility {shapes[0][ax]} != {shapes[1][ay]}. "
                             f"Layer shapes: {tuple(shapes[0])}, {tuple(shapes[1])}")
        return ax, ay

    def build(self, input_shape: Any) -> None:
        self._axes_for(input_shape)
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> K.Tensor:
        ax, ay = self._axes_for([t.shape for t in inputs] if isinstance(inputs, list)
                                else inputs)
        x, y = inputs
        if self.normalize:
            x, y = K.l2_normalize(x, axis=ax), K.l2_normalize(y, axis=ay)
        return K.batch_dot(x, y, axes=(ax, ay))

    def get_config(self) -> dict:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs: list, axes, normalize: bool = False, **kwargs: Any) -> K.Tensor:
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)


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
