"""The Week 3 SimpleCNN: a small convolutional network trained from scratch on 8x8 patches.

It takes patches in physical units (reflectance, NDVI, metres); a Normalization layer
adapted to the training set's per-band mean and variance is the first layer, so the
saved model is self-contained. Week 3 hyperparameters (the exercise, Phase 4C):
Adam, lr 1e-3, batch 32, up to 50 epochs, early stopping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geoai_ref.classes import NUM_CLASSES
from geoai_ref.models import build_step_state, keras, tf

LEARNING_RATE = 1e-3
BATCH_SIZE = 32
MAX_EPOCHS = 50
PATIENCE = 10


def build_simple_cnn(n_bands: int, x_train: np.ndarray, n_classes: int = NUM_CLASSES,
                     patch_size: int = 8, dropout: float = 0.3) -> keras.Model:
    """The SimpleCNN for ``n_bands`` input bands, normalised with ``x_train``'s per-band statistics.

    Raises:
        ValueError: if ``x_train`` is not (n, patch, patch, n_bands) or holds NaN.
    """
    if x_train.ndim != 4 or x_train.shape[1:] != (patch_size, patch_size, n_bands):
        raise ValueError(f"x_train must be (n, {patch_size}, {patch_size}, {n_bands}), got {x_train.shape}")
    if not np.isfinite(x_train).all():
        raise ValueError("x_train holds NaN or infinite values: run quality control before training")
    norm = keras.layers.Normalization(axis=-1, name="per_band_normalization")
    norm.adapt(x_train.astype(np.float32))
    inputs = keras.Input((patch_size, patch_size, n_bands), name="patch")
    x = norm(inputs)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="class_probabilities")(x)
    return keras.Model(inputs, outputs, name=f"simple_cnn_{n_bands}band")


@dataclass
class TrainingResult:
    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int
    val_accuracy: float


def set_deterministic(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow ops deterministic on CPU."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train_simple_cnn(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                     seed: int, max_epochs: int = MAX_EPOCHS, patience: int = PATIENCE) -> TrainingResult:
    """Train the SimpleCNN with the Week 3 recipe; keep the weights of the best validation epoch.

    Raises:
        ValueError: if the inputs have the wrong shape or hold NaN.
    """
    set_deterministic(seed)
    model = build_simple_cnn(x_train.shape[-1], x_train)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    build_step_state(model, x_train, y_train)
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, restore_best_weights=True)
    fit = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=max_epochs,
                    batch_size=BATCH_SIZE, shuffle=True, callbacks=[stop], verbose=0)
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    best = int(np.argmax(history["val_accuracy"]))
    val_acc = float(np.mean(np.argmax(model.predict(x_val, verbose=0), axis=1) == y_val))
    return TrainingResult(model=model, history=history, best_epoch=best + 1, val_accuracy=val_acc)
