"""A Keras 2 script, written with Keras names only, running on cthulhu.

The only line that names cthulhu is the import: every call below is the Keras 2 API.
"""

import numpy as np

import cthulhu as keras

np.random.seed(7)
(x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
x_train = x_train.reshape(-1, 64).astype("float32") / 16.0
x_test = x_test.reshape(-1, 64).astype("float32") / 16.0
y_train = keras.utils.to_categorical(y_train, 10)
y_test = keras.utils.to_categorical(y_test, 10)

model = keras.models.Sequential()
model.add(keras.layers.Dense(64, activation="relu", input_shape=(64,),
                             kernel_regularizer=keras.regularizers.l2(1e-4)))
model.add(keras.layers.Dropout(0.1))
model.add(keras.layers.Dense(10, activation="softmax"))
model.summary()

model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(lr=0.005),
              metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=64, epochs=20, verbose=2,
                    validation_split=0.1,
                    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)])
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
