"""Passes: each keeps the graph's meaning (checked against the reference interpreter) and
establishes its invariant (checked on the resulting graph)."""

from __future__ import annotations

import numpy as np
import pytest

from compiler.builder import Builder
from compiler.interpret import interpret
from compiler.ir import Graph
from compiler.passes.cse import eliminate_common_subexpressions
from compiler.passes.dce import eliminate_dead_code
from compiler.passes.fold import fold_constants, simplify_algebra
from compiler.passes.fuse_backward import fuse_bias_grad
from compiler.passes.fuse_elementwise import fuse_elementwise
from compiler.pipeline import optimize_forward, optimize_step
from compiler.verify import GraphError, verify

from .harness import run_native


def _ops(graph: Graph) -> list[str]:
    return [n.op for n in graph.nodes]


def test_dce_removes_unused_nodes():
    b = Builder("float64")
    x = b.input((None, 3))
    used = b.emit("exp", x)
    b.emit("log", x)  # never used
    g = eliminate_dead_code(b.graph({"y": used}))
    assert _ops(g) == ["exp"]


def test_cse_merges_identical_nodes_but_not_updates():
    b = Builder("float64")
    x = b.input((2, 3))
    a1, a2 = b.emit("exp", x), b.emit("exp", x)
    g = eliminate_common_subexpressions(b.graph({"y": b.add(a1, a2)}))
    g = eliminate_dead_code(g)
    assert _ops(g).count("exp") == 1
    add = g.nodes[-1]
    assert add.inputs[0] is add.inputs[1]


def test_fold_constants_and_algebra():
    b = Builder("float64")
    x = b.input((2, 3))
    two = b.add(b.const(1.0), b.const(1.0))
    y = b.mul(b.mul(x, two), b.const(1.0))
    g = eliminate_dead_code(simplify_algebra(fold_constants(b.graph({"y": y}))))
    assert _ops(g).count("add") == 0 and _ops(g).count("mul") == 1
    arr = np.arange(6.0).reshape(2, 3)
    assert np.allclose(interpret(g, [arr], [])[0]["y"], 2 * arr)


def _loss_graph() -> tuple[Graph, list[np.ndarray]]:
    """mse + binary cross-entropy written with element-wise ops, and its gradient."""
    from compiler.autodiff import grad
    b = Builder("float64")
    p = b.input((None, 4))
    t = b.input((None, 4))
    diff = b.emit("sub", p, t)
    mse = b.emit("reduce_mean", b.mul(diff, diff), axes=(0, 1), keepdims=False)
    clipped = b.emit("minimum", b.emit("maximum", p, b.const(1e-7)), b.const(1 - 1e-7))
    bce = b.neg(b.add(b.mul(t, b.emit("log", clipped)),
                      b.mul(b.emit("sub", b.const(1.0), t),
                            b.emit("log", b.emit("sub", b.const(1.0), clipped)))))
    loss = b.add(mse, b.emit("reduce_mean", bce, axes=(0, 1), keepdims=False))
    (dp,) = grad(b, loss, [p])
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(0.05, 0.95, (6, 4)), rng.integers(0, 2, (6, 4)).astype(float)]
    return b.graph({"loss": loss, "dp": dp}), arrays


def test_elementwise_fusion_merges_chains_and_keeps_values():
    graph, arrays = _loss_graph()
    plain = optimize_step(graph, fusion=False, check=True)
    fused = optimize_step(graph, fusion=True, check=True)
    assert "fused_elementwise" in _ops(fused)
    assert len(fused.nodes) < len(plain.nodes)
    want = interpret(graph, arrays, [])[0]
    for g in (plain, fused):
        for name, value in interpret(g, arrays, [])[0].items():
            np.testing.assert_allclose(value, want[name], rtol=1e-12)
        for name, value in run_native(g, arrays).items():
            np.testing.assert_allclose(value, want[name], rtol=1e-12)


def test_fusion_respects_register_budget():
    b = Builder("float64")
    x = b.input((None, 3))
    y = x
    for i in range(40):
        y = b.add(b.emit("exp", b.mul(y, b.const(0.001 * i))), x)
    g = fuse_elementwise(b.graph({"y": y}))
    verify(g, "fuse_elementwise")
    for node in g.nodes:
        if node.op == "fused_elementwise":
            assert len(node.inputs) + len(node.attrs["program"]) <= 16
    arr = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(run_native(g, [arr])["y"],
                               interpret(b.graph({"y": y}), [arr], [])[0]["y"], rtol=1e-12)


def test_forward_fusion_builds_dense_and_softmax_xent():
    b = Builder("float32")
    x, t = b.input((None, 8)), b.input((None, 3))
    w1, b1, w2, b2 = b.param((8, 5)), b.param((5,)), b.param((5, 3)), b.param((3,))
    mm = dict(transpose_a=False, transpose_b=False)
    h = b.emit("activation", b.add(b.emit("matmul", x, w1, **mm), b1), fn="relu")
    p = b.emit("activation", b.add(b.emit("matmul", h, w2, **mm), b2), fn="softmax")
    loss = b.emit("categorical_crossentropy", t, p, eps=1e-7)
    g = optimize_forward(b.graph({"loss": loss, "p": p}), fusion=True, check=True)
    assert _ops(g) == ["dense", "dense", "softmax_xent"]
    assert [n.attrs["fn"] for n in g.nodes[:2]] == ["relu", "linear"]


def test_backward_fusion_sums_bias_gradients_with_the_activation_gradient():
    # Dense (rank 2) and convolution (rank 4: the sum over all axes but the channels).
    for shape in ((None, 6), (None, 5, 4, 6)):
        b = Builder("float64")
        y, dy = b.input(shape), b.input(shape)
        dx = b.emit("activation_grad", y, dy, fn="relu")
        db = b.emit("reduce_sum", dx, axes=tuple(range(len(shape) - 1)), keepdims=False)
        g = fuse_bias_grad(b.graph({"dx": dx, "db": db}))
        assert _ops(g) == ["activation_grad_bias"]
        rng = np.random.default_rng(0)
        arrays = [np.maximum(rng.normal(size=(3,) + shape[1:]), 0),
                  rng.normal(size=(3,) + shape[1:])]
        native = run_native(g, arrays)
        expected = interpret(b.graph({"dx": dx, "db": db}), arrays, [])[0]
        for name in ("dx", "db"):
            np.testing.assert_allclose(native[name], expected[name], rtol=1e-12, atol=1e-13)
    # A sum over other axes stays a reduce_sum.
    b = Builder("float64")
    y, dy = b.input((None, 5, 6)), b.input((None, 5, 6))
    dx = b.emit("activation_grad", y, dy, fn="relu")
    g = fuse_bias_grad(b.graph({"db": b.emit("reduce_sum", dx, axes=(0,), keepdims=False)}))
    assert _ops(g) == ["activation_grad", "reduce_sum"]


def test_verifier_accepts_good_and_rejects_broken_graphs():
    graph, _ = _loss_graph()
    verify(graph)
    broken = graph.replace(nodes=graph.nodes[1:])  # first definition missing
    with pytest.raises(GraphError, match="before it is defined"):
        verify(broken)
    node = graph.nodes[0]
    twice = graph.replace(nodes=[node, node] + graph.nodes[1:])
    with pytest.raises(GraphError, match="defined twice"):
        verify(twice)
    from compiler.ir import Node, Value
    wrong = Node("exp", node.inputs[:1], (Value((7,), "float64"),))
    with pytest.raises(GraphError, match="should produce"):
        verify(graph.replace(nodes=[wrong] + graph.nodes))
    unknown = Node("no_such_op", (), (Value((), "float64"),))
    with pytest.raises(GraphError, match="unknown op"):
        verify(graph.replace(nodes=[unknown] + graph.nodes))


def test_unsupported_broadcast_raises_clearly():
    b = Builder("float64")
    x, y = b.input((3, 4, 5)), b.input((1, 4, 1))
    g = b.graph({"z": b.add(x, y)})
    with pytest.raises(NotImplementedError, match="broadcast"):
        run_native(g, [np.zeros((3, 4, 5)), np.zeros((1, 4, 1))])
