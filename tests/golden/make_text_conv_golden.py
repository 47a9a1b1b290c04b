"""Write tests/golden/text_conv_golden.npz: a 1D-convolution text model in tf-keras 2.x.

What it does
------------
Builds in tf-keras, with fixed seeds, the model

    Input((12,)) -> Embedding(40, 8) -> Conv1D(6, 3, relu) -> BatchNormalization
    -> GlobalMaxPooling1D -> Dense(1, sigmoid)

(names "emb", "conv", "bn", "pool", "out"), compiled with binary cross-entropy, metrics
["accuracy"] and Adam(0.01), and runs 3 ``train_on_batch`` steps on 16 rows of integer token
ids in [0, 40) with 0/1 labels.

It records init_<i> / final_<i> (the weights, moving statistics included, before and after
the steps, in model.get_weights() order), predictions (before training), values (what each
step returned: loss, accuracy), the data x and y, meta_weight_names and meta_versions.

How to regenerate
-----------------
    /work/venv-keras/bin/python tests/golden/make_text_conv_golden.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

SEED = 1618
OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "text_conv_golden.npz")


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    x = rng.integers(0, 40, size=(16, 12)).astype(np.float32)
    y = rng.integers(0, 2, size=(16, 1)).astype(np.float32)
    layers = tf_keras.layers
    model = tf_keras.Sequential([
        layers.Embedding(40, 8, input_length=12, name="emb", input_shape=(12,)),
        layers.Conv1D(6, 3, activation="relu", name="conv"),
        layers.BatchNormalization(name="bn"),
        layers.GlobalMaxPooling1D(name="pool"),
        layers.Dense(1, activation="sigmoid", name="out")])
    init = model.get_weights()
    predictions = model.predict(x, verbose=0)
    model.compile(tf_keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
    values = [model.train_on_batch(x, y) for _ in range(3)]
    entries = {"x": x, "y": y, "predictions": predictions,
               "values": np.asarray(values, np.float64)}
    entries.update({"init_%d" % i: w for i, w in enumerate(init)})
    entries.update({"final_%d" % i: w for i, w in enumerate(model.get_weights())})
    entries["meta_weight_names"] = np.array([w.name for w in model.weights])
    entries["meta_versions"] = np.array(
        ["tf_keras %s" % tf_keras.__version__, "tensorflow %s" % tf.__version__])
    np.savez_compressed(OUT_PATH, **entries)
    print("wrote %s (%d bytes); values %s; weights %s" % (
        OUT_PATH, os.path.getsize(OUT_PATH), values, list(entries["meta_weight_names"])))


if __name__ == "__main__":
    main()
