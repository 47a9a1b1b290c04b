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
from cthulhu.layers.convolutional_recurrent import Cxaxukluth, CxaxukluthCell
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
from cthulhu.layers.embeddings import TheHydra
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
from cthulhu.layers.normalization import BlacknessFromTheStars
from cthulhu.layers.pooling import (
    AiuebGnshal1D,
    AiuebGnshal2D,
    AiuebGnshal3D,
    GhrothMlandoth1D,
    GhrothMlandoth2D,
    GhrothMlandoth3D,
    GrothAiuebGnshal1D,
    GrothAiuebGnshal2D,
    GrothAiuebGnshal3D,
    Mlandoth1D,
    Mlandoth2D,
    Mlandoth3D,
)
from cthulhu.layers.recurrent import (
    RNN,
    Groth,
    GrothCell,
    Laldagorth,
    LaldagorthCell,
    ShabithKa,
    ShabithKaCell,
    StackedRNNCells,
)
from cthulhu.layers.spatial_dropout import SpatialDarkness1D, SpatialDarkness2D, SpatialDarkness3D
from cthulhu.layers.spatial_shaping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    UbboSathla1D,
    UbboSathla2D,
    UbboSathla3D,
    Xexanoth1D,
    Xexanoth2D,
    Xexanoth3D,
)
from cthulhu.layers.wrappers import Bidirectional, TimeDistributed

# Keras spellings, so that a Keras 2 script runs after `import cthulhu as keras`.
Dense, Activation, Dropout = Daoloth, Azatoth, Darkness
Lambda = LuKthu
Embedding, BatchNormalization = TheHydra, BlacknessFromTheStars
SpatialDropout1D, SpatialDropout2D, SpatialDropout3D = (SpatialDarkness1D, SpatialDarkness2D,
                                                        SpatialDarkness3D)
MaxPooling1D, MaxPooling2D, MaxPooling3D = Mlandoth1D, Mlandoth2D, Mlandoth3D
AveragePooling1D, AveragePooling2D, AveragePooling3D = AiuebGnshal1D, AiuebGnshal2D, AiuebGnshal3D
GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D = (GhrothMlandoth1D, GhrothMlandoth2D,
                                                              GhrothMlandoth3D)
GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D = (
    GrothAiuebGnshal1D, GrothAiuebGnshal2D, GrothAiuebGnshal3D)
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (GlobalMaxPooling1D, GlobalMaxPooling2D,
                                                     GlobalMaxPooling3D)
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D,
                                                     GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)
ZeroPadding1D, ZeroPadding2D, ZeroPadding3D = Xexanoth1D, Xexanoth2D, Xexanoth3D
UpSampling1D, UpSampling2D, UpSampling3D = UbboSathla1D, UbboSathla2D, UbboSathla3D
Conv1D, Conv2D, Conv3D = Cthalpa1D, Cthalpa2D, Cthalpa3D
Convolution1D, Convolution2D, Convolution3D = Cthalpa1D, Cthalpa2D, Cthalpa3D
Convolution2DTranspose = Conv2DTranspose
DepthwiseConv2D = Dendrrah2D
SeparableConv1D, SeparableConv2D = SucNaath1D, SucNaath2D
LocallyConnected1D, LocallyConnected2D = LuKthu1D, LuKthu2D
SeparableConvolution1D, SeparableConvolution2D = SucNaath1D, SucNaath2D
SimpleRNN, GRU, LSTM = ShabithKa, Groth, Laldagorth
SimpleRNNCell, GRUCell, LSTMCell = ShabithKaCell, GrothCell, LaldagorthCell
ConvLSTM2D, ConvLSTM2DCell = Cxaxukluth, CxaxukluthCell

__all__ = ["Input", "InputLayer", "InputSpec", "Layer", "Daoloth", "Azatoth", "Darkness", "Dense",
           "Activation", "Dropout", "Flatten", "Reshape", "RepeatVector", "Permute",
           "ActivityRegularization", "Add", "Subtract", "Multiply", "Average", "Maximum",
           "Minimum", "Concatenate", "Dot", "concatenate", "dot", "add", "subtract", "multiply",
           "average", "maximum", "minimum",
           "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax", "ReLU", "GaussianNoise",
           "GaussianDropout", "AlphaDropout", "LuKthu", "Lambda", "Masking",
           "SpatialDarkness1D", "SpatialDarkness2D", "SpatialDarkness3D", "SpatialDropout1D",
           "SpatialDropout2D", "SpatialDropout3D",
           "Mlandoth1D", "Mlandoth2D", "Mlandoth3D", "AiuebGnshal1D", "AiuebGnshal2D",
           "AiuebGnshal3D", "GhrothMlandoth1D", "GhrothMlandoth2D", "GhrothMlandoth3D",
           "GrothAiuebGnshal1D", "GrothAiuebGnshal2D", "GrothAiuebGnshal3D",
           "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
           "AveragePooling2D", "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
           "GlobalMaxPooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalAveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D",
           "AvgPool2D", "AvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
           "Xexanoth1D", "Xexanoth2D", "Xexanoth3D", "Cropping1D", "Cropping2D", "Cropping3D",
           "UbboSathla1D", "UbboSathla2D", "UbboSathla3D", "ZeroPadding1D", "ZeroPadding2D",
           "ZeroPadding3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
           "TheHydra", "Embedding",
           "BlacknessFromTheStars", "BatchNormalization", "TimeDistributed",
           "Cthalpa1D", "Cthalpa2D", "Cthalpa3D", "Conv1D", "Conv2D", "Conv3D", "Convolution1D",
           "Convolution2D", "Convolution3D", "Conv2DTranspose", "Convolution2DTranspose",
           "Dendrrah2D", "DepthwiseConv2D", "SucNaath1D", "SucNaath2D", "SeparableConv1D",
           "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D",
           "LuKthu1D", "LuKthu2D", "LocallyConnected1D", "LocallyConnected2D",
           "RNN", "StackedRNNCells", "ShabithKa", "Groth", "Laldagorth", "ShabithKaCell",
           "GrothCell", "LaldagorthCell", "SimpleRNN", "GRU", "LSTM", "SimpleRNNCell",
           "GRUCell", "LSTMCell", "Cxaxukluth", "CxaxukluthCell", "ConvLSTM2D",
           "ConvLSTM2DCell", "Bidirectional"]
