"""cthulhu.engine.input_layer: where the documentation places Input and InputLayer."""

from cthulhu.layers.base import Input, InputLayer

__all__ = ["Input", "InputLayer"]
