"""Write tests/golden/mlp_golden.npz: reference numbers from tf-keras 2.x.

What it does
------------
Builds three small MLPs in tf-keras (the Keras 2 reference implementation),
with fixed seeds, and records everything cthulhu must reproduce:

  prefix  model (input 12 features)                           loss
  cce_    Dense(16, relu) -> Dense(8, tanh) -> Dense(3, softmax)  categorical_crossentropy
  bce_    Dense(16, relu) -> Dense(8, tanh) -> Dense(1, sigmoid)  binary_crossentropy
  mse_    Dense(16, relu) -> Dense(8, tanh) -> Dense(2)  (linear) mse

For each prefix P the file holds

  P_x                 (32, 12) float32 inputs
  P_y                 targets: cce one-hot (32, 3), bce 0/1 (32, 1),
                      mse real (32, 2); float32
  P_init_l{i}_kernel  initial kernel of layer i (0, 1, 2), Keras layout (in, out)
  P_init_l{i}_bias    initial bias of layer i (out,)
  P_init_pred         model.predict(P_x) with the initial weights
  P_init_loss         model.evaluate(P_x, P_y, batch_size=32) with them (scalar)

and, for each optimizer run O (cce_: "sgd" and "adam"; bce_, mse_: "sgd"),
each run starting again from the initial weights above:

  P_O_losses          (3,) the loss returned by each of 3 train_on_batch(P_x, P_y)
                      calls on the whole 32-row batch. As in Keras, each is the
                      loss of the forward pass of that step, i.e. *before* that
                      step's update (losses[0] == init_loss up to rounding).
  P_O_l{i}_kernel     weights after the 3 steps
  P_O_l{i}_bias

Optimizers (tf_keras.optimizers, every other argument at its default):
  cce_sgd:  SGD(learning_rate=0.1, momentum=0.9)
  cce_adam: Adam(learning_rate=0.01)  (beta_1=0.9, beta_2=0.999, epsilon=1e-7)
  bce_sgd, mse_sgd: SGD(learning_rate=0.1, momentum=0.0)

Also: meta_versions (str array: tf_keras and tensorflow versions) and
meta_config (str: a JSON description of the above).

How to regenerate
-----------------
Needs the reference environment (not a cthulhu dependency)::

    python3 -m venv /work/venv-keras
    /work/venv-keras/bin/pip install tf-keras==2.21.0 tensorflow-cpu==2.21.0 numpy h5py scipy pytest
    /work/venv-keras/bin/python tests/golden/make_mlp_golden.py

It overwrites tests/golden/mlp_golden.npz (next to this script). The name has
no test_ prefix on purpose: pytest must not collect it.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

SEED = 1234
N_ROWS = 32
N_FEATURES = 12
STEPS = 3
OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mlp_golden.npz")

CASES = {
    # prefix: (units of last layer, its activation, loss, optimizer runs)
    "cce": (3, "softmax", "categorical_crossentropy",
            {"sgd": ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
             "adam": ("Adam", {"learning_rate": 0.01})}),
    "bce": (1, "sigmoid", "binary_crossentropy",
            {"sgd": ("SGD", {"learning_rate": 0.1, "momentum": 0.0})}),
    "mse": (2, "linear", "mse",
            {"sgd": ("SGD", {"learning_rate": 0.1, "momentum": 0.0})}),
}


def make_data(prefix, rng):
    """Inputs and targets of one case, drawn from ``rng``."""
    x = rng.standard_normal((N_ROWS, N_FEATURES)).astype(np.float32)
    if prefix == "cce":
        labels = rng.integers(0, 3, size=N_ROWS)
        y = np.eye(3, dtype=np.float32)[labels]
    elif prefix == "bce":
        y = rng.integers(0, 2, size=(N_ROWS, 1)).astype(np.float32)
    else:
        y = rng.standard_normal((N_ROWS, 2)).astype(np.float32)
    return x, y


def build_model(units, activation):
    """The 12 -> 16 relu -> 8 tanh -> units MLP (default initializers)."""
    return tf_keras.Sequential([
        tf_keras.Input(shape=(N_FEATURES,)),
        tf_keras.layers.Dense(16, activation="relu"),
        tf_keras.layers.Dense(8, activation="tanh"),
        tf_keras.layers.Dense(units, activation=activation),
    ])


def weight_entries(prefix, weights):
    """{prefix_l{i}_kernel: ..., prefix_l{i}_bias: ...} from get_weights()."""
    out = {}
    for i in range(len(weights) // 2):
        out["%s_l%d_kernel" % (prefix, i)] = np.asarray(weights[2 * i], np.float32)
        out["%s_l%d_bias" % (prefix, i)] = np.asarray(weights[2 * i + 1], np.float32)
    return out


def run_case(prefix, spec, rng):
    units, activation, loss, runs = spec
    x, y = make_data(prefix, rng)
    model = build_model(units, activation)
    init_weights = model.get_weights()

    # Any optimizer works for evaluate/predict; SGD keeps it cheap.
    model.compile(optimizer=tf_keras.optimizers.SGD(), loss=loss)
    entries = {"%s_x" % prefix: x, "%s_y" % prefix: y}
    entries.update(weight_entries(prefix + "_init", init_weights))
    predictions = model.predict(x, batch_size=N_ROWS, verbose=0)
    entries["%s_init_pred" % prefix] = predictions.astype(np.float32)
    entries["%s_init_loss" % prefix] = np.float32(
        model.evaluate(x, y, batch_size=N_ROWS, verbose=0))

    for run_name, (opt_name, opt_kwargs) in runs.items():
        model.set_weights(init_weights)
        optimizer = getattr(tf_keras.optimizers, opt_name)(**opt_kwargs)
        model.compile(optimizer=optimizer, loss=loss)
        losses = [float(model.train_on_batch(x, y)) for _ in range(STEPS)]
        key = "%s_%s" % (prefix, run_name)
        entries[key + "_losses"] = np.asarray(losses, dtype=np.float32)
        entries.update(weight_entries(key, model.get_weights()))
    return entries


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)

    entries = {}
    for prefix, spec in CASES.items():
        entries.update(run_case(prefix, spec, rng))

    entries["meta_versions"] = np.array(
        ["tf_keras %s" % tf_keras.__version__, "tensorflow %s" % tf.__version__]
    )
    config = {
        "seed": SEED,
        "rows": N_ROWS,
        "features": N_FEATURES,
        "hidden": [[16, "relu"], [8, "tanh"]],
        "train_on_batch_steps": STEPS,
        "cases": {p: {"units": s[0], "activation": s[1], "loss": s[2],
                      "runs": {r: [o, kw] for r, (o, kw) in s[3].items()}}
                  for p, s in CASES.items()},
        "losses_note": "loss returned by train_on_batch: forward pass before that step's update",
    }
    entries["meta_config"] = np.array(json.dumps(config, sort_keys=True))

    np.savez_compressed(OUT_PATH, **entries)
    print("wrote %s (%d keys)" % (OUT_PATH, len(entries)))
    for name in sorted(entries):
        value = entries[name]
        print("  %-22s %-10s %s" % (name, value.dtype, value.shape))


if __name__ == "__main__":
    main()
