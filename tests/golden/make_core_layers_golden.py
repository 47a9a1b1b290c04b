"""Write tests/golden/core_layers_golden.npz: a model of the core layers in tf-keras 2.x.

What it does
------------
Builds in tf-keras (the Keras 2 reference implementation), with fixed seeds, the model

    seq = Input((5, 4), name="seq")               vec = Input((6,), name="vec")
    m = Masking(0.0, name="mask")(seq)            v = Dense(12, tanh, name="vec_dense")(vec)
    m = PReLU(name="prelu_seq")(m)                v = Reshape((3, 4), name="reshape_a")(v)
                                                  v = Permute((2, 1), name="permute")(v)
                                                  v = Reshape((12,), name="reshape_b")(v)
                                                  v = Lambda(antirectifier,
                                                             name="antirectifier")(v)  # 24
                                                  v = Dense(4, name="vec_dense2")(v)
                                                  v = RepeatVector(5, name="repeat")(v)
    j = Concatenate(name="concat")([m, v])                                   # (5, 8)
    j = PReLU(shared_axes=[1], name="prelu_joint")(j)
    out = Activation("softmax", name="out")(j)
    Model([seq, vec], out)

with the PReLU slopes set to uniform values in [0.1, 0.4) (their default initial value, 0,
would leave half of their gradient untested). It is compiled with categorical cross-entropy
per timestep, ``sample_weight_mode="temporal"``, metrics ["accuracy"] and Adam(0.01). The
Masking layer masks the timesteps of ``seq`` that are all zero (rows 0, 3 and 7 have some):
their loss and accuracy do not count.

Data: 12 rows; seq (12, 5, 4) and vec (12, 6) standard normal (with the zero timesteps),
y (12, 5, 8) one-hot, sw (12, 5) uniform in [0.5, 1.5); all float32.

It records

  init_<i>        the initial weights, in model.get_weights() order
  predictions     model.predict([seq, vec]) with the initial weights
  values          (3, 2): what each of 3 train_on_batch calls returned (loss, accuracy)
  final_<i>       the weights after the 3 steps
  seq, vec, y, sw the data
  meta_weight_names  the weight names (model.weights order)
  meta_versions      tf_keras / tensorflow versions

How to regenerate
-----------------
Needs the reference environment (see make_mlp_golden.py)::

    /work/venv-keras/bin/python tests/golden/make_core_layers_golden.py

It overwrites tests/golden/core_layers_golden.npz (next to this script).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from tf_keras import backend as K  # noqa: E402

SEED = 2718
N_ROWS = 12
STEPS = 3
OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "core_layers_golden.npz")


def antirectifier(x):
    x -= K.mean(x, axis=1, keepdims=True)
    x = K.l2_normalize(x, axis=1)
    pos = K.relu(x)
    neg = K.relu(-x)
    return K.concatenate([pos, neg], axis=1)


def antirectifier_output_shape(input_shape):
    shape = list(input_shape)
    shape[-1] *= 2
    return tuple(shape)


def build_model():
    layers = tf_keras.layers
    seq = tf_keras.Input(shape=(5, 4), name="seq")
    vec = tf_keras.Input(shape=(6,), name="vec")
    m = layers.Masking(0.0, name="mask")(seq)
    m = layers.PReLU(name="prelu_seq")(m)
    v = layers.Dense(12, activation="tanh", name="vec_dense")(vec)
    v = layers.Reshape((3, 4), name="reshape_a")(v)
    v = layers.Permute((2, 1), name="permute")(v)
    v = layers.Reshape((12,), name="reshape_b")(v)
    v = layers.Lambda(antirectifier, output_shape=antirectifier_output_shape,
                      name="antirectifier")(v)
    v = layers.Dense(4, name="vec_dense2")(v)
    v = layers.RepeatVector(5, name="repeat")(v)
    j = layers.Concatenate(name="concat")([m, v])
    j = layers.PReLU(shared_axes=[1], name="prelu_joint")(j)
    out = layers.Activation("softmax", name="out")(j)
    return tf_keras.Model([seq, vec], out)


def make_data(rng):
    seq = rng.standard_normal((N_ROWS, 5, 4)).astype(np.float32)
    seq[0, 3:] = 0.0
    seq[3, :2] = 0.0
    seq[7, 2] = 0.0
    vec = rng.standard_normal((N_ROWS, 6)).astype(np.float32)
    y = np.eye(8, dtype=np.float32)[rng.integers(0, 8, size=(N_ROWS, 5))]
    sw = rng.uniform(0.5, 1.5, size=(N_ROWS, 5)).astype(np.float32)
    return seq, vec, y, sw


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    seq, vec, y, sw = make_data(rng)
    model = build_model()
    for layer in model.layers:
        if isinstance(layer, tf_keras.layers.PReLU):
            (alpha,) = layer.get_weights()
            layer.set_weights([rng.uniform(0.1, 0.4, size=alpha.shape).astype(np.float32)])
    init = model.get_weights()
    predictions = model.predict([seq, vec], verbose=0)
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=0.01),
                  loss="categorical_crossentropy", metrics=["accuracy"],
                  sample_weight_mode="temporal")
    values = [model.train_on_batch([seq, vec], y, sample_weight=sw) for _ in range(STEPS)]
    entries = {"seq": seq, "vec": vec, "y": y, "sw": sw, "predictions": predictions,
               "values": np.asarray(values, np.float32)}
    entries.update({"init_%d" % i: w for i, w in enumerate(init)})
    entries.update({"final_%d" % i: w for i, w in enumerate(model.get_weights())})
    entries["meta_weight_names"] = np.array([w.name for w in model.weights])
    entries["meta_versions"] = np.array(
        ["tf_keras %s" % tf_keras.__version__, "tensorflow %s" % tf.__version__])
    np.savez_compressed(OUT_PATH, **entries)
    print("wrote %s (%d bytes)" % (OUT_PATH, os.path.getsize(OUT_PATH)))
    print("  metrics_names", model.metrics_names)
    print("  weights", list(entries["meta_weight_names"]))
    print("  values", np.asarray(values))


if __name__ == "__main__":
    main()
