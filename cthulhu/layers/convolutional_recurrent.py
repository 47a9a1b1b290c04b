"""Cxaxukluth (Keras ``ConvLSTM2D``): an LSTM whose input and recurrent products are 2-D
convolutions, over (batch, time, rows, cols, channels) inputs (channels first: (batch,
time, channels, rows, cols)).

It runs unrolled over the known number of timesteps: per step, the input convolution and
the recurrent convolution ('same' padding, stride 1) with the existing conv op, then the
LSTM update shared with LaldagorthCell. Weights in Keras's layout: kernel (kh, kw, channels,
4 filters), recurrent_kernel (kh, kw, filters, 4 filters), bias (4 filters), gates i, f, c, o.
"""

from __future__ import annotations

from typing import Any

from compiler.ops.conv import out_size
from cthulhu import backend as K
from cthulhu.backend._tracing import _emit, _value
from cthulhu.layers.base import InputSpec
from cthulhu.layers.convolutional import (
    conv_pads,
    normalize_data_format,
    normalize_tuple,
    to_channels_first,
    to_channels_last,
)
from cthulhu.layers.recurrent import (
    CellLayer,
    _as_list,
    _GatedCell,
    _tensor,
    first_shape,
    layer_step,
    lstm_update,
    own_arguments,
)


class CxaxukluthCell(_GatedCell):
    """CxaxukluthCell (Keras ``ConvLSTM2DCell``): one step of Cxaxukluth. Its states are
    (rows', cols', filters) maps (channels first: (filters, rows', cols')), known once the
    cell is built on an input shape."""

    gates = 4
    kind = "conv_lstm"
    _extra_keys = ("recurrent_activation", "unit_forget_bias")

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 data_format=None, dilation_rate=(1, 1), activation="tanh",
                 recurrent_activation="hard_sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias: bool = True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, **kwargs: Any) -> None:
        args = own_arguments(locals())
        for key in ("filters", "kernel_size", "strides", "padding", "data_format",
                    "dilation_rate"):
            del args[key]
        # implementation=1: one dropout mask per gate, as Keras's ConvLSTM2D.
        super().__init__(filters, implementation=1, **args)
        self.filters = self.units
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size")
        self.strides = normalize_tuple(strides, 2, "strides")
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("strides > 1 are not supported together with dilation_rate > 1")
        self.data_format = normalize_data_format(data_format)
        self.state_shape: Any = None  # set by build

    @property
    def state_size(self) -> Any:
        if self.state_shape is None:
            return (self.filters, self.filters)
        return [self.state_shape, self.state_shape]

    @property
    def output_size(self) -> Any:
        return self.state_shape if self.state_shape is not None else self.filters

    def _channels_first(self) -> bool:
        return self.data_format == "channels_first"

    def build(self, input_shape: Any) -> None:
        shape = first_shape(input_shape)  # (batch, rows, cols, channels) or channels first
        if self._channels_first():
            shape = (shape[0],) + shape[2:] + (shape[1],)
        channels = shape[-1]
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. Found "
                             "`None`.")
        self._pads = conv_pads(self.padding, shape[1:3], self.kernel_size, self.strides,
                               self.dilation_rate)
        rows, cols = (out_size(s, k, st, d, p) for s, k, st, d, p in zip(
            shape[1:3], self.kernel_size, self.strides, self.dilation_rate, self._pads))
        self.state_shape = (self.filters, rows, cols) if self._channels_first() else \
            (rows, cols, self.filters)
        width = 4 * self.filters
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, width),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", self.kernel_size + (self.filters, width),
            self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        self.bias = self.add_weight("bias", (width,), self._bias_init(),
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def _convolutions(self, x: K.Tensor, kernel: Any, masks: Any, pads: tuple,
                      strides: tuple, dilation: tuple) -> list:
        """The four gates' convolutions of x (channels last), each with its dropout mask
        (one convolution split by gate when there are none)."""
        def conv(inp: K.Tensor, w: K.Tensor) -> K.Tensor:
            return _emit("conv", _value(inp), _value(w), strides=strides, dilation=dilation,
                         pads=pads, fn="linear")
        w = _tensor(kernel)
        if masks is None:
            both = conv(x, w)
            return [self._gate(both, g) for g in range(4)]
        return [conv(x * m, self._gate(w, g)) for g, m in enumerate(masks)]

    def call(self, inputs: Any, states: Any = None, training: bool = False) -> Any:
        if states is None:
            return layer_step(self, inputs, training)
        first = self._channels_first()
        x = to_channels_last(inputs, 2) if first else inputs
        h, c = (to_channels_last(s, 2) if first else s for s in _as_list(states))
        dp, rdp = self._dropout_masks(x, h, training)
        xs = self._convolutions(x, self.kernel, dp, self._pads, self.strides,
                                self.dilation_rate)
        same = conv_pads("same", tuple(h.shape[1:3]), self.kernel_size, (1, 1), (1, 1))
        hs = self._convolutions(h, self.recurrent_kernel, rdp, same, (1, 1), (1, 1))
        pre = [a + b for a, b in zip(xs, hs)]
        if self.bias is not None:
            bias = K.reshape(self.bias, (1, 4 * self.filters))
            pre = [p + self._gate(bias, g) for g, p in enumerate(pre)]
        h_new, (_, c_new) = lstm_update(self, pre, c)
        if first:
            h_new, c_new = (to_channels_first(t, 2) for t in (h_new, c_new))
        return h_new, [h_new, c_new]

    def run_sequence(self, x: K.Tensor, states: list, mask: Any, go_backwards: bool,
                     zero_output_for_mask: bool, training: bool, unroll: bool) -> tuple:
        return K.rnn(lambda x_t, s: self.call(x_t, s, training=training), x, states,
                     go_backwards=go_backwards, mask=mask,
                     zero_output_for_mask=zero_output_for_mask)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["units"]
        config.update(filters=self.filters, kernel_size=self.kernel_size,
                      strides=self.strides, padding=self.padding,
                      data_format=self.data_format, dilation_rate=self.dilation_rate)
        return config


class Cxaxukluth(CellLayer):
    """Cxaxukluth (Keras ``ConvLSTM2D``), see CxaxukluthCell; unrolled over time."""

    cell_class = CxaxukluthCell

    def _check_input_spec(self, xs: list) -> None:
        InputSpec(ndim=5).check(self.name, 0, tuple(xs[0].shape))
