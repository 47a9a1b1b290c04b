"""The reference-Keras side of test_keras_live.py, run with a Python that has tf-keras:

    python keras_live_script.py read DIR    load every DIR/*.h5 cthulhu wrote, predict on
                                            DIR/inputs.npz, train 2 steps where targets are
                                            given, write DIR/keras_results.npz; the models
                                            marked "resave" are saved again by tf-keras to
                                            DIR/<name>_keras.h5 (its own config spellings)
    python keras_live_script.py write DIR   save a fresh two-input model to DIR/keras.h5 and
                                            its predictions to DIR/keras_written.npz
    python keras_live_script.py both DIR    read, then write (TensorFlow starts once)
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402


def read(directory: str) -> None:
    inputs = np.load(os.path.join(directory, "inputs.npz"))
    spec = json.loads(str(inputs["spec"]))
    results = {}
    for name, entry in spec.items():
        feed = [inputs[k] for k in entry["x"]]
        feed = feed if len(feed) > 1 else feed[0]
        if entry["kind"] == "model":
            model = keras.models.load_model(os.path.join(directory, f"{name}.h5"))
        else:  # weights only, into the architecture from the JSON cthulhu wrote
            with open(os.path.join(directory, f"{name}.json")) as f:
                model = keras.models.model_from_json(f.read())
            model.load_weights(os.path.join(directory, f"{name}.h5"))
        results[f"{name}_predict"] = model.predict(feed, verbose=0)
        if entry.get("resave"):
            model.save(os.path.join(directory, f"{name}_keras.h5"))
        if entry.get("y"):
            y = inputs[entry["y"]]
            results[f"{name}_iterations"] = np.array(model.optimizer.iterations.numpy())
            results[f"{name}_slots"] = np.array(len(model.optimizer.variables()))
            for rows in (slice(0, 4), slice(2, 6)):
                model.train_on_batch([a[rows] for a in feed] if isinstance(feed, list)
                                     else feed[rows], y[rows])
            results[f"{name}_after"] = np.concatenate(
                [w.ravel() for w in model.get_weights()])
    np.savez(os.path.join(directory, "keras_results.npz"), **results)


def write(directory: str) -> None:
    keras.utils.set_random_seed(1)
    a, b = keras.Input((4,), name="a"), keras.Input((2,), name="b")
    # A nested Sequential called twice (a shared model) and a nested functional model.
    pile = keras.Sequential([keras.layers.Dense(4, activation="tanh", input_shape=(4,))])
    j = keras.Input((4,))
    lump = keras.Model(j, keras.layers.Dense(5, activation="hard_sigmoid")(j))
    h = lump(pile(pile(a)))
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.concatenate([h, b]))
    model = keras.Model([a, b], out)
    model.compile(keras.optimizers.RMSprop(0.01), "categorical_crossentropy", ["accuracy"])
    rng = np.random.default_rng(3)
    xa = rng.normal(size=(6, 4)).astype("float32") * 3
    xb = rng.normal(size=(6, 2)).astype("float32")
    y = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2]]
    model.train_on_batch([xa, xb], y)
    model.save(os.path.join(directory, "keras.h5"))
    np.savez(os.path.join(directory, "keras_written.npz"), xa=xa, xb=xb, y=y,
             predict=model.predict([xa, xb], verbose=0))


if __name__ == "__main__":
    for command in ("read", "write") if sys.argv[1] == "both" else (sys.argv[1],):
        {"read": read, "write": write}[command](sys.argv[2])
