"""Array data: validation against the model, and batch assembly into plan buffers."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


class SparseRows:
    """A scipy.sparse matrix given as input data (Keras 2 accepts one for any input): its
    rows are densified batch by batch, as they are copied into the plan's buffers."""

    ndim = 2

    def __init__(self, matrix: Any) -> None:
        self.matrix = matrix.tocsr()
        self.shape = self.matrix.shape
        self.dtype = self.matrix.dtype

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, rows: Any) -> SparseRows:
        return SparseRows(self.matrix[rows])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        dense = self.matrix.toarray()
        return dense if dtype is None else dense.astype(dtype)


def as_array(data: Any, what: str) -> Any:
    """One numeric array (or SparseRows) from what a user passed for one input or target."""
    if isinstance(data, (list, tuple)) and len(data) == 1 and hasattr(data[0], "shape"):
        data = data[0]
    from scipy import sparse
    if sparse.issparse(data):
        if data.dtype.kind not in "biuf":
            raise TypeError(f"Error when checking model {what}: expected numeric data, got a "
                            f"sparse matrix of dtype {data.dtype}")
        return SparseRows(data)
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Error when checking model {what}: expected numeric data, got an "
                        f"array of dtype {array.dtype}")
    if array.ndim == 0:
        raise ValueError(f"Error when checking model {what}: expected an array with a batch "
                         f"axis, got a scalar")
    return array


def check_shape(array: np.ndarray, expected: tuple, what: str, name: str) -> np.ndarray:
    """Keras's standardize check: a 1-D array becomes (n, 1) when the model expects 2-D."""
    if isinstance(array, SparseRows):
        if len(expected) != 2 or expected[1] not in (None, array.shape[1]):
            raise ValueError(f"Error when checking {what}: expected {name} to have shape "
                             f"{tuple(expected[1:])} but got a sparse matrix of shape "
                             f"{array.shape}")
        return array
    if array.ndim == 1 and len(expected) == 2:
        array = array.reshape(-1, 1)
    if array.ndim != len(expected):
        raise ValueError(f"Error when checking {what}: expected {name} to have {len(expected)} "
                         f"dimensions, but got array with shape {array.shape}")
    for want, got in zip(expected[1:], array.shape[1:]):
        if want is not None and want != got:
            raise ValueError(f"Error when checking {what}: expected {name} to have shape "
                             f"{tuple(expected[1:])} but got array with shape "
                             f"{tuple(array.shape[1:])}")
    return np.ascontiguousarray(array)


def check_fits(arrays: list[np.ndarray], plan: Any) -> None:
    """Arrays against a plan compiled for their input lengths (inputs with axes unknown
    until run time): targets and sample weights must follow the outputs' lengths."""
    for array, buffer, value in zip(arrays, plan.inputs, plan.graph.inputs):
        if tuple(array.shape[1:]) != tuple(buffer.shape[1:]):
            what = {"x": "input", "y": "target", "s": "sample weights"}[value.name[0]]
            raise ValueError(f"Error when checking {what} {value.name}: with inputs of shape "
                             f"{tuple(arrays[0].shape)} the model expects an array of shape "
                             f"{(None,) + tuple(buffer.shape[1:])} but got array with shape "
                             f"{tuple(array.shape)}")


def check_same_length(x: np.ndarray, y: np.ndarray) -> None:
    if len(x) != len(y):
        raise ValueError(f"Input arrays should have the same number of samples as target "
                         f"arrays. Found {len(x)} input samples and {len(y)} target samples.")


def check_batch_size(batch_size: Any) -> int:
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


class BatchFeeder:
    """Copies batches (by index or by slice) straight into a plan's input buffers, converting
    dtypes on the way, in native code."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        from cthulhu._kernels.gather import copy_rows, gather_rows
        self.arrays = arrays
        self._gather, self._copy = gather_rows, copy_rows

    def gather(self, index: np.ndarray, buffers: list[np.ndarray]) -> None:
        for src, dst in zip(self.arrays, buffers):
            if isinstance(src, SparseRows):
                np.copyto(dst[:len(index)], src.matrix[index].toarray(), casting="unsafe")
            else:
                self._gather(src, index, dst)

    def slice(self, start: int, stop: int, buffers: list[np.ndarray]) -> None:
        for src, dst in zip(self.arrays, buffers):
            if isinstance(src, SparseRows):
                np.copyto(dst[:stop - start], src.matrix[start:stop].toarray(),
                          casting="unsafe")
            else:
                self._copy(src, start, stop, dst)


def with_fixed_inputs(data: Any, names: list[str], fixed: dict[str, np.ndarray]) -> Any:
    """Input data completed with the fixed values of inputs made by Input(tensor=array): the
    user passes data only for the other inputs (None when there are none)."""
    free = [name for name in names if name not in fixed]
    if isinstance(data, dict):
        given = sorted(set(data) & set(fixed))
        if given:
            raise ValueError(f"Inputs {given} wrap a fixed tensor (Input(tensor=...)); do not "
                             f"pass data for them")
        return {**data, **fixed}
    if not free:
        if data is not None:
            raise ValueError(f"Every model input wraps a fixed tensor (Input(tensor=...)); "
                             f"pass x=None, got {type(data).__name__}")
        return [fixed[name] for name in names]
    if data is None:
        raise ValueError(f"No data provided for inputs {free}")
    values = iter(to_list(data, free, "input"))
    return [fixed[name] if name in fixed else next(values) for name in names]


def class_labels(y: np.ndarray) -> np.ndarray:
    """The class of each target row: argmax of one-hot rows, else the (integer) value."""
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)


def sample_weights(y: np.ndarray, sample_weight: Any, class_weight: Any,
                   dtype: str, temporal: bool = False) -> np.ndarray:
    """One weight per sample (per sample and timestep when ``temporal``): sample_weight
    times the weight of the sample's class."""
    shape = (len(y), y.shape[1]) if temporal else (len(y),)
    weights = np.ones(shape, dtype=np.float64)
    if sample_weight is not None:
        sw = np.asarray(sample_weight)
        if sw.dtype.kind not in "biuf":
            raise TypeError(f"sample_weight must be numeric, got dtype {sw.dtype}")
        if sw.ndim == 2 and not temporal:
            raise ValueError(f"Found a 2-D sample_weight array {sw.shape}: per-timestep "
                             f"weights need conjure(sample_weight_mode='temporal')")
        if sw.shape != shape:
            what = "one weight per sample and timestep" if temporal else \
                "one weight per sample"
            raise ValueError(f"Found a sample_weight array with shape {sw.shape} for targets "
                             f"with shape {y.shape}: it needs {what}, shape {shape}")
        if not np.all(np.isfinite(sw)):
            raise ValueError("sample_weight contains NaN or infinite values")
        weights *= sw
    if class_weight:
        if temporal:
            raise NotImplementedError("class_weight with sample_weight_mode='temporal' is not "
                                      "supported; fold the class weights into the temporal "
                                      "sample weights")
        if not isinstance(class_weight, dict):
            raise ValueError(f"class_weight must be a dict of class index -> weight, got "
                             f"{type(class_weight).__name__}")
        keys = sorted(class_weight)
        if keys != list(range(len(keys))):
            raise ValueError(f"Expected `class_weight` to be a dict with keys from 0 to one "
                             f"less than the number of classes, found {class_weight}")
        table = np.array([class_weight[k] for k in keys], dtype=np.float64)
        labels = class_labels(y)
        bad = (labels < 0) | (labels >= len(table))
        if bad.any():
            raise ValueError(f"class_weight has no weight for class {labels[bad][0]} "
                             f"(it covers classes 0 to {len(table) - 1})")
        weights *= table[labels]
    return weights.astype(dtype)


def batch_shuffled_index(n: int, batch_size: int) -> np.ndarray:
    """shuffle='batch': whole batch-sized blocks change order, rows within a block do not."""
    index = np.arange(n, dtype=np.int64)
    full = n - n % batch_size
    blocks = index[:full].reshape(-1, batch_size)
    np.random.shuffle(blocks)
    return np.concatenate([blocks.ravel(), index[full:]])


def validation_epochs(validation_freq: Any, epochs: int) -> set:
    """The (0-based) epochs after which validation runs."""
    if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(f"validation_freq must be >= 1, got {validation_freq}")
        return {e for e in range(epochs) if (e + 1) % validation_freq == 0}
    try:
        return {int(e) - 1 for e in validation_freq}
    except TypeError:
        raise ValueError(f"validation_freq must be an int or a container of epoch numbers, "
                         f"got {validation_freq!r}") from None


def to_list(data: Any, names: list[str], what: str) -> list[np.ndarray]:
    """One array per model input (or output) from an array, a list or a dict by name."""
    if isinstance(data, dict):
        missing = [name for name in names if name not in data]
        if missing:
            raise ValueError(f"No data provided for {what} {missing}. Need data for each key "
                             f"in: {names}")
        unknown = set(data) - set(names)
        if unknown:
            raise ValueError(f"Unknown entries in {what} data dictionary: {sorted(unknown)}. "
                             f"Expected keys: {names}")
        return [as_array(data[name], what) for name in names]
    if isinstance(data, (list, tuple)) and data and all(hasattr(d, "shape") or
                                                       isinstance(d, (list, tuple))
                                                       for d in data) and len(names) > 1:
        if len(data) != len(names):
            raise ValueError(f"Error when checking model {what}: the model expects "
                             f"{len(names)} arrays ({names}), but got {len(data)}")
        return [as_array(d, what) for d in data]
    if len(names) > 1:
        raise ValueError(f"Error when checking model {what}: the model expects {len(names)} "
                         f"arrays ({names}), but got a single array")
    return [as_array(data, what)]


def per_output(value: Any, names: list[str], what: str) -> list:
    """A per-output argument (sample weights) from one value for all, a list or a dict."""
    if value is None:
        return [None] * len(names)
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"Unknown entries in {what} dictionary: {sorted(unknown)}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and len(names) > 1 and value and \
            hasattr(value[0], "__len__"):
        if len(value) != len(names):
            raise ValueError(f"{what} needs one entry per model output ({len(names)}), got "
                             f"{len(value)}")
        return list(value)
    return [value] * len(names)


def class_weights_per_output(class_weight: Any, names: list[str]) -> list:
    """One class-weight dict (or None) per output, as Keras 2 reads them: a dict of class
    index -> weight for a single output; for several outputs, a dict keyed by output name
    (an output left out is not class-weighted) or a list in output order."""
    if not class_weight:
        return [None] * len(names)
    if isinstance(class_weight, dict) and set(class_weight) <= set(names):
        return [class_weight.get(name) for name in names]
    if isinstance(class_weight, (list, tuple)):
        if len(class_weight) != len(names):
            raise ValueError(f"class_weight as a list needs one dict per model output "
                             f"({len(names)}), got {len(class_weight)}")
        return list(class_weight)
    if len(names) > 1:
        raise ValueError(f"For a model with several outputs, class_weight must be a dict "
                         f"keyed by output name ({names}) or a list of one dict per output; "
                         f"got {class_weight!r}")
    return [class_weight]


class BatchStream:
    """The batches of training, as row indices. Without ``steps_per_epoch`` an epoch is one
    pass over the data (reshuffled each epoch). With it, an epoch is that many batches taken
    from a stream that continues across epochs and starts a new (reshuffled) pass whenever
    the data runs out, as reference Keras does with arrays."""

    def __init__(self, n: int, batch_size: int, shuffle: Any,
                 steps_per_epoch: Optional[int] = None) -> None:
        if steps_per_epoch is not None and (
                isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int)
                or steps_per_epoch < 1):
            raise ValueError(f"steps_per_epoch must be a positive integer, got "
                             f"{steps_per_epoch!r}")
        self.n, self.batch_size, self.shuffle = n, batch_size, shuffle
        self.steps_per_epoch = steps_per_epoch
        self._index = np.empty(0, dtype=np.int64)
        self._pos = n  # no pass started yet

    @property
    def steps(self) -> int:
        return self.steps_per_epoch or (self.n + self.batch_size - 1) // self.batch_size

    def _new_pass(self) -> None:
        if self.shuffle == "batch":
            self._index = batch_shuffled_index(self.n, self.batch_size)
        else:
            self._index = np.arange(self.n, dtype=np.int64)
            if self.shuffle:
                np.random.shuffle(self._index)
        self._pos = 0

    def epoch(self):
        """Yield the row indices of each batch of the next epoch."""
        if self.steps_per_epoch is None:
            self._pos = self.n  # an epoch is always one whole pass
        for _ in range(self.steps):
            if self._pos >= self.n:
                self._new_pass()
            batch = self._index[self._pos:self._pos + self.batch_size]
            self._pos += len(batch)
            yield batch
