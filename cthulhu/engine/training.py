"""The trainable model: conjure (compile), summon (fit), evaluate, predict and the
``*_on_batch`` methods, over plans compiled once per mode and cached by batch capacity
(and, for inputs with axes unknown until run time, per input shape)."""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from cthulhu import backend as K
from cthulhu import optimizers
from cthulhu._threads import ThreadTuner
from cthulhu.callbacks import Callback, CallbackList, History
from cthulhu.engine import adapters, data, loops, outputs
from cthulhu.engine.graphs import CompiledGraph, build_graph
from cthulhu.utils.progbar import Progbar

# Plans kept for input shapes other than the current ones (models with unknown input axes).
_SHELVED_PLANS = 8


def _ensure_kernels() -> None:
    from cthulhu._threads import configure_threads
    configure_threads()


def _check_sample_weight_mode(mode: Any) -> None:
    modes = mode.values() if isinstance(mode, dict) else (
        mode if isinstance(mode, (list, tuple)) else [mode])
    for m in modes:
        if m not in (None, "temporal"):
            raise ValueError(f"Invalid sample_weight_mode {m!r}: expected None or 'temporal'")


def _check_batch_data_args(x, y, batch_size, sample_weight, validation_split) -> None:
    """Arguments that only make sense for arrays, given with a generator or Sequence."""
    what = "a Sequence" if adapters.is_sequence(x) else "a generator"
    for name, value in (("y", y), ("batch_size", batch_size),
                        ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(f"`{name}` must not be given when x is {what}: its batches "
                             f"carry (x, y[, sample_weight]) and their own size")
    if validation_split:
        raise ValueError(f"validation_split needs arrays; with {what} pass validation_data")


class TrainableModel:
    """Shared by Pile and (later) Lump: everything after the layer graph."""

    def _init_training(self) -> None:
        self.optimizer: Optional[optimizers.Optimizer] = None
        self._conjure_args: Optional[tuple] = None  # (loss, loss_weights, metrics)
        self._output_specs: Optional[list[outputs.OutputSpec]] = None
        self._target_tensors: Any = None
        self.stop_training = False
        self.history: Optional[History] = None
        self._compiled: dict[tuple, CompiledGraph] = {}
        self._plans: dict[str, Any] = {}
        self._tuners: dict[str, ThreadTuner] = {}
        # Models with input axes unknown until run time: the input shapes each active plan
        # was compiled for, and plans compiled for other shapes, kept for reuse.
        self._plan_shapes: dict[str, Optional[tuple]] = {}
        self._shelved: dict[tuple, tuple] = {}
        self._batch_totals: dict[str, Any] = {}
        self._optimizer_version = -1

    @property
    def constraints(self) -> dict:
        """As a layer nested in another model: the constraints of its own layers."""
        return self.weight_constraints()

    @constraints.setter
    def constraints(self, value: dict) -> None:
        pass  # Layer.__init__ sets an empty dict; a model's constraints are its layers'

    @property
    def stateful(self) -> bool:
        """Whether a layer keeps states between batches (a stateful RNN), as Keras."""
        return any(getattr(layer, "stateful", False) for layer in self.layers)

    def reset_states(self) -> None:
        """Zeroes the states of the stateful layers (Keras ``Model.reset_states``)."""
        for layer in self.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    def _invalidate(self) -> None:
        """The layer graph changed: compiled graphs and plans must be rebuilt."""
        self._compiled.clear()
        self._plans.clear()
        self._tuners.clear()
        self._plan_shapes.clear()
        self._shelved.clear()
        self._output_specs = None

    # ---- conjure ------------------------------------------------------------------------
    def conjure(self, optimizer, loss=None, metrics=None, loss_weights=None,
                sample_weight_mode=None, weighted_metrics=None, target_tensors=None,
                **kwargs: Any) -> None:
        """Configure training (Keras ``compile``): optimizer, loss(es), metrics and loss
        weights; losses, weights and metrics may be given per output as lists or dicts."""
        if kwargs:
            raise TypeError(f"conjure() got unexpected keyword argument(s) {sorted(kwargs)}")
        _check_sample_weight_mode(sample_weight_mode)
        if loss is None:
            raise ValueError("conjure() needs a loss, e.g. loss='categorical_crossentropy'")
        try:
            self.optimizer = optimizers.get(optimizer)
        except ValueError as err:
            raise ValueError(f"Invalid optimizer: {err}") from None
        outputs.check_metric_identifiers(metrics)
        outputs.check_metric_identifiers(weighted_metrics)
        self._conjure_args = (loss, loss_weights, metrics, weighted_metrics, sample_weight_mode)
        # Fixed targets, used whenever y is not given (Keras's target_tensors).
        self._target_tensors = target_tensors
        self._invalidate()
        if self.built:
            self.output_specs  # noqa: B018  (resolve now: bad losses fail at conjure)

    compile = conjure

    @property
    def output_specs(self) -> list[outputs.OutputSpec]:
        """Each output's loss, loss weight and metrics, as conjure resolved them."""
        if self._output_specs is None:
            if self._conjure_args is None:
                raise RuntimeError("the model is not conjured yet")
            self._output_specs = outputs.resolve(self.output_names, self._output_shapes(),
                                                 *self._conjure_args)
        return self._output_specs

    @property
    def loss_fn(self) -> Any:
        """The loss of a single-output model (Keras ``model.loss``)."""
        return self.output_specs[0].loss if len(self.output_specs) == 1 else \
            [spec.loss for spec in self.output_specs]

    def _output_names(self, mode: str) -> list[str]:
        return outputs.log_names(self.output_specs)

    def _require_conjured(self, method: str) -> None:
        if self.optimizer is None:
            raise RuntimeError(f"You must conjure your model before {method}: call "
                               f"model.conjure(optimizer, loss) first")

    # ---- plans --------------------------------------------------------------------------
    def _compiled_graph(self, mode: str, shapes: Optional[tuple] = None) -> CompiledGraph:
        key = (mode, shapes)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = build_graph(self, mode, shapes)
            self._compiled[key] = compiled
        return compiled

    def _plan(self, mode: str, rows: int, shapes: Optional[tuple] = None):
        """The plan of ``mode`` with room for ``rows`` rows. ``shapes``: the input shapes of
        the data (batch axis None) when some input axis is unknown until run time; a plan
        is compiled per distinct shape and the last few are kept."""
        self._check_rows(rows)
        if self.optimizer is not None and self.optimizer.version != self._optimizer_version:
            self._invalidate()  # a hyper-parameter baked into the plans changed
            self._optimizer_version = self.optimizer.version
        if shapes is None and self._has_unknown_axes():
            raise ValueError(f"The {mode} plan of {self.name!r} depends on the length of its "
                             f"inputs, whose shapes {self._input_shapes()} have axes unknown "
                             f"until run time: give data (or input shapes)")
        plan = self._plans.get(mode)
        if plan is not None and plan.capacity >= rows and self._plan_shapes.get(mode) == shapes:
            return plan
        if plan is not None:  # keep it for when batches of its shapes come back
            self._shelved[(mode, self._plan_shapes.get(mode))] = (plan, self._tuners[mode])
        plan, tuner = self._shelved.pop((mode, shapes), (None, None))
        if plan is None or plan.capacity < rows:
            from compiler.plan import Plan
            _ensure_kernels()
            compiled = self._compiled_graph(mode, shapes)
            storage = [v.storage for v in compiled.variables]
            plan, tuner = Plan(compiled.graph, storage, max(rows, 1), name=mode), ThreadTuner()
        while len(self._shelved) > _SHELVED_PLANS:
            self._shelved.pop(next(iter(self._shelved)))
        self._plans[mode], self._tuners[mode], self._plan_shapes[mode] = plan, tuner, shapes
        return plan

    def _check_rows(self, rows: int) -> None:
        """A model built for a fixed batch size (``batch_input_shape``, as stateful RNNs
        need) runs batches of exactly that size; others would read stale rows."""
        fixed = self._input_shapes()[0][0]
        if fixed is not None and rows != fixed:
            raise ValueError(f"Model {self.name!r} has a fixed batch size of {fixed} (its "
                             f"batch_input_shape), but got a batch of {rows} samples: give a "
                             f"number of samples that is a multiple of {fixed}, with "
                             f"batch_size={fixed}")

    def _has_unknown_axes(self) -> bool:
        return any(d is None for shape in self._input_shapes() for d in shape[1:])

    def _data_shapes(self, arrays: list[np.ndarray]) -> Optional[tuple]:
        """The model-input shapes of a batch (inputs come first), for ``_plan``: None when
        every input axis is known (one plan fits all batches)."""
        if not self._has_unknown_axes():
            return None
        return tuple((None,) + tuple(a.shape[1:]) for a in arrays[:len(self._input_shapes())])

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

    def _inputs(self, x) -> list[np.ndarray]:
        fixed = {name: layer.fixed_value for name, layer in
                 zip(self.input_names, _input_layers(self)) if layer.fixed_value is not None}
        if fixed:  # inputs made by Input(tensor=array)
            x = data.with_fixed_inputs(x, self.input_names, fixed)
        xs = data.to_list(x, self.input_names, "input")
        self._build_from_data_shape(xs[0])
        xs = [data.check_shape(a, shape, "input", name)
              for a, shape, name in zip(xs, self._input_shapes(), self.input_names)]
        for a in xs[1:]:
            if len(a) != len(xs[0]):
                raise ValueError(f"All input arrays should have the same number of samples. "
                                 f"Got array shapes: {[a.shape for a in xs]}")
        if len(xs[0]) == 0:
            raise ValueError("Error when checking model input: the input array is empty "
                             "(0 samples)")
        return xs

    def _arrays(self, x, y, sample_weight=None, class_weight=None) -> list[np.ndarray]:
        """Inputs, then each output's targets and sample weights: the plan's input order."""
        xs = self._inputs(x)
        if y is None:
            y = self._target_tensors
        if y is None:
            raise ValueError("target data y is required for training and evaluation (or "
                             "conjure with target_tensors)")
        specs = self.output_specs
        ys = data.to_list(y, self.output_names, "target")
        ys = [data.check_shape(a, spec.target_shape, "target", spec.name)
              for a, spec in zip(ys, specs)]
        for a in ys:
            data.check_same_length(xs[0], a)
        arrays = list(xs)
        for target, sw, cw, spec in zip(
                ys, data.per_output(sample_weight, self.output_names, "sample_weight"),
                data.class_weights_per_output(class_weight, self.output_names), specs):
            arrays += [target, data.sample_weights(target, sw, cw, K.floatx(), spec.temporal)]
        return arrays

    # ---- summon -------------------------------------------------------------------------
    def summon(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
               validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
               sample_weight=None, initial_epoch=0, steps_per_epoch=None,
               validation_steps=None, validation_freq=1, max_queue_size=10, workers=1,
               use_multiprocessing=False, **kwargs: Any) -> History:
        """Train the model (Keras ``fit``) on arrays, a generator or a Sequence; returns a
        History. Generators and Sequences run in ``workers`` threads (or processes with
        ``use_multiprocessing``; 0 workers: the calling thread)."""
        if kwargs:
            raise TypeError(f"summon() got unexpected keyword argument(s) {sorted(kwargs)}")
        self._require_conjured("training")
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle must be True, False or 'batch', got {shuffle!r}")
        steps_per_epoch = adapters.check_steps(steps_per_epoch, "steps_per_epoch")
        validation_steps = adapters.check_steps(validation_steps, "validation_steps")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        pipeline = {"workers": workers, "max_queue_size": max_queue_size,
                    "use_multiprocessing": use_multiprocessing}
        val_arrays = None
        with adapters.closing() as sources:
            if adapters.is_batch_data(x):
                _check_batch_data_args(x, y, batch_size, sample_weight, validation_split)
                source = adapters.BatchSource(self, "train", x, steps_per_epoch, shuffle,
                                              class_weight, **pipeline)
                batch_size = None
            else:
                batch_size = data.check_batch_size(batch_size)
                arrays = self._arrays(x, y, sample_weight, class_weight)
                arrays, val_arrays = self._split(arrays, validation_split)
                source = adapters.ArraySource(arrays, batch_size, shuffle, steps_per_epoch)
            sources.add(source)
            val = None
            if validation_data is None and val_arrays is not None:
                val = adapters.SliceSource(val_arrays, batch_size, validation_steps)
            elif validation_data is not None:
                val = sources.add(self._validation_source(validation_data, batch_size or 32,
                                                          validation_steps, pipeline))
            validate_after = data.validation_epochs(validation_freq, epochs)
            return self._summon_loop(source, val, validate_after, epochs, initial_epoch,
                                     verbose, callbacks, batch_size)

    def _split(self, arrays: list, validation_split: float) -> tuple:
        if validation_split <= 0.0:
            return arrays, None
        # The last samples, taken before any shuffling, as Keras does.
        n = len(arrays[0])
        split = int(n * (1.0 - validation_split))
        if split == 0 or split == n:
            raise ValueError(f"validation_split={validation_split} leaves no training or "
                             f"no validation samples out of {n}")
        return [a[:split] for a in arrays], [a[split:] for a in arrays]

    def _validation_source(self, validation_data, batch_size: int,
                           validation_steps: Optional[int], pipeline: dict):
        if adapters.is_batch_data(validation_data):
            return adapters.BatchSource(self, "test", validation_data, validation_steps,
                                        **pipeline)
        if not isinstance(validation_data, (tuple, list)) or \
                len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                             "(x_val, y_val, val_sample_weight), a generator or a Sequence")
        sw = validation_data[2] if len(validation_data) == 3 else None
        arrays = self._arrays(validation_data[0], validation_data[1], sw)
        return adapters.SliceSource(arrays, batch_size, validation_steps)

    def _summon_loop(self, source, val, validate_after: set, epochs: int, initial_epoch: int,
                     verbose: int, callbacks, batch_size: Optional[int]) -> History:
        self.history = History()
        names = self._output_names("train")
        params = {"batch_size": batch_size, "epochs": epochs, "steps": source.steps,
                  "samples": source.samples, "verbose": verbose, "metrics": names}
        # History comes last, so that it records what other callbacks add to the logs.
        cbs = CallbackList(list(callbacks or []) + [self.history], self, params)
        self.stop_training = False
        if source.capacity and not self._has_unknown_axes():
            self._plan("train", source.capacity)  # compile before the first epoch
        cbs.call("on_train_begin", {})
        for epoch in range(initial_epoch, epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            cbs.call("on_epoch_begin", epoch, {})
            progbar = Progbar(source.steps, verbose=verbose, stateful_metrics=names) \
                if verbose else None
            logs, steps = loops.run_epoch(self, source, cbs, progbar)
            if steps == 0:  # a generator with nothing left: no epoch to record
                adapters.warn_ran_out(source.what, 0, epoch)
                break
            if val is not None and epoch in validate_after:
                scores = loops.evaluate_source(self, val, 0, cbs, empty_ok=True)
                if scores is None:
                    warnings.warn(f"The validation {val.what} had no batch left: no "
                                  f"validation after epoch {epoch + 1}. Give "
                                  f"validation_steps and a generator that loops forever.",
                                  stacklevel=3)
                else:
                    logs.update({f"val_{k}": v for k, v in zip(names, scores)})
            if progbar is not None:
                progbar.update(steps, list(logs.items()), finalize=True)
            cbs.call("on_epoch_end", epoch, logs)
            source.end_epoch()
            if source.exhausted and not self.stop_training and (
                    epoch + 1 < epochs or steps < (source.steps or steps)):
                adapters.warn_ran_out(source.what, steps, epoch)
                self.stop_training = True
            if self.stop_training:
                break
        cbs.call("on_train_end", {})
        return self.history

    fit = summon

    def summon_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1,
                         callbacks=None, validation_data=None, validation_steps=None,
                         validation_freq=1, class_weight=None, max_queue_size=10, workers=1,
                         use_multiprocessing=False, shuffle=True, initial_epoch=0) -> History:
        """Keras ``fit_generator``: ``summon`` on a generator or Sequence."""
        if not adapters.is_batch_data(generator):
            raise ValueError(f"summon_generator needs a generator or a Sequence, got "
                             f"{type(generator).__name__}; use summon for arrays")
        return self.summon(generator, steps_per_epoch=steps_per_epoch, epochs=epochs,
                           verbose=verbose, callbacks=callbacks,
                           validation_data=validation_data, validation_steps=validation_steps,
                           validation_freq=validation_freq, class_weight=class_weight,
                           max_queue_size=max_queue_size, workers=workers,
                           use_multiprocessing=use_multiprocessing, shuffle=shuffle,
                           initial_epoch=initial_epoch)

    fit_generator = summon_generator

    # ---- evaluate / predict -------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None,
                 steps=None, callbacks=None, max_queue_size=10, workers=1,
                 use_multiprocessing=False, **kwargs: Any):
        """Loss (and metrics) on arrays, a generator or a Sequence: a scalar, or a list in
        the order of metrics_names."""
        if kwargs:
            raise TypeError(f"evaluate() got unexpected keyword argument(s) {sorted(kwargs)}")
        self._require_conjured("evaluating")
        steps = adapters.check_steps(steps, "steps")
        if adapters.is_batch_data(x):
            _check_batch_data_args(x, y, batch_size, sample_weight, 0.0)
            source: Any = adapters.BatchSource(
                self, "test", x, steps, workers=workers, max_queue_size=max_queue_size,
                use_multiprocessing=use_multiprocessing)
        else:
            batch_size = data.check_batch_size(batch_size)
            source = adapters.SliceSource(self._arrays(x, y, sample_weight), batch_size, steps)
        cbs = CallbackList(list(callbacks), self, {"verbose": verbose}) if callbacks else None
        with adapters.closing() as sources:
            scores = loops.evaluate_source(self, sources.add(source), verbose, cbs)
        return scores[0] if len(scores) == 1 else scores

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                           workers=1, use_multiprocessing=False, verbose=0):
        """Keras ``evaluate_generator``: ``evaluate`` on a generator or Sequence."""
        if not adapters.is_batch_data(generator):
            raise ValueError(f"evaluate_generator needs a generator or a Sequence, got "
                             f"{type(generator).__name__}; use evaluate for arrays")
        return self.evaluate(generator, steps=steps, callbacks=callbacks,
                             max_queue_size=max_queue_size, workers=workers,
                             use_multiprocessing=use_multiprocessing, verbose=verbose)

    @property
    def metrics_names(self) -> list[str]:
        """The names of what evaluate and the *_on_batch methods return, in order."""
        if self.optimizer is None:
            return []
        return self._output_names("test")

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None,
                max_queue_size=10, workers=1, use_multiprocessing=False,
                **kwargs: Any) -> np.ndarray:
        """Output predictions for arrays, a generator or a Sequence, batch by batch (a
        generator may yield x alone or (x, y) / (x, y, sample_weight); y is ignored)."""
        if kwargs:
            raise TypeError(f"predict() got unexpected keyword argument(s) {sorted(kwargs)}")
        steps = adapters.check_steps(steps, "steps")
        if adapters.is_batch_data(x):
            _check_batch_data_args(x, None, batch_size, None, 0.0)
            source: Any = adapters.BatchSource(
                self, "predict", x, steps, workers=workers, max_queue_size=max_queue_size,
                use_multiprocessing=use_multiprocessing)
        else:
            batch_size = data.check_batch_size(batch_size)
            source = adapters.SliceSource(self._inputs(x), batch_size, steps)
        cbs = CallbackList(list(callbacks), self, {"verbose": verbose}) if callbacks else None
        with adapters.closing() as sources:
            results = loops.predict_source(self, sources.add(source), verbose, cbs)
        return results[0] if len(results) == 1 else results

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                          workers=1, use_multiprocessing=False, verbose=0):
        """Keras ``predict_generator``: ``predict`` on a generator or Sequence."""
        if not adapters.is_batch_data(generator):
            raise ValueError(f"predict_generator needs a generator or a Sequence, got "
                             f"{type(generator).__name__}; use predict for arrays")
        return self.predict(generator, steps=steps, callbacks=callbacks,
                            max_queue_size=max_queue_size, workers=workers,
                            use_multiprocessing=use_multiprocessing, verbose=verbose)

    # ---- single batches -----------------------------------------------------------------
    def _run_batch(self, mode: str, x, y, sample_weight, class_weight, reset_metrics: bool):
        arrays = self._arrays(x, y, sample_weight, class_weight)
        rows = len(arrays[0])
        plan = self._plan(mode, rows, self._data_shapes(arrays))
        data.check_fits(arrays, plan)
        data.BatchFeeder(arrays).slice(0, rows, plan.inputs)
        self._run_plan(mode, rows)
        # reset_metrics=False: the returned values average every batch since the last reset.
        logs = self._batch_totals.get(mode)
        if logs is None:
            logs = loops.Accumulator(plan, self._output_names(mode))
        logs.bind(plan)
        logs.add(rows)
        if reset_metrics:
            self._batch_totals.pop(mode, None)
        else:
            self._batch_totals[mode] = logs
        values = logs.result()
        result = [values[name] for name in self._output_names(mode)]
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

    def predict_on_batch(self, x) -> Any:
        """Predictions for one batch, in one plan call."""
        plan = self._plans.get("predict")
        if type(x) is np.ndarray and plan is not None:
            self._check_rows(len(x))
        if type(x) is np.ndarray and plan is not None and len(plan.inputs) == 1 \
                and x.shape[1:] == plan.inputs[0].shape[1:] and 0 < len(x) <= plan.capacity:
            xs = [x]  # fast path: one input whose shape is known to fit
        else:
            xs = self._inputs(x)
            plan = self._plan("predict", len(xs[0]), self._data_shapes(xs))
        rows = len(xs[0])
        for buffer, array in zip(plan.inputs, xs):
            np.copyto(buffer[:rows], array, casting="unsafe")
        plan.run(rows)
        results = [out[:rows].copy() for out in plan.outputs.values()]
        return results[0] if len(results) == 1 else results


def _input_layers(model: Any) -> list[Any]:
    """The InputLayer behind each model input (none for a Pile, whose input is implicit)."""
    from cthulhu.layers.base import InputLayer
    layers = [t._cthulhu_history[0] for t in getattr(model, "inputs", None) or []
              if t._cthulhu_history is not None]
    return [layer for layer in layers if isinstance(layer, InputLayer)]


__all__ = ["TrainableModel", "Callback"]
