"""Tests of cthulhu.datasets.digits (bundled UCI 8x8 handwritten digits)."""

import numpy as np
import pytest

from cthulhu.datasets import digits


def _all(split=0.2, seed=113):
    (x_train, y_train), (x_test, y_test) = digits.load_data(test_split=split, seed=seed)
    return x_train, y_train, x_test, y_test


def test_shapes_and_dtypes():
    x_train, y_train, x_test, y_test = _all()
    assert x_train.shape == (1438, 8, 8)
    assert y_train.shape == (1438,)
    assert x_test.shape == (359, 8, 8)
    assert y_test.shape == (359,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8


def test_value_ranges():
    x_train, y_train, x_test, y_test = _all()
    x = np.concatenate([x_train, x_test])
    y = np.concatenate([y_train, y_test])
    assert x.min() == 0 and x.max() == 16
    assert set(np.unique(y).tolist()) == set(range(10))


def test_class_counts_match_the_uci_test_set():
    x_train, y_train, x_test, y_test = _all()
    counts = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    assert counts.tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # Each class is represented in both parts of a random 80/20 split.
    assert np.all(np.bincount(y_test, minlength=10) >= 15)


def test_images_look_like_digits():
    # A "0" has ink around a mostly empty centre; a "1" is narrow.
    x_train, y_train, _, _ = _all()
    x = x_train.astype(np.float64)
    zeros = x[y_train == 0].mean(axis=0)
    ones = x[y_train == 1].mean(axis=0)
    assert zeros[3:5, 3:5].mean() < zeros[1:7, 1:7].mean()
    assert ones[:, 0:2].mean() < ones[:, 3:6].mean()
    # Column 0 of every image is (nearly) blank in this data set.
    assert x[:, :, 0].mean() < 0.5


def test_split_is_deterministic_for_a_seed():
    a = _all(seed=7)
    b = _all(seed=7)
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    c = _all(seed=8)
    assert not np.array_equal(a[1], c[1])


def test_split_is_disjoint_and_covers_every_sample():
    x_train, y_train, x_test, y_test = _all(split=0.3, seed=1)
    assert len(x_test) == int(1797 * 0.3)
    assert len(x_train) + len(x_test) == 1797
    # Rebuild the full shuffled set and compare it with a different seed's:
    # same multiset of (image, label) rows, and no row used twice.
    rows = np.concatenate(
        [np.concatenate([x_train.reshape(-1, 64), y_train[:, None]], axis=1),
         np.concatenate([x_test.reshape(-1, 64), y_test[:, None]], axis=1)]
    )
    x2, y2, x3, y3 = _all(split=0.5, seed=2)
    rows2 = np.concatenate(
        [np.concatenate([x2.reshape(-1, 64), y2[:, None]], axis=1),
         np.concatenate([x3.reshape(-1, 64), y3[:, None]], axis=1)]
    )
    sort = lambda r: r[np.lexsort(r.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(sort(rows), sort(rows2))
    # The data set has a few duplicate images, so compare via the shuffle
    # order itself: the split is a partition of a permutation of 0..1796.
    order = np.random.default_rng(1).permutation(1797)
    n_test = int(1797 * 0.3)
    train_idx, test_idx = order[:-n_test], order[-n_test:]
    assert not set(train_idx.tolist()) & set(test_idx.tolist())


def test_uses_default_rng_permutation():
    x_train, y_train, x_test, y_test = _all(split=0.25, seed=5)
    (xa, ya), (xb, yb) = digits.load_data(test_split=0.5, seed=5)
    # Same seed, same order: the concatenation does not depend on the split.
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), np.concatenate([ya, yb]))
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), np.concatenate([xa, xb]))


def test_returned_arrays_are_independent():
    x_train, y_train, _, _ = _all()
    x_train[...] = 0
    y_train[...] = 0
    x_again, y_again, _, _ = _all()
    assert x_again.max() == 16 and y_again.max() == 9


@pytest.mark.parametrize("bad", [0, 0.0, 1, 1.0, -0.1, 1.5, float("nan"), "0.2", None, True])
def test_bad_test_split_raises(bad):
    with pytest.raises(ValueError):
        digits.load_data(test_split=bad)


def test_tiny_and_huge_splits_keep_both_parts_non_empty():
    x_train, _, x_test, _ = _all(split=1e-6)
    assert len(x_test) == 1 and len(x_train) == 1796
    x_train, _, x_test, _ = _all(split=1 - 1e-6)
    assert len(x_train) == 1 and len(x_test) == 1796
