"""The UCI "Optical Recognition of Handwritten Digits" set, 8x8 form.

1,797 grey-level images of handwritten digits, each an 8x8 grid of pixel
counts in 0..16, with labels 0..9. The data ship with cthulhu in
``cthulhu/datasets/data/digits.npz``; see ``DIGITS_LICENSE.txt`` beside it
for creators, source and licence (CC BY 4.0).

Usage::

    from cthulhu.datasets import digits
    (x_train, y_train), (x_test, y_test) = digits.load_data()
"""

import os

import numpy as np

_FILENAME = "digits.npz"
NUM_SAMPLES = 1797
NUM_CLASSES = 10


def _data_path():
    """Filesystem path of the bundled file, next to this module."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", _FILENAME)


def _load_arrays():
    """Read the whole set: (images uint8 (1797, 8, 8), labels uint8 (1797,))."""
    with np.load(_data_path()) as data:
        images = np.asarray(data["images"], dtype=np.uint8)
        labels = np.asarray(data["labels"], dtype=np.uint8)
    return images, labels


def load_data(test_split=0.2, seed=113):
    """Load the digits set, shuffled and split into train and test parts.

    Args:
        test_split: fraction of the samples put in the test part; a float
            with ``0 < test_split < 1``.
        seed: seed of the shuffle (``numpy.random.default_rng(seed)``); the
            same seed always gives the same split.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: x arrays are uint8 of shape
        ``(n, 8, 8)`` with values 0..16, y arrays uint8 of shape ``(n,)``
        with values 0..9. The test part holds ``int(1797 * test_split)``
        samples (at least 1, at most 1796).

    Raises:
        ValueError: if ``test_split`` is not strictly between 0 and 1.
    """
    numeric = (int, float, np.floating, np.integer)
    if isinstance(test_split, bool) or not isinstance(test_split, numeric):
        raise ValueError(
            "test_split must be a number strictly between 0 and 1, got %r" % (test_split,)
        )
    test_split = float(test_split)
    if not (0.0 < test_split < 1.0):
        raise ValueError(
            "test_split must be strictly between 0 and 1, got %r" % (test_split,)
        )

    images, labels = _load_arrays()
    n = images.shape[0]
    order = np.random.default_rng(seed).permutation(n)
    images = images[order]
    labels = labels[order]

    n_test = min(max(int(n * test_split), 1), n - 1)
    n_train = n - n_test
    x_train, y_train = images[:n_train], labels[:n_train]
    x_test, y_test = images[n_train:], labels[n_train:]
    return (x_train, y_train), (x_test, y_test)
