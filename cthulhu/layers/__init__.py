"""cthulhu.layers: every layer, and Input."""

from cthulhu.layers.base import Input, InputLayer, Layer
from cthulhu.layers.core import Azatoth, Daoloth, Darkness

# Keras spellings, so that a Keras 2 script runs after `import cthulhu as keras`.
Dense, Activation, Dropout = Daoloth, Azatoth, Darkness

__all__ = ["Input", "InputLayer", "Layer", "Daoloth", "Azatoth", "Darkness", "Dense",
           "Activation", "Dropout"]
