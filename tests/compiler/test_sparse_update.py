"""The sparse Adam pass (compiler/passes/sparse_update.py) and its op adam_rows_update: the op
against its reference over several steps; where the pass applies and where the dense path
stays; whole training steps giving the very same weights as the dense path."""

from __future__ import annotations

import numpy as np
import pytest

import compiler.pipeline
from compiler.builder import Builder
from compiler.interpret import interpret
from compiler.plan import Plan
from cthulhu import optimizers
from cthulhu.layers import Concatenate, Daoloth, Flatten, Input, Laldagorth, TheHydra
from cthulhu.models import Lump, Pile

ROWS, WIDTH, LENGTH = 13, 4, 5
STEP_PASSES = list(compiler.pipeline.STEP_PASSES)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_op_matches_its_reference_over_steps(dtype, amsgrad):
    attrs = {"lr": 0.05, "decay": 0.1, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7,
             "amsgrad": amsgrad}
    b = Builder(dtype)
    step = b.param((), "int64")
    w = b.param((ROWS, WIDTH), dtype)
    slots = [b.param((ROWS, WIDTH), dtype) for _ in range(3 if amsgrad else 2)]
    idx, dy = b.input((None, LENGTH), dtype), b.input((None, LENGTH, WIDTH), dtype)
    outs = b.emit("adam_rows_update", step, w, idx, dy, *slots, **attrs)
    graph = b.graph({}, list(zip([w] + slots, outs)) + [(step, b.emit("increment", step))])
    rng = np.random.default_rng(0)
    state = [np.zeros((), np.int64), rng.normal(size=(ROWS, WIDTH)).astype(dtype)] + [
        (0.01 + np.abs(rng.normal(size=(ROWS, WIDTH)))).astype(dtype) for _ in slots]
    reference_state = [a.copy() for a in state]
    plan = Plan(graph, state, capacity=4)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    for rows in (3, 2, 3):                       # partial batches: the plan holds 4 rows
        feed = [rng.integers(0, 4, (rows, LENGTH)).astype(dtype),   # rows 4.. never hit
                rng.normal(size=(rows, LENGTH, WIDTH)).astype(dtype)]
        plan.inputs[0][:rows], plan.inputs[1][:rows] = feed
        plan.run(rows)
        _, reference_state = interpret(graph, feed, reference_state)
        for got, want in zip(state, reference_state):
            np.testing.assert_allclose(got, want, **tol)
    assert [c.kernel for c in plan.calls] == ["adam_rows", "increment"]


def _model(optimizer, shared=False, two_tables=False):
    np.random.seed(1)
    if shared or two_tables:                     # one table looked up twice: a sum of scatters
        a, b = Input((LENGTH,)), Input((LENGTH,))
        table = TheHydra(ROWS, WIDTH, name="emb")
        other = TheHydra(ROWS + 3, WIDTH + 1, name="emb_b") if two_tables else table
        joined = Concatenate()([Flatten()(table(a)), Flatten()(other(b))])
        model = Lump([a, b], Daoloth(1, activation="sigmoid")(joined))
    else:
        model = Pile([TheHydra(ROWS, WIDTH, input_length=LENGTH, name="emb"),
                      Laldagorth(3, recurrent_activation="sigmoid"),
                      Daoloth(1, activation="sigmoid")])
    model.conjure(optimizer, "binary_crossentropy")
    return model


def _emb_kernels(model):
    summary = model.plan_summary("train", 8)
    return [line.split()[1] for line in summary.splitlines()[1:]
            if "(emb)" in line or "(emb_b)" in line]


@pytest.mark.parametrize("optimizer,sparse", [
    (lambda: optimizers.Adam(), True),
    (lambda: optimizers.Adam(amsgrad=True, decay=0.1), True),
    (lambda: optimizers.Adam(clipnorm=1.0), False),     # clipping reads the dense gradient
    (lambda: optimizers.Adam(clipvalue=0.1), False),
    (lambda: optimizers.SGD(0.1, momentum=0.9), False),
    (lambda: optimizers.RMSprop(), False),
])
def test_where_the_pass_applies(optimizer, sparse):
    kernels = _emb_kernels(_model(optimizer()))
    assert ("adam_rows" in kernels) is sparse, kernels
    assert ("scatter_add" in kernels) is not sparse, kernels


def test_a_table_looked_up_twice_keeps_the_dense_gradient():
    kernels = _emb_kernels(_model(optimizers.Adam(), shared=True))
    assert "adam_rows" not in kernels and kernels.count("scatter_add") == 2, kernels


def test_invariant_no_adam_update_reads_a_single_use_scatter_add():
    from cthulhu.engine.graphs import build_graph
    graph = build_graph(_model(optimizers.Adam()), "train", check=True).graph
    producer = graph.producers()
    for node in graph.nodes:
        if node.op == "adam_update":
            assert all(producer[v.id].op != "scatter_add" for v in node.inputs
                       if v.id in producer)
    assert [n.op for n in graph.nodes].count("adam_rows_update") == 1


def _train(monkeypatch, sparse: bool, optimizer, steps=4, two_tables=False):
    passes = [p for p in STEP_PASSES if sparse or p[0] != "fuse_sparse_adam"]
    monkeypatch.setattr(compiler.pipeline, "STEP_PASSES", passes)
    model = _model(optimizer, two_tables=two_tables)
    rng = np.random.default_rng(2)
    for _ in range(steps):
        # Some rows are never hit.
        x = [rng.integers(0, ROWS // 2, (6, LENGTH)).astype(np.float32)
             for _ in range(2 if two_tables else 1)]
        model.train_on_batch(x, rng.integers(0, 2, (6, 1)).astype(np.float32))
    assert _emb_kernels(model).count("adam_rows") == (sparse * (2 if two_tables else 1))
    return model.get_weights() + model.optimizer.get_weights()


@pytest.mark.parametrize("floatx", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, {"amsgrad": True, "decay": 0.1}])
def test_training_gives_the_dense_paths_weights_bit_for_bit(monkeypatch, kwargs, floatx):
    from cthulhu import backend as K
    K.set_floatx(floatx)
    try:
        dense = _train(monkeypatch, False, optimizers.Adam(0.01, **kwargs))
        sparse = _train(monkeypatch, True, optimizers.Adam(0.01, **kwargs))
    finally:
        K.set_floatx("float32")
    assert len(dense) == len(sparse) and dense[0].dtype == floatx
    for a, b in zip(dense, sparse):
        np.testing.assert_array_equal(a, b)


def test_two_tables_each_take_the_row_wise_step(monkeypatch):
    dense = _train(monkeypatch, False, optimizers.Adam(0.01), two_tables=True)
    sparse = _train(monkeypatch, True, optimizers.Adam(0.01), two_tables=True)
    for a, b in zip(dense, sparse):
        np.testing.assert_array_equal(a, b)
