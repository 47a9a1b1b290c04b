"""TheHydra (Keras ``Embedding``): rows of a trainable table picked by integer indices."""

from __future__ import annotations

from typing import Any, Optional

from cthulhu import backend as K
from cthulhu import constraints, initializers, regularizers
from cthulhu.layers.base import Layer


def _lengths(input_length: Any) -> Optional[tuple]:
    if input_length is None:
        return None
    if isinstance(input_length, (list, tuple)):
        return tuple(None if d is None else int(d) for d in input_length)
    return (int(input_length),)


class TheHydra(Layer):
    """TheHydra (Keras ``Embedding``): (batch, ...) indices -> (batch, ..., output_dim).

    Indices arrive as float values and are truncated toward zero (as Keras's cast to int);
    an index outside [0, input_dim) stops the step with an IndexError naming the layer, before
    any weight is updated. The lookup is one native row gather; its gradient is a sparse
    scatter-add of rows, not a one-hot product. ``mask_zero``: index 0 is padding, and the
    layer gives the layers after it (and the loss) the mask ``inputs != 0``."""

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform",
                 embeddings_regularizer=None, activity_regularizer=None,
                 embeddings_constraint=None, mask_zero: bool = False, input_length=None,
                 **kwargs: Any) -> None:
        lengths = _lengths(input_length)
        if lengths is not None and "input_shape" not in kwargs \
                and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = lengths
        super().__init__(**kwargs)
        if int(input_dim) <= 0 or int(output_dim) <= 0:
            raise ValueError(f"Both input_dim and output_dim should be positive, received "
                             f"input_dim = {input_dim} and output_dim = {output_dim}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.input_length = input_length

    def build(self, input_shape: tuple) -> None:
        self._check_length(tuple(input_shape))
        if self.dtype == "float32" and self.input_dim > 2 ** 24:
            # Indices travel through the plan as floatx values.
            raise NotImplementedError(
                f"TheHydra(input_dim={self.input_dim}) with float32: indices above 2**24 are "
                f"not exact as float32 values; use K.set_floatx('float64')")
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def _check_length(self, input_shape: tuple) -> None:
        """Keras's check of ``input_length`` against the input shape."""
        lengths = _lengths(self.input_length)
        if lengths is None:
            return
        got = tuple(input_shape[1:])
        if len(got) != len(lengths) or any(
                want is not None and have is not None and want != have
                for want, have in zip(lengths, got)):
            raise ValueError(f'"input_length" is {self.input_length}, but received input has '
                             f'shape {tuple(input_shape)}')

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        self._check_length(tuple(inputs.shape))
        return K.gather(self.embeddings, inputs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return K.not_equal(inputs, 0.0)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            input_dim=self.input_dim, output_dim=self.output_dim,
            embeddings_initializer=initializers.serialize(self.embeddings_initializer),
            embeddings_regularizer=regularizers.serialize(self.embeddings_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            embeddings_constraint=constraints.serialize(self.embeddings_constraint),
            mask_zero=self.mask_zero,
            input_length=list(self.input_length) if isinstance(self.input_length, tuple)
            else self.input_length)
        return config
