import numpy as np
import pytest
from cthulhu._kernels.codes import REDUCTIONS
from cthulhu._kernels.reduce import reduce_np

DTYPES = [np.float32, np.float64]
THREADS = [1, 2]
SHAPES = [
    (1, 1, 1), (3, 1, 5), (1, 7, 1), (4, 9, 1), (1, 70001, 1), (70001, 2, 1),
    (1, 301, 250), (1, 260, 700), (13, 17, 300), (7, 5, 3), (2, 3, 70001 // 6 + 1),
    (0, 3, 4), (3, 4, 0),
]


def ref(kind, x):
    x64 = x.astype(np.float64)
    if kind == "sum":
        return x64.sum(axis=1)
    if kind == "mean":
        return x64.mean(axis=1)
    if kind == "prod":
        return x64.prod(axis=1)
    if kind == "max":
        return x.max(axis=1)
    if kind == "min":
        return x.min(axis=1)
    if kind == "argmax":
        return x.argmax(axis=1)
    if kind == "argmin":
        return x.argmin(axis=1)
    raise AssertionError(kind)


def make(shape, dtype, kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "prod":
        return rng.uniform(0.9, 1.1, shape).astype(dtype)
    if kind in ("argmax", "argmin", "max", "min"):
        return rng.integers(-5, 6, shape).astype(dtype)     # lots of ties
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("kind", sorted(REDUCTIONS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("nt", THREADS)
def test_reduce(kind, dtype, shape, nt):
    x = make(shape, dtype, kind)
    y = np.full((shape[0], shape[2]), np.nan, dtype)
    reduce_np(REDUCTIONS[kind], x, y, n_threads=nt)
    if x.size == 0 and kind in ("max", "min", "argmax", "argmin"):
        return      # numpy refuses; the empty-red semantics are tested below
    expected = ref(kind, x)
    if kind in ("argmax", "argmin", "max", "min"):
        np.testing.assert_array_equal(y, expected.astype(dtype))
        return
    if dtype == np.float32:
        scale = np.abs(x.astype(np.float64)).sum(axis=1) if kind == "sum" else 1.0
        np.testing.assert_allclose(y, expected, rtol=2e-6, atol=1e-6 * np.max(scale, initial=1))
    else:
        scale = np.abs(x).sum(axis=1) if kind == "sum" else 1.0
        np.testing.assert_allclose(y, expected, rtol=1e-12,
                                   atol=1e-14 * np.max(scale, initial=1))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 70001, 1), (1, 3000, 40), (500, 300, 3)])
def test_deterministic_across_threads(dtype, shape):
    x = make(shape, dtype, "sum", seed=3)
    for kind in ("sum", "mean"):
        outs = []
        for nt in (1, 2, 3):
            y = np.empty((shape[0], shape[2]), dtype)
            reduce_np(REDUCTIONS[kind], x, y, n_threads=nt)
            outs.append(y)
        np.testing.assert_array_equal(outs[0], outs[1])
        np.testing.assert_array_equal(outs[0], outs[2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("inner", [1, 3, 300])
def test_empty_reduction(dtype, inner):
    x = np.empty((2, 0, inner), dtype)
    expected = {"sum": 0.0, "mean": np.nan, "prod": 1.0, "max": -np.inf, "min": np.inf,
                "argmax": 0.0, "argmin": 0.0}
    for kind, value in expected.items():
        y = np.full((2, inner), 42.0, dtype)
        reduce_np(REDUCTIONS[kind], x, y)
        np.testing.assert_array_equal(y, np.full((2, inner), value, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("inner", [1, 5])
@pytest.mark.parametrize("nt", THREADS)
def test_nan_like_numpy(dtype, inner, nt):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 9, inner)).astype(dtype)
    x[0, 0, :] = np.nan             # NaN first
    x[1, 8, :] = np.nan             # NaN last
    x[2, 3, :] = np.nan
    x[2, 6, :] = np.nan             # two NaN: argmax takes the first
    x[3, 4, :] = np.inf
    x[4, 2, :] = -np.inf
    for kind in ("max", "min", "argmax", "argmin", "sum"):
        y = np.empty((6, inner), dtype)
        reduce_np(REDUCTIONS[kind], x, y, n_threads=nt)
        expected = ref(kind, x).astype(dtype)
        if kind == "sum":
            np.testing.assert_allclose(y, expected, rtol=1e-5, equal_nan=True)
        else:
            np.testing.assert_array_equal(y, expected, err_msg=kind)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nan_at", [None, 0, 5, 64, 130, 299])
def test_long_rows_nan_and_extrema(dtype, nan_at):
    # rows longer than the 64 running extrema of the contiguous max / min
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 300, 1)).astype(dtype)
    x[0, 77, 0] = 50.0
    x[1, 299, 0] = -50.0
    x[2, 0, 0] = 60.0
    if nan_at is not None:
        x[1, nan_at, 0] = np.nan
    for kind in ("max", "min", "argmax", "argmin"):
        y = np.empty((3, 1), dtype)
        reduce_np(REDUCTIONS[kind], x, y)
        np.testing.assert_array_equal(y, ref(kind, x).astype(dtype), err_msg=kind)


def test_errors():
    x = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="reduction"):
        reduce_np(42, x, np.ones((2, 4)))
    with pytest.raises(ValueError, match="shape"):
        reduce_np(0, x, np.ones((2, 3)))
    with pytest.raises(ValueError, match="3-D"):
        reduce_np(0, np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="dtype"):
        reduce_np(0, x, np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="contiguous"):
        reduce_np(0, np.ones((4, 3, 2)).T, np.ones((2, 4)))
