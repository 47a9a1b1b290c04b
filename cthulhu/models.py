"""cthulhu.models: Pile (Keras ``Sequential``) and Lump (Keras ``Model``)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from cthulhu import backend as K
from cthulhu.engine.functional import Lump, Model
from cthulhu.engine.model_utils import find_layer, print_summary
from cthulhu.engine.training import TrainableModel
from cthulhu.layers.base import InputLayer, Layer
from cthulhu.saving import model_config
from cthulhu.saving.model_io import load_model, model_from_config, model_from_json, save_model
from cthulhu.saving.model_methods import SavingMixin


class Pile(Layer, TrainableModel, SavingMixin):
    """A linear stack of layers (Keras ``Sequential``); also usable as a layer."""

    # Masks flow through a nested model as through its layers.
    supports_masking = True
    _masks_from_call = True

    def __init__(self, layers: Optional[list] = None, name: Optional[str] = None) -> None:
        super().__init__(name=name)
        self._layers: list[Layer] = []
        self._input_shape: Optional[tuple] = None
        self.built = False
        self._init_training()
        for layer in layers or []:
            self.add(layer)

    # ---- the stack ----------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def add(self, layer: Layer) -> None:
        if isinstance(layer, K.Tensor):
            history = layer._cthulhu_history
            if history is not None and isinstance(history[0], InputLayer):
                self._input_shape = history[0].batch_input_shape
                self._invalidate()
                return
        if not isinstance(layer, Layer):
            raise TypeError(f"The added layer must be an instance of class Layer. Found: "
                            f"{layer!r}")
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(f"All layers added to a Pile model should have unique names. "
                             f"Name {layer.name!r} is already the name of a layer in this "
                             f"model.")
        if isinstance(layer, InputLayer):
            self._input_shape = layer.batch_input_shape
            self._invalidate()
            return
        if not self._layers and self._input_shape is None and layer.batch_input_shape:
            self._input_shape = layer.batch_input_shape
        self._layers.append(layer)
        self._invalidate()
        self.built = False
        if self._input_shape is not None:
            self.build(self._input_shape)

    def pop(self) -> None:
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        self._layers.pop()
        self._invalidate()
        if self._layers and self._input_shape is not None:
            self.build(self._input_shape)

    def build(self, input_shape: Optional[tuple] = None) -> None:
        """Create every layer's weights by walking the stack's shapes."""
        shape = tuple(input_shape) if input_shape is not None else self._input_shape
        if shape is None:
            raise ValueError("You must provide an input_shape to build a Pile")
        self._input_shape = shape
        self._shapes = [shape]
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
            self._shapes.append(shape)
        self.built = True
        self._output_specs = None  # output shapes may have changed

    @property
    def input_shape(self) -> tuple:
        if not self.built:
            raise AttributeError("The model has not been built yet, so it has no input shape")
        return self._shapes[0]

    @property
    def output_shape(self) -> tuple:
        if not self.built:
            raise AttributeError("The model has not been built yet, so it has no output shape")
        return self._shapes[-1]

    @property
    def input_names(self) -> list[str]:
        return [f"{self._layers[0].name}_input" if self._layers else "input"]

    @property
    def output_names(self) -> list[str]:
        return [self._layers[-1].name if self._layers else "output"]

    def _input_shapes(self) -> list[tuple]:
        return [self.input_shape]

    def _output_shapes(self) -> list[tuple]:
        return [self.output_shape]

    def call(self, inputs: K.Tensor, training: bool = False) -> K.Tensor:
        """As a layer nested in another model."""
        return self.trace_forward([inputs], training)[0]

    def trace_forward(self, xs: list[K.Tensor], training: bool) -> list[K.Tensor]:
        if not self._layers:
            raise ValueError("the Pile has no layers")
        (x,) = xs
        for layer in self._layers:
            x = layer.trace_call(x, training)
        return [x]

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None) -> Layer:
        """A layer by index (which wins when both are given) or by name."""
        return find_layer(self._layers, name, index)

    # ---- weights ------------------------------------------------------------------------
    @property
    def weights(self) -> list[K.Variable]:
        return [w for layer in self._layers for w in layer.weights]


    @property
    def non_trainable_weights(self) -> list[K.Variable]:
        if not self.trainable:
            return self.weights
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self.weights]

    def regularization_penalties(self) -> list:
        """Every layer's weight penalties, as tensors of the current trace."""
        return [p for layer in self._layers for p in layer.regularization_penalties()]

    def weight_constraints(self) -> dict:
        """id(weight) -> constraint, for every constrained weight of the model."""
        return {k: c for layer in self._layers for k, c in layer.constraints.items()}

    @property
    def trainable_weights(self) -> list[K.Variable]:
        if not self.trainable:
            return []
        return [w for layer in self._layers for w in layer.trainable_weights]

    def set_weights(self, weights: list) -> None:
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f"You called set_weights(weights) on model {self.name!r} with a "
                             f"weight list of length {len(weights)}, but the model expects "
                             f"{len(params)} weights.")
        for layer_start, layer in self._weight_slices():
            layer.set_weights(list(weights[layer_start:layer_start + len(layer.weights)]))

    def _weight_slices(self):
        start = 0
        for layer in self._layers:
            yield start, layer
            start += len(layer.weights)

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self._layers)

    # ---- display ------------------------------------------------------------------------
    def summary(self, line_length: int = 65, print_fn=print) -> None:
        if not self.built:
            raise ValueError("This model has not yet been built. Build the model first by "
                             "calling `build()` or by giving the first layer an input_shape.")
        rows = [(f"{layer.name} ({type(layer).__name__})", self._shapes[i + 1],
                 layer.count_params()) for i, layer in enumerate(self._layers)]
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        print_summary(self.name, rows, trainable, self.count_params(), line_length, print_fn)

    def get_config(self) -> dict:
        return model_config.pile_config(self)

    @classmethod
    def from_config(cls, config, custom_objects: Optional[dict] = None) -> Pile:
        from cthulhu.saving.serialization import loading_options
        with loading_options(custom_objects):
            return model_config.pile_from_config(cls, config)


Sequential = Pile

__all__ = ["Pile", "Sequential", "Lump", "Model", "load_model", "save_model",
           "model_from_json", "model_from_config"]
