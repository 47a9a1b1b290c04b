"""Fused optimizer updates: native in-place updates against the numpy references, over
several steps, with the iteration counter (and Nadam's schedule product) advancing."""

from __future__ import annotations

import numpy as np
import pytest

from compiler.builder import Builder
from compiler.interpret import interpret
from compiler.ops.optim import UPDATED_SCALARS, lr_t, nadam_mu, update_layout
from compiler.plan import Plan

SHAPES = [(4, 3), (3,), (7, 5)]
SCALAR_DTYPES = {"step": "int64", "u_product": "float64"}


def _update_graph(op: str, attrs: dict, dtype: str):
    attrs = {"k": len(SHAPES), **attrs}
    scalars, roles = update_layout(op, attrs)
    b = Builder(dtype)
    state = [b.param((), SCALAR_DTYPES[s], s) for s in scalars]
    weights = [b.param(s, dtype) for s in SHAPES]
    grads = [b.input(s, dtype) for s in SHAPES]
    slots = [b.param(s, dtype, role) for role in roles for s in SHAPES]
    outs = b.emit(op, *state, *weights, *grads, *slots, **attrs)
    targets = weights + slots + [p for s, p in zip(scalars, state) if s in UPDATED_SCALARS]
    assert len(outs) == len(targets)
    count = state[0]
    assigns = list(zip(targets, outs)) + [(count, b.emit("increment", count))]
    return b.graph({}, assigns), scalars, roles


def _initial_state(scalars, roles, dtype, rng):
    state = [np.zeros((), np.int64) if s == "step" else np.ones((), np.float64)
             for s in scalars]
    state += [rng.normal(size=s).astype(dtype) for s in SHAPES]
    for role in roles:
        for s in SHAPES:
            if role in ("m", "momentum"):            # signed slots
                state.append((rng.normal(size=s) * 0.1).astype(dtype))
            elif role == "average_gradient":         # keeps v - avg^2 > 0
                state.append((rng.normal(size=s) * 0.01).astype(dtype))
            else:                                    # second moments, accumulators
                state.append((np.abs(rng.normal(size=s)) * 0.1).astype(dtype))
    return state


CASES = [
    ("sgd_update", {"lr": 0.1, "momentum": 0.0, "nesterov": False}),
    ("sgd_update", {"lr": 0.1, "momentum": 0.9, "nesterov": False}),
    ("sgd_update", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("sgd_update", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "decay": 0.3}),
    ("adam_update", {"lr": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                     "amsgrad": False}),
    ("adam_update", {"lr": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7,
                     "amsgrad": True}),
    ("adam_update", {"lr": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                     "amsgrad": False, "decay": 0.5}),
    ("rmsprop_update", {"lr": 0.01, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                        "centered": False}),
    ("rmsprop_update", {"lr": 0.01, "rho": 0.8, "momentum": 0.9, "epsilon": 1e-7,
                        "centered": False}),
    ("rmsprop_update", {"lr": 0.01, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-6,
                        "centered": True}),
    ("rmsprop_update", {"lr": 0.01, "rho": 0.8, "momentum": 0.5, "epsilon": 1e-7,
                        "centered": True, "decay": 0.2}),
    ("adagrad_update", {"lr": 0.1, "epsilon": 1e-7}),
    ("adagrad_update", {"lr": 0.1, "epsilon": 1e-6, "decay": 0.4}),
    ("adadelta_update", {"lr": 1.0, "rho": 0.95, "epsilon": 1e-7}),
    ("adadelta_update", {"lr": 0.5, "rho": 0.9, "epsilon": 1e-6, "decay": 0.3}),
    ("adamax_update", {"lr": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    ("adamax_update", {"lr": 0.02, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7,
                       "decay": 0.25}),
    ("nadam_update", {"lr": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    ("nadam_update", {"lr": 0.02, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6,
                      "decay": 0.25}),
]


def _case_id(case):
    op, attrs = case
    flags = [k for k in ("nesterov", "amsgrad", "centered") if attrs.get(k)]
    flags += [f"{k}{attrs[k]}" for k in ("momentum", "decay") if attrs.get(k)]
    return "-".join([op] + flags)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,attrs", CASES, ids=[_case_id(c) for c in CASES])
def test_update_matches_reference_over_steps(op, attrs, dtype):
    graph, scalars, roles = _update_graph(op, attrs, dtype)
    rng = np.random.default_rng(0)
    state = _initial_state(scalars, roles, dtype, rng)
    reference_state = [a.copy() for a in state]
    plan = Plan(graph, state, capacity=1)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    for _ in range(4):
        grads = [rng.normal(size=s).astype(dtype) for s in SHAPES]
        for buf, g in zip(plan.inputs, grads):
            buf[...] = g
        plan.run(1)
        _, reference_state = interpret(graph, grads, reference_state)
        for got, want in zip(state, reference_state):
            np.testing.assert_allclose(got, want, **tol)
    assert int(state[0]) == 4
    if "u_product" in scalars:
        b1 = attrs["beta_1"]
        assert float(state[1]) == pytest.approx(np.prod([nadam_mu(b1, t) for t in (1, 2, 3, 4)]),
                                                rel=1e-14)


@pytest.mark.parametrize("op,attrs", CASES, ids=[_case_id(c) for c in CASES])
def test_one_kernel_call_per_tensor(op, attrs):
    graph, scalars, _ = _update_graph(op, attrs, "float32")
    kernels = [c.kernel for c in Plan(graph, _initial_state(
        scalars, update_layout(op, {"k": 3, **attrs})[1], "float32",
        np.random.default_rng(1)), capacity=1).calls]
    expected = [op.replace("_update", "")] * len(SHAPES)
    if op == "nadam_update":
        expected = ["nadam_schedule"] + expected
    assert kernels == expected + ["increment"]


def test_decay_uses_the_iteration_count_before_the_step():
    attrs = {"lr": 0.1, "decay": 0.5}
    assert [lr_t(attrs, i) for i in range(3)] == [0.1, 0.1 / 1.5, 0.1 / 2.0]


def test_update_ops_reject_bad_operands():
    b = Builder()
    count = b.param((), "int64")
    w, g = b.param((3,)), b.input((3,))
    with pytest.raises(ValueError, match="step operand"):
        b.emit("adagrad_update", b.param((), "float32"), w, g, b.param((3,)), k=1, lr=0.1,
               epsilon=1e-7)
    with pytest.raises(ValueError, match="u_product operand"):
        b.emit("nadam_update", count, b.param((), "float32"), w, g, b.param((3,)),
               b.param((3,)), k=1, lr=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    with pytest.raises(ValueError, match="differ"):
        b.emit("adamax_update", count, w, g, b.param((3,)), b.param((4,)), k=1, lr=0.1,
               beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    with pytest.raises(ValueError, match="operands for 1 tensors"):
        b.emit("adadelta_update", count, w, g, b.param((3,)), k=1, lr=0.1, rho=0.9,
               epsilon=1e-7)


# ---- whole training steps: every optimizer (with clipping / decay), fused and native, ------
# against the reference interpreter running the unfused graph, over two steps.
OPTIMIZERS = [
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "decay": 0.2}),
    ("SGD", {"learning_rate": 0.1, "clipnorm": 0.05}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True, "clipvalue": 0.01}),
    ("RMSprop", {"decay": 0.1}),
    ("Adagrad", {"learning_rate": 0.1, "clipnorm": 0.1, "decay": 0.3}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True, "decay": 0.1, "clipvalue": 0.05}),
    ("Adamax", {"learning_rate": 0.01, "clipnorm": 0.1}),
    ("Nadam", {"learning_rate": 0.01, "clipvalue": 0.01}),
]


@pytest.fixture
def float64():
    from cthulhu import backend as K
    K.set_floatx("float64")
    yield
    K.set_floatx("float32")


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS,
                         ids=[f"{n}-{'-'.join(kw)}" for n, kw in OPTIMIZERS])
def test_training_steps_match_reference_interpreter(name, kwargs, float64):
    from cthulhu import optimizers
    from cthulhu.engine.graphs import build_graph
    from cthulhu.layers import Daoloth
    from cthulhu.models import Pile

    rng = np.random.default_rng(3)
    np.random.seed(3)
    x, labels = rng.normal(size=(9, 5)), rng.integers(0, 3, 9)
    y = np.eye(3)[labels]
    model = Pile([Daoloth(7, activation="tanh", input_shape=(5,)),
                  Daoloth(3, activation="softmax")])
    model.conjure(optimizer=getattr(optimizers, name)(**kwargs),
                  loss="categorical_crossentropy")
    model.build((None, 5))
    reference = build_graph(model, "train", fusion=False, check=True)
    feed = [x, y] + [np.ones(len(x))] * (len(reference.graph.inputs) - 2)  # sample weights
    state = [v.numpy() for v in reference.variables]
    for _ in range(2):
        outputs, state = interpret(reference.graph, feed, state)
        loss = model.train_on_batch(x, y)
        np.testing.assert_allclose(loss, outputs["loss"], rtol=1e-10)
        for var, want in zip(reference.variables, state):
            np.testing.assert_allclose(var.numpy(), want, rtol=1e-9, atol=1e-12,
                                       err_msg=var.name)
    assert int(model.optimizer.iterations.numpy()) == 2
