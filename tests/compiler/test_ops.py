"""Every op: its native kernel against its numpy reference (float32 and float64), and its
gradient rule against float64 finite differences (and the gradient's kernels too)."""

from __future__ import annotations

import numpy as np
import pytest

from compiler.ops import REGISTRY

from .harness import finite_difference, grad_graph, op_graph, run_native, run_reference
from .op_cases import case_id, cases

CASES = cases()
TOLERANCE = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-13)}


def _arrays(makers, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [make(rng, dtype) for make in makers]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_kernel_matches_reference(case, dtype):
    op, makers, attrs, batched, _ = case
    attrs = dict(attrs)
    if "dtype" in attrs and op in ("iota", "const"):
        attrs["dtype"] = dtype
    arrays = _arrays(makers, dtype)
    graph, _, _ = op_graph(op, arrays, attrs, batched, dtype)
    native = run_native(graph, arrays)
    reference = run_reference(graph, arrays)
    for name in reference:
        assert native[name].dtype == reference[name].dtype, name
        np.testing.assert_allclose(native[name], reference[name], **TOLERANCE[dtype],
                                   err_msg=f"{op} output {name}")


DIFFERENTIABLE = [c for c in CASES if c[4]]


@pytest.mark.parametrize("case", DIFFERENTIABLE, ids=[case_id(c) for c in DIFFERENTIABLE])
def test_gradient_matches_finite_differences(case):
    op, makers, attrs, batched, diff = case
    arrays = _arrays(makers, "float64", seed=1)
    forward, _, _ = op_graph(op, arrays, attrs, batched, "float64")
    rng = np.random.default_rng(2)
    cotangents = []
    for out in run_reference(forward, arrays).values():
        if out.dtype.kind == "f":  # integer outputs (max_pool's argmax) have no cotangent
            cotangents.append(rng.normal(size=out.shape))
    graph = grad_graph(op, arrays, attrs, batched, diff, cotangents)
    feed = arrays + cotangents
    reference = run_reference(graph, feed)

    def loss(inputs):
        return float(run_reference(graph, inputs + cotangents)["loss"])

    for i in diff:
        numeric = finite_difference(loss, arrays, i)
        analytic = reference.get(f"d{i}", np.zeros_like(arrays[i]))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6,
                                   err_msg=f"d{op}/d input {i}")
    native = run_native(graph, feed)
    for name in reference:
        np.testing.assert_allclose(native[name], reference[name], rtol=1e-10, atol=1e-12,
                                   err_msg=f"native gradient graph of {op}: {name}")


def test_every_registered_op_has_all_its_rules():
    incomplete = {name: op.missing_rules() for name, op in REGISTRY.items()
                  if op.missing_rules()}
    assert not incomplete, incomplete


def test_spec_table_covers_every_op():
    covered = {c[0] for c in CASES}
    # Ops tested through other files: optimizer updates (test_optim_ops.py) and
    # fused_elementwise (test_passes.py).
    elsewhere = {name for name, op in REGISTRY.items() if op.group == "update"} | {
        "fused_elementwise"}
    assert set(REGISTRY) - covered - elsewhere == set()
