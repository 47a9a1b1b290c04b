"""Write tests/golden/rnn_golden.npz: masked recurrent models in tf-keras 2.x.

What it does
------------
Builds in tf-keras the models below, sets their weights to numbers drawn here with numpy
(uniform in [-0.5, 0.5), so both libraries start from the same point whatever their
initializers), predicts, then compiles with Adam(0.01) and runs 3 ``train_on_batch`` steps.
recurrent_activation is always given: tf-keras's defaults (sigmoid, GRU reset_after=True)
are not Keras 2's (hard_sigmoid, reset_after=False).

  lstm            Input((7,)) ids -> Embedding(20, 6, mask_zero=True) -> LSTM(5,
                  recurrent_activation="hard_sigmoid") -> Dense(1, sigmoid); binary
                  cross-entropy. Rows padded at the start, at the end, in the middle, one
                  row of a single token and one row of padding only.
  lstm_sigmoid    the same with recurrent_activation="sigmoid" (W4's configuration).
  gru_v1          Input((6, 3)) floats -> Masking(0.0) -> GRU(4, return_sequences=True,
                  reset_after=False, recurrent_activation="hard_sigmoid") -> Dense(2) on
                  every timestep; mse (the mask reaches the temporal loss).
  gru_v3          the same with reset_after=True, recurrent_activation="sigmoid" and
                  TimeDistributed(Dense(2)).
  bidi_<mode>     Input((6, 3)) -> Masking(0.0) -> Bidirectional(SimpleRNN(3,
                  return_sequences=True), merge_mode=<mode>) -> Dense(2); mse; for the
                  modes concat, sum, ave and mul.

For every model <m> it records <m>_x, <m>_y, <m>_init_<i> and <m>_final_<i> (the weights in
model.get_weights() order, before and after the steps), <m>_predictions (before training),
<m>_values (the loss returned by each step), <m>_weight_names; and meta_versions.

How to regenerate
-----------------
    /work/venv-keras/bin/python tests/golden/make_rnn_golden.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

SEED = 1729
OUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rnn_golden.npz")
L = tf_keras.layers

# Which timesteps are real (1) or padding (0), row by row: padding at the start, at the
# end, in the middle, a single real step, a row of padding only.
LSTM_STEPS = np.array([[1, 1, 1, 1, 1, 1, 1],
                       [0, 0, 0, 1, 1, 1, 1],
                       [1, 1, 1, 0, 0, 0, 0],
                       [1, 0, 1, 0, 0, 1, 1],
                       [0, 1, 1, 0, 1, 0, 0],
                       [0, 0, 0, 0, 0, 0, 1],
                       [0, 0, 0, 0, 0, 0, 0],
                       [1, 1, 0, 1, 1, 1, 0]])
FLOAT_STEPS = np.array([[1, 1, 1, 1, 1, 1],
                        [0, 0, 1, 1, 1, 1],
                        [1, 1, 1, 1, 0, 0],
                        [1, 0, 1, 0, 0, 1],
                        [0, 1, 1, 0, 1, 0],
                        [0, 0, 0, 0, 0, 1]])


def token_data(rng):
    x = rng.integers(1, 20, size=LSTM_STEPS.shape) * LSTM_STEPS
    y = rng.integers(0, 2, size=(len(x), 1))
    return x.astype(np.float32), y.astype(np.float32)


def float_data(rng):
    x = rng.normal(size=FLOAT_STEPS.shape + (3,)) * FLOAT_STEPS[:, :, None]
    y = rng.normal(size=FLOAT_STEPS.shape + (2,))
    return x.astype(np.float32), y.astype(np.float32)


def lstm_model(recurrent_activation):
    return tf_keras.Sequential([
        L.Embedding(20, 6, mask_zero=True, input_shape=(7,), name="emb"),
        L.LSTM(5, recurrent_activation=recurrent_activation, name="lstm"),
        L.Dense(1, activation="sigmoid", name="out")]), "binary_crossentropy", token_data


def gru_model(reset_after, recurrent_activation, time_distributed):
    dense = L.Dense(2, name="out")
    return tf_keras.Sequential([
        L.Masking(0.0, input_shape=(6, 3), name="masking"),
        L.GRU(4, return_sequences=True, reset_after=reset_after,
              recurrent_activation=recurrent_activation, name="gru"),
        L.TimeDistributed(dense, name="td") if time_distributed else dense]), "mse", float_data


def bidi_model(merge_mode):
    return tf_keras.Sequential([
        L.Masking(0.0, input_shape=(6, 3), name="masking"),
        L.Bidirectional(L.SimpleRNN(3, return_sequences=True, name="rnn"),
                        merge_mode=merge_mode, name="bidi"),
        L.Dense(2, name="out")]), "mse", float_data


MODELS = {
    "lstm": lambda: lstm_model("hard_sigmoid"),
    "lstm_sigmoid": lambda: lstm_model("sigmoid"),
    "gru_v1": lambda: gru_model(False, "hard_sigmoid", False),
    "gru_v3": lambda: gru_model(True, "sigmoid", True),
    **{f"bidi_{mode}": (lambda mode=mode: bidi_model(mode))
       for mode in ("concat", "sum", "ave", "mul")},
}


def record(name, rng):
    model, loss, data = MODELS[name]()
    x, y = data(rng)
    init = [rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32)
            for w in model.get_weights()]
    model.set_weights(init)
    predictions = model.predict(x, verbose=0)
    model.compile(tf_keras.optimizers.Adam(0.01), loss)
    values = [float(model.train_on_batch(x, y)) for _ in range(3)]
    entries = {"x": x, "y": y, "predictions": predictions,
               "values": np.asarray(values, np.float64),
               "weight_names": np.array([w.name for w in model.weights])}
    entries.update({"init_%d" % i: w for i, w in enumerate(init)})
    entries.update({"final_%d" % i: w for i, w in enumerate(model.get_weights())})
    print("%s: losses %s" % (name, values))
    return {"%s_%s" % (name, key): value for key, value in entries.items()}


def main():
    tf_keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    entries = {}
    for name in MODELS:
        entries.update(record(name, rng))
    entries["meta_versions"] = np.array(
        ["tf_keras %s" % tf_keras.__version__, "tensorflow %s" % tf.__version__])
    np.savez_compressed(OUT_PATH, **entries)
    print("wrote %s (%d bytes)" % (OUT_PATH, os.path.getsize(OUT_PATH)))


if __name__ == "__main__":
    main()
