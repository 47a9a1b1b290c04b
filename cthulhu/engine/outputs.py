"""What conjure says about each model output: its loss, loss weight and metrics, resolved
from the many forms Keras accepts (one for all outputs, a list in output order, a dict by
output name)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from cthulhu import losses
from cthulhu import metrics as metrics_module


@dataclass
class OutputSpec:
    name: str  # the output layer's name
    shape: tuple  # the output's shape, batch axis None
    loss: Any  # a loss function or a Loss instance
    weight: float = 1.0
    metrics: list[tuple[str, Callable]] = field(default_factory=list)  # (log name, function)
    # Metrics averaged with the sample weights as weights (conjure's weighted_metrics).
    weighted_metrics: list[tuple[str, Callable]] = field(default_factory=list)
    # sample_weight_mode='temporal': one weight per sample and timestep, shape (batch, steps).
    temporal: bool = False

    @property
    def sample_weight_shape(self) -> tuple:
        return self.sample_weight_shape_for(self.shape)

    @property
    def target_shape(self) -> tuple:
        return self.target_shape_for(self.shape)

    def sample_weight_shape_for(self, output_shape: tuple) -> tuple:
        # A model with a fixed batch size (stateful RNNs) weighs that many samples.
        return output_shape[:2] if self.temporal else output_shape[:1]

    def target_shape_for(self, output_shape: tuple) -> tuple:
        if losses.is_sparse(self.loss):
            return output_shape[:-1] + (1,)
        return output_shape


def _per_output(value: Any, names: list[str], what: str, default: Any) -> list:
    """One entry per output from a single value, a list in output order or a dict."""
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"Unknown entries in {what} dictionary: {sorted(unknown)}. Only "
                             f"expected the following keys: {names}")
        return [value.get(name, default) for name in names]
    if isinstance(value, (list, tuple)) and what != "metrics":
        if len(value) != len(names):
            raise ValueError(f"When passing a list as {what}, it should have one entry per "
                             f"model output. The model has {len(names)} outputs, but you "
                             f"passed {what}={value!r}")
        return list(value)
    return [value] * len(names)


def _resolve_loss(identifier: Any, name: str) -> Any:
    if identifier is None:
        raise ValueError(f"Output {name!r} has no loss: give conjure a loss for every output")
    try:
        return losses.get(identifier)
    except ValueError as err:
        raise ValueError(f"Invalid loss for output {name!r}: {err}") from None


def check_metric_identifiers(metrics: Any) -> None:
    """Fail early on metric names that do not exist."""
    groups = metrics.values() if isinstance(metrics, dict) else [metrics]
    for group in groups:
        items = group if isinstance(group, (list, tuple)) else [group]
        for item in items:
            subitems = item if isinstance(item, (list, tuple)) else [item]
            for ident in subitems:
                if ident is not None and not metrics_module.is_shape_resolved(ident):
                    try:
                        metrics_module.get(ident)
                    except ValueError as err:
                        raise ValueError(f"Invalid metric: {err}") from None


def _metric_lists(metrics: Any, names: list[str]) -> list[list]:
    if metrics is None:
        return [[] for _ in names]
    if isinstance(metrics, dict):
        per = _per_output(metrics, names, "metrics", [])
        return [m if isinstance(m, (list, tuple)) else [m] for m in per]
    if not isinstance(metrics, (list, tuple)):
        raise ValueError(f"metrics must be a list, a list of lists or a dict, got "
                         f"{type(metrics).__name__}")
    if metrics and all(isinstance(m, (list, tuple)) for m in metrics):
        if len(metrics) != len(names):
            raise ValueError(f"When passing a list of lists as metrics, it should have one "
                             f"list per model output ({len(names)}), got {len(metrics)}")
        return [list(m) for m in metrics]
    return [list(metrics) for _ in names]


def _metric_function(ident: Any, spec: OutputSpec) -> tuple[str, Callable]:
    if metrics_module.is_shape_resolved(ident):
        return ident, metrics_module.resolve(ident, spec.target_shape, spec.shape)
    fn = metrics_module.get(ident)
    return (ident if isinstance(ident, str) else getattr(fn, "__name__", "metric")), fn


def resolve(names: list[str], shapes: list[tuple], loss: Any, loss_weights: Any,
            metrics: Any, weighted_metrics: Any = None,
            sample_weight_mode: Any = None) -> list[OutputSpec]:
    specs = []
    loss_list = _per_output(loss, names, "loss", None)
    modes = _per_output(sample_weight_mode, names, "sample_weight_mode", None)
    weight_list = _per_output(loss_weights, names, "loss_weights", 1.0) \
        if loss_weights is not None else [1.0] * len(names)
    several = len(names) > 1
    taken: set[str] = set()
    for name, shape, loss_id, weight, metric_ids, weighted_ids, mode in zip(
            names, shapes, loss_list, weight_list, _metric_lists(metrics, names),
            _metric_lists(weighted_metrics, names), modes):
        spec = OutputSpec(name, tuple(shape), _resolve_loss(loss_id, name), float(weight))
        if mode == "temporal":
            if len(shape) < 3:
                raise ValueError(f"sample_weight_mode='temporal' needs an output of rank 3 or "
                                 f"more, (batch, timesteps, ...); output {name!r} has shape "
                                 f"{tuple(shape)}")
            spec.temporal = True
        prefix = f"{name}_" if several else ""
        for ident in metric_ids:
            metric_name, fn = _metric_function(ident, spec)
            spec.metrics.append((prefix + metric_name, fn))
            taken.add(prefix + metric_name)
        for ident in weighted_ids:
            # As reference Keras: "weighted_" only when the plain name is already taken.
            metric_name, fn = _metric_function(ident, spec)
            log_name = prefix + metric_name
            if log_name in taken:
                log_name = prefix + "weighted_" + metric_name
            if log_name in taken:
                raise ValueError(f"Found two weighted metrics with the same name: {log_name}")
            spec.weighted_metrics.append((log_name, fn))
            taken.add(log_name)
        specs.append(spec)
    return specs


def log_names(specs: list[OutputSpec]) -> list[str]:
    """The names of the scalars a train or test step returns, in order."""
    names = ["loss"]
    if len(specs) > 1:
        names += [f"{spec.name}_loss" for spec in specs]
    return names + [metric_name for spec in specs
                    for metric_name, _ in spec.metrics + spec.weighted_metrics]
