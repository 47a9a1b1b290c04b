"""cthulhu.saving: models and weights to and from Keras 2 HDF5 files and JSON configs."""

from cthulhu.saving.errors import SaveFileError
from cthulhu.saving.model_io import (
    load_model,
    load_weights,
    model_from_config,
    model_from_json,
    model_to_json,
    save_model,
    save_weights,
)

__all__ = ["SaveFileError", "load_model", "load_weights", "model_from_config",
           "model_from_json", "model_to_json", "save_model", "save_weights"]
