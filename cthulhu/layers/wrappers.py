"""Wrappers: TimeDistributed (one layer applied to every timestep of a (batch, time, ...)
input) and Bidirectional (an RNN read in both directions)."""

from __future__ import annotations

from typing import Any

from compiler.ops.registry import ops_in_group
from cthulhu import backend as K
from cthulhu.backend._tracing import _emit, _value, _wrap
from cthulhu.layers.advanced_activations import ELU, LeakyReLU, PReLU, ReLU, ThresholdedReLU
from cthulhu.layers.base import InputSpec, Layer
from cthulhu.layers.core import Azatoth, Daoloth, Darkness
from cthulhu.layers.embeddings import TheHydra
from cthulhu.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise
from cthulhu.layers.normalization import BlacknessFromTheStars


def _acts_on_rows(layer: Layer) -> bool:
    """Whether the layer on (batch, time, ...) computes exactly what Keras's TimeDistributed
    computes on the merged (batch * time, ...) input: layers of the last axis (Daoloth, as
    on any rank), element-wise layers (their noise drawn over the whole tensor), an embedding
    lookup, and batch normalization (statistics over batch and time together, as over the
    merged batch; a positive channel axis is shifted by one, see call)."""
    if isinstance(layer, Darkness):
        return layer.noise_shape is None
    return isinstance(layer, (Daoloth, Azatoth, TheHydra, BlacknessFromTheStars, ELU,
                              LeakyReLU, PReLU, ReLU, ThresholdedReLU, GaussianNoise,
                              GaussianDropout, AlphaDropout))


class TimeDistributed(Layer):
    """Applies ``layer`` to every temporal slice of the input (axis 1), with one set of
    weights. The IR cannot merge the batch axis with the time axis, so:

    - layers for which the rank-3 computation is the per-timestep one (see _acts_on_rows)
      run once on the whole (batch, time, ...) tensor;
    - any other layer is traced once per timestep (slice, apply, stack), which needs a known
      number of timesteps and is refused (NotImplementedError) for layers that draw random
      numbers or update state in training (per-timestep tracing would repeat one random
      mask, and batch statistics would not span the timesteps as in Keras).

    A mask on the input passes through to the output (the inner layer does not see it); an
    inner layer that makes a mask (TheHydra with mask_zero) gives its own."""

    supports_masking = True

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a layer "
                             f"instance. Received: {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.input_spec = InputSpec(min_ndim=3)
        # The inner layer's constraints are this layer's (the same dict, filled by its build).
        self.constraints = layer.constraints

    # ---- weights are the inner layer's ---------------------------------------------------
    @property
    def trainable_weights(self) -> list[K.Variable]:
        return self.layer.trainable_weights if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[K.Variable]:
        if self.trainable:
            return self.layer.non_trainable_weights
        return self.layer.weights

    @property
    def weights(self) -> list[K.Variable]:
        return self.layer.weights

    def regularization_penalties(self) -> list:
        return self.layer.regularization_penalties()

    # ---- the anatomy --------------------------------------------------------------------
    def build(self, input_shape: tuple) -> None:
        if len(input_shape) < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape ` with "
                             f"at least 3 dimensions, received: {tuple(input_shape)}")
        self.layer._ensure_built((input_shape[0],) + tuple(input_shape[2:]))
        self.built = True

    def call(self, inputs: K.Tensor, training: bool = False) -> Any:
        plain = _wrap(_value(inputs))  # the inner layer gets no mask
        if _acts_on_rows(self.layer):
            if isinstance(self.layer, BlacknessFromTheStars):
                self.layer._extra_axes = 1
                try:
                    return self.layer.trace_call(plain, training)
                finally:
                    self.layer._extra_axes = 0
            return self.layer.trace_call(plain, training)
        return self._per_timestep(plain, training)

    def _per_timestep(self, x: K.Tensor, training: bool) -> K.Tensor:
        steps = x.shape[1]
        if steps is None:
            raise NotImplementedError(
                f"TimeDistributed({type(self.layer).__name__}) needs a known number of "
                f"timesteps: this layer is applied per timestep, and cthulhu cannot merge the "
                f"batch and time axes")
        trace = K.current_trace()
        first_node, updates = len(trace.builder.nodes), len(trace.state_updates)
        outs = []
        for t in range(steps):
            xt = _emit("slice_axis", _value(x), axis=1, start=t, stop=t + 1).value
            xt = _emit("reshape", xt, shape=xt.shape[:1] + xt.shape[2:])
            out = self.layer.trace_call(xt, training)
            if isinstance(out, (list, tuple)):
                raise NotImplementedError("TimeDistributed over a layer with several outputs "
                                          "is not supported")
            outs.append(out)
        random = ops_in_group("random") | {"batch_norm_train"}
        emitted = {n.op for n in trace.builder.nodes[first_node:]}
        if emitted & random or len(trace.state_updates) != updates:
            raise NotImplementedError(
                f"TimeDistributed({type(self.layer).__name__}) in training: the layer draws "
                f"random numbers or updates state, which needs Keras's (batch * time) merge; "
                f"cthulhu would apply it per timestep (the same random mask at every step, "
                f"statistics per timestep), so it refuses")
        return K.stack(outs, axis=1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The inner layer's own mask when it makes one (an embedding with mask_zero), as
        Keras; otherwise the input mask."""
        inner = self.layer.compute_mask(inputs, None) if _acts_on_rows(self.layer) else None
        return inner if inner is not None else mask

    def get_config(self) -> dict:
        from cthulhu.saving.serialization import serialize_layer
        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: dict) -> TimeDistributed:
        from cthulhu.saving.serialization import deserialize_layer
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"))
        return cls(layer, **config)


_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def reverse_time(x: K.Tensor) -> K.Tensor:
    """The sequence (batch, time, ...) in reverse time order."""
    steps = x.shape[1]
    return K.concatenate([x[:, t:t + 1] for t in reversed(range(steps))], axis=1)


class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs (Keras ``Bidirectional``): a copy of ``layer`` reads
    the sequence forwards, another (``go_backwards`` flipped, or ``backward_layer``)
    backwards; their outputs are merged by ``merge_mode`` ('concat', 'sum', 'mul', 'ave',
    or None for both as a list). With return_sequences the backward sequence is put back
    in time order first, and masked steps output zeros (as Keras). ``initial_state`` gives
    the forward states then the backward ones; return_state appends the forward states then
    the backward ones. Weights: the forward layer's, then the backward layer's (Keras's
    order)."""

    supports_masking = True

    def __init__(self, layer: Layer, merge_mode: Any = "concat", weights: Any = None,
                 backward_layer: Any = None, **kwargs: Any) -> None:
        from cthulhu.saving.serialization import deserialize_layer, serialize_layer
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `Bidirectional` layer with a `Layer` "
                             f"instance. Received: {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"`backward_layer` need to be a `Layer` instance. Received: "
                             f"{backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should "
                             f"be one of {{'sum', 'mul', 'ave', 'concat', None}}")
        if weights is not None:
            kwargs["weights"] = weights
        super().__init__(**kwargs)
        self.layer = layer
        self._backward_given = backward_layer
        spec = serialize_layer(layer)
        spec["config"] = {**spec["config"], "name": f"forward_{layer.name}"}
        self.forward_layer = deserialize_layer(spec)
        if backward_layer is None:
            spec = serialize_layer(layer)
            spec["config"] = {**spec["config"], "name": f"backward_{layer.name}",
                              "go_backwards": not layer.go_backwards}
            self.backward_layer = deserialize_layer(spec)
        else:
            self.backward_layer = backward_layer
            for attr in ("return_sequences", "return_state"):
                if getattr(backward_layer, attr) != getattr(layer, attr):
                    raise ValueError(f"Forward layer and backward layer should have the same "
                                     f"`{attr}` value.")
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError("Forward layer and backward layer should have different "
                                 "`go_backwards` value.")
        # As Keras: with return_sequences, masked steps output zeros in both directions.
        for lay in self._both():
            if hasattr(lay, "zero_output_for_mask"):
                lay.zero_output_for_mask = lay.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = getattr(layer, "stateful", False)

    # ---- weights are the two layers' ----------------------------------------------------
    def _both(self) -> tuple:
        return self.forward_layer, self.backward_layer

    @property
    def trainable_weights(self) -> list[K.Variable]:
        if not self.trainable:
            return []
        return [w for lay in self._both() for w in lay.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[K.Variable]:
        if not self.trainable:
            return self.weights
        return [w for lay in self._both() for w in lay.non_trainable_weights]

    @property
    def weights(self) -> list[K.Variable]:
        return [w for lay in self._both() for w in lay.weights]

    @property
    def constraints(self) -> dict:
        return {k: c for lay in self._both() for k, c in lay.constraints.items()}

    @constraints.setter
    def constraints(self, value: dict) -> None:
        pass  # the wrapped layers' own

    def regularization_penalties(self) -> list:
        return [p for lay in self._both() for p in lay.regularization_penalties()]

    def reset_states(self, states: Any = None) -> None:
        if states is None:
            for lay in self._both():
                lay.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    # ---- the anatomy --------------------------------------------------------------------
    def _call_arguments(self, inputs: Any, kwargs: dict) -> Any:
        initial_state = kwargs.pop("initial_state", None)
        if kwargs.pop("constants", None) is not None:
            raise NotImplementedError("Bidirectional with constants is not supported")
        super()._call_arguments(inputs, kwargs)
        if initial_state is None:
            return inputs
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else \
            [initial_state]
        if len(states) % 2:
            raise ValueError(f"When passing `initial_state` to a Bidirectional RNN, the state "
                             f"should be a list containing the states of the underlying RNNs. "
                             f"Received: {initial_state}")
        return [inputs] + states

    def _check_input_spec(self, xs: list) -> None:
        InputSpec(min_ndim=3).check(self.name, 0, tuple(xs[0].shape))

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape[0]) if isinstance(input_shape, list) else tuple(input_shape)
        for lay in self._both():
            lay._ensure_built(shape)
        self.built = True

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        x, states = xs[0], xs[1:]
        half = len(states) // 2
        fw = self.forward_layer.trace_call([x] + states[:half] if states else x, training)
        bw = self.backward_layer.trace_call([x] + states[half:] if states else x, training)
        fw_states: list = []
        bw_states: list = []
        if self.return_state:
            fw, fw_states = fw[0], list(fw[1:])
            bw, bw_states = bw[0], list(bw[1:])
        if self.return_sequences:
            bw = reverse_time(bw)
        if self.merge_mode == "concat":
            out: Any = K.concatenate([fw, bw], axis=-1)
        elif self.merge_mode == "sum":
            out = fw + bw
        elif self.merge_mode == "ave":
            out = (fw + bw) * 0.5
        elif self.merge_mode == "mul":
            out = fw * bw
        else:
            out = [fw, bw]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + fw_states + bw_states
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        outs = [out, out] if self.merge_mode is None else [out]
        if self.return_state:
            n = len(self.forward_layer.states) * 2
            return outs + [None] * n
        return outs if self.merge_mode is None else out

    def get_config(self) -> dict:
        from cthulhu.saving.serialization import serialize_layer
        config = {**super().get_config(), "layer": serialize_layer(self.layer),
                  "merge_mode": self.merge_mode}
        if self._backward_given is not None:
            config["backward_layer"] = serialize_layer(self._backward_given)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Bidirectional:
        from cthulhu.saving.serialization import deserialize_layer
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"))
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize_layer(backward)
        return cls(layer, backward_layer=backward, **config)
