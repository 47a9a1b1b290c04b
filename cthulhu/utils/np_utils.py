"""NumPy helpers of the Keras 2 API (``to_categorical``)."""

import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """Turn a vector (or array) of integer class labels into one-hot rows.

    Args:
        y: array-like of integer labels 0..num_classes-1 (any shape). A
            trailing axis of size 1, as in a column vector ``(n, 1)``, is
            dropped first, so ``(n, 1)`` and ``(n,)`` both give ``(n, C)``.
        num_classes: number of classes C. Defaults to ``max(y) + 1``.
        dtype: dtype of the result (default ``'float32'``).

    Returns:
        An array of shape ``y.shape + (C,)`` (after the squeeze above) with a
        single 1 per row at the label's position and 0 elsewhere.

    Raises:
        ValueError: for negative labels, labels >= num_classes, a
            num_classes below 1, or an empty ``y`` without num_classes.
    """
    y = np.array(y, dtype="int")
    input_shape = y.shape
    if len(input_shape) > 1 and input_shape[-1] == 1:
        input_shape = tuple(input_shape[:-1])
    y = y.ravel()

    if num_classes is None:
        if y.size == 0:
            raise ValueError(
                "to_categorical: cannot infer num_classes from an empty label "
                "array; pass num_classes explicitly."
            )
        num_classes = int(y.max()) + 1
    else:
        if isinstance(num_classes, bool) or int(num_classes) != num_classes:
            raise ValueError(
                "to_categorical: num_classes must be a positive integer, got %r"
                % (num_classes,)
            )
        num_classes = int(num_classes)
        if num_classes < 1:
            raise ValueError(
                "to_categorical: num_classes must be a positive integer, got %r"
                % (num_classes,)
            )

    if y.size:
        low = int(y.min())
        high = int(y.max())
        if low < 0:
            raise ValueError(
                "to_categorical: labels must be non-negative integers, found "
                "label %d." % low
            )
        if high >= num_classes:
            raise ValueError(
                "to_categorical: found label %d but num_classes is %d; labels "
                "must lie in [0, %d]." % (high, num_classes, num_classes - 1)
            )

    n = y.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y] = 1
    return categorical.reshape(input_shape + (num_classes,))
