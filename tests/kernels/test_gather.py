import numpy as np
import pytest
from cthulhu._kernels.gather import copy_rows, gather_rows

from cthulhu._kernels import threads

SRC_DTYPES = [np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_]
DST_DTYPES = [np.float32, np.float64]


def make_src(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.integer):
        lo = 0 if dtype == np.uint8 else -1000
        return rng.integers(lo, 255, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.fixture(params=[1, 2])
def nthreads(request):
    before = threads.get_num_threads()
    threads.set_num_threads(request.param)
    yield request.param
    threads.set_num_threads(before)


@pytest.mark.parametrize("src_dtype", SRC_DTYPES)
@pytest.mark.parametrize("dst_dtype", DST_DTYPES)
@pytest.mark.parametrize("shape", [(10,), (9, 3), (6, 2, 5), (70001, 1), (40000, 3)])
def test_gather_rows(src_dtype, dst_dtype, shape, nthreads):
    src = make_src(shape, src_dtype)
    rng = np.random.default_rng(1)
    index = rng.integers(0, shape[0], max(shape[0] - 3, 1)).astype(np.int64)
    dst = np.full((len(index) + 2,) + shape[1:], -7.0, dst_dtype)
    gather_rows(src, index, dst)
    np.testing.assert_array_equal(dst[: len(index)], src[index].astype(dst_dtype))
    assert np.all(dst[len(index):] == -7.0)      # rows past len(index) untouched


@pytest.mark.parametrize("src_dtype", SRC_DTYPES)
@pytest.mark.parametrize("dst_dtype", DST_DTYPES)
@pytest.mark.parametrize("shape", [(10,), (9, 3), (6, 2, 5), (70001, 2)])
def test_copy_rows(src_dtype, dst_dtype, shape, nthreads):
    src = make_src(shape, src_dtype, seed=2)
    start, stop = 1, shape[0] - 2
    dst = np.zeros((stop - start,) + shape[1:], dst_dtype)
    copy_rows(src, start, stop, dst)
    np.testing.assert_array_equal(dst, src[start:stop].astype(dst_dtype))


def test_empty_and_repeats():
    src = np.arange(12, dtype=np.float64).reshape(4, 3)
    dst = np.full((2, 3), 5.0, np.float32)
    gather_rows(src, np.array([], np.int64), dst)
    assert np.all(dst == 5.0)
    gather_rows(src, np.array([3, 3], np.int64), dst)
    np.testing.assert_array_equal(dst, [[9, 10, 11], [9, 10, 11]])
    copy_rows(src, 2, 2, dst)
    np.testing.assert_array_equal(dst, [[9, 10, 11], [9, 10, 11]])
    # zero-sized rows
    gather_rows(np.empty((4, 0)), np.array([1, 2], np.int64), np.empty((2, 0)))


def test_float64_to_float32_rounds():
    src = np.array([1 / 3, 1e40, -1e-50])
    dst = np.empty(3, np.float32)
    gather_rows(src, np.arange(3, dtype=np.int64), dst)
    with np.errstate(over="ignore"):
        expected = src.astype(np.float32)
    np.testing.assert_array_equal(dst, expected)


def test_errors():
    src = np.zeros((5, 3))
    dst = np.zeros((5, 3), np.float32)
    with pytest.raises(IndexError, match="index 5"):
        gather_rows(src, np.array([0, 5], np.int64), dst)
    with pytest.raises(IndexError, match="index -1"):
        gather_rows(src, np.array([-1], np.int64), dst)
    with pytest.raises(TypeError, match="int16"):
        gather_rows(src.astype(np.int16), np.array([0], np.int64), dst)
    with pytest.raises(TypeError, match="float16"):
        gather_rows(src.astype(np.float16), np.array([0], np.int64), dst)
    with pytest.raises(TypeError, match="dst dtype"):
        gather_rows(src, np.array([0], np.int64), dst.astype(np.int32))
    with pytest.raises(TypeError, match="src dtype"):
        gather_rows(src.astype(">f8"), np.array([0], np.int64), dst)
    with pytest.raises(ValueError, match="trailing"):
        gather_rows(src, np.array([0], np.int64), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="rows"):
        gather_rows(src, np.array([0, 1, 2], np.int64), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="contiguous"):
        gather_rows(np.zeros((3, 5)).T, np.array([0], np.int64), dst)
    with pytest.raises(ValueError):
        gather_rows(src, np.array([0], np.int32), dst)
    with pytest.raises(IndexError, match="range"):
        copy_rows(src, 3, 6, dst)
    with pytest.raises(IndexError, match="range"):
        copy_rows(src, 3, 2, dst)
    with pytest.raises(ValueError, match="rows"):
        copy_rows(src, 0, 5, np.zeros((4, 3)))
