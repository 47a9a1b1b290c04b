"""Recurrent layers (Keras 2): RNN over any cell, StackedRNNCells, the cells ShabithKaCell,
GrothCell, LaldagorthCell and the layers ShabithKa (SimpleRNN), Groth (GRU) and Laldagorth
(LSTM).

A cell is any object with ``call(inputs, states) -> (output, new_states)`` and
``state_size``; RNN iterates it with K.rnn (unrolled over the known time axis). The
built-in cells also run a whole sequence at once: the input projection of every timestep is
one rank-3 GEMM, and the recurrence is the native fused kernel
(cthulhu.backend._recurrent_fused), unless recurrent dropout applies (in training),
``unroll=True`` or an activation is not one the kernel knows; then the cell's own
recurrence is unrolled. Weights have Keras's
layout and order: kernel (input_dim, G*units), recurrent_kernel (units, G*units), bias;
gates i, f, c, o (LSTM) and z, r, h (GRU).
"""

from __future__ import annotations

import inspect
from typing import Any, Optional

import numpy as np

from cthulhu import activations, constraints, initializers, regularizers
from cthulhu import backend as K
from cthulhu.backend._tracing import _emit, _value, _wrap
from cthulhu.layers.base import InputSpec, Layer

_STATEFUL_NEEDS_BATCH = (
    "If a RNN is stateful, it needs to know its batch size. Specify the batch size of your "
    "input tensors: \n- If using a Sequential model, specify the batch size by passing a "
    "`batch_input_shape` argument to your first layer.\n- If using the functional API, "
    "specify the batch size by passing a `batch_shape` argument to your Input layer.")


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _tensor(x: Any) -> K.Tensor:
    """A variable (or tensor) as a tensor of the current trace, so that it can be sliced."""
    return _wrap(_value(x))


def _fused_rnn() -> Any:
    """The native whole-sequence recurrence (a function, so that tests can stand in)."""
    from cthulhu.backend._recurrent_fused import fused_rnn
    return fused_rnn


def zeros_state(x: K.Tensor, shape: tuple) -> K.Tensor:
    """Zeros of shape (batch,) + shape, the batch taken from ``x`` (batch, ...)."""
    column = K.zeros_like(_tensor(x)[(slice(None),) + (slice(0, 1),) * (len(x.shape) - 1)])
    column = K.reshape(column, (-1,) + (1,) * len(shape))
    return _emit("broadcast_to", _value(column), shape=(x.shape[0],) + tuple(shape))


def _state_shapes(state_size: Any) -> list[tuple]:
    """Keras's state_size (an int, or a list of ints or shapes) as a list of shapes."""
    if isinstance(state_size, (int, np.integer)):
        return [(int(state_size),)]
    return [(int(s),) if isinstance(s, (int, np.integer)) else tuple(int(d) for d in s)
            for s in state_size]


def _call_kwargs(fn: Any, training: bool, constants: list) -> dict:
    """The keyword arguments a cell's call takes among training and constants."""
    params = inspect.signature(fn).parameters
    kwargs: dict = {}
    if "training" in params:
        kwargs["training"] = training
    if constants:
        if "constants" not in params:
            raise ValueError("RNN cell does not support constants")
        kwargs["constants"] = constants
    return kwargs


def own_arguments(frame: dict) -> dict:
    """A cell's ``__init__`` arguments (its ``locals()``), to pass on to the shared
    ``_GatedCell.__init__``: the cells keep Keras's signatures without repeating them."""
    args = {k: v for k, v in frame.items() if k not in ("self", "__class__", "kwargs")}
    return {**args, **frame.get("kwargs", {})}


def first_shape(input_shape: Any) -> tuple:
    """The input's shape among a cell's call shapes (called as a layer on [inputs, *states])."""
    return tuple(input_shape[0] if isinstance(input_shape, list) else input_shape)


def layer_step(cell: Any, inputs: Any, training: bool) -> K.Tensor:
    """A cell called as a layer, on [inputs, *states]: one step, and its output. (RNN calls
    ``cell.call(inputs, states)`` and gets the new states too.)"""
    if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
        raise ValueError(f"{type(cell).__name__} is called with its states: as a layer on "
                         f"[inputs, *states], or as cell.call(inputs, states)")
    return cell.call(inputs[0], list(inputs[1:]), training=training)[0]


class DropoutMasks:
    """Keras-2 dropout masks of a cell: drawn once per sequence (the first step asks, the
    later steps reuse them), one per gate. Recurrent dropout always uses per-gate masks
    (tf-keras switches to implementation 1 for it); input dropout per gate with
    implementation 1, one mask shared by the gates otherwise."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.input: Optional[list] = None
        self.recurrent: Optional[list] = None

    @staticmethod
    def draw(like: K.Tensor, rate: float, count: int) -> list:
        ones = K.ones_like(like)
        return [K.dropout(ones, rate) for _ in range(count)]


class _GatedCell(Layer):
    """What the built-in cells share: the arguments, the weights, dropout masks, the input
    projection (one product for a step or a whole sequence) and the sequence runner. Each
    cell defines its recurrence once (``recurrence``), used per step and by the unrolled
    sequence; the fused kernel implements the same formulas (see the contract in
    cthulhu.backend._recurrent_fused)."""

    # The arguments are Keras's LSTMCell's (LaldagorthCell takes them as they are); the
    # other cells keep their own Keras signatures and pass them on (own_arguments).
    gates = 1
    kind = "simple"
    reset_after = False  # GRU only: a recurrent bias row, the reset gate after the product
    # Keras config keys beyond the shared ones.
    _extra_keys: tuple = ()

    def __init__(self, units: int, activation="tanh", recurrent_activation="hard_sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, implementation: int = 2,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(units) <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a "
                             f"positive integer, got {units}.")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        if int(implementation) not in (1, 2):
            raise ValueError(f"implementation must be 1 or 2, got {implementation}")
        # As tf-keras: recurrent dropout runs the per-gate implementation.
        self.implementation = 1 if self.recurrent_dropout else int(implementation)
        self.masks = DropoutMasks()

    @property
    def state_size(self) -> Any:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    # ---- weights ------------------------------------------------------------------------
    def _bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def _bias_init(self) -> Any:
        return self.bias_initializer

    def build(self, input_shape: Any) -> None:
        input_dim = first_shape(input_shape)[-1]
        if input_dim is None:
            raise ValueError(f"The last dimension of the inputs to {type(self).__name__} "
                             f"should be defined. Found None.")
        width = self.gates * self.units
        self.kernel = self.add_weight("kernel", (int(input_dim), width),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight("bias", self._bias_shape(), self._bias_init(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def _bias_row(self, row: int) -> K.Tensor:
        """Row ``row`` of a (2, G*units) bias, as (1, G*units) (the IR slices no leading
        axis)."""
        width = self.gates * self.units
        return K.reshape(self.bias, (1, 2 * width))[:, row * width:(row + 1) * width]

    def _input_bias(self) -> Optional[K.Tensor]:
        if self.bias is None:
            return None
        return self._bias_row(0) if self.reset_after else _tensor(self.bias)

    def _recurrent_bias(self) -> Optional[K.Tensor]:
        return self._bias_row(1) if self.reset_after and self.bias is not None else None

    def _gate(self, x: K.Tensor, g: int) -> K.Tensor:
        """Columns of gate g of a (..., G*units) tensor."""
        return x[..., g * self.units:(g + 1) * self.units]

    # ---- dropout ------------------------------------------------------------------------
    def _dropout_masks(self, x_t: K.Tensor, h: K.Tensor, training: bool) -> tuple:
        """(input masks or None, recurrent masks or None) for this sequence."""
        if not training:
            return None, None
        if self.masks.input is None and 0.0 < self.dropout < 1.0:
            count = self.gates if self.implementation == 1 else 1
            self.masks.input = DropoutMasks.draw(x_t, self.dropout, count)
        if self.masks.recurrent is None and 0.0 < self.recurrent_dropout < 1.0:
            self.masks.recurrent = DropoutMasks.draw(h, self.recurrent_dropout, self.gates)
        return self.masks.input, self.masks.recurrent

    # ---- the computation ----------------------------------------------------------------
    def project(self, x: K.Tensor, masks: Optional[list]) -> K.Tensor:
        """x @ kernel + input bias for (batch, d) or (batch, T, d) inputs; with per-gate
        dropout masks each gate's slice of the product sees its own masked input."""
        def masked(m: K.Tensor) -> K.Tensor:
            return x * (m if len(x.shape) == 2 else K.expand_dims(m, 1))

        kernel = _tensor(self.kernel)
        if masks is None or len(masks) == 1:
            xp = K.dot(masked(masks[0]) if masks else x, kernel)
        else:
            xp = K.concatenate([K.dot(masked(m), self._gate(kernel, g))
                                for g, m in enumerate(masks)], axis=-1)
        bias = self._input_bias()
        return xp if bias is None else xp + bias

    def _recurrent_products(self, h: K.Tensor, masks: Optional[list],
                            gates: range) -> list:
        """h @ U_g (+ recurrent bias_g) for the given gates, each with its dropout mask."""
        kernel = _tensor(self.recurrent_kernel)
        rb = self._recurrent_bias()
        if masks is None:
            first, last = gates[0], gates[-1] + 1
            both = K.dot(h, kernel[:, first * self.units:last * self.units])
            if rb is not None:
                both = both + rb[..., first * self.units:last * self.units]
            return [both[:, (g - first) * self.units:(g - first + 1) * self.units]
                    for g in gates]
        out = []
        for g in gates:
            p = K.dot(h * masks[g], self._gate(kernel, g))
            out.append(p if rb is None else p + self._gate(rb, g))
        return out

    def _flat_recurrent_bias(self) -> Optional[K.Tensor]:
        rb = self._recurrent_bias()
        return None if rb is None else K.reshape(rb, (self.gates * self.units,))

    def recurrence(self, xp: K.Tensor, states: list, masks: Optional[list]) -> tuple:
        raise NotImplementedError

    def call(self, inputs: Any, states: Any = None, training: bool = False) -> Any:
        """One step: the projection of ``inputs`` then the recurrence."""
        if states is None:
            return layer_step(self, inputs, training)
        states = _as_list(states)
        dp, rdp = self._dropout_masks(inputs, states[0], training)
        return self.recurrence(self.project(inputs, dp), states, rdp)

    def run_sequence(self, x: K.Tensor, states: list, mask: Any, go_backwards: bool,
                     zero_output_for_mask: bool, training: bool, unroll: bool) -> tuple:
        """(last_output, outputs, new_states) of the whole sequence: one projection GEMM,
        then the fused recurrence or the unrolled one."""
        dp, rdp = self._dropout_masks(x[:, 0], states[0], training)
        xp = self.project(x, dp)
        fused = _fused_rnn() if rdp is None and not unroll else None
        names = [activations.serialize(f) for f in (self.activation,
                                                     self.recurrent_activation)]
        if fused is not None and all(isinstance(n, str) for n in names):
            try:
                outputs, h, c = fused(
                    self.kind, xp, self.recurrent_kernel, states[0],
                    states[1] if self.kind == "lstm" else None, mask,
                    go_backwards=go_backwards, activation=names[0],
                    recurrent_activation=names[1], recurrent_bias=self._flat_recurrent_bias(),
                    reset_after=self.reset_after, zero_output_for_mask=zero_output_for_mask)
            except NotImplementedError:
                pass  # an activation the kernel does not do: unroll instead
            else:
                # Without a mask the last output is the final h. Returned as h, a loss on
                # it reaches the kernel as the cotangent of h (no zero sequence of output
                # cotangents with one step set); with a mask, a masked last step may output
                # zeros or an earlier output instead.
                last = h if mask is None else outputs[:, -1]
                return last, outputs, [h] if c is None else [h, c]
        return K.rnn(lambda xp_t, s: self.recurrence(xp_t, s, rdp), xp, states,
                     go_backwards=go_backwards, mask=mask,
                     zero_output_for_mask=zero_output_for_mask)

    # ---- config -------------------------------------------------------------------------
    def get_config(self) -> dict:
        config = super().get_config()
        config.update(units=self.units, activation=activations.serialize(self.activation))
        if "recurrent_activation" in self._extra_keys:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config.update(
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            recurrent_initializer=initializers.serialize(self.recurrent_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer))
        if "unit_forget_bias" in self._extra_keys:
            config["unit_forget_bias"] = self.unit_forget_bias
        config.update(
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            recurrent_constraint=constraints.serialize(self.recurrent_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout)
        if "implementation" in self._extra_keys:
            config["implementation"] = self.implementation
        if "reset_after" in self._extra_keys:
            config["reset_after"] = self.reset_after
        return config


class ShabithKaCell(_GatedCell):
    """ShabithKaCell (Keras ``SimpleRNNCell``): h = activation(x W + b + h U)."""

    def __init__(self, units: int, activation="tanh", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**own_arguments(locals()))

    def recurrence(self, xp: K.Tensor, states: list, masks: Optional[list]) -> tuple:
        (rec,) = self._recurrent_products(states[0], masks, range(1))
        h = self.activation(xp + rec)
        return h, [h]


class GrothCell(_GatedCell):
    """GrothCell (Keras ``GRUCell``), gates z, r, h: z = ra(x_z + h U_z),
    r = ra(x_r + h U_r), h~ = act(x_h + (r * h) U_h) (reset_after: act(x_h + r * (h U_h +
    rb_h)), with a recurrent bias row: bias has shape (2, 3 units)), h' = z h + (1 - z) h~."""

    gates = 3
    kind = "gru"
    _extra_keys = ("recurrent_activation", "implementation", "reset_after")

    def __init__(self, units: int, activation="tanh", recurrent_activation="hard_sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, implementation: int = 2,
                 reset_after: bool = False, **kwargs: Any) -> None:
        args = own_arguments(locals())
        reset_after = args.pop("reset_after")
        super().__init__(**args)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def recurrence(self, xp: K.Tensor, states: list, masks: Optional[list]) -> tuple:
        h = states[0]
        x_z, x_r, x_h = (self._gate(xp, g) for g in range(3))
        if self.reset_after:
            rec_z, rec_r, rec_h = self._recurrent_products(h, masks, range(3))
        else:
            rec_z, rec_r = self._recurrent_products(h, masks, range(2))
        z = self.recurrent_activation(x_z + rec_z)
        r = self.recurrent_activation(x_r + rec_r)
        if self.reset_after:
            candidate = self.activation(x_h + r * rec_h)
        else:
            h_h = h if masks is None else h * masks[2]
            u_h = self._gate(_tensor(self.recurrent_kernel), 2)
            candidate = self.activation(x_h + K.dot(r * h_h, u_h))
        new = z * h + (1.0 - z) * candidate
        return new, [new]


def lstm_update(cell: Any, pre: list, c: K.Tensor) -> tuple:
    """The LSTM update from the pre-activations of the gates i, f, c, o (input part plus
    recurrent part): (h', [h', c']). Shared by LaldagorthCell and the convolutional cell."""
    i, f, o = (cell.recurrent_activation(pre[k]) for k in (0, 1, 3))
    c_new = f * c + i * cell.activation(pre[2])
    h_new = o * cell.activation(c_new)
    return h_new, [h_new, c_new]


class LaldagorthCell(_GatedCell):
    """LaldagorthCell (Keras ``LSTMCell``), gates i, f, c, o: c' = f c + i act(x_c + h U_c),
    h' = o act(c'), the gates ra(x_g + h U_g). ``unit_forget_bias`` starts the forget bias
    at 1."""

    gates = 4
    kind = "lstm"
    _extra_keys = ("recurrent_activation", "unit_forget_bias", "implementation")

    @property
    def state_size(self) -> Any:
        return [self.units, self.units]

    def _bias_init(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        init, units = self.bias_initializer, self.units

        def forget_bias_one(shape, dtype=None):
            return np.concatenate([np.asarray(init((units,), dtype=dtype)), np.ones(units),
                                   np.asarray(init((2 * units,), dtype=dtype))]).astype(dtype)
        return forget_bias_one

    def recurrence(self, xp: K.Tensor, states: list, masks: Optional[list]) -> tuple:
        h, c = states
        recs = self._recurrent_products(h, masks, range(4))
        return lstm_update(self, [self._gate(xp, k) + recs[k] for k in range(4)], c)


class StackedRNNCells(Layer):
    """Several cells as one: each cell's output is the next cell's input; the states are
    those of the cells, in order, and the output the last cell's."""

    def __init__(self, cells: list, **kwargs: Any) -> None:
        for cell in cells:
            if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
                raise ValueError(f"All cells must have a `call` method and a `state_size` "
                                 f"attribute. Received cells: {cells}")
        kwargs.pop("reverse_state_order", None)  # an old Keras argument
        super().__init__(**kwargs)
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        return [s for cell in self.cells for s in _state_shapes(cell.state_size)]

    @property
    def output_size(self) -> int:
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _state_shapes(last.state_size)[0][0]

    @property
    def masks(self) -> list:
        return [m for cell in self.cells for m in _dropout_owners(cell)]

    def build(self, input_shape: Any) -> None:
        shape = first_shape(input_shape)
        for cell in self.cells:
            _build_cell(cell, shape)
            out = getattr(cell, "output_size", None) or _state_shapes(cell.state_size)[0][0]
            shape = shape[:-1] + (int(out),)
        self.built = True

    def call(self, inputs: Any, states: Any = None, constants: Optional[list] = None,
             training: bool = False) -> Any:
        if states is None:
            return layer_step(self, inputs, training)
        states = _as_list(states)
        new_states = []
        x = inputs
        for cell in self.cells:
            n = len(_state_shapes(cell.state_size))
            own, states = states[:n], states[n:]
            x, new = cell.call(x, own, **_call_kwargs(cell.call, training, constants or []))
            new_states += _as_list(new)
        return x, new_states

    # ---- weights are the cells' ---------------------------------------------------------
    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        return [w for cell in self.cells for w in getattr(cell, "trainable_weights", [])]

    @property
    def non_trainable_weights(self) -> list:
        if not self.trainable:
            return self.weights
        return [w for cell in self.cells for w in getattr(cell, "non_trainable_weights", [])]

    @property
    def weights(self) -> list:
        return [w for cell in self.cells for w in getattr(cell, "weights", [])]

    @property
    def constraints(self) -> dict:
        return {k: c for cell in self.cells for k, c in getattr(cell, "constraints", {}).items()}

    @constraints.setter
    def constraints(self, value: dict) -> None:
        pass  # the cells' own

    def regularization_penalties(self) -> list:
        return [p for cell in self.cells if isinstance(cell, Layer)
                for p in cell.regularization_penalties()]

    def get_config(self) -> dict:
        from cthulhu.saving.serialization import serialize_layer
        return {**super().get_config(), "cells": [serialize_layer(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict) -> StackedRNNCells:
        from cthulhu.saving.serialization import deserialize_layer
        config = dict(config)
        cells = [deserialize_layer(c) for c in config.pop("cells")]
        return cls(cells, **config)


def _dropout_owners(cell: Any) -> list:
    """The dropout mask holders of a cell (and of the cells it stacks)."""
    if isinstance(cell, StackedRNNCells):
        return cell.masks
    masks = getattr(cell, "masks", None)
    return [masks] if isinstance(masks, DropoutMasks) else []


def _build_cell(cell: Any, step_shape: tuple) -> None:
    if isinstance(cell, Layer):
        cell._ensure_built(step_shape)
    elif hasattr(cell, "build") and not getattr(cell, "built", False):
        cell.build(step_shape)
        cell.built = True


class RNN(Layer):
    """RNN (Keras ``RNN``): iterates ``cell`` over the time axis of (batch, time, ...)
    inputs. ``return_sequences`` gives every step's output, ``return_state`` appends the
    final states, ``go_backwards`` reads the sequence from the end (the output sequence is
    then reversed), ``stateful`` carries the final states of a batch to the next one (in
    every mode, as Keras; ``reset_states`` zeroes them). ``initial_state`` and ``constants``
    are passed in the call (``layer(x, initial_state=[h0])``): they become inputs of the
    layer's node. A mask on the inputs (Masking, or an embedding with mask_zero) keeps the
    states and repeats the previous output at masked steps. The recurrence is unrolled over
    the known number of timesteps (``unroll`` is accepted; the built-in cells use the fused
    kernel when available)."""

    supports_masking = True

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 time_major: bool = False, zero_output_for_mask: bool = False,
                 num_constants: int = 0, **kwargs: Any) -> None:
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call"):
            raise ValueError(f"`cell` should have a `call` method. The RNN was passed: {cell}")
        if not hasattr(cell, "state_size"):
            raise ValueError("The RNN cell should have an attribute `state_size` (tuple of "
                             "integers, one integer per RNN state).")
        if time_major:
            raise NotImplementedError("RNN(time_major=True) is not supported: the batch axis "
                                      "must come first")
        input_dim = kwargs.pop("input_dim", None)
        input_length = kwargs.pop("input_length", None)
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs and \
                (input_dim is not None or input_length is not None):
            kwargs["input_shape"] = (input_length, input_dim)
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.time_major = False
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._num_constants = int(num_constants)
        self.state_variables: Optional[list[K.Variable]] = None

    # ---- the cell's weights -------------------------------------------------------------
    @property
    def trainable_weights(self) -> list:
        return list(getattr(self.cell, "trainable_weights", [])) if self.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        if not self.trainable:
            return self.weights
        return list(getattr(self.cell, "non_trainable_weights", []))

    @property
    def weights(self) -> list:
        return list(getattr(self.cell, "weights", []))

    @property
    def constraints(self) -> dict:
        return dict(getattr(self.cell, "constraints", {}))

    @constraints.setter
    def constraints(self, value: dict) -> None:
        pass  # the cell's own

    def regularization_penalties(self) -> list:
        cell = self.cell
        return cell.regularization_penalties() if isinstance(cell, Layer) else []

    # ---- structure ----------------------------------------------------------------------
    def _state_shapes(self) -> list[tuple]:
        return _state_shapes(self.cell.state_size)

    def _output_size(self) -> Any:
        size = getattr(self.cell, "output_size", None)
        return self._state_shapes()[0] if size is None else _state_shapes(size)[0]

    @property
    def states(self) -> list:
        if self.state_variables is None:
            return [None] * len(self._state_shapes())
        return list(self.state_variables)

    def _call_arguments(self, inputs: Any, kwargs: dict) -> Any:
        """initial_state and constants become extra inputs of the node, as in Keras."""
        initial_state = kwargs.pop("initial_state", None)
        constants = kwargs.pop("constants", None)
        super()._call_arguments(inputs, kwargs)
        if isinstance(inputs, (list, tuple)):
            if initial_state is not None or constants is not None:
                raise ValueError("pass the initial states either in the input list or as "
                                 "initial_state, not both")
            return inputs
        extra = []
        if initial_state is not None:
            extra += _as_list(initial_state)
        if constants is not None:
            self._num_constants = len(_as_list(constants))
            extra += _as_list(constants)
        return [inputs] + extra if extra else inputs

    def _split_inputs(self, inputs: Any) -> tuple:
        """(sequence, initial states or None, constants) of a call's inputs."""
        if not isinstance(inputs, (list, tuple)):
            return inputs, None, []
        inputs = list(inputs)
        n_const = self._num_constants
        constants = inputs[len(inputs) - n_const:] if n_const else []
        rest = inputs[:len(inputs) - n_const] if n_const else inputs
        return rest[0], (rest[1:] or None), constants

    def _check_input_spec(self, xs: list) -> None:
        InputSpec(min_ndim=3).check(self.name, 0, tuple(xs[0].shape))

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape[0]) if isinstance(input_shape, list) else tuple(input_shape)
        _build_cell(self.cell, (shape[0],) + shape[2:])
        if self.stateful:
            self._make_state_variables(shape[0])
        self.built = True

    def _make_state_variables(self, batch: Optional[int]) -> None:
        if batch is None:
            raise ValueError(_STATEFUL_NEEDS_BATCH)
        if self.state_variables is None:
            self.state_variables = [
                K.Variable(np.zeros((batch,) + s), self.dtype, f"{self.name}/state_{i}",
                           trainable=False)
                for i, s in enumerate(self._state_shapes())]

    # ---- the computation ----------------------------------------------------------------
    def _initial_states(self, x: K.Tensor, given: Optional[list]) -> list:
        shapes = self._state_shapes()
        if given is not None:
            if len(given) != len(shapes):
                raise ValueError(f"Layer {self.name!r} expects {len(shapes)} states, but it "
                                 f"received {len(given)} initial states")
            for s, want in zip(given, shapes):
                if tuple(s.shape[1:]) != want:
                    raise ValueError(f"An initial_state was passed that is not compatible "
                                     f"with `cell.state_size`: state shape {s.shape}, "
                                     f"expected (batch,) + {want}")
            return [_wrap(_value(s)) for s in given]
        if self.stateful:
            self._make_state_variables(x.shape[0])
            assert self.state_variables is not None
            return [_tensor(v) for v in self.state_variables]
        return [zeros_state(x, s) for s in shapes]

    def _run(self, x: K.Tensor, states: list, constants: list, mask: Any,
             training: bool) -> tuple:
        cell = self.cell
        if isinstance(cell, _GatedCell) and not constants:
            return cell.run_sequence(x, states, mask, self.go_backwards,
                                     self.zero_output_for_mask, training, self.unroll)
        kwargs = _call_kwargs(cell.call, training, constants)
        n = len(states)

        def step(x_t: K.Tensor, all_states: list) -> tuple:
            out, new = cell.call(x_t, all_states[:n], **kwargs)
            return out, _as_list(new)
        return K.rnn(step, x, states, go_backwards=self.go_backwards, mask=mask,
                     zero_output_for_mask=self.zero_output_for_mask)

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        x, given, constants = self._split_inputs(inputs)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        states = self._initial_states(x, given)
        owners = _dropout_owners(self.cell)
        for m in owners:  # masks are drawn once per sequence, in this trace
            m.reset()
        try:
            last, outputs, new_states = self._run(x, states, constants, mask, training)
        finally:
            for m in owners:
                m.reset()
        if self.stateful:
            trace = K.current_trace()
            assert self.state_variables is not None
            for var, new in zip(self.state_variables, new_states):
                trace.add_update(var, new, every_mode=True)
        output = outputs if self.return_sequences else last
        return [output] + list(new_states) if self.return_state else output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        out = mask if self.return_sequences else None
        if self.return_state:
            return [out] + [None] * len(self._state_shapes())
        return out

    def reset_states(self, states: Any = None) -> None:
        """Zeroes the states of a stateful layer, or sets them to ``states`` (arrays)."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if self.state_variables is None:
            batch = self.batch_input_shape[0] if self.batch_input_shape else None
            self._make_state_variables(batch)
        assert self.state_variables is not None
        if states is None:
            for var in self.state_variables:
                var.assign(np.zeros(var.shape))
            return
        states = _as_list(states)
        if len(states) != len(self.state_variables):
            raise ValueError(f"Layer {self.name} expects {len(self.state_variables)} states, "
                             f"but it received {len(states)} state values. States received: "
                             f"{states}")
        for i, (var, value) in enumerate(zip(self.state_variables, states)):
            if np.shape(value) != var.shape:
                raise ValueError(f"State {i} is incompatible with layer {self.name}: expected "
                                 f"shape={var.shape} but found shape={np.shape(value)}")
            var.assign(value)

    # ---- config -------------------------------------------------------------------------
    def _rnn_config(self) -> dict:
        config = super().get_config()
        config.update(return_sequences=self.return_sequences, return_state=self.return_state,
                      go_backwards=self.go_backwards, stateful=self.stateful,
                      unroll=self.unroll, time_major=self.time_major)
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        if self._num_constants:
            config["num_constants"] = self._num_constants
        return config

    def get_config(self) -> dict:
        from cthulhu.saving.serialization import serialize_layer
        return {**self._rnn_config(), "cell": serialize_layer(self.cell)}

    @classmethod
    def from_config(cls, config: dict) -> RNN:
        from cthulhu.saving.serialization import deserialize_layer
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"))
        return cls(cell, **config)


class CellLayer(RNN):
    """A layer that is an RNN over its own built-in cell (ShabithKa, Groth, Laldagorth,
    Cxaxukluth):
    the cell's arguments are the layer's, and its config is flat, as Keras's."""

    cell_class: type = _GatedCell
    _RNN_KEYS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                 "time_major", "zero_output_for_mask", "input_dim", "input_length",
                 "input_shape", "batch_input_shape", "batch_size", "name", "trainable",
                 "dtype", "weights")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in self._RNN_KEYS}
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        cell = self.cell_class(*args, dtype=layer_kwargs.get("dtype"),
                               trainable=layer_kwargs.get("trainable", True), **kwargs)
        super().__init__(cell, **layer_kwargs)
        self.activity_regularizer = regularizers.get(activity_regularizer)

    def __getattr__(self, name: str) -> Any:
        # The cell's arguments read as the layer's (layer.units, layer.dropout, ...).
        if not name.startswith("__") and name != "cell" and "cell" in self.__dict__ \
                and hasattr(self.__dict__["cell"], name):
            return getattr(self.__dict__["cell"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self) -> dict:
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config = {**self._rnn_config(), **cell_config,
                  "activity_regularizer": regularizers.serialize(self.activity_regularizer)}
        return config

    @classmethod
    def from_config(cls, config: dict) -> RNN:
        return cls(**config)


class ShabithKa(CellLayer):
    """ShabithKa (Keras ``SimpleRNN``): a fully connected recurrence, h = act(x W + h U + b)."""

    cell_class = ShabithKaCell


class Groth(CellLayer):
    """Groth (Keras ``GRU``): the gated recurrent unit (see GrothCell)."""

    cell_class = GrothCell


class Laldagorth(CellLayer):
    """Laldagorth (Keras ``LSTM``): the long short-term memory (see LaldagorthCell)."""

    cell_class = LaldagorthCell
