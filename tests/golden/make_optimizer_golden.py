"""Write tests/golden/optimizer_golden.npz: every Keras 2 optimizer, as tf-keras 2.x runs it.

What it does
------------
Uses the model and data of the ``cce`` case of make_mlp_golden.py (same seed, same data
generator, same initial weights): Dense(16, relu) -> Dense(8, tanh) -> Dense(3, softmax),
categorical_crossentropy, 32 rows of 12 features. For each optimizer configuration C in
CONFIGS below, starting again from the initial weights, it runs 3 ``train_on_batch`` steps on
the whole batch and records

  C_losses          (3,) the losses train_on_batch returned (each is the loss of the forward
                    pass before that step's update)
  C_weights         (371,) the weights after the 3 steps, model.get_weights() order
                    (kernel 0, bias 0, kernel 1, bias 1, kernel 2, bias 2) flattened and
                    concatenated (one key per configuration keeps the file small)

plus, once: x, y (float32 inputs and one-hot targets), init_l{i}_kernel / init_l{i}_bias,
meta_versions (tf_keras / tensorflow versions) and meta_config (JSON: for each C, the
optimizer class, its arguments, whether it is tf_keras.optimizers or
tf_keras.optimizers.legacy, and whether the step ran eagerly).

Every configuration uses ``tf_keras.optimizers.<Name>`` (the current optimizers) except the
ones named ``legacy_*``: tf-keras's current optimizers have no ``decay``, so decay is
generated with ``tf_keras.optimizers.legacy.<Name>`` (lr / (1 + decay * iterations)), for
optimizers whose legacy update rule is the same as the current one.

Nadam runs eagerly (``compile(run_eagerly=True)``): tf-keras 2.x's Nadam advances its
momentum-schedule product under a Python counter that a compiled train function freezes at
trace time, so in graph mode the product is multiplied once per *variable* on every step
instead of once per step. Run eagerly it gives the documented update, which cthulhu follows.

How to regenerate
-----------------
Needs the reference environment (see make_mlp_golden.py)::

    /work/venv-keras/bin/python tests/golden/make_optimizer_golden.py

It overwrites tests/golden/optimizer_golden.npz (next to this script). The name has no test_
prefix on purpose: pytest must not collect it.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from make_mlp_golden import SEED, STEPS, build_model, make_data, weight_entries  # noqa: E402

OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizer_golden.npz")

# name: (class name, keyword arguments, legacy optimizer?, run eagerly?)
CONFIGS = {
    "sgd": ("SGD", {}, False, False),
    "sgd_nesterov": ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
                     False, False),
    "sgd_clipnorm_and_clipvalue": ("SGD", {"learning_rate": 0.1, "momentum": 0.9,
                                           "clipnorm": 0.5, "clipvalue": 0.01}, False, False),
    "rmsprop": ("RMSprop", {}, False, False),
    "rmsprop_centered_momentum": ("RMSprop", {"learning_rate": 0.01, "rho": 0.8,
                                              "momentum": 0.9, "centered": True},
                                  False, False),
    "adagrad": ("Adagrad", {}, False, False),
    "adagrad_clipnorm": ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.05,
                                     "epsilon": 1e-6, "clipnorm": 0.5}, False, False),
    "adadelta": ("Adadelta", {}, False, False),
    "adadelta_custom": ("Adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6},
                        False, False),
    "adam": ("Adam", {}, False, False),
    "adam_amsgrad": ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99,
                              "amsgrad": True}, False, False),
    "adamax": ("Adamax", {}, False, False),
    "adamax_clipvalue": ("Adamax", {"learning_rate": 0.01, "beta_2": 0.99,
                                    "clipvalue": 0.01}, False, False),
    "nadam": ("Nadam", {}, False, True),
    "nadam_custom": ("Nadam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99,
                               "epsilon": 1e-5}, False, True),
    "legacy_sgd_decay": ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "decay": 0.5},
                         True, False),
    "legacy_adam_decay": ("Adam", {"learning_rate": 0.01, "decay": 0.1}, True, False),
    "legacy_rmsprop_decay": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5,
                                         "centered": True, "decay": 0.2}, True, False),
}


def run_config(model, init_weights, x, y, spec):
    name, kwargs, legacy, eager = spec
    module = tf_keras.optimizers.legacy if legacy else tf_keras.optimizers
    model.set_weights(init_weights)
    model.compile(optimizer=getattr(module, name)(**kwargs), loss="categorical_crossentropy",
                  run_eagerly=eager)
    losses = [float(model.train_on_batch(x, y)) for _ in range(STEPS)]
    return np.asarray(losses, np.float32), model.get_weights()


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    x, y = make_data("cce", rng)          # the first draws: the same data as mlp_golden's cce_
    model = build_model(3, "softmax")
    init_weights = model.get_weights()

    entries = {"x": x, "y": y}
    entries.update(weight_entries("init", init_weights))
    for key, spec in CONFIGS.items():
        losses, weights = run_config(model, init_weights, x, y, spec)
        entries[key + "_losses"] = losses
        entries[key + "_weights"] = np.concatenate(
            [np.asarray(w, np.float32).ravel() for w in weights])

    entries["meta_versions"] = np.array(
        ["tf_keras %s" % tf_keras.__version__, "tensorflow %s" % tf.__version__])
    config = {
        "seed": SEED,
        "model": "cce case of make_mlp_golden.py: 12 -> 16 relu -> 8 tanh -> 3 softmax",
        "loss": "categorical_crossentropy",
        "train_on_batch_steps": STEPS,
        "configs": {key: {"optimizer": name, "kwargs": kwargs,
                          "module": "tf_keras.optimizers.legacy" if legacy
                          else "tf_keras.optimizers",
                          "run_eagerly": eager}
                    for key, (name, kwargs, legacy, eager) in CONFIGS.items()},
    }
    entries["meta_config"] = np.array(json.dumps(config, sort_keys=True))

    np.savez_compressed(OUT_PATH, **entries)
    print("wrote %s (%d keys, %d bytes)" % (OUT_PATH, len(entries), os.path.getsize(OUT_PATH)))
    for key in CONFIGS:
        print("  %-28s losses %s" % (key, np.array2string(entries[key + "_losses"],
                                                          precision=6)))


if __name__ == "__main__":
    main()
