"""The recurrent layers through the layer harness (numpy references of the cell formulas,
config and weight round trips, a training step, float64 finite-difference gradients through
time), and what the harness does not cover: return_state, masks, initial_state, stateful
layers, dropout in training, TimeDistributed after an RNN, and a learning test."""

from __future__ import annotations

import time
from typing import Optional

import numpy as np
import pytest

import cthulhu
from compiler.builder import Builder
from compiler.interpret import interpret
from cthulhu import backend as K
from cthulhu import layers
from cthulhu.layers import Input, Masking
from cthulhu.models import Lump, Pile

from .conv_reference import conv_nd
from .layer_harness import _check_gradients, layer_test


# ---- numpy references: the Keras 2 cell formulas written out step by step -------------
def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def simple_step(x, states, w, act=np.tanh, **_):
    kernel, rec, bias = w
    h = act(x @ kernel + bias + states[0] @ rec)
    return h, [h]


def gru_step(x, states, w, act=np.tanh, ract=hard_sigmoid, reset_after=False):
    kernel, rec, bias = w
    h = states[0]
    u = h.shape[1]
    if reset_after:
        xs = x @ kernel + bias[0]
        hs = h @ rec + bias[1]
        z = ract(xs[:, :u] + hs[:, :u])
        r = ract(xs[:, u:2 * u] + hs[:, u:2 * u])
        cand = act(xs[:, 2 * u:] + r * hs[:, 2 * u:])
    else:
        xs = x @ kernel + bias
        z = ract(xs[:, :u] + h @ rec[:, :u])
        r = ract(xs[:, u:2 * u] + h @ rec[:, u:2 * u])
        cand = act(xs[:, 2 * u:] + (r * h) @ rec[:, 2 * u:])
    new = z * h + (1 - z) * cand
    return new, [new]


def lstm_gates(pre, c, act=np.tanh, ract=hard_sigmoid):
    u = c.shape[-1]
    i, f, g, o = (pre[..., k * u:(k + 1) * u] for k in range(4))
    c_new = ract(f) * c + ract(i) * act(g)
    h_new = ract(o) * act(c_new)
    return h_new, [h_new, c_new]


def lstm_step(x, states, w, act=np.tanh, ract=hard_sigmoid, **_):
    kernel, rec, bias = w
    h, c = states
    return lstm_gates(x @ kernel + bias + h @ rec, c, act, ract)


def conv_lstm_step(x, states, w, padding="valid", **_):
    kernel, rec, bias = w
    h, c = states
    pre = conv_nd(x, kernel, bias, padding=padding) + conv_nd(h, rec, padding="same")
    return lstm_gates(pre, c)


STEPS = {"simple": simple_step, "gru": gru_step, "lstm": lstm_step,
         "conv_lstm": conv_lstm_step}


def run(step, x, weights, states, mask: Optional[np.ndarray] = None,
        go_backwards: bool = False, zero_output: bool = False, **kwargs):
    """(outputs in processing order, final states). At a masked step the states stay and
    the output repeats the previous one (zeros at first; always zeros with zero_output),
    as Keras."""
    steps = x.shape[1]
    outputs = []
    previous = None
    for t in (reversed(range(steps)) if go_backwards else range(steps)):
        out, new = step(x[:, t], states, weights, **kwargs)
        if mask is not None:
            keep = mask[:, t].reshape((-1,) + (1,) * (out.ndim - 1)) != 0
            if previous is None or zero_output:
                previous = np.zeros_like(out)
            out = np.where(keep, out, previous)
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        states, previous = new, out
        outputs.append(out)
    return np.stack(outputs, axis=1), states


def zeros_states(kind: str, batch: int, shape: tuple) -> list:
    n = 2 if kind in ("lstm", "conv_lstm") else 1
    return [np.zeros((batch,) + shape) for _ in range(n)]


def layer_reference(kind: str, units_shape: tuple, return_sequences=False, go_backwards=False,
                    **kwargs):
    """A harness reference (xs, weights) -> output of a recurrent layer over zero states."""
    def reference(xs, w):
        x = xs[0]
        outs, _ = run(STEPS[kind], x, w, zeros_states(kind, len(x), units_shape),
                      go_backwards=go_backwards, **kwargs)
        return outs if return_sequences else outs[:, -1]
    return reference

RANDOM_BIAS = dict(bias_initializer="random_normal")


class MinimalCell(layers.Layer):
    """A cell written with K only: h = tanh(x W + h U)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, self.units))
        self.built = True

    def call(self, inputs, states):
        h = K.tanh(K.dot(inputs, self.kernel) + K.dot(states[0], self.recurrent_kernel))
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def minimal_step(x, states, w, **_):
    h = np.tanh(x @ w[0] + states[0] @ w[1])
    return h, [h]


def stacked_reference(xs, w):
    """LSTM(3) then GRU(2) per step, the GRU output last."""
    x = xs[0]
    lstm_w, gru_w = w[:3], w[3:]
    states = [np.zeros((len(x), 3)), np.zeros((len(x), 3)), np.zeros((len(x), 2))]
    for t in range(x.shape[1]):
        h1, s1 = lstm_step(x[:, t], states[:2], lstm_w)
        h2, s2 = gru_step(h1, states[2:], gru_w)
        states = s1 + s2
    return h2


def bidirectional_reference(kind, units, merge_mode, return_sequences):
    def reference(xs, w):
        x = xs[0]
        half = len(w) // 2
        states = zeros_states(kind, len(x), (units,))
        fw, _ = run(STEPS[kind], x, w[:half], states)
        bw, _ = run(STEPS[kind], x, w[half:], states, go_backwards=True)
        if return_sequences:
            bw = bw[:, ::-1]
        else:
            fw, bw = fw[:, -1], bw[:, -1]
        return {"concat": lambda: np.concatenate([fw, bw], -1), "sum": lambda: fw + bw,
                "mul": lambda: fw * bw, "ave": lambda: (fw + bw) / 2}[merge_mode]()
    return reference


def recurrent_cases():
    """The harness cases of the recurrent layers and cells (run by test_layers, whose table
    the saving round trips also use)."""
    cases = []
    for kind, cls, extra in (("simple", layers.ShabithKa, {}),
                             ("gru", layers.Groth, {}),
                             ("lstm", layers.Laldagorth, {})):
        for seq in (False, True):
            for back in (False, True):
                name = f"{kind}_seq{int(seq)}_back{int(back)}"
                cases.append((name, (lambda cls=cls, seq=seq, back=back, extra=extra: cls(
                    3, return_sequences=seq, go_backwards=back, **RANDOM_BIAS, **extra)),
                    [(4, 2)], layer_reference(kind, (3,), seq, back)))
    cases += [
        ("gru_reset_after", lambda: layers.Groth(3, reset_after=True,
                                                 recurrent_activation="sigmoid",
                                                 return_sequences=True, **RANDOM_BIAS),
         [(3, 2)], layer_reference("gru", (3,), True, reset_after=True,
                                       ract=sigmoid)),
        ("lstm_no_bias_sigmoid", lambda: layers.Laldagorth(
            2, use_bias=False, recurrent_activation="sigmoid", implementation=1),
         [(3, 2)], lambda xs, w: layer_reference("lstm", (2,), ract=sigmoid)(
             xs, list(w) + [np.zeros(8)])),
        ("simple_relu", lambda: layers.ShabithKa(2, activation="relu", unroll=True),
         [(3, 2)], layer_reference("simple", (2,), act=lambda z: np.maximum(z, 0))),
        ("rnn_lstm_cell", lambda: layers.RNN(layers.LaldagorthCell(2, **RANDOM_BIAS)),
         [(3, 2)], layer_reference("lstm", (2,))),
        ("stacked_cells", lambda: layers.RNN(layers.StackedRNNCells(
            [layers.LaldagorthCell(3), layers.GrothCell(2, **RANDOM_BIAS)])),
         [(3, 2)], stacked_reference),
        ("conv_lstm", lambda: layers.Cxaxukluth(2, 2, **RANDOM_BIAS),
         [(2, 3, 3, 1)], layer_reference("conv_lstm", (2, 2, 2))),
        ("conv_lstm_same_seq", lambda: layers.Cxaxukluth(1, (2, 2), padding="same",
                                                        return_sequences=True),
         [(2, 2, 3, 1)], layer_reference("conv_lstm", (2, 3, 1), True, padding="same")),
    ]
    # A cell called as a layer on [inputs, *states]: one step, its output.
    cases += [
        ("shabith_ka_cell", lambda: layers.ShabithKaCell(3, **RANDOM_BIAS), [(2,), (3,)],
         lambda xs, w: simple_step(xs[0], xs[1:], w)[0]),
        ("groth_cell", lambda: layers.GrothCell(3, reset_after=True, **RANDOM_BIAS),
         [(2,), (3,)], lambda xs, w: gru_step(xs[0], xs[1:], w, reset_after=True)[0]),
        ("laldagorth_cell", lambda: layers.LaldagorthCell(3), [(2,), (3,), (3,)],
         lambda xs, w: lstm_step(xs[0], xs[1:], w)[0]),
        ("cxaxukluth_cell", lambda: layers.CxaxukluthCell(2, 2, padding="same"),
         [(3, 3, 1), (3, 3, 2), (3, 3, 2)],
         lambda xs, w: conv_lstm_step(xs[0], xs[1:], w, padding="same")[0]),
        ("stacked_rnn_cells", lambda: layers.StackedRNNCells(
            [layers.LaldagorthCell(3), layers.GrothCell(2, **RANDOM_BIAS)]),
         [(2,), (3,), (3,), (2,)],
         lambda xs, w: gru_step(lstm_step(xs[0], xs[1:3], w[:3])[0], xs[3:], w[3:])[0]),
    ]
    for mode in ("concat", "sum", "mul", "ave"):
        for seq in (False, True):
            cases.append((f"bidirectional_{mode}_seq{int(seq)}",
                          lambda mode=mode, seq=seq: layers.Bidirectional(
                              layers.Groth(2, return_sequences=seq, **RANDOM_BIAS), mode),
                          [(3, 2)], bidirectional_reference("gru", 2, mode, seq)))
    return cases


def test_rnn_over_a_cell_written_with_k():
    with cthulhu.utils.custom_object_scope({"MinimalCell": MinimalCell}):
        layer_test(lambda: layers.RNN(MinimalCell(3), return_sequences=True), [(3, 2)],
                   lambda xs, w: run(minimal_step, xs[0], w, [np.zeros((len(xs[0]), 3))])[0])


def test_a_cell_as_a_layer_needs_its_states():
    with pytest.raises(ValueError, match=r"\[inputs, \*states\]"):
        layers.GrothCell(2)(Input((3,)))


# ---- what the harness does not cover ----------------------------------------------------
def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _masked_data():
    """Batch 3, 4 steps: one row fully masked, one partly (steps 1 and 3), one not."""
    x = _data((3, 4, 2))
    x[0] = 0.0
    x[1, 1] = 0.0
    x[1, 3] = 0.0
    mask = np.any(x != 0.0, axis=-1).astype(np.float64)
    return x, mask


@pytest.mark.parametrize("kind,cls", [("simple", layers.ShabithKa), ("gru", layers.Groth),
                                      ("lstm", layers.Laldagorth)])
@pytest.mark.parametrize("seq", [False, True])
@pytest.mark.parametrize("back", [False, True])
def test_masked_inputs_keep_states_and_repeat_outputs(kind, cls, seq, back):
    np.random.seed(1)
    x_in = Input((4, 2))
    lay = cls(3, return_sequences=seq, go_backwards=back, **RANDOM_BIAS)
    out = lay(Masking(0.0)(x_in))
    assert (out._mask is not None) == seq
    model = Lump(x_in, out)
    x, mask = _masked_data()
    got = model.predict(x)
    outs, _ = run(STEPS[kind], x.astype(np.float64), lay.get_weights(),
                      zeros_states(kind, 3, (3,)), mask=mask, go_backwards=back)
    np.testing.assert_allclose(got, outs if seq else outs[:, -1], rtol=1e-5, atol=1e-6)
    if not back:  # the fully masked row never leaves the zero state
        np.testing.assert_array_equal(got[0], 0.0)


class MaskFromInput(layers.Layer):
    """Passes its first input on with the mask ``second input > 0.5`` (a mask that finite
    differences of the inputs do not flip, unlike Masking's ``x != 0``)."""

    supports_masking = True

    def call(self, inputs, training=False):
        return inputs[0]

    def compute_mask(self, inputs, mask=None):
        return K.greater(inputs[1], 0.5)


@pytest.mark.parametrize("cls", [layers.ShabithKa, layers.Groth, layers.Laldagorth])
def test_masked_gradients_through_time(cls):
    def make():
        x, m = Input((4, 2)), Input((4,))
        return Lump([x, m], cls(2, return_sequences=True)(MaskFromInput()([x, m])))
    x, mask = _masked_data()
    _check_gradients(make, [(4, 2), (4,)], [x.astype(np.float64), mask], 0)


def test_mask_zero_embedding_and_bidirectional_with_mask():
    np.random.seed(2)
    ids = Input((5,))
    emb = layers.TheHydra(6, 2, mask_zero=True)
    bi = layers.Bidirectional(layers.ShabithKa(3, return_sequences=True), "concat")
    out = bi(emb(ids))
    assert out._mask is not None and out._mask.shape == (None, 5)
    model = Lump(ids, out)
    data = np.array([[1, 2, 0, 0, 0], [3, 1, 4, 5, 2]], np.float32)
    got = model.predict(data)
    e = emb.get_weights()[0][data.astype(int)].astype(np.float64)
    mask = (data != 0).astype(np.float64)
    w = bi.get_weights()
    zeros = [np.zeros((2, 3))]
    # With return_sequences, Bidirectional outputs zeros at masked steps (as Keras).
    fw, _ = run(simple_step, e, w[:3], zeros, mask=mask, zero_output=True)
    bw, _ = run(simple_step, e, w[3:], zeros, mask=mask, go_backwards=True,
                    zero_output=True)
    np.testing.assert_allclose(got, np.concatenate([fw, bw[:, ::-1]], -1), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("kind,cls", [("gru", layers.Groth), ("lstm", layers.Laldagorth)])
def test_return_state_and_initial_state(kind, cls):
    np.random.seed(3)
    n = 2 if kind == "lstm" else 1
    x_in = Input((4, 2))
    s_in = [Input((3,)) for _ in range(n)]
    lay = cls(3, return_sequences=True, return_state=True, **RANDOM_BIAS)
    outs = lay(x_in, initial_state=s_in)
    assert len(outs) == 1 + n
    model = Lump([x_in] + s_in, outs)
    x = _data((5, 4, 2))
    s0 = [_data((5, 3), seed=i + 1) for i in range(n)]
    got = model.predict([x] + s0)
    seq, states = run(STEPS[kind], x.astype(np.float64), lay.get_weights(),
                          [s.astype(np.float64) for s in s0])
    np.testing.assert_allclose(got[0], seq, rtol=1e-5, atol=1e-6)
    for g, s in zip(got[1:], states):
        np.testing.assert_allclose(g, s, rtol=1e-5, atol=1e-6)
    # The states round-trip through the layer config (a node with several inputs).
    clone = Lump.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict([x] + s0)[0], got[0], rtol=1e-6)


def test_bidirectional_return_state_initial_state_and_no_merge():
    np.random.seed(4)
    x_in = Input((3, 2))
    states = [Input((2,)) for _ in range(4)]
    bi = layers.Bidirectional(layers.Laldagorth(2, return_state=True), merge_mode=None)
    outs = bi(x_in, initial_state=states)
    assert len(outs) == 6
    model = Lump([x_in] + states, outs)
    x = _data((3, 3, 2))
    s0 = [_data((3, 2), seed=i + 5) for i in range(4)]
    got = model.predict([x] + s0)
    w = bi.get_weights()
    x64, s64 = x.astype(np.float64), [s.astype(np.float64) for s in s0]
    fw, fs = run(lstm_step, x64, w[:3], s64[:2])
    bw, bs = run(lstm_step, x64, w[3:], s64[2:], go_backwards=True)
    for g, want in zip(got, [fw[:, -1], bw[:, -1]] + fs + bs):
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


def _stateful_model(batch=2):
    x_in = Input(batch_shape=(batch, 3, 2))
    lay = layers.Laldagorth(3, stateful=True, **RANDOM_BIAS)
    return Lump(x_in, lay(x_in)), lay


def test_stateful_carries_states_across_batches_in_every_mode():
    np.random.seed(5)
    model, lay = _stateful_model()
    w = lay.get_weights()
    x1, x2 = _data((2, 3, 2), 1), _data((2, 3, 2), 2)
    zeros = zeros_states("lstm", 2, (3,))
    out1, s1 = run(lstm_step, x1.astype(np.float64), w, zeros)
    out2, s2 = run(lstm_step, x2.astype(np.float64), w, s1)
    np.testing.assert_allclose(model.predict(x1), out1[:, -1], rtol=1e-5, atol=1e-6)
    for var, s in zip(lay.states, s1):  # predict updated the states
        np.testing.assert_allclose(var.numpy(), s, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(x2), out2[:, -1], rtol=1e-5, atol=1e-6)
    lay.reset_states()
    np.testing.assert_array_equal(lay.states[0].numpy(), 0.0)
    np.testing.assert_allclose(model.predict(x1), out1[:, -1], rtol=1e-5, atol=1e-6)
    model.reset_states()
    # Evaluation and training steps update the states too.
    model.conjure(cthulhu.optimizers.SGD(0.0), "mse")
    model.evaluate(x1, np.zeros((2, 3), np.float32), verbose=0)
    np.testing.assert_allclose(lay.states[1].numpy(), s1[1], rtol=1e-5, atol=1e-6)
    model.train_on_batch(x2, np.zeros((2, 3), np.float32))
    np.testing.assert_allclose(lay.states[1].numpy(), s2[1], rtol=1e-5, atol=1e-6)
    lay.reset_states([np.ones((2, 3)), np.zeros((2, 3))])
    np.testing.assert_array_equal(lay.states[0].numpy(), 1.0)
    with pytest.raises(ValueError, match="expected shape"):
        lay.reset_states([np.ones((3, 3)), np.zeros((2, 3))])


def test_stateful_pile_and_errors():
    np.random.seed(6)
    pile = Pile([layers.Groth(2, stateful=True, batch_input_shape=(2, 3, 1)),
                 layers.Daoloth(1)])
    x = _data((4, 3, 1))
    first = pile.predict(x, batch_size=2)  # the second batch starts from the first's states
    pile.reset_states()
    again = pile.predict(x[2:], batch_size=2)
    assert not np.allclose(first[2:], again)
    pile.reset_states()
    np.testing.assert_allclose(pile.predict(x[:2], batch_size=2), first[:2], rtol=1e-6)
    with pytest.raises(ValueError, match="needs to know its batch size"):
        layers.Groth(2, stateful=True)(Input((3, 1)))
    with pytest.raises(AttributeError, match="must be stateful"):
        layers.Groth(2).reset_states()
    # A batch of another size would run on stale rows: refused, in every entry point.
    pile.conjure("sgd", "mse")
    for run in (lambda: pile.predict(x[:3], batch_size=2),
                lambda: pile.predict_on_batch(x[:3]),
                lambda: pile.train_on_batch(x[:1], np.zeros((1, 1))),
                lambda: pile.summon(x[:3], np.zeros((3, 1)), batch_size=2, verbose=0)):
        with pytest.raises(ValueError, match="fixed batch size of 2"):
            run()


def _training_output(layer, x):
    """The layer's output in a training trace (dropout active), by the interpreter."""
    b = Builder("float32")
    step = K.Variable(np.array(3, np.int64), "int64", "step", trainable=False)
    trace = K.Trace(b, training=True, step_variable=step)
    with K.tracing(trace):
        xt = K.Tensor(b.input((None,) + x.shape[1:]), (None,) + x.shape[1:], "float32")
        out = layer.trace_call(xt, True)
        graph = b.graph({"y": out.value})
    return interpret(graph, [x], [v.numpy() for v in trace.variables])[0]["y"]


def test_dropout_masks_are_drawn_once_per_sequence():
    x_in = Input((5, 4))
    lay = layers.ShabithKa(4, activation="linear", dropout=0.5, return_sequences=True,
                           kernel_initializer="identity", recurrent_initializer="zeros")
    Lump(x_in, lay(x_in))
    x = np.ones((6, 5, 4), np.float32)
    y = _training_output(lay, x)
    np.testing.assert_array_equal(y, y[:, :1].repeat(5, axis=1))  # the same at every step
    assert set(np.unique(y)) == {0.0, 2.0}


@pytest.mark.parametrize("cls", [layers.ShabithKa, layers.Groth, layers.Laldagorth])
def test_dropout_and_recurrent_dropout_train(cls):
    np.random.seed(7)
    x_in = Input((4, 3))
    lay = cls(5, dropout=0.3, recurrent_dropout=0.3)
    model = Lump(x_in, layers.Daoloth(1)(lay(x_in)))
    x, y = _data((16, 4, 3)), _data((16, 1), 9)
    model.conjure(cthulhu.optimizers.SGD(0.0), "mse")
    clean = model.evaluate(x, y, verbose=0)
    noisy = [model.train_on_batch(x, y) for _ in range(2)]
    assert noisy[0] != pytest.approx(clean) and noisy[0] != pytest.approx(noisy[1])
    model.conjure(cthulhu.optimizers.Adam(0.01), "mse")
    for _ in range(30):
        model.train_on_batch(x, y)
    assert model.evaluate(x, y, verbose=0) < clean
    # Inference ignores dropout: the plain formula.
    w = lay.get_weights()
    kind = {layers.ShabithKa: "simple", layers.Groth: "gru", layers.Laldagorth: "lstm"}[cls]
    outs, _ = run(STEPS[kind], x.astype(np.float64), w,
                      zeros_states(kind, 16, (5,)))
    dense = model.layers[-1].get_weights()
    np.testing.assert_allclose(model.predict(x), outs[:, -1] @ dense[0] + dense[1],
                               rtol=1e-4, atol=1e-5)


def test_time_distributed_daoloth_after_return_sequences():
    np.random.seed(8)
    x_in = Input((4, 2))
    lay = layers.Groth(3, return_sequences=True)
    td = layers.TimeDistributed(layers.Daoloth(2))
    model = Lump(x_in, td(lay(x_in)))
    x = _data((3, 4, 2))
    seq, _ = run(gru_step, x.astype(np.float64), lay.get_weights(),
                     zeros_states("gru", 3, (3,)))
    kernel, bias = td.get_weights()
    np.testing.assert_allclose(model.predict(x), seq @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_keras_class_names_and_configs():
    from cthulhu.saving.serialization import deserialize_layer, serialize_layer
    spec = serialize_layer(layers.Bidirectional(layers.Laldagorth(2)))
    assert spec["class_name"] == "Bidirectional"
    assert spec["config"]["layer"]["class_name"] == "LSTM"
    cell = serialize_layer(layers.RNN(layers.StackedRNNCells([layers.GrothCell(2)])))
    assert cell["config"]["cell"]["config"]["cells"][0]["class_name"] == "GRUCell"
    # A tf-keras GRU config (its extra keys included) loads.
    keras_config = {"name": "gru", "trainable": True, "dtype": "float32",
                    "return_sequences": False, "return_state": False, "go_backwards": False,
                    "stateful": False, "unroll": False, "time_major": False, "units": 2,
                    "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
                    "dropout": 0.0, "recurrent_dropout": 0.0, "implementation": 2,
                    "reset_after": True, "zero_output_for_mask": True}
    gru = deserialize_layer({"class_name": "GRU", "config": keras_config})
    assert isinstance(gru, layers.Groth) and gru.reset_after and gru.zero_output_for_mask


def test_learns_parity_of_four_bits():
    """The parity of 4 bits, from the sequence: >= 95 % accuracy in well under a minute."""
    np.random.seed(0)
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(512, 4, 1)).astype(np.float32)
    parity = (bits.sum(axis=(1, 2)) % 2).astype(np.float32)[:, None]
    model = Pile([layers.Laldagorth(16, input_shape=(4, 1)),
                  layers.Daoloth(1, activation="sigmoid")])
    model.conjure(cthulhu.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.summon(bits, parity, batch_size=32, epochs=40, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = model.evaluate(bits, parity, verbose=0)[1]
    print(f"parity of 4 bits: accuracy {accuracy:.3f} after {seconds:.1f} s")
    assert accuracy >= 0.95 and seconds < 60


def test_learns_to_count_in_padded_sequences():
    """How many 1s in sequences of 3-10 digits padded to 10 (masked by TheHydra): >= 95 %
    on held-out sequences, in well under a minute."""
    rng = np.random.default_rng(0)
    np.random.seed(0)

    def make(rows):
        x = rng.integers(1, 5, size=(rows, 10))
        for row, length in zip(x, rng.integers(3, 11, size=rows)):
            row[length:] = 0  # padding
        return x.astype(np.float32), (x == 1).sum(axis=1).astype(np.float32)[:, None]

    (x, y), (x_test, y_test) = make(4000), make(1000)
    model = Pile([layers.TheHydra(5, 8, mask_zero=True, input_length=10),
                  layers.Laldagorth(32), layers.Daoloth(11, activation="softmax")])
    model.conjure(cthulhu.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.summon(x, y, batch_size=64, epochs=15, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    print(f"counting: held-out accuracy {accuracy:.3f} after {seconds:.1f} s")
    assert accuracy >= 0.95 and seconds < 60


# ---- the fused path, against a stand-in written from the contract -------------------------
def contract_fused_rnn(calls):
    """A K implementation of the fused_rnn contract (cthulhu.backend._recurrent_fused),
    recording its calls: it checks that the layers call the kernel as the contract says."""
    def fused_rnn(cell, xp, recurrent_kernel, h0, c0=None, mask=None, *, go_backwards=False,
                  activation="tanh", recurrent_activation="hard_sigmoid",
                  recurrent_bias=None, reset_after=False, zero_output_for_mask=False):
        calls.append(dict(cell=cell, xp=xp.shape, reset_after=reset_after,
                          bias=None if recurrent_bias is None else recurrent_bias.shape))
        act, ract = getattr(K, activation), getattr(K, recurrent_activation)
        u = recurrent_kernel.shape[0]
        h, c, previous, outputs = h0, c0, None, []
        for t in (reversed(range(xp.shape[1])) if go_backwards else range(xp.shape[1])):
            x = xp[:, t]
            rec = K.dot(h, recurrent_kernel)
            new_c = None
            if cell == "simple":
                new_h = act(x + rec)
            elif cell == "lstm":
                pre = x + rec
                new_c = ract(pre[:, u:2 * u]) * c + ract(pre[:, :u]) * act(pre[:, 2 * u:3 * u])
                new_h = ract(pre[:, 3 * u:]) * act(new_c)
            else:
                if reset_after:
                    rec = rec + recurrent_bias
                z = ract(x[:, :u] + rec[:, :u])
                r = ract(x[:, u:2 * u] + rec[:, u:2 * u])
                hh = r * rec[:, 2 * u:] if reset_after else \
                    K.dot(r * h, recurrent_kernel)[:, 2 * u:]
                new_h = z * h + (1.0 - z) * act(x[:, 2 * u:] + hh)
            out = new_h
            if mask is not None:
                keep = K.reshape(mask[:, t], (-1, 1))
                if previous is None or zero_output_for_mask:
                    previous = K.zeros_like(out)
                out = K.switch(keep, out, previous)
                new_h = K.switch(keep, new_h, h)
                new_c = None if c is None else K.switch(keep, new_c, c)
            h, c, previous = new_h, new_c, out
            outputs.append(out)
        return K.stack(outputs, axis=1), h, c
    return fused_rnn


FUSED_CASES = [
    ("simple", lambda: layers.ShabithKa(3, return_sequences=True, **RANDOM_BIAS), {}),
    ("lstm", lambda: layers.Laldagorth(3, go_backwards=True, dropout=0.2, **RANDOM_BIAS), {}),
    ("gru", lambda: layers.Groth(3, return_sequences=True, **RANDOM_BIAS), {}),
    ("gru", lambda: layers.Groth(3, reset_after=True, return_sequences=True, **RANDOM_BIAS),
     {"reset_after": True}),
]


@pytest.mark.parametrize("kind,make,kwargs", FUSED_CASES,
                         ids=["simple", "lstm", "gru", "gru_reset_after"])
def test_fused_path_follows_the_contract(monkeypatch, kind, make, kwargs):
    from cthulhu.layers import recurrent
    calls: list = []
    monkeypatch.setattr(recurrent, "_fused_rnn", lambda: contract_fused_rnn(calls))
    seq = make().return_sequences
    back = make().go_backwards
    layer_test(make, [(4, 2)], layer_reference(kind, (3,), seq, back, **kwargs))
    assert calls and all(c["cell"] == kind and c["xp"][1:] == (4, (4 if kind == "lstm" else
                         3 if kind == "gru" else 1) * 3) for c in calls)
    assert all((c["bias"] == (9,)) == kwargs.get("reset_after", False) for c in calls)
    # Masks reach the kernel, as (batch, time).
    np.random.seed(0)
    x_in = Input((4, 2))
    lay = make()
    model = Lump(x_in, lay(Masking(0.0)(x_in)))
    x, mask = _masked_data()
    outs, _ = run(STEPS[kind], x.astype(np.float64), lay.get_weights(),
                  zeros_states(kind, 3, (3,)), mask=mask, go_backwards=back, **kwargs)
    np.testing.assert_allclose(model.predict(x), outs if seq else outs[:, -1], rtol=1e-5,
                               atol=1e-6)


def test_recurrent_dropout_in_training_and_unroll_use_the_unrolled_recurrence(monkeypatch):
    from cthulhu.layers import recurrent
    calls: list = []
    monkeypatch.setattr(recurrent, "_fused_rnn", lambda: contract_fused_rnn(calls))
    x_in = Input((3, 2))
    x = np.ones((2, 3, 2), np.float32)
    Lump(x_in, layers.Laldagorth(2, unroll=True)(x_in)).predict(x)
    assert calls == []
    gru = layers.Groth(2, recurrent_dropout=0.2)
    Lump(x_in, gru(x_in)).predict(x)  # inference: no dropout, the fused kernel
    assert len(calls) == 2  # (the layer-graph trace and the plan)
    _training_output(gru, x)
    assert len(calls) == 2


class ConstantCell(layers.Layer):
    """A cell with a constant input (Keras's ``constants``): h = tanh(x W + h U + k V)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1], self.units))
        self.u = self.add_weight("u", (self.units, self.units))
        self.v = self.add_weight("v", (3, self.units))
        self.built = True

    def call(self, inputs, states, constants):
        h = K.tanh(K.dot(inputs, self.w) + K.dot(states[0], self.u) +
                   K.dot(constants[0], self.v))
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_constants_reach_every_step_and_round_trip():
    np.random.seed(9)
    x_in, k_in = Input((4, 2)), Input((3,))
    rnn = layers.RNN(ConstantCell(2), return_sequences=True)
    model = Lump([x_in, k_in], rnn(x_in, constants=k_in))
    x, k = _data((3, 4, 2)), _data((3, 3), 1)
    w, u, v = (a.astype(np.float64) for a in rnn.get_weights())
    h, want = np.zeros((3, 2)), []
    for t in range(4):
        h = np.tanh(x[:, t] @ w + h @ u + k @ v)
        want.append(h)
    got = model.predict([x, k])
    np.testing.assert_allclose(got, np.stack(want, 1), rtol=1e-5, atol=1e-6)
    assert rnn.get_config()["num_constants"] == 1
    with cthulhu.utils.custom_object_scope({"ConstantCell": ConstantCell}):
        clone = Lump.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict([x, k]), got, rtol=1e-6)


def test_backend_rnn_with_go_backwards_mask_and_constants():
    """K.rnn directly, inside a LuKthu: a running sum, backwards, with a mask, plus a
    constant offset."""
    def running_sum(x):
        def step(x_t, states):
            total = states[0] + x_t + states[1]
            return total, [total]
        mask = K.cast(K.greater(K.sum(x, axis=-1), 0.0), "float32")
        last, outs, states = K.rnn(step, x, [K.zeros_like(x[:, 0])], go_backwards=True,
                                   mask=mask, constants=[K.ones_like(x[:, 0])])
        return K.concatenate([outs, K.expand_dims(last, 1), K.expand_dims(states[0], 1)], 1)
    x_in = Input((3, 2))
    model = Lump(x_in, layers.LuKthu(running_sum)(x_in))
    x = np.abs(_data((2, 3, 2))) + 0.1
    x[1, 1] = -1.0  # masked step of row 1
    got = model.predict(x)
    want = np.zeros((2, 5, 2))
    for row in range(2):
        total = np.zeros(2)
        for k, t in enumerate((2, 1, 0)):
            if x[row, t].sum() > 0:
                total = total + x[row, t] + 1.0
            want[row, k] = total
        want[row, 3:] = total
    np.testing.assert_allclose(got, want, rtol=1e-5)


# ---- tf-keras goldens: masks, go_backwards, reset_after and Bidirectional ----------------
# Made with tf_keras 2.21: Input((3, 2)) -> Masking() -> the layer, weights drawn as in
# _golden_weights, on the input of _golden_input.
KERAS_GOLDENS = {
    "lstm_backwards": (
        lambda: layers.Laldagorth(2, go_backwards=True, return_sequences=True), 1,
        [[[0.0, 0.0], [-0.0748697, -0.3975214], [0.0227019, -0.3861496]],
         [[-0.0428498, -0.3887205], [-0.0265132, -0.3919641], [-0.0265132, -0.3919641]]]),
    "gru_reset_after": (
        lambda: layers.Groth(2, reset_after=True, recurrent_activation="sigmoid",
                             return_sequences=True), 2,
        [[[-0.4086161, -0.2431456], [-0.0196737, -0.3130368], [-0.0196737, -0.3130368]],
         [[0.0, 0.0], [-0.4495988, -0.3007746], [-0.0368004, -0.33775]]]),
    "bidirectional_simple": (
        lambda: layers.Bidirectional(layers.ShabithKa(2, return_sequences=True)), 3,
        [[[-0.4419797, 0.9754685, 0.2980966, 0.227097],
          [-0.4601546, 0.4762201, 0.5397778, -0.643979], [0.0, 0.0, 0.0, 0.0]],
         [[0.0, 0.0, 0.0, 0.0], [-0.7060743, 0.990921, 0.1994279, 0.2057632],
          [-0.2904861, 0.37088, 0.5758773, -0.6173144]]]),
}


def _golden_input():
    x = np.random.default_rng(42).normal(size=(2, 3, 2)).astype(np.float32)
    x[0, 2] = 0.0
    x[1, 0] = 0.0
    return x


def _golden_weights(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(np.float32) * 0.7 for s in shapes]


@pytest.mark.parametrize("name", sorted(KERAS_GOLDENS))
def test_matches_tf_keras(name):
    make, seed, want = KERAS_GOLDENS[name]
    x_in = Input((3, 2))
    model = Lump(x_in, make()(Masking()(x_in)))
    model.set_weights(_golden_weights([w.shape for w in model.get_weights()], seed))
    np.testing.assert_allclose(model.predict(_golden_input()), want, rtol=1e-5, atol=2e-6)


def _fused_and_unrolled_agree(build, x, target):
    """build(unroll) -> a conjured model; the fused and the unrolled one (same weights) give
    the same predictions, loss and weights after one training step. Returns both."""
    fused, unrolled = build(False), build(True)
    unrolled.set_weights(fused.get_weights())
    np.testing.assert_allclose(fused.predict(x), unrolled.predict(x), rtol=1e-5, atol=1e-6)
    assert fused.train_on_batch(x, target) == pytest.approx(
        unrolled.train_on_batch(x, target), rel=1e-5)
    for a, b in zip(fused.get_weights(), unrolled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    return fused, unrolled


@pytest.mark.parametrize("make", [
    lambda **kw: layers.ShabithKa(3, **kw),
    lambda **kw: layers.Groth(3, **kw),
    lambda **kw: layers.Groth(3, reset_after=True, recurrent_activation="sigmoid", **kw),
    lambda **kw: layers.Laldagorth(3, **kw),
])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_fused_kernel_agrees_with_the_unrolled_cell(make, go_backwards):
    """The native whole-sequence kernel against the cell's own unrolled recurrence (unroll
    =True): outputs, states, and the weights after one training step, with masks."""
    x, _ = _masked_data()
    target = _data((3, 4, 3), seed=5)

    def build(unroll):
        inp = Input((4, 2))
        out = make(return_sequences=True, go_backwards=go_backwards, unroll=unroll)(
            Masking(0.0)(inp))
        model = Lump(inp, out)
        model.conjure(cthulhu.optimizers.SGD(0.5), "mse")
        return model

    fused, unrolled = _fused_and_unrolled_agree(build, x, target)
    assert "rnn_forward" in fused.plan_summary("train", 3)
    assert "rnn_forward" not in unrolled.plan_summary("train", 3)


@pytest.mark.parametrize("masked", [False, True])
def test_the_last_output_of_an_unmasked_sequence_is_the_final_state(masked):
    """return_sequences=False: without a mask the last output is the final h, so its
    gradient reaches the kernel as that of h, not as a sequence of output gradients padded
    with zeros (pad_axis); with a mask a masked last step may output something else, so
    the last output stays outputs[:, -1]. Both agree with the unrolled cell."""
    x, _ = _masked_data()
    target = _data((3, 3), seed=6)

    def build(unroll):
        inp = Input((4, 2))
        seq = Masking(0.0)(inp) if masked else inp
        model = Lump(inp, layers.Laldagorth(3, unroll=unroll)(seq))
        model.conjure(cthulhu.optimizers.SGD(0.5), "mse")
        return model

    fused, unrolled = _fused_and_unrolled_agree(build, x, target)
    assert ("pad_axis" in fused.plan_summary("train", 3)) == masked


@pytest.mark.parametrize("make,joined", [
    (lambda: layers.Laldagorth(6), True),
    (lambda: layers.ShabithKa(6, go_backwards=True), True),
    (lambda: layers.Groth(6), False),   # GRU keeps its input kernel's product
])
def test_the_input_kernel_gradient_joins_the_recurrent_one(monkeypatch, make, joined):
    """compiler/passes/recurrent.py: a simple or lstm layer's input kernel gradient is
    computed with the recurrent kernel's (rnn_backward_weights, one GEMM); three training
    steps give the weights the separate products give."""
    from compiler import pipeline

    rng = np.random.default_rng(7)
    x = rng.integers(1, 50, size=(24, 9))
    y = rng.integers(0, 2, size=(24, 1)).astype("float32")

    def train(join):
        passes = [p for p in pipeline.STEP_PASSES if join or p[0] != "join_rnn_kernel_grads"]
        monkeypatch.setattr(pipeline, "STEP_PASSES", passes)
        np.random.seed(3)
        model = Pile([Input((9,)), layers.TheHydra(50, 5), make(),
                      layers.Daoloth(1, activation="sigmoid")])
        model.conjure(cthulhu.optimizers.Adam(0.01), "binary_crossentropy")
        model.summon(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        return model.get_weights(), model.plan_summary("train", 8)

    (joint, summary), (separate, _) = train(True), train(False)
    layer_products = [line for line in summary.splitlines() if " gemm " in line
                      and "# matmul" in line and "daoloth" not in line]
    assert len(layer_products) == (1 if joined else 2)   # d x; and d kernel unless joined
    for a, b in zip(joint, separate):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
