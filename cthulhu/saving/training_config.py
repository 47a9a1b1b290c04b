"""The ``training_config`` attribute: what conjure was given (loss, metrics, loss weights,
optimizer) in the JSON form reference Keras writes and reads."""

from __future__ import annotations

from typing import Any, Callable

from cthulhu import losses, optimizers
from cthulhu import metrics as metrics_module
from cthulhu.saving import optimizer_state

# Optimizer config keys of tf-keras that do not change what the optimizer computes.
_IGNORED_OPTIMIZER_KEYS = ("is_legacy_optimizer", "jit_compile")


def _nested(value: Any, fn: Callable) -> Any:
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _nested(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nested(v, fn) for v in value]
    return None if value is None else fn(value)


def _metric_name(metric: Any) -> Any:
    return metric if isinstance(metric, str) else metrics_module.serialize(metric)


def optimizer_config(optimizer: Any) -> dict:
    config = optimizer.get_config()
    if not config.get("decay"):
        config.pop("decay", None)  # tf-keras's optimizers refuse the (Keras 2) decay key
    # Tells tf-keras which of its optimizers to build (no flag: the legacy one, which also
    # refuses the flag): the state layout optimizer_state wrote is that one's.
    if not optimizer_state.uses_legacy_layout(optimizer):
        config["is_legacy_optimizer"] = False
    return {"class_name": type(optimizer).__name__, "config": config}


def training_config(model: Any) -> dict:
    loss, loss_weights, metrics, weighted_metrics, sample_weight_mode = model._conjure_args
    return {"loss": _nested(loss, losses.serialize),
            "metrics": _nested(metrics, _metric_name),
            "weighted_metrics": _nested(weighted_metrics, _metric_name),
            "loss_weights": loss_weights, "sample_weight_mode": sample_weight_mode,
            "optimizer_config": optimizer_config(model.optimizer)}


# ---- reading ----------------------------------------------------------------------------
def _read_optimizer(config: dict, custom: dict) -> Any:
    class_name = str(config["class_name"])
    if class_name in custom:
        return custom[class_name].from_config(config.get("config", {}))
    class_name = class_name.split(">")[-1]  # tf-keras writes "Custom>Adam"
    settings = {k: v for k, v in config.get("config", {}).items()
                if k not in _IGNORED_OPTIMIZER_KEYS}
    if isinstance(settings.get("learning_rate"), dict):
        raise NotImplementedError(f"learning-rate schedules "
                                  f"({settings['learning_rate'].get('class_name')}) are not "
                                  f"supported")
    return optimizers.deserialize({"class_name": class_name, "config": settings})


def _read_metric(entry: Any, custom: dict) -> Any:
    if isinstance(entry, str):
        return custom.get(entry, entry)
    if isinstance(entry, dict) and entry.get("class_name") == "MeanMetricWrapper":
        config = entry.get("config", {})
        name, fn = config.get("name"), config.get("fn")
        if name in custom:
            return custom[name]
        if metrics_module.is_shape_resolved(name):  # keep 'accuracy': it resolves per shape
            return name
        for candidate in (name, fn):
            try:
                metrics_module.get(candidate)
                return candidate
            except (ValueError, TypeError):
                continue
        return custom.get(fn, fn)
    raise NotImplementedError(f"metric {entry!r} in the training configuration is not "
                              f"supported")


def _read_loss(entry: Any, custom: dict) -> Any:
    if isinstance(entry, str) and entry in custom:
        return custom[entry]
    if isinstance(entry, dict) and entry.get("class_name") in custom:
        return custom[entry["class_name"]].from_config(entry.get("config", {}))
    return losses.deserialize(entry)


def conjure_args(config: dict, custom: dict) -> dict:
    """Keyword arguments of ``conjure`` from a training configuration."""
    metrics = _nested(config.get("metrics"), lambda m: _read_metric(m, custom))
    weighted = _nested(config.get("weighted_metrics"), lambda m: _read_metric(m, custom))
    return {"optimizer": _read_optimizer(config["optimizer_config"], custom),
            "loss": _nested(config.get("loss"), lambda x: _read_loss(x, custom)),
            "metrics": metrics, "weighted_metrics": weighted,
            "loss_weights": config.get("loss_weights"),
            "sample_weight_mode": config.get("sample_weight_mode")}
