"""Model weights in the Keras 2 HDF5 layout: one group per layer (attribute ``weight_names``)
listed by the ``layer_names`` attribute, one dataset per weight. Loading reads and checks
every array first and assigns only when all of them fit, so a bad file changes nothing."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from cthulhu.saving import h5_attrs
from cthulhu.saving.errors import SaveFileError

BACKEND = "cthulhu"


def keras_version() -> str:
    # The Keras API version cthulhu follows, labelled with the cthulhu version.
    from cthulhu import __version__
    return f"2.21.0+cthulhu.{__version__}"


def layer_weights(layer: Any) -> list:
    """A layer's weights in file order: trainable, then non-trainable (Keras's order)."""
    seen: set[int] = set()
    out = []
    for var in list(layer.trainable_weights) + list(layer.non_trainable_weights):
        if id(var) not in seen:
            seen.add(id(var))
            out.append(var)
    return out


def weight_name(var: Any) -> str:
    return var.name if ":" in var.name else f"{var.name}:0"


# ---- writing ----------------------------------------------------------------------------
def write_array(group: Any, name: str, value: np.ndarray) -> None:
    """A dataset with a Fletcher-32 checksum where HDF5 allows one (not on scalars or empty
    arrays), so that flipped bytes in the data are an error when read, not silent garbage.
    The checksum is a standard HDF5 filter: every reader, reference Keras included, knows it."""
    if value.ndim and value.size and value.nbytes < 2**31:  # HDF5 chunks stay under 4 GB
        group.create_dataset(name, data=value, fletcher32=True, chunks=value.shape)
    else:
        group.create_dataset(name, data=value)


def write_weights(group: Any, model: Any) -> None:
    group.attrs["backend"] = BACKEND.encode("utf-8")
    group.attrs["keras_version"] = keras_version().encode("utf-8")
    layers = list(model.layers)
    h5_attrs.write_names(group.attrs, "layer_names", [layer.name for layer in layers])
    for layer in layers:
        sub = group.create_group(layer.name)
        weights = layer_weights(layer)
        names = [weight_name(w) for w in weights]
        if len(set(names)) != len(names):
            raise ValueError(f"Layer {layer.name!r} has several weights of one name "
                             f"({names}); the HDF5 layout needs unique names")
        h5_attrs.write_names(sub.attrs, "weight_names", names)
        for name, var in zip(names, weights):
            write_array(sub, name, var.numpy())
    top = group.create_group("top_level_model_weights")
    h5_attrs.write_names(top.attrs, "weight_names", [])


# ---- reading ----------------------------------------------------------------------------
SavedLayer = tuple[str, list[tuple[str, np.ndarray]]]


def read_weights(group: Any, path: str) -> list[SavedLayer]:
    """Every layer's (name, [(weight name, array)]) in the file's order, read in full."""
    try:
        layer_names = h5_attrs.read_names(group.attrs, "layer_names")
    except KeyError:
        raise SaveFileError(f"{path}: no 'layer_names' attribute: this is not a Keras "
                            f"weights file") from None
    except (OSError, RuntimeError) as err:
        raise SaveFileError(f"{path}: cannot read the list of layers ({err}); the file is "
                            f"corrupt or truncated") from None
    saved = []
    for name in layer_names:
        try:
            sub = group[name]
        except KeyError:
            raise SaveFileError(f"{path}: layer {name!r} is listed but its group is "
                                f"missing") from None
        except (OSError, RuntimeError) as err:
            raise SaveFileError(f"{path}: cannot read layer {name!r} ({err}); the file is "
                                f"corrupt or truncated") from None
        try:
            names = h5_attrs.read_names(sub.attrs, "weight_names")
        except KeyError:
            names = []
        except (OSError, RuntimeError) as err:
            raise SaveFileError(f"{path}: cannot read the weight names of layer {name!r} "
                                f"({err}); the file is corrupt or truncated") from None
        saved.append((name, [(w, _read_array(sub, w, name, path)) for w in names]))
    return saved


def _read_array(group: Any, weight: str, layer: str, path: str) -> np.ndarray:
    try:
        dataset = group[weight]
    except KeyError:
        raise SaveFileError(f"{path}: layer {layer!r} lists weight {weight!r} but the file "
                            f"has no such dataset (missing weight)") from None
    except (OSError, RuntimeError) as err:
        raise SaveFileError(f"{path}: cannot read weight {weight!r} of layer {layer!r} "
                            f"({err}); the file is corrupt or truncated") from None
    try:
        return np.asarray(dataset[()])
    except (OSError, RuntimeError, ValueError, TypeError) as err:
        raise SaveFileError(f"{path}: cannot read the data of weight {weight!r} of layer "
                            f"{layer!r} {tuple(dataset.shape)} ({err}); the file is corrupt "
                            f"or truncated") from None


def _check_layer(layer: Any, saved: SavedLayer, path: str) -> list[tuple[Any, np.ndarray]]:
    """(variable, array) pairs for one layer, or SaveFileError naming what does not fit."""
    name, arrays = saved
    weights = layer_weights(layer)
    if len(arrays) != len(weights):
        raise SaveFileError(
            f"{path}: layer {layer.name!r} (saved as {name!r}) expects {len(weights)} "
            f"weight(s) {[weight_name(w) for w in weights]} but the file has {len(arrays)} "
            f"{[w for w, _ in arrays]}")
    pairs = []
    for var, (saved_name, array) in zip(weights, arrays):
        if tuple(array.shape) != tuple(var.shape):
            raise SaveFileError(
                f"{path}: shape mismatch in layer {layer.name!r} (saved as {name!r}): weight "
                f"{weight_name(var)!r} has shape {tuple(var.shape)} in the model but "
                f"{saved_name!r} has shape {tuple(array.shape)} in the file")
        pairs.append((var, array))
    return pairs


def assign_by_topology(model: Any, saved: list[SavedLayer], path: str) -> None:
    layers = [layer for layer in model.layers if layer_weights(layer)]
    saved = [entry for entry in saved if entry[1]]
    if len(layers) != len(saved):
        raise SaveFileError(
            f"{path}: layer count mismatch: the model has {len(layers)} layer(s) with "
            f"weights {[layer.name for layer in layers]} but the file has {len(saved)} "
            f"{[name for name, _ in saved]}")
    pairs = [p for layer, entry in zip(layers, saved) for p in _check_layer(layer, entry, path)]
    _assign(pairs)


def assign_by_name(model: Any, saved: list[SavedLayer], path: str,
                   skip_mismatch: bool = False) -> None:
    by_name = {layer.name: layer for layer in model.layers}
    pairs = []
    for entry in saved:
        layer = by_name.get(entry[0])
        if layer is None or (not entry[1] and not layer_weights(layer)):
            continue
        try:
            pairs += _check_layer(layer, entry, path)
        except SaveFileError as err:
            if not skip_mismatch:
                raise
            warnings.warn(f"Skipping loading weights for layer {layer.name!r}: {err}",
                          stacklevel=3)
    _assign(pairs)


def _assign(pairs: list[tuple[Any, np.ndarray]]) -> None:
    for var, array in pairs:
        var.assign(array)
