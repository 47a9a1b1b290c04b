"""The W3 golden test's weights and seed, shared by make_w3_golden.py (run under tf-keras) and
test_w3_parity.py (numpy only)."""

import numpy as np

SEED = 31337
SHAPES = [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (9216, 128), (128,), (128, 10), (10,)]


def init_weights(rng):
    """Scaled normal kernels (variance 0.5 / fan_in) and small biases."""
    out = []
    for shape in SHAPES:
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        scale = np.sqrt(0.5 / fan_in) if len(shape) > 1 else 0.01
        out.append((rng.standard_normal(shape) * scale).astype(np.float32))
    return out
