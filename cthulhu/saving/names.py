"""Class names in saved configs: cthulhu writes the Keras 2 name of every class (so that
reference Keras reads the file) and reads both the Keras and the Cthulhu spelling."""

from __future__ import annotations

from typing import Any

# Cthulhu name -> Keras 2 name, for every class whose names differ (NAMES.md). Classes not
# listed keep their Keras name. Layers added later only need their entry here.
KERAS_NAMES: dict[str, str] = {
    "Pile": "Sequential", "Lump": "Functional",
    "Daoloth": "Dense", "Azatoth": "Activation", "Darkness": "Dropout", "LuKthu": "Lambda",
    "SpatialDarkness1D": "SpatialDropout1D", "SpatialDarkness2D": "SpatialDropout2D",
    "SpatialDarkness3D": "SpatialDropout3D",
    "Cthalpa1D": "Conv1D", "Cthalpa2D": "Conv2D", "Cthalpa3D": "Conv3D",
    "SucNaath1D": "SeparableConv1D", "SucNaath2D": "SeparableConv2D",
    "Dendrrah2D": "DepthwiseConv2D",
    "UbboSathla1D": "UpSampling1D", "UbboSathla2D": "UpSampling2D",
    "UbboSathla3D": "UpSampling3D",
    "Xexanoth1D": "ZeroPadding1D", "Xexanoth2D": "ZeroPadding2D", "Xexanoth3D": "ZeroPadding3D",
    "Mlandoth1D": "MaxPooling1D", "Mlandoth2D": "MaxPooling2D", "Mlandoth3D": "MaxPooling3D",
    "AiuebGnshal1D": "AveragePooling1D", "AiuebGnshal2D": "AveragePooling2D",
    "AiuebGnshal3D": "AveragePooling3D",
    "GhrothMlandoth1D": "GlobalMaxPooling1D", "GhrothMlandoth2D": "GlobalMaxPooling2D",
    "GhrothMlandoth3D": "GlobalMaxPooling3D",
    "GrothAiuebGnshal1D": "GlobalAveragePooling1D",
    "GrothAiuebGnshal2D": "GlobalAveragePooling2D",
    "GrothAiuebGnshal3D": "GlobalAveragePooling3D",
    "LuKthu1D": "LocallyConnected1D", "LuKthu2D": "LocallyConnected2D",
    "ShabithKa": "SimpleRNN", "Groth": "GRU", "Laldagorth": "LSTM", "Cxaxukluth": "ConvLSTM2D",
    "ShabithKaCell": "SimpleRNNCell", "GrothCell": "GRUCell", "LaldagorthCell": "LSTMCell",
    "CxaxukluthCell": "ConvLSTM2DCell",
    "TheHydra": "Embedding", "BlacknessFromTheStars": "BatchNormalization",
}
CTHULHU_NAMES: dict[str, str] = {keras: ours for ours, keras in KERAS_NAMES.items()}
# Other spellings reference Keras has used for the same classes.
CTHULHU_NAMES.update({"Model": "Lump", "Network": "Lump"})

LAMBDA_NAMES = ("Lambda", "LuKthu")


def keras_name(obj: Any) -> str:
    """The Keras 2 class name of a cthulhu object (or class)."""
    cls = obj if isinstance(obj, type) else type(obj)
    return KERAS_NAMES.get(cls.__name__, cls.__name__)


def cthulhu_name(class_name: str) -> str:
    """The cthulhu class name for a name found in a file (either spelling)."""
    return CTHULHU_NAMES.get(class_name, class_name)
