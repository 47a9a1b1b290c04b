"""Write tests/golden/w3_golden.npz: the W3 network (Keras's mnist_cnn) in tf-keras 2.x.

What it does
------------
Builds in tf-keras the W3 network of bench/cnn.py

    28x28x1 -> Conv2D(32, 3x3, relu) -> Conv2D(64, 3x3, relu) -> MaxPooling2D(2x2)
    -> Dropout -> Flatten -> Dense(128, relu) -> Dropout -> Dense(10, softmax)

with the Dropout rates set to 0: dropout masks cannot match across libraries, so the layers
are there but the comparison is of the deterministic path. Its 1.2M weights are drawn from
numpy (``init_weights`` below, which the test repeats), not stored. It is compiled with
categorical cross-entropy and Adam(0.001), and trained 3 ``train_on_batch`` steps on 16
standard-normal images with one-hot labels.

It records

  x, y             the data (16 rows)
  predictions      model.predict(x) with the initial weights
  losses           the 3 values train_on_batch returned
  final_sum_<i>    the sum and the sum of squares of weight i after the 3 steps
  final_idx_<i>    200 sampled flat positions of weight i, and
  final_val_<i>    its values there after the 3 steps
  meta_versions    tf_keras / tensorflow versions

How to regenerate
-----------------
    /work/venv-keras/bin/python tests/golden/make_w3_golden.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from w3_weights import SEED, init_weights  # noqa: E402  (next to this script)

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "w3_golden.npz")


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((16, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=16)]
    weights = init_weights(rng)
    layers = tf_keras.layers
    model = tf_keras.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Dropout(0.0),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.0),
        layers.Dense(10, activation="softmax")])
    model.set_weights(weights)
    predictions = model.predict(x, verbose=0)
    model.compile(tf_keras.optimizers.Adam(0.001), "categorical_crossentropy")
    losses = [model.train_on_batch(x, y) for _ in range(3)]
    entries = {"x": x, "y": y, "predictions": predictions,
               "losses": np.asarray(losses, np.float64)}
    pick = np.random.default_rng(SEED + 1)
    for i, w in enumerate(model.get_weights()):
        flat = w.astype(np.float64).ravel()
        idx = pick.choice(flat.size, size=min(200, flat.size), replace=False)
        entries[f"final_sum_{i}"] = np.array([flat.sum(), (flat * flat).sum()])
        entries[f"final_idx_{i}"] = idx
        entries[f"final_val_{i}"] = flat[idx]
    entries["meta_versions"] = np.array(
        ["tf_keras %s" % tf_keras.__version__, "tensorflow %s" % tf.__version__])
    np.savez_compressed(OUT_PATH, **entries)
    print("wrote %s (%d bytes); losses %s" % (OUT_PATH, os.path.getsize(OUT_PATH), losses))


if __name__ == "__main__":
    main()
