"""Write tests/golden/text_norm_golden.npz: a small text model of Embedding and
BatchNormalization in tf-keras 2.x.

What it does
------------
Builds in tf-keras (the Keras 2 reference implementation), with fixed seeds, the model

    x = Input((10,), name="tokens")                      # integer token ids, as float32
    h = Embedding(50, 8, input_length=10, name="embed")(x)
    h = BatchNormalization(name="bn")(h)                 # channel axis -1: 8 channels
    h = GlobalAveragePooling1D(name="pool")(h)
    out = Dense(1, activation="sigmoid", name="out")(h)

with gamma, beta and the moving statistics set to random values (gamma in [0.5, 1.5), beta
and the moving mean standard normal / 10, the moving variance in [0.5, 2)), so that the
predictions depend on all of them. It is compiled with binary cross-entropy and Adam(0.01)
and trained for 3 train_on_batch steps: each step normalizes with the batch statistics and
updates the moving mean and variance (momentum 0.99).

Data: 16 rows of 10 token ids in [0, 50) (float32), y (16, 1) in {0, 1}.

It records

  init_<i>           the initial weights, in model.get_weights() order (embeddings, gamma,
                     beta, moving_mean, moving_variance, out kernel, out bias)
  predictions        model.predict(x) with the initial weights (moving statistics)
  values             (3,): the loss each train_on_batch call returned
  final_<i>          the weights after the 3 steps (incl. the updated moving statistics)
  final_predictions  model.predict(x) after the 3 steps
  x, y               the data
  meta_weight_names  the weight names (model.weights order)
  meta_versions      tf_keras / tensorflow versions

and the same, prefixed ``masked_``, for a masked variant: Embedding(50, 8, mask_zero=True,
input_length=10) -> BatchNormalization(momentum=0.9) -> GlobalAveragePooling1D (masked
average) -> Dense(1, sigmoid), on token rows padded with zeros at the end (BatchNorm's
batch statistics are then the masked moments, and so are its moving-average updates).

How to regenerate
-----------------
Needs the reference environment (see make_mlp_golden.py)::

    /work/venv-keras/bin/python tests/golden/make_text_norm_golden.py

It overwrites tests/golden/text_norm_golden.npz (next to this script).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

SEED = 1618
N_ROWS = 16
STEPS = 3
OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "text_norm_golden.npz")


def build_model():
    layers = tf_keras.layers
    x = tf_keras.Input(shape=(10,), name="tokens")
    h = layers.Embedding(50, 8, input_length=10, name="embed")(x)
    h = layers.BatchNormalization(name="bn")(h)
    h = layers.GlobalAveragePooling1D(name="pool")(h)
    out = layers.Dense(1, activation="sigmoid", name="out")(h)
    return tf_keras.Model(x, out)


def build_masked_model():
    layers = tf_keras.layers
    x = tf_keras.Input(shape=(10,), name="tokens")
    h = layers.Embedding(50, 8, mask_zero=True, input_length=10, name="embed")(x)
    h = layers.BatchNormalization(momentum=0.9, name="bn")(h)
    h = layers.GlobalAveragePooling1D(name="pool")(h)
    out = layers.Dense(1, activation="sigmoid", name="out")(h)
    return tf_keras.Model(x, out)


def padded_tokens(rng):
    x = rng.integers(1, 50, size=(N_ROWS, 10)).astype(np.float32)
    lengths = rng.integers(3, 11, size=N_ROWS)
    for row, length in enumerate(lengths):
        x[row, length:] = 0.0
    return x


def record(model, x, y, rng, prefix=""):
    bn = model.get_layer("bn")
    bn.set_weights([rng.uniform(0.5, 1.5, 8).astype(np.float32),
                    (rng.standard_normal(8) / 10).astype(np.float32),
                    (rng.standard_normal(8) / 10).astype(np.float32),
                    rng.uniform(0.5, 2.0, 8).astype(np.float32)])
    init = model.get_weights()
    predictions = model.predict(x, verbose=0)
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=0.01),
                  loss="binary_crossentropy")
    values = [model.train_on_batch(x, y) for _ in range(STEPS)]
    entries = {"x": x, "y": y, "predictions": predictions,
               "values": np.asarray(values, np.float32),
               "final_predictions": model.predict(x, verbose=0)}
    entries.update({"init_%d" % i: w for i, w in enumerate(init)})
    entries.update({"final_%d" % i: w for i, w in enumerate(model.get_weights())})
    entries["meta_weight_names"] = np.array([w.name for w in model.weights])
    print("  %svalues" % prefix, np.asarray(values))
    return {prefix + k: v for k, v in entries.items()}


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    x = rng.integers(0, 50, size=(N_ROWS, 10)).astype(np.float32)
    y = rng.integers(0, 2, size=(N_ROWS, 1)).astype(np.float32)
    model = build_model()
    bn = model.get_layer("bn")
    bn.set_weights([rng.uniform(0.5, 1.5, 8).astype(np.float32),
                    (rng.standard_normal(8) / 10).astype(np.float32),
                    (rng.standard_normal(8) / 10).astype(np.float32),
                    rng.uniform(0.5, 2.0, 8).astype(np.float32)])
    init = model.get_weights()
    predictions = model.predict(x, verbose=0)
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=0.01),
                  loss="binary_crossentropy")
    values = [model.train_on_batch(x, y) for _ in range(STEPS)]
    entries = {"x": x, "y": y, "predictions": predictions,
               "values": np.asarray(values, np.float32),
               "final_predictions": model.predict(x, verbose=0)}
    entries.update({"init_%d" % i: w for i, w in enumerate(init)})
    entries.update({"final_%d" % i: w for i, w in enumerate(model.get_weights())})
    entries["meta_weight_names"] = np.array([w.name for w in model.weights])
    entries["meta_versions"] = np.array(
        ["tf_keras %s" % tf_keras.__version__, "tensorflow %s" % tf.__version__])
    x_padded = padded_tokens(rng)
    y_masked = rng.integers(0, 2, size=(N_ROWS, 1)).astype(np.float32)
    entries.update(record(build_masked_model(), x_padded, y_masked, rng, prefix="masked_"))
    np.savez_compressed(OUT_PATH, **entries)
    print("wrote %s (%d bytes)" % (OUT_PATH, os.path.getsize(OUT_PATH)))
    print("  weights", list(entries["meta_weight_names"]))
    print("  values", np.asarray(values))


if __name__ == "__main__":
    main()
