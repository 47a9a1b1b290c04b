import numpy as np
import pytest

from compiler.ops.random import GOLDEN, dropout_keep, mix64, stream_key
from cthulhu._kernels import rng as R

DTYPES = [np.float32, np.float64]


def test_mix64_bijective_sample_and_deterministic():
    vals = [R.mix64_np(i) for i in range(20000)]
    assert len(set(vals)) == len(vals)
    assert R.mix64_np(12345) == R.mix64_np(12345)
    assert all(0 <= v < 2**64 for v in vals[:100])
    # avalanche: flipping one input bit flips about half the output bits
    flips = [bin(R.mix64_np(i) ^ R.mix64_np(i ^ 1)).count("1") for i in range(2000)]
    assert 28 < np.mean(flips) < 36


def test_stream_keys_differ():
    keys = {R.stream_key_np(seed, step) for seed in range(50) for step in range(50)}
    assert len(keys) == 2500
    with pytest.raises(ValueError):
        R.stream_key_np(-1, 0)


def test_uniform_statistics():
    u = R.uniform_np(7, 3, 400000)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.003
    assert abs(u.var() - 1 / 12) < 0.002
    hist = np.histogram(u, bins=20, range=(0, 1))[0]
    assert np.all(np.abs(hist / len(u) - 0.05) < 0.003)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    # 53-bit resolution: values are multiples of 2**-53 and not all of 2**-32
    assert np.all(u * 2.0**53 == np.floor(u * 2.0**53))
    assert np.any(u * 2.0**32 != np.floor(u * 2.0**32))
    # depends on (seed, step) only
    np.testing.assert_array_equal(u[:1000], R.uniform_np(7, 3, 1000))
    assert not np.array_equal(u[:1000], R.uniform_np(7, 4, 1000))
    assert not np.array_equal(u[:1000], R.uniform_np(8, 3, 1000))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [0, 1, 17, 70001])
@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
def test_dropout(dtype, size, rate):
    x = np.random.default_rng(1).standard_normal(size).astype(dtype) + dtype(5)
    outs = []
    for nt in (1, 2):
        y = np.full(size, np.nan, dtype)
        R.dropout_np(x, y, rate, seed=11, step=4, n_threads=nt)
        outs.append(y)
    np.testing.assert_array_equal(outs[0], outs[1])
    y = outs[0]
    keep = dropout_keep(11, 4, size, rate)
    expected = np.where(keep, x.astype(np.float64) / (1 - rate), 0.0)
    rtol = 1e-6 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(y, expected, rtol=rtol)
    if size > 50000:
        frac = np.count_nonzero(y) / size
        assert abs(frac - (1 - rate)) < 0.01
    # in place
    z = x.copy()
    R.dropout_np(z, z, rate, seed=11, step=4, n_threads=2)
    np.testing.assert_array_equal(z, y)


@pytest.mark.parametrize("avx2", [False, True])
def test_dropout_bits_with_and_without_avx2(avx2):
    x = np.ones(1001, np.float32)
    try:
        R.use_avx2_np(avx2)
        y = R.dropout_np(x, np.empty_like(x), 0.3, seed=5, step=9, n_threads=2)
    finally:
        R.use_avx2_np(True)
    np.testing.assert_array_equal(y != 0, dropout_keep(5, 9, 1001, 0.3))


def test_dropout_keeps_32_bit_draws_at_or_above_the_rate():
    # The reference draws: the low then the high half of each pair's hash.
    n = 200000
    bits = np.empty(n, np.uint64)
    with np.errstate(over="ignore"):
        h = mix64(stream_key(3, 1) + np.arange(1, n // 2 + 1, dtype=np.uint64) * GOLDEN)
    bits[0::2], bits[1::2] = h & np.uint64(0xFFFFFFFF), h >> np.uint64(32)
    for rate in (0.1, 0.5, 0.75):
        keep = dropout_keep(3, 1, n, rate)
        np.testing.assert_array_equal(keep, bits / 2.0**32 >= rate)
        assert abs(keep.mean() - (1 - rate)) < 0.005
        y = R.dropout_np(np.ones(n), np.empty(n), rate, seed=3, step=1)
        np.testing.assert_array_equal(y != 0, keep)
    # A rate within 2**-32 of 1 keeps nothing.
    assert not R.dropout_np(np.ones(n), np.empty(n), 1 - 2.0**-34, seed=3, step=1).any()


def test_dropout_mask_depends_on_seed_and_step_and_is_its_own_gradient():
    x = np.ones(10000)
    a = R.dropout_np(x, np.empty_like(x), 0.5, 1, 1)
    b = R.dropout_np(x, np.empty_like(x), 0.5, 1, 2)
    c = R.dropout_np(x, np.empty_like(x), 0.5, 2, 1)
    assert not np.array_equal(a, b) and not np.array_equal(a, c)
    # gradient: the same call on dy gives mask * dy / (1 - rate)
    dy = np.random.default_rng(3).standard_normal(10000)
    dx = R.dropout_np(dy, np.empty_like(dy), 0.5, 1, 1)
    np.testing.assert_allclose(dx, dy * a, rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fill_uniform(dtype):
    size = 200001
    outs = []
    for nt in (1, 2, 3):
        y = np.empty(size, dtype)
        R.fill_uniform_np(y, 5, 9, low=-2.0, high=3.0, n_threads=nt)
        outs.append(y)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    y = outs[0]
    assert y.min() >= -2.0 and y.max() <= 3.0
    assert abs(y.mean() - 0.5) < 0.02
    assert abs(y.var() - 25 / 12) < 0.03
    np.testing.assert_allclose(y, -2.0 + 5.0 * R.uniform_np(5, 9, size),
                               rtol=1e-6 if dtype == np.float32 else 1e-15, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fill_normal(dtype):
    size = 200001
    outs = []
    for nt in (1, 2, 3):
        y = np.empty(size, dtype)
        R.fill_normal_np(y, 5, 9, mean=1.5, stddev=2.0, n_threads=nt)
        outs.append(y)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    y = outs[0].astype(np.float64)
    assert np.all(np.isfinite(y))
    assert abs(y.mean() - 1.5) < 0.02
    assert abs(y.std() - 2.0) < 0.02
    z = (y - 1.5) / 2.0
    assert abs(np.mean(z**3)) < 0.03            # skewness
    assert abs(np.mean(z**4) - 3.0) < 0.06      # kurtosis
    assert abs(np.mean(np.abs(z) < 1) - 0.6827) < 0.005
    # odd sizes are prefixes of even sizes; fills differ from fill_uniform streams
    short = np.empty(7, dtype)
    R.fill_normal_np(short, 5, 9, mean=1.5, stddev=2.0)
    np.testing.assert_array_equal(short, outs[0][:7])
    other = np.empty(7, dtype)
    R.fill_normal_np(other, 5, 10, mean=1.5, stddev=2.0)
    assert not np.array_equal(other, short)


def test_errors():
    x = np.ones(5)
    with pytest.raises(ValueError, match="rate"):
        R.dropout_np(x, x, 1.0, 0, 0)
    with pytest.raises(ValueError, match="rate"):
        R.dropout_np(x, x, -0.1, 0, 0)
    with pytest.raises(ValueError, match="shape"):
        R.dropout_np(x, np.ones(4), 0.5, 0, 0)
    with pytest.raises(ValueError, match="dtype"):
        R.dropout_np(x, np.ones(5, np.float32), 0.5, 0, 0)
    with pytest.raises(ValueError, match="float32 or float64"):
        R.fill_uniform_np(np.ones(5, np.int32), 0, 0)
