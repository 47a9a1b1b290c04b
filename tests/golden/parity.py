"""What the golden tests compare with: the largest relative error of cthulhu's numbers
against reference Keras's, the denominator floored at 1e-3 (so values near zero are compared
absolutely)."""

import numpy as np


def relative_error(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-3)))
