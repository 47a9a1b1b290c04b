"""The main job: train an MLP on the bundled UCI digits and report the test accuracy.

    python examples/digits_mlp.py [--epochs 30] [--batch-size 32] [--seed 1]
"""

import argparse

import numpy as np

import cthulhu
from cthulhu.datasets import digits
from cthulhu.layers import Daoloth, Darkness
from cthulhu.models import Pile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    np.random.seed(args.seed)

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16.0
    x_test = x_test.reshape(len(x_test), 64).astype("float32") / 16.0
    y_train = cthulhu.utils.to_categorical(y_train, 10)
    y_test = cthulhu.utils.to_categorical(y_test, 10)

    model = Pile([
        Daoloth(128, activation="relu", input_shape=(64,)),
        Darkness(0.2),
        Daoloth(64, activation="relu"),
        Daoloth(10, activation="softmax"),
    ])
    model.conjure(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.summon(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=1,
                 validation_split=0.1)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {loss:.4f}")
    print(f"Test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
