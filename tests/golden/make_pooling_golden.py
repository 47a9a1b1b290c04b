"""Write tests/golden/pooling_golden.npz: a model of the pooling, padding, cropping and
upsampling layers in tf-keras 2.x.

What it does
------------
Builds in tf-keras (the Keras 2 reference implementation), with fixed seeds, the model

    img (7, 6, 3) -> Dense(4, tanh) -> ZeroPadding2D(((1, 0), (0, 1)))
        -> MaxPooling2D(2, padding="same") -> UpSampling2D(2, interpolation="bilinear")
        -> Cropping2D(((1, 1), (2, 0))) -> AveragePooling2D(3, strides=2, padding="same")
        -> Dense(5, relu) -> UpSampling2D(2) -> GlobalMaxPooling2D and GlobalAveragePooling2D
    seq (9, 3) -> Dense(4, tanh) -> ZeroPadding1D((1, 2)) -> MaxPooling1D(3, 2, "same")
        -> UpSampling1D(2) -> Cropping1D((1, 1)) -> AveragePooling1D(2)
        -> GlobalMaxPooling1D;  and  Masking(0.0)(seq) -> GlobalAveragePooling1D (masked mean)
    vol (4, 4, 4, 2) -> Dense(3, tanh) -> MaxPooling3D(2) -> UpSampling3D((1, 2, 1))
        -> ZeroPadding3D(1) -> Cropping3D(((0, 1), (1, 0), (0, 0)))
        -> AveragePooling3D(2, padding="same") -> GlobalMaxPooling3D
        -> and GlobalAveragePooling3D of the MaxPooling3D output
    Concatenate -> Dense(4, softmax)

compiled with categorical cross-entropy and Adam(0.01), then trained 3 train_on_batch steps.

Data: 10 rows; img, seq and vol standard normal (seq rows 1 and 4 end with all-zero
timesteps, which the masked mean skips), y one-hot over 4 classes; all float32.

It records init_<i> and final_<i> (model.get_weights() before and after the 3 steps),
predictions (with the initial weights), losses (the 3 train_on_batch values), the data
(img, seq, vol, y), meta_weight_names and meta_versions.

How to regenerate
-----------------
Needs the reference environment (see make_mlp_golden.py)::

    /work/venv-keras/bin/python tests/golden/make_pooling_golden.py

It overwrites tests/golden/pooling_golden.npz (next to this script).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

SEED = 1701
N_ROWS = 10
STEPS = 3
OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pooling_golden.npz")


def build_model(L):
    """The model, from a layers module with Keras's names (tf_keras.layers or cthulhu's)."""
    img = L.Input(shape=(7, 6, 3), name="img")
    seq = L.Input(shape=(9, 3), name="seq")
    vol = L.Input(shape=(4, 4, 4, 2), name="vol")
    h = L.Dense(4, activation="tanh", name="img_dense")(img)
    h = L.ZeroPadding2D(((1, 0), (0, 1)), name="pad2")(h)
    h = L.MaxPooling2D(2, padding="same", name="max2")(h)
    h = L.UpSampling2D(2, interpolation="bilinear", name="up2_bilinear")(h)
    h = L.Cropping2D(((1, 1), (2, 0)), name="crop2")(h)
    h = L.AveragePooling2D(3, strides=2, padding="same", name="avg2")(h)
    h = L.Dense(5, activation="relu", name="img_dense2")(h)
    h = L.UpSampling2D(2, name="up2")(h)
    a = L.GlobalMaxPooling2D(name="gmax2")(h)
    b = L.GlobalAveragePooling2D(name="gavg2")(h)
    s = L.Dense(4, activation="tanh", name="seq_dense")(seq)
    s = L.ZeroPadding1D((1, 2), name="pad1")(s)
    s = L.MaxPooling1D(3, strides=2, padding="same", name="max1")(s)
    s = L.UpSampling1D(2, name="up1")(s)
    s = L.Cropping1D((1, 1), name="crop1")(s)
    s = L.AveragePooling1D(2, name="avg1")(s)
    s = L.GlobalMaxPooling1D(name="gmax1")(s)
    m = L.GlobalAveragePooling1D(name="gavg1_masked")(L.Masking(0.0, name="mask")(seq))
    v = L.Dense(3, activation="tanh", name="vol_dense")(vol)
    v = L.MaxPooling3D(2, name="max3")(v)
    g = L.GlobalAveragePooling3D(name="gavg3")(v)
    v = L.UpSampling3D((1, 2, 1), name="up3")(v)
    v = L.ZeroPadding3D(1, name="pad3")(v)
    v = L.Cropping3D(((0, 1), (1, 0), (0, 0)), name="crop3")(v)
    v = L.AveragePooling3D(2, padding="same", name="avg3")(v)
    v = L.GlobalMaxPooling3D(name="gmax3")(v)
    j = L.Concatenate(name="concat")([a, b, s, m, v, g])
    out = L.Dense(4, activation="softmax", name="out")(j)
    return [img, seq, vol], out


def make_data(rng):
    img = rng.standard_normal((N_ROWS, 7, 6, 3)).astype(np.float32)
    seq = rng.standard_normal((N_ROWS, 9, 3)).astype(np.float32)
    seq[1, 6:] = 0.0
    seq[4, 3:] = 0.0
    vol = rng.standard_normal((N_ROWS, 4, 4, 4, 2)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=N_ROWS)]
    return img, seq, vol, y


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    img, seq, vol, y = make_data(rng)
    inputs, out = build_model(tf_keras.layers)
    model = tf_keras.Model(inputs, out)
    init = model.get_weights()
    predictions = model.predict([img, seq, vol], verbose=0)
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=0.01),
                  loss="categorical_crossentropy")
    losses = [model.train_on_batch([img, seq, vol], y) for _ in range(STEPS)]
    entries = {"img": img, "seq": seq, "vol": vol, "y": y, "predictions": predictions,
               "losses": np.asarray(losses, np.float32)}
    entries.update({"init_%d" % i: w for i, w in enumerate(init)})
    entries.update({"final_%d" % i: w for i, w in enumerate(model.get_weights())})
    entries["meta_weight_names"] = np.array([w.name for w in model.weights])
    entries["meta_versions"] = np.array(
        ["tf_keras %s" % tf_keras.__version__, "tensorflow %s" % tf.__version__])
    np.savez_compressed(OUT_PATH, **entries)
    print("wrote %s (%d bytes)" % (OUT_PATH, os.path.getsize(OUT_PATH)))
    print("  weights", list(entries["meta_weight_names"]))
    print("  losses", np.asarray(losses))


if __name__ == "__main__":
    main()
