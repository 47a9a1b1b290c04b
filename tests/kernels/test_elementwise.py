import numpy as np
import pytest
from cthulhu._kernels.codes import EW_BLOCK_SIZE, EW_OPS, EW_REGISTERS
from cthulhu._kernels.elementwise import ew_chain_np

DTYPES = [np.float32, np.float64]
THREADS = [1, 2]
OP = EW_OPS


def tol(dtype):
    if dtype == np.float32:
        return dict(rtol=1e-5, atol=1e-6)
    return dict(rtol=1e-12, atol=1e-14)


def prog(*rows):
    return np.array([list(r) + [0] * (5 - len(r)) for r in rows], dtype=np.int64).reshape(-1, 5)


def bcast(arr, outer, red, inner):
    """numpy version of the (red, inner) broadcast of an (outer, inner) operand."""
    return np.broadcast_to(arr.reshape(outer, 1, inner), (outer, red, inner)).ravel()


UNARY_REF = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "square": np.square,
    "abs": np.abs, "sign": np.sign, "round": np.round, "reciprocal": lambda v: 1 / v,
    "floor": np.floor, "ceil": np.ceil,
}
BINARY_REF = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
    "maximum": np.maximum, "minimum": np.minimum, "pow": np.power,
    "equal": np.equal, "not_equal": np.not_equal, "greater": np.greater,
    "greater_equal": np.greater_equal, "less": np.less, "less_equal": np.less_equal,
}


def special_values(dtype, n, seed, shift=0):
    rng = np.random.default_rng(seed)
    x = (3 * rng.standard_normal(n)).astype(dtype)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -2.5, 1.0,
                         -1.0, 2.0], dtype)
    specials = np.roll(specials, shift)     # shift != 0: NaN meets other values
    x[: min(n, len(specials))] = specials[: min(n, len(specials))]
    return x


@pytest.mark.parametrize("name", sorted(UNARY_REF))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [0, 1, 257, 70001])
@pytest.mark.parametrize("nt", THREADS)
def test_unary(name, dtype, size, nt):
    x = special_values(dtype, size, 1)
    out = np.full(size, 7.0, dtype)
    p = prog((OP["load"], 3, 0), (OP[name], 3, 3), (OP["store"], 1, 3))
    ew_chain_np(size, p, [x, out], [1, 1], [1, 1], np.zeros(0), n_threads=nt)
    with np.errstate(all="ignore"):
        expected = UNARY_REF[name](x).astype(dtype)
    np.testing.assert_allclose(out, expected, equal_nan=True, **tol(dtype))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))


@pytest.mark.parametrize("name", sorted(BINARY_REF))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [0, 1, 300, 70001])
@pytest.mark.parametrize("nt", THREADS)
def test_binary(name, dtype, size, nt):
    a = special_values(dtype, size, 2)
    b = special_values(dtype, size, 3, shift=5)
    if size > 40:
        a[20:33] = special_values(dtype, 13, 0)
        b[20:33] = special_values(dtype, 13, 0, shift=-3)   # NaN/inf vs numbers, both ways
        b[35:40] = a[35:40]                                  # exact ties
    if name == "pow":
        a = np.abs(a)
    out = np.empty(size, dtype)
    p = prog((OP["load"], 0, 0), (OP["load"], 15, 1), (OP[name], 7, 0, 15),
             (OP["store"], 2, 7))
    ew_chain_np(size, p, [a, b, out], [1, 1, 1], [1, 1, 1], np.zeros(0), n_threads=nt)
    with np.errstate(all="ignore"):
        expected = BINARY_REF[name](a, b).astype(dtype)
    np.testing.assert_allclose(out, expected, equal_nan=True, **tol(dtype))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))


def test_round_half_even_and_sign():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 3.5, np.nan, -3.0, 0.0], np.float64)
    out = np.empty_like(x)
    sign = np.empty_like(x)
    p = prog((OP["load"], 0, 0), (OP["round"], 1, 0), (OP["store"], 1, 1),
             (OP["sign"], 2, 0), (OP["store"], 2, 2))
    ew_chain_np(x.size, p, [x, out, sign], [1] * 3, [1] * 3, np.zeros(0))
    np.testing.assert_array_equal(out, [0, 2, 2, -0, -2, 4, np.nan, -3, 0])
    np.testing.assert_array_equal(sign, [1, 1, 1, -1, -1, 1, np.nan, -1, 0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nt", THREADS)
def test_where_and_const(dtype, nt):
    size = 70001
    rng = np.random.default_rng(4)
    cond = (rng.random(size) > 0.5).astype(dtype)
    cond[:3] = [np.nan, -0.0, 2.0]
    b = rng.standard_normal(size).astype(dtype)
    out = np.empty(size, dtype)
    consts = np.array([0.25, -4.0])
    p = prog((OP["load"], 0, 0), (OP["load"], 1, 1), (OP["const"], 2, 1),
             (OP["where"], 0, 0, 1, 2), (OP["const"], 3, 0), (OP["mul"], 0, 0, 3),
             (OP["store"], 2, 0))
    ew_chain_np(size, p, [cond, b, out], [1] * 3, [1] * 3, consts, n_threads=nt)
    expected = (np.where(cond != 0, b, dtype(-4.0)) * dtype(0.25)).astype(dtype)
    np.testing.assert_array_equal(out, expected)


BCAST_CASES = [
    # (outer, red, inner)
    (1, 1, 1), (3, 1, 5), (7, 13, 5), (5, 300, 1), (1, 70001, 1), (70001, 1, 1),
    (2, 3, 300), (1, 513, 7), (11, 7, 1000), (3, 1000, 23), (1, 3, 70001 // 3 + 1),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("outer,red,inner", BCAST_CASES)
@pytest.mark.parametrize("nt", THREADS)
def test_broadcast_loads(dtype, outer, red, inner, nt):
    size = outer * red * inner
    rng = np.random.default_rng(size)
    full = rng.standard_normal(size).astype(dtype)
    mid = rng.standard_normal(outer * inner).astype(dtype)       # (outer, inner)
    rows = rng.standard_normal(outer).astype(dtype)              # (outer, 1): inner == 1
    cols = rng.standard_normal(inner).astype(dtype)              # outer == 1 view
    scalar = np.array([1.5], dtype)
    out = np.empty(size, dtype)
    operands = [full, mid, rows, cols, scalar, out]
    red_l = [1, red, red * inner, 1, size, 1]
    inner_l = [1, inner, 1, inner, 1, 1]
    # cols as operand of red = outer*red broadcast of an (1, inner) operand:
    red_l[3] = outer * red
    p = prog((OP["load"], 0, 0), (OP["load"], 1, 1), (OP["add"], 0, 0, 1),
             (OP["load"], 2, 2), (OP["mul"], 0, 0, 2), (OP["load"], 3, 3),
             (OP["sub"], 0, 0, 3), (OP["load"], 4, 4), (OP["div"], 0, 0, 4),
             (OP["store"], 5, 0))
    ew_chain_np(size, p, operands, red_l, inner_l, np.zeros(0), n_threads=nt)
    expected = ((full + bcast(mid, outer, red, inner))
                * np.repeat(rows, red * inner)
                - np.tile(cols, outer * red)) / scalar[0]
    np.testing.assert_allclose(out, expected.astype(dtype), **tol(dtype))


@pytest.mark.parametrize("nt", THREADS)
def test_general_broadcast_formula(nt):
    # operand broadcast with an (red, inner) pair that differs from the output layout
    size = 6 * 4 * 35
    red, inner = 4, 35
    src = np.arange(size // red, dtype=np.float64)
    out = np.empty(size)
    p = prog((OP["load"], 0, 0), (OP["store"], 1, 0))
    ew_chain_np(size, p, [src, out], [red, 1], [inner, 1], np.zeros(0), n_threads=nt)
    i = np.arange(size)
    np.testing.assert_array_equal(out, src[(i // (red * inner)) * inner + i % inner])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nt", THREADS)
def test_in_place_operand_and_register_reuse(dtype, nt):
    size = 2 * EW_BLOCK_SIZE * 70 + 3
    rng = np.random.default_rng(9)
    x = rng.standard_normal(size).astype(dtype)
    y = rng.standard_normal(size).astype(dtype)
    x0 = x.copy()
    # x <- exp(-(x*y)^2) + x, every intermediate in register 0 or 1 (dst == source)
    p = prog((OP["load"], 0, 0), (OP["load"], 1, 1), (OP["mul"], 1, 0, 1),
             (OP["square"], 1, 1), (OP["neg"], 1, 1), (OP["exp"], 1, 1),
             (OP["add"], 1, 1, 0), (OP["store"], 0, 1))
    ew_chain_np(size, p, [x, y], [1, 1], [1, 1], np.zeros(0), n_threads=nt)
    expected = np.exp(-((x0 * y) ** 2)) + x0
    np.testing.assert_allclose(x, expected.astype(dtype), **tol(dtype))


def test_thread_independence():
    size = 100003
    rng = np.random.default_rng(10)
    a = rng.standard_normal(size)
    outs = []
    for nt in (1, 2, 3):
        out = np.empty(size)
        p = prog((OP["load"], 0, 0), (OP["exp"], 1, 0), (OP["pow"], 2, 1, 0),
                 (OP["store"], 1, 2))
        ew_chain_np(size, p, [a, out], [1, 1], [1, 1], np.zeros(0), n_threads=nt)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    np.testing.assert_allclose(outs[0], np.exp(a) ** a, rtol=1e-12)


def test_two_stores():
    size = 1000
    x = np.linspace(-1, 1, size)
    o1 = np.empty(size)
    o2 = np.empty(size)
    p = prog((OP["load"], 0, 0), (OP["store"], 1, 0), (OP["neg"], 0, 0), (OP["store"], 2, 0))
    ew_chain_np(size, p, [x, o1, o2], [1] * 3, [1] * 3, np.zeros(0))
    np.testing.assert_array_equal(o1, x)
    np.testing.assert_array_equal(o2, -x)


def test_validation_errors():
    x = np.ones(10)
    out = np.empty(10)
    ok = prog((OP["load"], 0, 0), (OP["store"], 1, 0))
    ew_chain_np(10, ok, [x, out], [1, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="opcode"):
        ew_chain_np(10, prog((99, 0, 0)), [x, out], [1, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="register"):
        ew_chain_np(10, prog((OP["load"], EW_REGISTERS, 0)), [x, out], [1, 1], [1, 1],
                    np.zeros(0))
    with pytest.raises(ValueError, match="register"):
        ew_chain_np(10, prog((OP["add"], 0, 1, -1)), [x, out], [1, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="length"):
        ew_chain_np(10, ok, [np.ones(9), out], [1, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="length"):
        ew_chain_np(10, ok, [np.ones(10), out], [2, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="multiple"):
        ew_chain_np(10, ok, [np.ones(3), out], [3, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="operand"):
        ew_chain_np(10, prog((OP["load"], 0, 5)), [x, out], [1, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="constant"):
        ew_chain_np(10, prog((OP["const"], 0, 0)), [x, out], [1, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="dtype"):
        ew_chain_np(10, ok, [x, out.astype(np.float32)], [1, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="int64"):
        ew_chain_np(10, ok.astype(np.int32), [x, out], [1, 1], [1, 1], np.zeros(0))
    with pytest.raises(ValueError, match="stored operand"):
        ew_chain_np(10, prog((OP["load"], 0, 0), (OP["store"], 1, 0)), [x, np.ones(5)],
                    [1, 2], [1, 1], np.zeros(0))
