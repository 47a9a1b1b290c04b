"""TimeDistributed: one layer applied to every timestep of a (batch, time, ...) input."""

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
