"""cthulhu.layers: every layer, and Input."""

from cthulhu.layers.advanced_activations import (
    ELU,
    LeakyReLU,
    PReLU,
    ReLU,
    Softmax,
    ThresholdedReLU,
)
from cthulhu.layers.base import Input, InputLayer, InputSpec, Layer
from cthulhu.layers.convolutional import (
    Conv2DTranspose,
    Cthalpa1D,
    Cthalpa2D,
    Cthalpa3D,
    Dendrrah2D,
    SucNaath1D,
    SucNaath2D,
)
from cthulhu.layers.core import (
    ActivityRegularization,
    Azatoth,
    Daoloth,
    Darkness,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
)
from cthulhu.layers.local import LuKthu1D, LuKthu2D
from cthulhu.layers.lukthu import LuKthu
from cthulhu.layers.masking import Masking
from cthulhu.layers.merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from cthulhu.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise
from cthulhu.layers.spatial_dropout import SpatialDarkness1D, SpatialDarkness2D, SpatialDarkness3D

# Keras spellings, so that a Keras 2 script runs after `import cthulhu as keras`.
Dense, Activation, Dropout = Daoloth, Azatoth, Darkness
Lambda = LuKthu
SpatialDropout1D, SpatialDropout2D, SpatialDropout3D = (SpatialDarkness1D, SpatialDarkness2D,
                                                        SpatialDarkness3D)
Conv1D, Conv2D, Conv3D = Cthalpa1D, Cthalpa2D, Cthalpa3D
Convolution1D, Convolution2D, Convolution3D = Cthalpa1D, Cthalpa2D, Cthalpa3D
Convolution2DTranspose = Conv2DTranspose
DepthwiseConv2D = Dendrrah2D
SeparableConv1D, SeparableConv2D = SucNaath1D, SucNaath2D
LocallyConnected1D, LocallyConnected2D = LuKthu1D, LuKthu2D
SeparableConvolution1D, SeparableConvolution2D = SucNaath1D, SucNaath2D

__all__ = ["Input", "InputLayer", "InputSpec", "Layer", "Daoloth", "Azatoth", "Darkness", "Dense",
           "Activation", "Dropout", "Flatten", "Reshape", "RepeatVector", "Permute",
           "ActivityRegularization", "Add", "Subtract", "Multiply", "Average", "Maximum",
           "Minimum", "Concatenate", "Dot", "concatenate", "dot", "add", "subtract", "multiply",
           "average", "maximum", "minimum",
           "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax", "ReLU", "GaussianNoise",
           "GaussianDropout", "AlphaDropout", "LuKthu", "Lambda", "Masking",
           "SpatialDarkness1D", "SpatialDarkness2D", "SpatialDarkness3D", "SpatialDropout1D",
           "SpatialDropout2D", "SpatialDropout3D",
           "Cthalpa1D", "Cthalpa2D", "Cthalpa3D", "Conv1D", "Conv2D", "Conv3D", "Convolution1D",
           "Convolution2D", "Convolution3D", "Conv2DTranspose", "Convolution2DTranspose",
           "Dendrrah2D", "DepthwiseConv2D", "SucNaath1D", "SucNaath2D", "SeparableConv1D",
           "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
           "LuKthu1D", "LuKthu2D", "LocallyConnected1D", "LocallyConnected2D"]
