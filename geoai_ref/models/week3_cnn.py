"""The course's own Week 3 SimpleCNN: the network students hold when Week 4 starts.

Its architecture is read from the course's ``week3_best_model.h5`` (fixtures/course/README.md): Conv2D 32
3x3 same -> BatchNorm -> ReLU -> MaxPool 2x2 -> Conv2D 64 3x3 same -> BatchNorm -> ReLU -> MaxPool 2x2 ->
Flatten -> Dense 128 ReLU -> Dropout 0.5 -> Dense softmax. Its training recipe is the course's Week 3
notebook's (Phase 3): Adam 1e-3, batch 32, up to 50 epochs, EarlyStopping on validation loss (patience 10,
best weights), ReduceLROnPlateau on validation loss (x0.5, patience 5), and ModelCheckpoint keeping the epoch
of best validation accuracy, which is the model the course saved. Its input convention is the course's: the
stored patches (digital numbers) are divided by the course's scale *outside* the model, so the model takes
reflectance 0-1.
"""

from __future__ import annotations

import numpy as np

from geoai_ref.course import COURSE, CourseConfig, to_reflectance
from geoai_ref.models import build_step_state, keras
from geoai_ref.models.simple_cnn import TrainingResult, set_deterministic

LEARNING_RATE = 1e-3
BATCH_SIZE = 32
MAX_EPOCHS = 50
EARLY_STOPPING_PATIENCE = 10
REDUCE_LR_PATIENCE = 5


def build_week3_cnn(course: CourseConfig = COURSE) -> keras.Model:
    """The course's Week 3 SimpleCNN for ``course``'s patch size, bands and classes (untrained)."""
    p = course.patch_size
    layers: list = [keras.Input((p, p, len(course.s2_bands)), name="reflectance")]
    for filters in (32, 64):
        layers += [keras.layers.Conv2D(filters, 3, padding="same"), keras.layers.BatchNormalization(),
                   keras.layers.Activation("relu"), keras.layers.MaxPooling2D(2)]
    layers += [keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.5),
               keras.layers.Dense(course.num_classes, activation="softmax", name="class_probabilities")]
    return keras.Sequential(layers, name="week3_simple_cnn")



class _KeepBestValAccuracy(keras.callbacks.Callback):
    """ModelCheckpoint(monitor="val_accuracy", save_best_only=True), kept in memory: the course's saved model."""

    def __init__(self) -> None:
        super().__init__()
        self.best, self.weights = -1.0, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        accuracy = float((logs or {}).get("val_accuracy", -1.0))
        if accuracy > self.best:
            self.best, self.weights = accuracy, self.model.get_weights()


def train_week3_cnn(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int,
                    course: CourseConfig = COURSE, max_epochs: int = MAX_EPOCHS) -> TrainingResult:
    """Train the course's Week 3 SimpleCNN with its recipe on stored patches (scaled to reflectance outside the
    model); the result holds the weights of the epoch with the best validation accuracy.

    Raises:
        ValueError: if the patches are not (n, patch, patch, bands) of the course, or hold NaN.
    """
    shape = (course.patch_size, course.patch_size, len(course.s2_bands))
    for name, x in (("x_train", x_train), ("x_val", x_val)):
        if x.ndim != 4 or x.shape[1:] != shape:
            raise ValueError(f"{name} must be (n, {', '.join(map(str, shape))}), got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"{name} holds NaN or infinite values: run quality control before training")
    set_deterministic(seed)
    model = build_week3_cnn(course)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    build_step_state(model, x_train, y_train)
    best = _KeepBestValAccuracy()
    callbacks = [best,
                 keras.callbacks.EarlyStopping(monitor="val_loss", patience=EARLY_STOPPING_PATIENCE,
                                               restore_best_weights=True),
                 keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=REDUCE_LR_PATIENCE,
                                                   min_lr=1e-7)]
    x_val_reflectance = to_reflectance(x_val, course)
    fit = model.fit(to_reflectance(x_train, course), y_train, validation_data=(x_val_reflectance, y_val),
                    epochs=max_epochs, batch_size=BATCH_SIZE, shuffle=True, callbacks=callbacks, verbose=0)
    model.set_weights(best.weights)
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items() if k != "learning_rate"}
    val_accuracy = float(np.mean(np.argmax(model.predict(x_val_reflectance, verbose=0), axis=1) == y_val))
    return TrainingResult(model=model, history=history, best_epoch=int(np.argmax(history["val_accuracy"])) + 1,
                          val_accuracy=val_accuracy)
