"""The saving methods of Pile and Lump (Keras's ``save``, ``save_weights``, ``load_weights``,
``to_json``), kept here so that the model classes only inherit them."""

from __future__ import annotations

from typing import Any, Optional


class SavingMixin:
    def save(self, filepath: Any, overwrite: bool = True, include_optimizer: bool = True,
             save_format: Optional[str] = None) -> None:
        """Architecture, weights, training configuration and optimizer state, in the Keras 2
        HDF5 layout (reference Keras reads it with ``load_model``)."""
        from cthulhu.saving.model_io import save_model
        save_model(self, filepath, overwrite, include_optimizer, save_format)

    def save_weights(self, filepath: Any, overwrite: bool = True,
                     save_format: Optional[str] = None) -> None:
        from cthulhu.saving.model_io import save_weights
        save_weights(self, filepath, overwrite, save_format)

    def load_weights(self, filepath: Any, by_name: bool = False,
                     skip_mismatch: bool = False) -> None:
        """Weights from an HDF5 file, by layer order (by_name=False) or by layer name. The
        whole file is checked before any weight changes."""
        from cthulhu.saving.model_io import load_weights
        load_weights(self, filepath, by_name, skip_mismatch)

    def to_json(self, **kwargs: Any) -> str:
        from cthulhu.saving.model_io import model_to_json
        return model_to_json(self, **kwargs)

    def to_yaml(self, **kwargs: Any) -> str:
        raise NotImplementedError("to_yaml was removed from Keras for safety; use to_json")
