"""save_model / load_model and the weights-only files, in the Keras 2 HDF5 layout.

Writes go through ``atomic_path``: a failed or interrupted save leaves the previous file as
it was. Loads read and check the whole file before anything is assigned."""

from __future__ import annotations

import os
import warnings
from typing import Any, Optional

import h5py

from cthulhu.saving import (
    h5_weights,
    optimizer_state,
    random_seeds,
    serialization,
    training_config,
)
from cthulhu.saving.atomic import atomic_path
from cthulhu.saving.errors import SaveFileError
from cthulhu.saving.h5_attrs import as_text


def _check_format(save_format: Optional[str]) -> None:
    if save_format not in (None, "h5", "hdf5"):
        raise NotImplementedError(f"save_format={save_format!r} is not supported: cthulhu "
                                  f"saves the Keras 2 HDF5 format only (save_format='h5')")


def _target(filepath: Any) -> str:
    if isinstance(filepath, (h5py.File, h5py.Group)):
        raise NotImplementedError("saving into an open h5py.File is not supported: a save "
                                  "replaces the whole file atomically; pass its path")
    return os.fspath(filepath)


def _check_overwrite(path: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise NotImplementedError("overwrite=False (asking before overwriting) is not "
                                  "supported; the file exists: " + path)


def _model_config(model: Any) -> dict:
    return serialization.serialize_layer(model)


def save_model(model: Any, filepath: Any, overwrite: bool = True,
               include_optimizer: bool = True, save_format: Optional[str] = None) -> None:
    """Architecture, weights, training configuration and optimizer state in one file."""
    _check_format(save_format)
    path = _target(filepath)
    _check_overwrite(path, overwrite)
    model_config = serialization.to_json(_model_config(model))
    conjured = getattr(model, "optimizer", None) is not None
    train_config = serialization.to_json(training_config.training_config(model)) \
        if conjured else None
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["backend"] = h5_weights.BACKEND
        f.attrs["keras_version"] = h5_weights.keras_version()
        f.attrs["model_config"] = model_config
        if train_config is not None:
            f.attrs["training_config"] = train_config
        h5_weights.write_weights(f.create_group("model_weights"), model)
        random_seeds.write_seeds(f.attrs, model)
        if conjured and include_optimizer:
            optimizer_state.write_state(f, model.optimizer, list(model.trainable_weights))


def save_weights(model: Any, filepath: Any, overwrite: bool = True,
                 save_format: Optional[str] = None) -> None:
    _check_format(save_format)
    path = _target(filepath)
    _check_overwrite(path, overwrite)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        h5_weights.write_weights(f, model)


# ---- reading ----------------------------------------------------------------------------
class _Open:
    """An HDF5 file opened for reading, or one the caller already opened; any h5py failure
    to open becomes a SaveFileError naming the file."""

    def __init__(self, filepath: Any) -> None:
        self.given = isinstance(filepath, (h5py.File, h5py.Group))
        self.path = filepath.file.filename if self.given else os.fspath(filepath)
        self.file: Any = filepath if self.given else None

    def __enter__(self) -> Any:
        if self.given:
            return self.file
        if not os.path.exists(self.path):
            raise FileNotFoundError(f"No file or directory found at {self.path}")
        try:
            self.file = h5py.File(self.path, "r")
        except OSError as err:
            raise SaveFileError(f"{self.path}: not a readable HDF5 file (it may be truncated, "
                                f"corrupt, or in another format): {err}") from None
        return self.file

    def __exit__(self, *exc: Any) -> None:
        if not self.given and self.file is not None:
            self.file.close()


def _read_json_attr(f: Any, key: str, path: str) -> Any:
    try:
        raw = f.attrs.get(key)
    except (OSError, RuntimeError) as err:
        raise SaveFileError(f"{path}: cannot read attribute {key!r} ({err}); the file is "
                            f"corrupt or truncated") from None
    if raw is None:
        return None
    try:
        return serialization.from_json(as_text(raw), key)
    except ValueError as err:
        raise SaveFileError(f"{path}: {err}") from None


def load_model(filepath: Any, custom_objects: Optional[dict] = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """A model from a file written by ``save_model`` (cthulhu's or reference Keras's).

    ``safe_mode=True`` (the default) refuses Lambda layers holding Python bytecode."""
    with _Open(filepath) as f:
        path = f.file.filename
        config = _read_json_attr(f, "model_config", path)
        if config is None:
            raise SaveFileError(f"{path}: no model_config attribute: not a saved model (a "
                                f"weights-only file is read with model.load_weights)")
        with serialization.loading_options(custom_objects, safe_mode):
            model = serialization.deserialize_layer(config)
            if "model_weights" not in f:
                raise SaveFileError(f"{path}: the model_weights group is missing")
            saved = h5_weights.read_weights(f["model_weights"], path)
            train = _read_json_attr(f, "training_config", path) if compile else None
            state = optimizer_state.read_state(f, path) \
                if train is not None and "optimizer_weights" in f else None
            # Everything is read; assigning can only fail on a mismatch, checked first.
            h5_weights.assign_by_topology(model, saved, path)
            random_seeds.restore_seeds(f.attrs, model)
            if compile and train is None:
                warnings.warn(f"{path} has no training configuration, so the model was not "
                              f"conjured; conjure it before training", stacklevel=2)
            if train is not None:
                _conjure(model, train, path)
                if state is not None:
                    optimizer_state.assign_state(model.optimizer,
                                                 list(model.trainable_weights), state, path)
    return model


def _conjure(model: Any, train: dict, path: str) -> None:
    try:
        args = training_config.conjure_args(train, serialization.custom_objects())
        model.conjure(**args)
    except (ValueError, NotImplementedError, TypeError) as err:
        raise type(err)(f"{path}: cannot restore the training configuration ({err}); "
                        f"load_model(..., compile=False) loads the model without "
                        f"it") from None


def load_weights(model: Any, filepath: Any, by_name: bool = False,
                 skip_mismatch: bool = False) -> None:
    if skip_mismatch and not by_name:
        raise ValueError("When calling load_weights with skip_mismatch=True, by_name must "
                         "also be True")
    with _Open(filepath) as f:
        path = f.file.filename
        group = f["model_weights"] if "model_weights" in f and \
            "layer_names" not in f.attrs and "layer_names0" not in f.attrs else f
        saved = h5_weights.read_weights(group, path)
        if by_name:
            h5_weights.assign_by_name(model, saved, path, skip_mismatch)
        else:
            h5_weights.assign_by_topology(model, saved, path)


# ---- configs ----------------------------------------------------------------------------
def model_from_config(config: dict, custom_objects: Optional[dict] = None,
                      safe_mode: bool = True) -> Any:
    if isinstance(config, list):
        raise TypeError("model_from_config expects a dict {'class_name': ..., 'config': ...}; "
                        "to build a Pile from a list of layer configs use "
                        "Pile.from_config(config)")
    with serialization.loading_options(custom_objects, safe_mode):
        return serialization.deserialize_layer(config)


def model_from_json(json_string: str, custom_objects: Optional[dict] = None,
                    safe_mode: bool = True) -> Any:
    return model_from_config(serialization.from_json(json_string, "model JSON"),
                             custom_objects, safe_mode)


def model_to_json(model: Any, **kwargs: Any) -> str:
    from cthulhu.saving.h5_weights import BACKEND, keras_version
    return serialization.to_json({**_model_config(model), "keras_version": keras_version(),
                                  "backend": BACKEND}, **kwargs)
