"""The trainable model: conjure (compile), summon (fit), evaluate, predict and the
``*_on_batch`` methods, over plans compiled once per mode and cached by batch capacity."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from cthulhu import backend as K
from cthulhu import losses, optimizers
from cthulhu import metrics as metrics_module
from cthulhu._threads import ThreadTuner
from cthulhu.callbacks import Callback, CallbackList, History
from cthulhu.engine import data, loops
from cthulhu.engine.graphs import CompiledGraph, build_graph, target_shape
from cthulhu.utils.progbar import Progbar


def _ensure_kernels() -> None:
    from cthulhu._threads import configure_threads
    configure_threads()


def _not_supported(method: str, **args: Any) -> None:
    for name, value in args.items():
        if value is not None:
            raise NotImplementedError(f"{method}({name}=...) is not supported yet")


class TrainableModel:
    """Shared by Pile and (later) Lump: everything after the layer graph."""

    def _init_training(self) -> None:
        self.optimizer: Optional[optimizers.Optimizer] = None
        self.loss_fn: Any = None
        self.metric_fns: list[tuple[str, Any]] = []
        self.stop_training = False
        self.history: Optional[History] = None
        self._compiled: dict[str, CompiledGraph] = {}
        self._plans: dict[str, Any] = {}
        self._tuners: dict[str, ThreadTuner] = {}
        self._batch_totals: dict[str, tuple] = {}
        self._optimizer_version = -1

    def _invalidate(self) -> None:
        """The layer graph changed: compiled graphs and plans must be rebuilt."""
        self._compiled.clear()
        self._plans.clear()
        self._tuners.clear()

    # ---- conjure ------------------------------------------------------------------------
    def conjure(self, optimizer, loss=None, metrics=None, loss_weights=None,
                sample_weight_mode=None, weighted_metrics=None, target_tensors=None,
                **kwargs: Any) -> None:
        """Configure training (Keras ``compile``): optimizer, loss and metrics."""
        if kwargs:
            raise TypeError(f"conjure() got unexpected keyword argument(s) {sorted(kwargs)}")
        _not_supported("conjure", loss_weights=loss_weights,
                       sample_weight_mode=sample_weight_mode,
                       weighted_metrics=weighted_metrics, target_tensors=target_tensors)
        if loss is None:
            raise ValueError("conjure() needs a loss, e.g. loss='categorical_crossentropy'")
        try:
            self.optimizer = optimizers.get(optimizer)
        except ValueError as err:
            raise ValueError(f"Invalid optimizer: {err}") from None
        try:
            self.loss_fn = losses.get(loss)
        except ValueError as err:
            raise ValueError(f"Invalid loss: {err}") from None
        if not isinstance(metrics or [], (list, tuple)):
            raise ValueError(f"metrics must be a list, got {type(metrics).__name__}")
        self._metric_identifiers = list(metrics or [])
        for ident in self._metric_identifiers:
            if not metrics_module.is_shape_resolved(ident):
                try:
                    metrics_module.get(ident)
                except ValueError as err:
                    raise ValueError(f"Invalid metric: {err}") from None
        self.metric_fns = []
        self._invalidate()
        if self.built:
            self._resolve_metrics()

    compile = conjure

    def _resolve_metrics(self) -> None:
        self.metric_fns = []
        for ident in self._metric_identifiers:
            if metrics_module.is_shape_resolved(ident):
                want = target_shape(self.loss_fn, self.output_shape)
                fn = metrics_module.resolve(ident, want, self.output_shape)
                name = ident
            else:
                try:
                    fn = metrics_module.get(ident)
                except ValueError as err:
                    raise ValueError(f"Invalid metric: {err}") from None
                name = ident if isinstance(ident, str) else getattr(fn, "__name__", "metric")
            self.metric_fns.append((name, fn))

    def _output_names(self, mode: str) -> list[str]:
        return ["loss"] + [name for name, _ in self.metric_fns]

    def _require_conjured(self, method: str) -> None:
        if self.optimizer is None:
            raise RuntimeError(f"You must conjure your model before {method}: call "
                               f"model.conjure(optimizer, loss) first")

    # ---- plans --------------------------------------------------------------------------
    def _compiled_graph(self, mode: str) -> CompiledGraph:
        compiled = self._compiled.get(mode)
        if compiled is None:
            if mode != "predict" and not self.metric_fns and self._metric_identifiers:
                self._resolve_metrics()
            compiled = build_graph(self, mode)
            self._compiled[mode] = compiled
        return compiled

    def _plan(self, mode: str, rows: int):
        if self.optimizer is not None and self.optimizer.version != self._optimizer_version:
            self._invalidate()  # a hyper-parameter baked into the plans changed
            self._optimizer_version = self.optimizer.version
        plan = self._plans.get(mode)
        if plan is None or plan.capacity < rows:
            from compiler.plan import Plan
            _ensure_kernels()
            compiled = self._compiled_graph(mode)
            storage = [v.storage for v in compiled.variables]
            plan = Plan(compiled.graph, storage, max(rows, 1), name=mode)
            self._plans[mode] = plan
            self._tuners[mode] = ThreadTuner()
        return plan

    def _run_plan(self, mode: str, rows: int) -> None:
        """Run the plan of ``mode`` (already filled with ``rows`` rows) on the best threads."""
        self._tuners[mode].run(self._plans[mode], rows)

    def plan_summary(self, mode: str = "train", batch_size: int = 32) -> str:
        """The compiled plan of a mode: fused kernel calls, buffers and arena bytes."""
        if mode != "predict":
            self._require_conjured("plan_summary")
        self._build_from_data_shape(None)
        return self._plan(mode, batch_size).summary()

    # ---- data ---------------------------------------------------------------------------
    def _build_from_data_shape(self, x: Optional[np.ndarray]) -> None:
        if not self.built:
            if x is None:
                raise ValueError("This model has not been built yet: give the first layer an "
                                 "input_shape, or call it on data first")
            self.build((None,) + tuple(x.shape[1:]))

    def _standardize(self, x, y=None, need_y=True) -> tuple:
        x = data.as_array(x, "input")
        self._build_from_data_shape(x)
        x = data.check_shape(x, self.input_shape, "input", self._input_name())
        if len(x) == 0:
            raise ValueError("Error when checking model input: the input array is empty "
                             "(0 samples)")
        if not need_y:
            return x, None
        if y is None:
            raise ValueError("target data y is required for training and evaluation")
        y = data.as_array(y, "target")
        want = target_shape(self.loss_fn, self.output_shape)
        y = data.check_shape(y, want, "target", self._output_name())
        data.check_same_length(x, y)
        return x, y

    # ---- summon -------------------------------------------------------------------------
    def summon(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
               validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
               sample_weight=None, initial_epoch=0, steps_per_epoch=None,
               validation_steps=None, validation_freq=1, max_queue_size=10, workers=1,
               use_multiprocessing=False, **kwargs: Any) -> History:
        """Train the model (Keras ``fit``); returns a History."""
        if kwargs:
            raise TypeError(f"summon() got unexpected keyword argument(s) {sorted(kwargs)}")
        self._require_conjured("training")
        _not_supported("summon", steps_per_epoch=steps_per_epoch,
                       validation_steps=validation_steps)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle must be True, False or 'batch', got {shuffle!r}")
        batch_size = data.check_batch_size(batch_size)
        x, y = self._standardize(x, y)
        weights = data.sample_weights(y, sample_weight, class_weight, K.floatx())
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        val = None
        if validation_data is not None:
            val = self._validation_arrays(validation_data)
        elif validation_split > 0.0:
            # The last samples, taken before any shuffling, as Keras does.
            split = int(len(x) * (1.0 - validation_split))
            if split == 0 or split == len(x):
                raise ValueError(f"validation_split={validation_split} leaves no training or "
                                 f"no validation samples out of {len(x)}")
            val = (x[split:], y[split:], weights[split:])
            x, y, weights = x[:split], y[:split], weights[:split]
        validate_after = data.validation_epochs(validation_freq, epochs)
        self.history = History()
        names = self._output_names("train")
        n_steps = (len(x) + batch_size - 1) // batch_size
        params = {"batch_size": batch_size, "epochs": epochs, "steps": n_steps,
                  "samples": len(x), "verbose": verbose, "metrics": names}
        # History comes last, so that it records what other callbacks add to the logs.
        cbs = CallbackList(list(callbacks or []) + [self.history], self, params)
        self.stop_training = False
        self._plan("train", min(batch_size, len(x)))  # compile before the first epoch
        cbs.call("on_train_begin", {})
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            cbs.call("on_epoch_begin", epoch, {})
            progbar = Progbar(n_steps, verbose=verbose, stateful_metrics=names) \
                if verbose else None
            logs = loops.run_epoch(self, x, y, weights, batch_size, shuffle, cbs, progbar)
            if val is not None and epoch in validate_after:
                scores = loops.evaluate_arrays(self, *val, batch_size, 0, cbs)
                logs.update({f"val_{k}": v for k, v in zip(names, scores)})
            if progbar is not None:
                progbar.update(n_steps, list(logs.items()), finalize=True)
            cbs.call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        cbs.call("on_train_end", {})
        return self.history

    def _validation_arrays(self, validation_data) -> tuple:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                             "(x_val, y_val, val_sample_weight)")
        x_val, y_val = self._standardize(validation_data[0], validation_data[1])
        sw = validation_data[2] if len(validation_data) == 3 else None
        return x_val, y_val, data.sample_weights(y_val, sw, None, K.floatx())

    fit = summon

    # ---- evaluate / predict -------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None,
                 steps=None, callbacks=None, **kwargs: Any):
        """Loss (and metrics) on data: a scalar, or a list in the order of metrics_names."""
        if kwargs:
            raise TypeError(f"evaluate() got unexpected keyword argument(s) {sorted(kwargs)}")
        self._require_conjured("evaluating")
        _not_supported("evaluate", steps=steps)
        batch_size = data.check_batch_size(batch_size)
        x, y = self._standardize(x, y)
        weights = data.sample_weights(y, sample_weight, None, K.floatx())
        cbs = CallbackList(list(callbacks), self, {"verbose": verbose}) if callbacks else None
        scores = loops.evaluate_arrays(self, x, y, weights, batch_size, verbose, cbs)
        return scores[0] if len(scores) == 1 else scores

    @property
    def metrics_names(self) -> list[str]:
        """The names of what evaluate and the *_on_batch methods return, in order."""
        if self.optimizer is None:
            return []
        if self._metric_identifiers and not self.metric_fns and self.built:
            self._resolve_metrics()
        return self._output_names("test")

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None,
                **kwargs: Any) -> np.ndarray:
        """Output predictions for the input samples, batch by batch."""
        if kwargs:
            raise TypeError(f"predict() got unexpected keyword argument(s) {sorted(kwargs)}")
        _not_supported("predict", steps=steps)
        batch_size = data.check_batch_size(batch_size)
        x, _ = self._standardize(x, need_y=False)
        cbs = CallbackList(list(callbacks), self, {"verbose": verbose}) if callbacks else None
        return loops.predict_arrays(self, x, batch_size, verbose, cbs)

    # ---- single batches -----------------------------------------------------------------
    def _run_batch(self, mode: str, x, y, sample_weight, class_weight, reset_metrics: bool):
        x, y = self._standardize(x, y)
        weights = data.sample_weights(y, sample_weight, class_weight, K.floatx())
        plan = self._plan(mode, len(x))
        data.BatchFeeder([x, y, weights]).slice(0, len(x), plan.inputs)
        self._run_plan(mode, len(x))
        scores = np.array([float(plan.outputs[name]) for name in self._output_names(mode)])
        # reset_metrics=False: the returned values average every batch since the last reset.
        totals, count = self._batch_totals.get(mode, (0.0, 0))
        totals, count = totals + scores * len(x), count + len(x)
        self._batch_totals[mode] = (0.0, 0) if reset_metrics else (totals, count)
        result = [float(v) for v in totals / count]
        return result[0] if len(result) == 1 else result

    def reset_metrics(self) -> None:
        """Forget the batches accumulated by *_on_batch(reset_metrics=False)."""
        self._batch_totals.clear()

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, reset_metrics=True):
        """One gradient update on one batch; returns the loss (and metrics)."""
        self._require_conjured("training")
        return self._run_batch("train", x, y, sample_weight, class_weight, reset_metrics)

    def test_on_batch(self, x, y, sample_weight=None, reset_metrics=True):
        """Loss (and metrics) on one batch, without updating weights."""
        self._require_conjured("evaluating")
        return self._run_batch("test", x, y, sample_weight, None, reset_metrics)

    def predict_on_batch(self, x) -> np.ndarray:
        """Predictions for one batch, in one plan call."""
        plan = self._plans.get("predict")
        if type(x) is np.ndarray and plan is not None and x.ndim == len(self.input_shape) \
                and 0 < len(x) <= plan.capacity and x.shape[1:] == self.input_shape[1:]:
            rows = len(x)  # fast path: shapes already known to fit
        else:
            x, _ = self._standardize(x, need_y=False)
            rows = len(x)
            plan = self._plan("predict", rows)
        np.copyto(plan.inputs[0][:rows], x, casting="unsafe")
        plan.run(rows)
        return plan.outputs["predictions"][:rows].copy()


__all__ = ["TrainableModel", "Callback"]
