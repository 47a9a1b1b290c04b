import numpy as np
import pytest
from cthulhu._kernels.codes import ACTIVATIONS

from cthulhu._kernels import activations as K

ALPHA = 1.6732632423543772
SCALE = 1.0507009873554805
DTYPES = [np.float32, np.float64]
THREADS = [1, 2]
SHAPES = [(0, 5), (4, 0), (1, 1), (3, 7), (1000, 33), (7, 10001)]   # (7, 10001): 70007 elements


def ref_fwd(name, x):
    x = x.astype(np.float64)
    with np.errstate(over="ignore"):
        if name == "linear":
            return x.copy()
        if name == "relu":
            return np.maximum(x, 0)
        if name == "sigmoid":
            return 1 / (1 + np.exp(-x))
        if name == "hard_sigmoid":
            return np.clip(0.2 * x + 0.5, 0, 1)
        if name == "tanh":
            return np.tanh(x)
        if name == "softmax":
            if x.shape[1] == 0:
                return x.copy()
            e = np.exp(x - x.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        if name == "elu":
            return np.where(x > 0, x, np.expm1(x))
        if name == "selu":
            return SCALE * np.where(x > 0, x, ALPHA * np.expm1(x))
        if name == "softplus":
            return np.logaddexp(0, x)
        if name == "softsign":
            return x / (1 + np.abs(x))
        if name == "exponential":
            return np.exp(x)
    raise AssertionError(name)


def ref_bwd(name, y, dy):
    y = y.astype(np.float64)
    dy = dy.astype(np.float64)
    if name == "softmax":
        return y * (dy - (dy * y).sum(axis=1, keepdims=True))
    deriv = {
        "linear": np.ones_like(y),
        "relu": (y > 0).astype(np.float64),
        "sigmoid": y * (1 - y),
        "hard_sigmoid": np.where((y > 0) & (y < 1), 0.2, 0.0),
        "tanh": 1 - y * y,
        "elu": np.where(y > 0, 1.0, y + 1),
        "selu": np.where(y > 0, SCALE, y + SCALE * ALPHA),
        "softplus": -np.expm1(-y),
        "softsign": (1 - np.abs(y)) ** 2,
        "exponential": y,
    }[name]
    return dy * deriv


def tol(dtype):
    if dtype == np.float32:
        return dict(rtol=1e-5, atol=1e-6)
    return dict(rtol=1e-12, atol=1e-14)


def data(shape, dtype, seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("nt", THREADS)
def test_act_fwd(name, dtype, shape, nt):
    x = data(shape, dtype)
    y = np.full_like(x, np.nan)
    K.act_fwd_np(ACTIVATIONS[name], x, y, n_threads=nt)
    np.testing.assert_allclose(y, ref_fwd(name, x), **tol(dtype))
    # in place
    z = x.copy()
    K.act_fwd_np(ACTIVATIONS[name], z, z, n_threads=nt)
    np.testing.assert_array_equal(z, y)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_act_fwd_nan_and_extremes(name, dtype):
    x = np.array([[np.nan, -np.inf, np.inf, -1000.0, 1000.0, 0.0]], dtype)
    if name == "softmax":
        x = np.array([[-1000.0, 1000.0, 0.0, 999.0], [1.0, np.nan, 2.0, 3.0]], dtype)
    y = np.empty_like(x)
    K.act_fwd_np(ACTIVATIONS[name], x, y)
    with np.errstate(invalid="ignore"):
        expected = ref_fwd(name, x).astype(dtype)
    np.testing.assert_allclose(y, expected, **tol(dtype))
    assert np.isnan(y).sum() == np.isnan(expected).sum()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nan_at", [0, 70, 199])
def test_softmax_long_row_nan(dtype, nan_at):
    x = data((3, 200), dtype, seed=12)
    x[0, 150] = 80.0        # large max inside the vectorized lanes
    x[1, nan_at] = np.nan
    y = np.empty_like(x)
    K.act_fwd_np(ACTIVATIONS["softmax"], x, y)
    assert np.isnan(y[1]).all()
    np.testing.assert_allclose(y[[0, 2]], ref_fwd("softmax", x[[0, 2]]), **tol(dtype))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (5, 9), (9, 7777)])
@pytest.mark.parametrize("nt", THREADS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_bias_act_fwd(name, dtype, shape, nt, with_bias):
    z = data(shape, dtype, seed=1)
    bias = data(shape[1], dtype, seed=2) if with_bias else None
    pre = z.astype(np.float64) + (bias.astype(np.float64) if with_bias else 0)
    expected = ref_fwd(name, pre.astype(dtype))
    K.bias_act_fwd_np(ACTIVATIONS[name], z, bias, n_threads=nt)
    np.testing.assert_allclose(z, expected, **tol(dtype))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("nt", THREADS)
def test_act_bwd(name, dtype, shape, nt):
    x = data(shape, dtype, seed=3)
    y = np.empty_like(x)
    K.act_fwd_np(ACTIVATIONS[name], x, y)
    dy = data(shape, dtype, seed=4, scale=1.0)
    dx = np.full_like(x, np.nan)
    dbias = np.full(shape[1], np.nan, dtype)
    K.act_bwd_np(ACTIVATIONS[name], y, dy, dx, dbias, n_threads=nt)
    expected = ref_bwd(name, y, dy)
    np.testing.assert_allclose(dx, expected, **tol(dtype))
    t = tol(dtype)
    np.testing.assert_allclose(dbias, dx.astype(np.float64).sum(axis=0), rtol=t["rtol"],
                               atol=t["atol"] * max(shape[0], 1))
    # dx aliasing dy, no dbias
    d2 = dy.copy()
    K.act_bwd_np(ACTIVATIONS[name], y, d2, d2, n_threads=nt)
    np.testing.assert_array_equal(d2, dx)


def _fd_safe_x(name, shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, shape)
    if name in ("relu", "elu", "selu"):
        x = np.where(np.abs(x) < 0.05, 0.5, x)          # stay away from the kink at 0
    if name == "hard_sigmoid":
        x = np.where(np.abs(np.abs(x) - 2.5) < 0.05, 1.0, x)
    return x


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_act_bwd_finite_differences(name):
    code = ACTIVATIONS[name]
    shape = (3, 5)
    x = _fd_safe_x(name, shape, 5)
    w = np.random.default_rng(6).standard_normal(shape)

    def f(xx):
        yy = np.empty_like(xx)
        K.act_fwd_np(code, xx, yy)
        return float((w * yy).sum())

    y = np.empty_like(x)
    K.act_fwd_np(code, x, y)
    dx = np.empty_like(x)
    dbias = np.empty(shape[1])
    K.act_bwd_np(code, y, w.copy(), dx, dbias)
    h = 1e-6
    fd = np.empty_like(x)
    for idx in np.ndindex(*shape):
        xp = x.copy()
        xp[idx] += h
        xm = x.copy()
        xm[idx] -= h
        fd[idx] = (f(xp) - f(xm)) / (2 * h)
    np.testing.assert_allclose(dx, fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dbias, fd.sum(axis=0), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 3), (31, 4), (33, 4), (5000, 17), (70001, 3),
                                   (2100, 300)])
def test_col_sum_deterministic(dtype, shape):
    x = data(shape, dtype, seed=7)
    outs = []
    for nt in (1, 2, 3):
        out = np.empty(shape[1], dtype)
        K.col_sum_np(x, out, n_threads=nt)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    t = tol(dtype)
    np.testing.assert_allclose(outs[0], x.astype(np.float64).sum(axis=0), rtol=t["rtol"],
                               atol=t["atol"] * shape[0])


@pytest.mark.parametrize("name", ["relu", "softmax", "tanh"])
def test_dbias_identical_across_threads(name):
    shape = (20000, 7)
    x = data(shape, np.float32, seed=8)
    y = np.empty_like(x)
    K.act_fwd_np(ACTIVATIONS[name], x, y)
    dy = data(shape, np.float32, seed=9)
    res = []
    for nt in (1, 2):
        dx = np.empty_like(x)
        db = np.empty(shape[1], np.float32)
        K.act_bwd_np(ACTIVATIONS[name], y, dy, dx, db, n_threads=nt)
        res.append((dx, db))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])


@pytest.mark.parametrize("name", ["relu", "softmax", "tanh"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 3), (33, 4), (20000, 7), (4608, 64), (100, 300)])
def test_fused_dbias_is_act_bwd_then_col_sum(name, dtype, shape):
    """act_bwd_bias (one pass, row blocks on threads) gives the bits of the two-pass
    act_bwd + col_sum, for any thread count, and the numpy sums."""
    x = data(shape, dtype, seed=10)
    y = np.empty_like(x)
    K.act_fwd_np(ACTIVATIONS[name], x, y)
    dy = data(shape, dtype, seed=11)
    dx0, db0 = np.empty_like(x), np.empty(shape[1], dtype)
    K.act_bwd_np(ACTIVATIONS[name], y, dy, dx0, db0)
    for nt in (1, 2, 3):
        dx, db = np.full_like(x, np.nan), np.full(shape[1], np.nan, dtype)
        K.act_bwd_np(ACTIVATIONS[name], y, dy, dx, db, n_threads=nt, fused=True)
        np.testing.assert_array_equal(dx, dx0)
        np.testing.assert_array_equal(db, db0)
    np.testing.assert_allclose(dx0, ref_bwd(name, y, dy), **tol(dtype))
    t = tol(dtype)
    np.testing.assert_allclose(db0, dx0.astype(np.float64).sum(axis=0), rtol=t["rtol"],
                               atol=t["atol"] * shape[0])


def test_col_sum_empty_rows():
    out = np.full(4, np.nan)
    K.col_sum_np(np.empty((0, 4)), out)
    np.testing.assert_array_equal(out, np.zeros(4))
    dx = np.empty((0, 4))
    K.act_bwd_np(ACTIVATIONS["tanh"], dx, dx.copy(), dx, out)
    np.testing.assert_array_equal(out, np.zeros(4))


def test_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="activation"):
        K.act_fwd_np(99, x, x)
    with pytest.raises(ValueError, match="dtype"):
        K.act_fwd_np(0, x, x.astype(np.float32))
    with pytest.raises(ValueError, match="contiguous"):
        K.act_fwd_np(0, np.ones((3, 2)).T, x)
    with pytest.raises(ValueError, match="2-D"):
        K.act_fwd_np(0, np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        K.act_fwd_np(0, x, np.ones((3, 2)))
    with pytest.raises(ValueError, match="bias"):
        K.bias_act_fwd_np(0, x, np.ones(2))
    with pytest.raises(ValueError, match="dbias"):
        K.act_bwd_np(0, x, x, x.copy(), np.ones(4))
    with pytest.raises(ValueError, match="float32 or float64"):
        K.act_fwd_np(0, np.ones((2, 2), np.int32), np.ones((2, 2), np.int32))
    ro = np.ones((2, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        K.act_fwd_np(0, x, ro)


def _ulps(got, ref, dtype):
    """|got - ref| in units of the spacing of `dtype` at ref (ref in float64 / longdouble)."""
    ref_d = ref.astype(dtype)
    ok = np.isfinite(ref_d) & (ref_d != 0)
    spacing = np.spacing(np.abs(ref_d[ok])).astype(np.float64)
    return np.abs(got[ok].astype(np.float64) - ref[ok].astype(np.float64)) / spacing


@pytest.mark.parametrize("dtype,lim", [(np.float32, 89.0), (np.float64, 710.0)])
def test_vectorized_exp_expm1_tanh_accuracy(dtype, lim):
    rng = np.random.default_rng(13)
    x = np.concatenate([rng.uniform(-1.2 * lim, lim, 200000), rng.uniform(-1, 1, 100000),
                        rng.uniform(-1e-4, 1e-4, 10000), [0.0, -0.0, 1e-30, -1e-30]])
    x = x.astype(dtype).reshape(1, -1)
    xl = x.astype(np.longdouble)
    y = np.empty_like(x)
    with np.errstate(all="ignore"):
        K.act_fwd_np(ACTIVATIONS["exponential"], x, y)
        assert _ulps(y, np.exp(xl), dtype).max() <= 2
        K.act_fwd_np(ACTIVATIONS["elu"], x, y)
        assert _ulps(y, np.where(xl > 0, xl, np.expm1(xl)), dtype).max() <= 3
        K.act_fwd_np(ACTIVATIONS["tanh"], x, y)
        assert _ulps(y, np.tanh(xl), dtype).max() <= 4
        K.act_fwd_np(ACTIVATIONS["sigmoid"], x, y)
        assert _ulps(y, 1 / (1 + np.exp(-xl)), dtype).max() <= 4


@pytest.mark.parametrize("dtype", DTYPES)
def test_vectorized_exp_special_values(dtype):
    big = 88.8 if dtype == np.float32 else 709.9
    tiny = -103.5 if dtype == np.float32 else -744.5       # subnormal results
    x = np.array([[np.nan, np.inf, -np.inf, big, -2 * big, tiny, 1e-40, 0.0]], dtype)
    y = np.empty_like(x)
    K.act_fwd_np(ACTIVATIONS["exponential"], x, y)
    with np.errstate(all="ignore"):
        expected = np.exp(x)
    assert np.isnan(y[0, 0])
    np.testing.assert_array_equal(y[0, 1:5], [np.inf, 0.0, np.inf, 0.0])
    assert 0 < y[0, 5] < np.finfo(dtype).tiny
    np.testing.assert_allclose(y[0, 5], expected[0, 5], rtol=0.02)   # few subnormal bits
    np.testing.assert_array_equal(y[0, 6:], [1.0, 1.0])
    K.act_fwd_np(ACTIVATIONS["tanh"], x, y)
    np.testing.assert_array_equal(y[0, 1:5], [1.0, -1.0, 1.0, -1.0])
    assert np.isnan(y[0, 0])
