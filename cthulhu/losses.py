"""cthulhu.losses: the Keras 2 losses, as functions (y_true, y_pred) -> one value per sample
and as ``Loss`` classes; the formulas are those of tf-keras 2.x."""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

from cthulhu import backend as K


def mean_squared_error(y_true, y_pred):
    return K.mean(K.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    return K.mean(K.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    diff = K.abs((y_true - y_pred) / K.maximum(K.abs(y_true), K.epsilon()))
    return 100.0 * K.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    first = K.log(K.maximum(y_pred, K.epsilon()) + 1.0)
    second = K.log(K.maximum(y_true, K.epsilon()) + 1.0)
    return K.mean(K.square(first - second), axis=-1)


def _signed_labels(y_true):
    """Keras hinge losses take 0/1 labels as -1/1: when every label is 0 or 1, use 2y-1."""
    zero_or_one = K.maximum(K.equal(y_true, 0.0), K.equal(y_true, 1.0))
    all_binary = K.min(zero_or_one)
    return K.switch(all_binary, 2.0 * y_true - 1.0, y_true)


def squared_hinge(y_true, y_pred):
    y_true = _signed_labels(y_true)
    return K.mean(K.square(K.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def hinge(y_true, y_pred):
    y_true = _signed_labels(y_true)
    return K.mean(K.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def categorical_hinge(y_true, y_pred):
    positive = K.sum(y_true * y_pred, axis=-1)
    negative = K.max((1.0 - y_true) * y_pred, axis=-1)
    return K.maximum(negative - positive + 1.0, 0.0)


def logcosh(y_true, y_pred):
    x = y_pred - y_true
    return K.mean(x + K.softplus(-2.0 * x) - math.log(2.0), axis=-1)


def huber(y_true, y_pred, delta: float = 1.0):
    error = y_pred - y_true
    abs_error = K.abs(error)
    quadratic = 0.5 * K.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return K.mean(K.switch(K.less_equal(abs_error, delta), quadratic, linear), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits: bool = False):
    return K.mean(K.binary_crossentropy(y_true, y_pred, from_logits), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False):
    return K.categorical_crossentropy(y_true, y_pred, from_logits)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False):
    return K.sparse_categorical_crossentropy(y_true, y_pred, from_logits)


def kullback_leibler_divergence(y_true, y_pred):
    y_true = K.clip(y_true, K.epsilon(), 1.0)
    y_pred = K.clip(y_pred, K.epsilon(), 1.0)
    return K.sum(y_true * K.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    return K.mean(y_pred - y_true * K.log(y_pred + K.epsilon()), axis=-1)


def cosine_proximity(y_true, y_pred, axis: int = -1):
    return -K.sum(K.l2_normalize(y_true, axis) * K.l2_normalize(y_pred, axis), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence = kullback_leibler_divergence
cosine = cosine_similarity = cosine_proximity
huber_loss = huber
log_cosh = logcosh

_FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, squared_hinge, hinge, categorical_hinge, logcosh,
              huber, binary_crossentropy, categorical_crossentropy,
              sparse_categorical_crossentropy, kullback_leibler_divergence, poisson,
              cosine_proximity)
_BY_NAME: dict[str, Callable] = {f.__name__: f for f in _FUNCTIONS}
_BY_NAME.update(mse=mse, MSE=mse, mae=mae, MAE=mae, mape=mape, MAPE=mape, msle=msle,
                MSLE=msle, kld=kld, KLD=kld, kl_divergence=kld, cosine=cosine,
                cosine_similarity=cosine, huber_loss=huber, log_cosh=logcosh)


# ---- Loss classes -------------------------------------------------------------------------
REDUCTIONS = ("auto", "sum_over_batch_size", "sum")


class Loss:
    """Base class: ``call(y_true, y_pred)`` gives one value per sample; ``reduction`` says
    how a batch of them becomes the loss ('auto' = 'sum_over_batch_size': the mean)."""

    def __init__(self, reduction: str = "auto", name: Optional[str] = None) -> None:
        if reduction not in REDUCTIONS:
            if reduction == "none":
                raise NotImplementedError("Loss(reduction='none') is not supported as a model "
                                          "loss yet")
            raise ValueError(f"Invalid reduction {reduction!r}; expected one of {REDUCTIONS}")
        self.reduction = reduction
        self.name = name or type(self).__name__

    def call(self, y_true, y_pred):
        raise NotImplementedError("Loss subclasses must implement call(y_true, y_pred)")

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise NotImplementedError("Loss.__call__(sample_weight=...) is not supported yet")
        return reduce_batch(self, self.call(y_true, y_pred))

    def get_config(self) -> dict:
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A Loss made of a loss function and fixed keyword arguments."""

    def __init__(self, fn: Callable, reduction: str = "auto", name: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(reduction, name or fn.__name__)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._fn_kwargs}


def _wrapper_class(class_name: str, fn: Callable, **defaults: Any) -> type:
    def __init__(self, *args: Any, reduction: str = "auto", name: Optional[str] = None,
                 **kwargs: Any) -> None:
        options = dict(defaults)
        for key, value in zip(defaults, args):
            options[key] = value
        for key, value in kwargs.items():
            if key not in defaults:
                raise TypeError(f"{class_name}: unexpected keyword argument {key!r}")
            options[key] = value
        if options.get("label_smoothing", 0):
            raise NotImplementedError(f"{class_name}(label_smoothing=...) is not supported yet")
        options.pop("label_smoothing", None)
        LossFunctionWrapper.__init__(self, fn, reduction, name or fn.__name__, **options)

    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__,
                                                     "__doc__": f"Keras ``{class_name}``."})


MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error)
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error)
MeanAbsolutePercentageError = _wrapper_class("MeanAbsolutePercentageError",
                                             mean_absolute_percentage_error)
MeanSquaredLogarithmicError = _wrapper_class("MeanSquaredLogarithmicError",
                                             mean_squared_logarithmic_error)
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge)
Hinge = _wrapper_class("Hinge", hinge)
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge)
LogCosh = _wrapper_class("LogCosh", logcosh)
Huber = _wrapper_class("Huber", huber, delta=1.0)
BinaryCrossentropy = _wrapper_class("BinaryCrossentropy", binary_crossentropy,
                                    from_logits=False, label_smoothing=0.0)
CategoricalCrossentropy = _wrapper_class("CategoricalCrossentropy", categorical_crossentropy,
                                         from_logits=False, label_smoothing=0.0)
SparseCategoricalCrossentropy = _wrapper_class("SparseCategoricalCrossentropy",
                                               sparse_categorical_crossentropy,
                                               from_logits=False)
KLDivergence = _wrapper_class("KLDivergence", kullback_leibler_divergence)
Poisson = _wrapper_class("Poisson", poisson)
CosineSimilarity = _wrapper_class("CosineSimilarity", cosine_proximity, axis=-1)

_CLASSES = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, SquaredHinge, Hinge, CategoricalHinge, LogCosh, Huber,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
    Poisson, CosineSimilarity)}


def align(weights, values):
    """Per-sample (batch,) or per-timestep (batch, steps) weights or masks, reshaped to
    broadcast against ``values`` of shape (batch, ...)."""
    extra = len(values.shape) - len(weights.shape)
    if extra < 0:
        raise ValueError(f"weights or mask of shape {weights.shape} do not fit values of shape "
                         f"{values.shape}: a temporal weight or mask needs a loss per timestep")
    if extra == 0:
        return weights
    return K.reshape(weights, (None,) + tuple(weights.shape[1:]) + (1,) * extra)


def reduce_batch(loss: Any, per_sample, sample_weight=None, mask=None):
    """The scalar loss of a batch from per-sample values, each weighted by its sample's
    weight: their mean over the batch ('sum_over_batch_size', Keras's default), or their sum
    for a Loss whose reduction is 'sum'. Masked values (mask 0) do not count: the mean is
    then over the kept values, as tf-keras computes it (and 0 when none is kept)."""
    if sample_weight is not None:
        per_sample = per_sample * align(sample_weight, per_sample)
    if mask is not None:
        mask = align(mask, per_sample)
        per_sample = per_sample * mask
    if isinstance(loss, Loss) and loss.reduction == "sum":
        return K.sum(per_sample)
    if mask is None:
        return K.mean(per_sample)
    kept = K.sum(K.ones_like(per_sample) * mask)
    return K.sum(per_sample) / K.maximum(kept, 1.0)


def per_sample_function(loss: Any) -> Callable:
    """The (y_true, y_pred) -> per-sample function of a loss given to conjure."""
    return loss.call if isinstance(loss, Loss) else loss


def get(identifier: Any) -> Any:
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier]
        except KeyError:
            raise ValueError(f"Unknown loss function: {identifier!r}. Known: "
                             f"{', '.join(sorted(_BY_NAME))}") from None
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(f"Unknown loss class in {identifier!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, Loss) or callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret loss function identifier: {identifier!r}")


def serialize(loss: Any) -> Any:
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    return getattr(loss, "__name__", str(loss))


def deserialize(config: Any) -> Any:
    return get(config)


def is_sparse(loss: Any) -> bool:
    """True for losses that take integer class labels (their targets are (batch, 1))."""
    fn = loss.fn if isinstance(loss, LossFunctionWrapper) else loss
    return fn is sparse_categorical_crossentropy
