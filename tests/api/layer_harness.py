"""A layer test harness (after Keras's layer_test): shape rule against the output, values
against a numpy reference, config and weight round trips, one training step lowering the
loss, and a float64 finite-difference check of the gradients through the layer."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

import cthulhu
from compiler.autodiff import grad
from compiler.builder import Builder
from compiler.interpret import interpret
from cthulhu import backend as K
from cthulhu.layers import Input
from cthulhu.models import Lump


def _model(layer, input_shapes):
    inputs = [Input(shape=s) for s in input_shapes]
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    return Lump(inputs, out), out


def layer_test(make_layer: Callable, input_shapes: list[tuple],
               reference: Optional[Callable] = None, batch: int = 4, seed: int = 0,
               make_inputs: Optional[Callable] = None) -> None:
    rng = np.random.default_rng(seed)
    make_inputs = make_inputs or (lambda r, shape: r.normal(size=shape))
    xs = [make_inputs(rng, (batch,) + s).astype("float32") for s in input_shapes]
    np.random.seed(seed)
    layer = make_layer()
    model, out = _model(layer, input_shapes)

    # The shape rule agrees with the traced output.
    shapes = [(None,) + s for s in input_shapes]
    assert layer.compute_output_shape(shapes if len(shapes) > 1 else shapes[0]) == out.shape
    predictions = model.predict(xs if len(xs) > 1 else xs[0])
    assert predictions.shape == (batch,) + tuple(out.shape[1:])

    # Values against the numpy reference.
    if reference is not None:
        want = reference([x.astype(np.float64) for x in xs], layer.get_weights())
        np.testing.assert_allclose(predictions, want, rtol=1e-5, atol=1e-5)

    # Config and weights round trips.
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone_model, _ = _model(type(layer).from_config({**config, "name": config["name"] + "_2"}),
                            input_shapes)
    clone_model.set_weights(model.get_weights())
    np.testing.assert_allclose(clone_model.predict(xs if len(xs) > 1 else xs[0]), predictions,
                               rtol=1e-6)

    # One training step lowers the loss when there is something to train.
    if model.trainable_weights:
        model.conjure(cthulhu.optimizers.SGD(0.01), "mse")
        target = np.zeros_like(predictions) + 0.5
        data = xs if len(xs) > 1 else xs[0]
        before = model.evaluate(data, target, verbose=0)
        model.train_on_batch(data, target)
        assert model.evaluate(data, target, verbose=0) < before

    _check_gradients(make_layer, input_shapes, [x.astype(np.float64) for x in xs], seed)


def _check_gradients(make_layer, input_shapes, xs, seed) -> None:
    """d sum(layer(x) * c) / d (inputs and weights), autodiff against finite differences."""
    K.set_floatx("float64")
    try:
        np.random.seed(seed)
        layer = make_layer()
        b = Builder("float64")
        trace = K.Trace(b, training=False)
        with K.tracing(trace):
            tensors = [K.Tensor(b.input((None,) + s), (None,) + s, "float64")
                       for s in input_shapes]
            out = layer.trace_call(tensors if len(tensors) > 1 else tensors[0], False)
            c = K.Tensor(b.input(out.shape), out.shape, "float64")
            loss = K.sum(out * c)
            wrt = [t.value for t in tensors] + [trace.param(w) for w in layer.weights]
            grads = grad(b, loss.value, wrt)
            graph = b.graph({"loss": loss.value,
                             **{f"g{i}": g for i, g in enumerate(grads) if g is not None}})
        rng = np.random.default_rng(seed + 1)
        weights = [v.numpy() for v in trace.variables]
        cvalue = rng.normal(size=(len(xs[0]),) + tuple(out.shape[1:]))
        feeds = xs + [cvalue]
        result = interpret(graph, feeds, weights)[0]

        def loss_of(feeds_, weights_):
            return float(interpret(graph, feeds_, weights_)[0]["loss"])

        # The layer's weights, wherever the trace lists them (a layer may also trace
        # constant arrays, which are variables of the trace too).
        position = {id(v): i for i, v in enumerate(trace.variables)}
        arrays = list(xs) + [weights[position[id(w)]] for w in layer.weights]
        for i, array in enumerate(arrays):
            numeric = np.zeros_like(array)
            for idx in np.ndindex(array.shape):
                saved = array[idx]
                array[idx] = saved + 1e-6
                up = loss_of(feeds, weights)
                array[idx] = saved - 1e-6
                down = loss_of(feeds, weights)
                array[idx] = saved
                numeric[idx] = (up - down) / 2e-6
            analytic = result.get(f"g{i}", np.zeros_like(array))
            np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6,
                                       err_msg=f"gradient {i} of {layer.name}")
    finally:
        K.set_floatx("float32")
