"""Write tests/golden/conv_golden.npz: a small convolutional model in tf-keras 2.x.

What it does
------------
Builds in tf-keras, with fixed seeds, the model

    img = Input((9, 8, 2), name="img")          seq = Input((10, 3), name="seq")
    a = Conv2D(4, 3, strides=2, padding="same",  s = Conv1D(4, 3, padding="causal",
               activation="relu", name="c2a")(img)          dilation_rate=2, activation="tanh",
    a = Conv2D(3, (2, 3), dilation_rate=(2, 1),                 name="c1a")(seq)
               activation="tanh", name="c2b")(a) s = Conv1D(2, 2, strides=3, name="c1b")(s)
    a = Flatten(name="fa")(a)                   s = Flatten(name="fs")(s)
    vol = Input((4, 5, 3, 1), name="vol")
    v = Conv3D(2, 2, padding="same", strides=(2, 1, 1), activation="sigmoid",
               bias_initializer="ones", name="c3")(vol)
    v = Flatten(name="fv")(v)
    out = Dense(5, activation="softmax", name="out")(Concatenate(name="cat")([a, s, v]))

compiled with categorical cross-entropy and Adam(0.01).

Data: 16 rows; img, seq, vol standard normal, y one-hot over 5 classes; all float32.

It records

  init_<i>         the initial weights, in model.get_weights() order
  predictions      model.predict([img, seq, vol]) with the initial weights
  losses           the 3 values train_on_batch returned
  final_<i>        the weights after the 3 steps
  img, seq, vol, y the data
  meta_weight_names, meta_versions

How to regenerate
-----------------
    /work/venv-keras/bin/python tests/golden/make_conv_golden.py

It overwrites tests/golden/conv_golden.npz (next to this script).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

SEED = 1729
N_ROWS = 16
STEPS = 3
OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv_golden.npz")


def build_model():
    L = tf_keras.layers
    img = tf_keras.Input(shape=(9, 8, 2), name="img")
    seq = tf_keras.Input(shape=(10, 3), name="seq")
    vol = tf_keras.Input(shape=(4, 5, 3, 1), name="vol")
    a = L.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="c2a")(img)
    a = L.Conv2D(3, (2, 3), dilation_rate=(2, 1), activation="tanh", name="c2b")(a)
    a = L.Flatten(name="fa")(a)
    s = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="tanh", name="c1a")(seq)
    s = L.Conv1D(2, 2, strides=3, name="c1b")(s)
    s = L.Flatten(name="fs")(s)
    v = L.Conv3D(2, 2, padding="same", strides=(2, 1, 1), activation="sigmoid",
                 bias_initializer="ones", name="c3")(vol)
    v = L.Flatten(name="fv")(v)
    out = L.Dense(5, activation="softmax", name="out")(L.Concatenate(name="cat")([a, s, v]))
    return tf_keras.Model([img, seq, vol], out)


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    img = rng.standard_normal((N_ROWS, 9, 8, 2)).astype(np.float32)
    seq = rng.standard_normal((N_ROWS, 10, 3)).astype(np.float32)
    vol = rng.standard_normal((N_ROWS, 4, 5, 3, 1)).astype(np.float32)
    y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, size=N_ROWS)]
    model = build_model()
    init = model.get_weights()
    x = [img, seq, vol]
    predictions = model.predict(x, verbose=0)
    model.compile(tf_keras.optimizers.Adam(0.01), "categorical_crossentropy")
    losses = [float(model.train_on_batch(x, y)) for _ in range(STEPS)]
    out = {"predictions": predictions, "losses": np.array(losses), "img": img, "seq": seq,
           "vol": vol, "y": y,
           "meta_weight_names": np.array([w.name for w in model.weights]),
           "meta_versions": np.array([tf_keras.__version__, tf.__version__])}
    out.update({f"init_{i}": w for i, w in enumerate(init)})
    out.update({f"final_{i}": w for i, w in enumerate(model.get_weights())})
    np.savez(OUT_PATH, **out)
    print("wrote", OUT_PATH)


if __name__ == "__main__":
    main()
