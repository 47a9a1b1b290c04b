"""Write tests/golden/loss_golden.npz: every Keras 2 loss and metric function, evaluated by
tf-keras 2.x on fixed inputs, with the gradient of each loss's batch mean.

Run by hand where tf-keras is installed (not a cthulhu dependency)::

    /work/venv-keras/bin/python tests/golden/make_loss_golden.py

For each case NAME the file holds NAME_y_true, NAME_y_pred (float64), NAME_value (the
per-sample values) and, for losses, NAME_grad (d mean(value) / d y_pred). The name of the
function and its keyword arguments are in meta_cases (JSON). Not collected by pytest.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

ROWS, COLS = 6, 5
rng = np.random.default_rng(2026)


def probs(rows=ROWS, cols=COLS):
    p = rng.uniform(0.05, 1.0, (rows, cols))
    return p / p.sum(axis=1, keepdims=True)


def one_hot(rows=ROWS, cols=COLS):
    return np.eye(cols)[rng.integers(0, cols, rows)]


def labels(rows=ROWS, cols=COLS):
    return rng.integers(0, cols, (rows, 1)).astype(float)


def binary(rows=ROWS, cols=COLS):
    return rng.integers(0, 2, (rows, cols)).astype(float)


def normal(rows=ROWS, cols=COLS):
    return rng.normal(size=(rows, cols))


def positive(rows=ROWS, cols=COLS):
    return rng.uniform(0.1, 3.0, (rows, cols))


# (case name, kind, function name, kwargs, y_true maker, y_pred maker)
CASES = [
    ("mse", "loss", "mean_squared_error", {}, normal, normal),
    ("mae", "loss", "mean_absolute_error", {}, normal, normal),
    ("mape", "loss", "mean_absolute_percentage_error", {}, normal, normal),
    ("msle", "loss", "mean_squared_logarithmic_error", {}, positive, positive),
    ("squared_hinge_01", "loss", "squared_hinge", {}, binary, normal),
    ("squared_hinge_pm1", "loss", "squared_hinge", {}, lambda: 2 * binary() - 1, normal),
    ("hinge_01", "loss", "hinge", {}, binary, normal),
    ("hinge_pm1", "loss", "hinge", {}, lambda: 2 * binary() - 1, normal),
    ("categorical_hinge", "loss", "categorical_hinge", {}, one_hot, normal),
    ("logcosh", "loss", "log_cosh", {}, normal, normal),
    ("huber", "loss", "huber", {}, normal, lambda: 2 * normal()),
    ("huber_delta", "loss", "huber", {"delta": 0.5}, normal, lambda: 2 * normal()),
    ("binary_crossentropy", "loss", "binary_crossentropy", {}, binary, lambda: probs() * 0.9),
    ("categorical_crossentropy", "loss", "categorical_crossentropy", {}, one_hot, probs),
    ("sparse_categorical_crossentropy", "loss", "sparse_categorical_crossentropy", {},
     labels, probs),
    ("kullback_leibler_divergence", "loss", "kl_divergence", {}, probs, probs),
    ("poisson", "loss", "poisson", {}, positive, positive),
    ("cosine_proximity", "loss", "cosine_similarity", {}, normal, normal),
    ("binary_accuracy", "metric", "binary_accuracy", {}, binary, lambda: probs() * 2.5),
    ("categorical_accuracy", "metric", "categorical_accuracy", {}, one_hot, probs),
    ("sparse_categorical_accuracy", "metric", "sparse_categorical_accuracy", {}, labels, probs),
    ("top_k_categorical_accuracy", "metric", "top_k_categorical_accuracy", {"k": 2},
     one_hot, probs),
    ("sparse_top_k_categorical_accuracy", "metric", "sparse_top_k_categorical_accuracy",
     {"k": 3}, labels, probs),
]


def main():
    out, meta = {}, {}
    for name, kind, fn_name, kwargs, make_true, make_pred in CASES:
        y_true, y_pred = make_true(), make_pred()
        module = tf_keras.losses if kind == "loss" else tf_keras.metrics
        fn = getattr(module, fn_name)
        # in_top_k only takes float32; metrics give 0/1 values, so float32 loses nothing.
        dtype = tf.float64 if kind == "loss" else tf.float32
        pred = tf.Variable(y_pred, dtype=dtype)
        with tf.GradientTape() as tape:
            value = fn(tf.constant(y_true, dtype), pred, **kwargs)
            mean = tf.reduce_mean(tf.cast(value, tf.float64))
        out[f"{name}_y_true"], out[f"{name}_y_pred"] = y_true, y_pred
        out[f"{name}_value"] = np.asarray(value, dtype=np.float64)
        if kind == "loss":
            out[f"{name}_grad"] = tape.gradient(mean, pred).numpy()
        meta[name] = {"kind": kind, "keras_function": fn_name, "kwargs": kwargs}
    out["meta_cases"] = np.array(json.dumps(meta))
    out["meta_versions"] = np.array([f"tf_keras {tf_keras.__version__}",
                                     f"tensorflow {tf.__version__}"])
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loss_golden.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path}: {len(meta)} cases")


if __name__ == "__main__":
    main()
