"""Write tests/golden/lump_golden.npz: a two-input, two-output functional model in tf-keras 2.x.

What it does
------------
Builds in tf-keras (the Keras 2 reference implementation), with fixed seeds, the functional
model

    a = Input((5,), name="a")                b = Input((3,), name="b")
    h = Dense(8, relu, name="ha")(a)         g = Dense(6, tanh, name="gb")(b)
    out1 = Dense(3, softmax, name="out1")(h) out2 = Dense(1, name="out2")(
                                                 Dense(4, relu, name="gb2")(g))
    Model([a, b], [out1, out2])

(no merge layer), compiled with

    loss={"out1": "categorical_crossentropy", "out2": "mse"}
    loss_weights={"out1": 1.0, "out2": 0.5}
    metrics={"out1": ["accuracy"], "out2": ["mae"]}

Data: 32 rows; xa (32, 5) and xb (32, 3) standard normal, y1 one-hot over 3 classes, y2 (32, 1)
standard normal, and one positive 1-D sample weight per output (sw1 uniform in [0.5, 1.5),
sw2 uniform in [0.2, 2.0)); all float32.

For each optimizer configuration O in OPTIMIZERS, starting again from the same initial
weights, it runs 3 ``train_on_batch([xa, xb], [y1, y2], sample_weight={"out1": sw1,
"out2": sw2})`` calls on the whole batch and records

  O_values    (3, 5) the list train_on_batch returned at each step, in the order of
              meta_metrics_names (loss, out1_loss, out2_loss, out1_accuracy, out2_mae); each
              row is from the forward pass *before* that step's update
  O_weights   the weights after the 3 steps, model.get_weights() order, flattened and
              concatenated (one key per optimizer keeps the file small)

plus, once:

  xa, xb, y1, y2, sw1, sw2    the data
  init_weights                the initial weights, model.get_weights() order, flattened and
                              concatenated
  meta_weight_names           str array: the name of each weight (model.weights order)
  meta_weight_shapes          (n, 2) int array: the shape of each weight (1-D biases: (k, 0))
  meta_layer_order            str array: the names of model.layers, in order
  meta_metrics_names          str array: model.metrics_names after the first step
  meta_versions               tf_keras / tensorflow versions
  meta_config                 JSON: seed, model, compile arguments and, per optimizer, class,
                              arguments and whether the train step ran eagerly

Nadam runs eagerly (``compile(..., run_eagerly=True)``), as in make_optimizer_golden.py:
tf-keras 2.x's Nadam advances its momentum-schedule product under a Python counter that a
compiled train function freezes at trace time, so in graph mode the product is updated once
per *variable* on every step instead of once per step. Run eagerly it gives the documented
update, which cthulhu follows. Every other optimizer runs compiled (the default).

How to regenerate
-----------------
Needs the reference environment (see make_mlp_golden.py)::

    /work/venv-keras/bin/python tests/golden/make_lump_golden.py

It overwrites tests/golden/lump_golden.npz (next to this script). The name has no test_
prefix on purpose: pytest must not collect it.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

SEED = 4321
N_ROWS = 32
STEPS = 3
OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lump_golden.npz")

LOSS = {"out1": "categorical_crossentropy", "out2": "mse"}
LOSS_WEIGHTS = {"out1": 1.0, "out2": 0.5}
METRICS = {"out1": ["accuracy"], "out2": ["mae"]}

# name: (class name in tf_keras.optimizers, keyword arguments, run eagerly?)
OPTIMIZERS = {
    "sgd": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}, False),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}, False),
    "adagrad": ("Adagrad", {"learning_rate": 0.1}, False),
    "adadelta": ("Adadelta", {"learning_rate": 1.0}, False),
    "adam": ("Adam", {"learning_rate": 0.01}, False),
    "adamax": ("Adamax", {"learning_rate": 0.01}, False),
    "nadam": ("Nadam", {"learning_rate": 0.01}, True),
}


def make_data(rng):
    """xa, xb, y1, y2, sw1, sw2 (float32), drawn from ``rng``."""
    xa = rng.standard_normal((N_ROWS, 5)).astype(np.float32)
    xb = rng.standard_normal((N_ROWS, 3)).astype(np.float32)
    y1 = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=N_ROWS)]
    y2 = rng.standard_normal((N_ROWS, 1)).astype(np.float32)
    sw1 = rng.uniform(0.5, 1.5, size=N_ROWS).astype(np.float32)
    sw2 = rng.uniform(0.2, 2.0, size=N_ROWS).astype(np.float32)
    return xa, xb, y1, y2, sw1, sw2


def build_model():
    """The two-input, two-output model described above (default initializers)."""
    layers = tf_keras.layers
    a = tf_keras.Input(shape=(5,), name="a")
    b = tf_keras.Input(shape=(3,), name="b")
    h = layers.Dense(8, activation="relu", name="ha")(a)
    g = layers.Dense(6, activation="tanh", name="gb")(b)
    out1 = layers.Dense(3, activation="softmax", name="out1")(h)
    out2 = layers.Dense(1, name="out2")(layers.Dense(4, activation="relu", name="gb2")(g))
    return tf_keras.Model([a, b], [out1, out2])


def flat(weights):
    return np.concatenate([np.asarray(w, np.float32).ravel() for w in weights])


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    xa, xb, y1, y2, sw1, sw2 = make_data(rng)
    model = build_model()
    init_weights = model.get_weights()

    entries = {"xa": xa, "xb": xb, "y1": y1, "y2": y2, "sw1": sw1, "sw2": sw2,
               "init_weights": flat(init_weights)}
    metrics_names = None
    for key, (name, kwargs, eager) in OPTIMIZERS.items():
        model.set_weights(init_weights)
        model.compile(optimizer=getattr(tf_keras.optimizers, name)(**kwargs), loss=LOSS,
                      loss_weights=LOSS_WEIGHTS, metrics=METRICS, run_eagerly=eager)
        values = [model.train_on_batch([xa, xb], [y1, y2],
                                       sample_weight={"out1": sw1, "out2": sw2})
                  for _ in range(STEPS)]
        if metrics_names is None:
            metrics_names = list(model.metrics_names)
        assert list(model.metrics_names) == metrics_names, model.metrics_names
        entries[key + "_values"] = np.asarray(values, np.float32)
        entries[key + "_weights"] = flat(model.get_weights())

    entries["meta_weight_names"] = np.array([w.name for w in model.weights])
    entries["meta_weight_shapes"] = np.array(
        [(w.shape[0], w.shape[1] if len(w.shape) > 1 else 0) for w in init_weights])
    entries["meta_layer_order"] = np.array([layer.name for layer in model.layers])
    entries["meta_metrics_names"] = np.array(metrics_names)
    entries["meta_versions"] = np.array(
        ["tf_keras %s" % tf_keras.__version__, "tensorflow %s" % tf.__version__])
    config = {
        "seed": SEED,
        "rows": N_ROWS,
        "model": "a(5)->ha Dense(8,relu)->out1 Dense(3,softmax); "
                 "b(3)->gb Dense(6,tanh)->gb2 Dense(4,relu)->out2 Dense(1)",
        "loss": LOSS,
        "loss_weights": LOSS_WEIGHTS,
        "metrics": METRICS,
        "train_on_batch_steps": STEPS,
        "optimizers": {key: {"optimizer": name, "kwargs": kwargs, "run_eagerly": eager}
                       for key, (name, kwargs, eager) in OPTIMIZERS.items()},
        "values_note": "train_on_batch values: forward pass before that step's update",
    }
    entries["meta_config"] = np.array(json.dumps(config, sort_keys=True))

    np.savez_compressed(OUT_PATH, **entries)
    print("wrote %s (%d keys, %d bytes)" % (OUT_PATH, len(entries), os.path.getsize(OUT_PATH)))
    print("  metrics_names", metrics_names)
    print("  layers", list(entries["meta_layer_order"]))
    print("  weights", list(entries["meta_weight_names"]))
    for key in OPTIMIZERS:
        print("  %-9s %s" % (key, np.array2string(entries[key + "_values"], precision=6)))


if __name__ == "__main__":
    main()
