"""Write the reference-Keras files the saving tests read (tests/saving/keras_files/).

Run with a Python that has tf-keras 2.x (the repository's reference, tf-keras 2.21):

    /work/venv-keras/bin/python tests/saving/make_keras_files.py

Files written, each by tf-keras itself:

  mlp.h5             model.save of a Sequential MLP: Dense(8, relu, input 5) -> Dropout(0.2)
                     -> Dense(4, hard_sigmoid) -> Dense(3, softmax), compiled with Adam(0.01),
                     categorical_crossentropy and the accuracy metric, after 3 training steps
                     (so the file holds Adam's moments and iteration count)
  mlp_weights.h5     model.save_weights of the same model (weights-only layout)
  two_input.h5       model.save of a functional model with inputs a (5,) and b (3,):
                     Dense(6, tanh)(a) and Dense(4, relu)(b), concatenated, Dense(2, sigmoid);
                     compiled with Adam(0.02) and binary_crossentropy, after 3 steps
  nested.h5          model.save of a functional model (input (4,)) calling a nested Sequential
                     [Dense(4, tanh)] twice in a row, then a nested functional model
                     [Dense(5, relu)], then Dense(2); not compiled
  lambda.h5          model.save of Input(3) -> Lambda(lambda x: x * 2 + 1) -> Dense(2): a
                     file holding Python bytecode (for the safe-mode tests)
  expected.npz       x_mlp (6, 5), x_a (6, 5), x_b (6, 3), x_lambda (6, 3): inputs;
                     x_nested (6, 4); mlp_predict, two_input_predict, nested_predict,
                     lambda_predict: tf-keras's predictions
                     on them for the saved weights; y_mlp: the MLP's training targets; y_two:
                     the two-input model's targets, also of 2 more training steps taken after
                     the save (train_on_batch on rows 0-3, then rows 2-5); two_input_after:
                     its weights after those 2 steps, flattened and concatenated in
                     model.get_weights() order (not for the MLP: its Dropout masks come from
                     TensorFlow's generator, which cthulhu does not reproduce);
                     hard_sigmoid_x and hard_sigmoid_y: tf-keras's hard_sigmoid on a grid (the
                     Keras 2 formula); x_rnn (6, 7) token ids padded at the start, the end
                     and the middle, y_rnn its 0/1 targets, rnn_predict, rnn_weights (the
                     weights as saved, flattened and concatenated in model.get_weights()
                     order) and rnn_after (the weights after 2 more steps, as for two_input)
  rnn.h5             model.save of a Sequential Embedding(15, 4, mask_zero=True, input 7) ->
                     LSTM(5, return_sequences=True, recurrent_activation="sigmoid") ->
                     GRU(3, reset_after=True, recurrent_activation="hard_sigmoid") ->
                     Dense(1, sigmoid), compiled with Adam(0.01) and binary_crossentropy, after
                     one training step (so the file holds Adam's state)

The inputs are fixed by seeds, so reruns write the same inputs; weights depend on TF's
initializers.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_files")


def _flat(model) -> np.ndarray:
    return np.concatenate([w.ravel() for w in model.get_weights()]).astype("float32")


def _two_more_steps(model, x, y) -> np.ndarray:
    for rows in (slice(0, 4), slice(2, 6)):
        model.train_on_batch([a[rows] for a in x] if isinstance(x, list) else x[rows], y[rows])
    return _flat(model)


def main() -> None:
    os.makedirs(HERE, exist_ok=True)
    keras.utils.set_random_seed(0)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}

    x = rng.normal(size=(6, 5)).astype("float32") * 2
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 6)]
    mlp = keras.Sequential([
        keras.layers.Dense(8, activation="relu", input_shape=(5,)),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(4, activation="hard_sigmoid"),
        keras.layers.Dense(3, activation="softmax")])
    mlp.compile(keras.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    for _ in range(3):
        mlp.train_on_batch(x, y)
    mlp.save(os.path.join(HERE, "mlp.h5"))
    mlp.save_weights(os.path.join(HERE, "mlp_weights.h5"))
    out.update(x_mlp=x, y_mlp=y, mlp_predict=mlp.predict(x, verbose=0))

    xa = rng.normal(size=(6, 5)).astype("float32")
    xb = rng.normal(size=(6, 3)).astype("float32")
    yt = (rng.random((6, 2)) > 0.5).astype("float32")
    a, b = keras.Input((5,), name="a"), keras.Input((3,), name="b")
    merged = keras.layers.concatenate([keras.layers.Dense(6, activation="tanh")(a),
                                       keras.layers.Dense(4, activation="relu")(b)])
    two = keras.Model([a, b], keras.layers.Dense(2, activation="sigmoid")(merged))
    two.compile(keras.optimizers.Adam(0.02), "binary_crossentropy")
    for _ in range(3):
        two.train_on_batch([xa, xb], yt)
    two.save(os.path.join(HERE, "two_input.h5"))
    out.update(x_a=xa, x_b=xb, y_two=yt, two_input_predict=two.predict([xa, xb], verbose=0))
    out["two_input_after"] = _two_more_steps(two, [xa, xb], yt)

    xl = rng.normal(size=(6, 3)).astype("float32")
    i = keras.Input((3,))
    lam = keras.Model(i, keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * 2 + 1)(i)))
    lam.save(os.path.join(HERE, "lambda.h5"))
    out.update(x_lambda=xl, lambda_predict=lam.predict(xl, verbose=0))

    xn = rng.normal(size=(6, 4)).astype("float32")
    pile = keras.Sequential([keras.layers.Dense(4, activation="tanh", input_shape=(4,))],
                            name="pile")
    j = keras.Input((4,))
    inner = keras.Model(j, keras.layers.Dense(5, activation="relu")(j), name="inner")
    k = keras.Input((4,), name="k")
    nested = keras.Model(k, keras.layers.Dense(2)(inner(pile(pile(k)))), name="nested")
    nested.save(os.path.join(HERE, "nested.h5"))
    out.update(x_nested=xn, nested_predict=nested.predict(xn, verbose=0))

    # A small CNN (convolution, pooling, batch normalization with moving statistics moved
    # by two training steps), with its Adam state.
    xc = rng.normal(size=(4, 8, 8, 1)).astype("float32")
    yc = np.eye(3, dtype="float32")[rng.integers(0, 3, 4)]
    cnn = keras.Sequential([
        keras.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1), name="conv"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(3, activation="softmax", name="out")], name="cnn")
    cnn.compile(keras.optimizers.Adam(0.01), "categorical_crossentropy")
    for _ in range(2):
        cnn.train_on_batch(xc, yc)
    cnn.save(os.path.join(HERE, "cnn.h5"))
    out.update(x_cnn=xc, cnn_predict=cnn.predict(xc, verbose=0))

    # Recurrent layers over a mask (Embedding mask_zero), with their Adam state.
    steps = np.array([[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0],
                      [1, 0, 1, 0, 0, 1, 1], [0, 1, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1]])
    xr = (rng.integers(1, 15, size=steps.shape) * steps).astype("float32")
    yr = rng.integers(0, 2, size=(6, 1)).astype("float32")
    rnn = keras.Sequential([
        keras.layers.Embedding(15, 4, mask_zero=True, input_shape=(7,), name="emb"),
        keras.layers.LSTM(5, return_sequences=True, recurrent_activation="sigmoid",
                          name="lstm"),
        keras.layers.GRU(3, reset_after=True, recurrent_activation="hard_sigmoid", name="gru"),
        keras.layers.Dense(1, activation="sigmoid", name="out")], name="rnn")
    rnn.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    rnn.train_on_batch(xr, yr)
    rnn.save(os.path.join(HERE, "rnn.h5"))
    out.update(x_rnn=xr, y_rnn=yr, rnn_predict=rnn.predict(xr, verbose=0), rnn_weights=_flat(rnn))
    out["rnn_after"] = _two_more_steps(rnn, xr, yr)

    grid = np.linspace(-4, 4, 33).astype("float32")
    out.update(hard_sigmoid_x=grid,
               hard_sigmoid_y=keras.activations.hard_sigmoid(tf.constant(grid)).numpy())
    np.savez(os.path.join(HERE, "expected.npz"), **out)
    for name in sorted(os.listdir(HERE)):
        print(f"{name}: {os.path.getsize(os.path.join(HERE, name))} bytes")


if __name__ == "__main__":
    main()
