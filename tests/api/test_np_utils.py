"""Tests of cthulhu.utils.np_utils.to_categorical (Keras 2 semantics)."""

import numpy as np
import pytest

from cthulhu.utils.np_utils import to_categorical


def test_basic_vector():
    out = to_categorical([0, 2, 1, 2])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(
        out, [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]]
    )


def test_num_classes_wider_than_labels():
    out = to_categorical(np.array([1, 0]), num_classes=4)
    assert out.shape == (2, 4)
    np.testing.assert_array_equal(out, [[0, 1, 0, 0], [1, 0, 0, 0]])


def test_column_vector_trailing_one_is_squeezed():
    out = to_categorical(np.array([[0], [1], [2]]), num_classes=3)
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out, np.eye(3))


def test_higher_rank_keeps_leading_shape():
    y = np.array([[0, 1, 2], [2, 1, 0]])
    out = to_categorical(y)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.argmax(-1), y)
    y = np.zeros((4, 5, 1), dtype=np.int64)
    assert to_categorical(y, 2).shape == (4, 5, 2)


def test_single_column_1d_not_squeezed_and_scalar():
    # A 1-D array of length 1 is a vector of one label, not a trailing dim.
    assert to_categorical(np.array([1]), 3).shape == (1, 3)
    out = to_categorical(2, 3)
    assert out.shape == (3,)
    np.testing.assert_array_equal(out, [0, 0, 1])


def test_dtype_argument_and_float_labels():
    out = to_categorical(np.array([1.0, 0.0]), 2, dtype="int64")
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[0, 1], [1, 0]])
    assert to_categorical([1], 2, dtype=np.float64).dtype == np.float64


def test_rows_sum_to_one():
    y = np.random.default_rng(0).integers(0, 10, size=500)
    out = to_categorical(y, 10)
    np.testing.assert_array_equal(out.sum(axis=1), np.ones(500))
    np.testing.assert_array_equal(out.argmax(axis=1), y)


def test_negative_label_raises():
    with pytest.raises(ValueError, match="non-negative"):
        to_categorical([0, -1, 2])


def test_label_not_below_num_classes_raises():
    with pytest.raises(ValueError, match=r"label 3 .*num_classes is 3"):
        to_categorical([0, 3], num_classes=3)


@pytest.mark.parametrize("bad", [0, -2, 2.5])
def test_bad_num_classes_raises(bad):
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([0], num_classes=bad)


def test_empty_input():
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([])
    out = to_categorical(np.array([], dtype=int), num_classes=3)
    assert out.shape == (0, 3)
