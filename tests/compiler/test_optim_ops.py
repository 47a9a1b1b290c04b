"""Fused optimizer updates: native in-place updates against the numpy references, over
several steps, with the iteration counter advancing."""

from __future__ import annotations

import numpy as np
import pytest

from compiler.builder import Builder
from compiler.interpret import interpret
from compiler.plan import Plan

SHAPES = [(4, 3), (3,), (7, 5)]


def _update_graph(op: str, attrs: dict, n_slots: int, dtype: str):
    b = Builder(dtype)
    count = b.param((), "int64", "iterations")
    weights = [b.param(s, dtype) for s in SHAPES]
    grads = [b.input(s, dtype) for s in SHAPES]
    slots = [b.param(s, dtype) for _ in range(n_slots) for s in SHAPES]
    operands = ([count] if op == "adam_update" else []) + weights + grads + slots
    outs = b.emit(op, *operands, k=len(SHAPES), **attrs)
    targets = weights + slots
    assigns = list(zip(targets, outs)) + [(count, b.emit("increment", count))]
    return b.graph({}, assigns)


CASES = [
    ("sgd_update", {"lr": 0.1, "momentum": 0.0, "nesterov": False}, 0),
    ("sgd_update", {"lr": 0.1, "momentum": 0.9, "nesterov": False}, 1),
    ("sgd_update", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, 1),
    ("adam_update", {"lr": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                     "amsgrad": False}, 2),
    ("adam_update", {"lr": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7,
                     "amsgrad": True}, 3),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op,attrs,n_slots", CASES)
def test_update_matches_reference_over_steps(op, attrs, n_slots, dtype):
    graph = _update_graph(op, attrs, n_slots, dtype)
    rng = np.random.default_rng(0)
    state = [np.zeros((), np.int64)] + [rng.normal(size=s).astype(dtype) for s in SHAPES] + \
        [np.abs(rng.normal(size=s)).astype(dtype) * 0.1 for _ in range(n_slots) for s in SHAPES]
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
