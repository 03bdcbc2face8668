"""The course's own Week 3 SimpleCNN: the network students hold when Week 4 starts.

Its architecture is read from the course's ``week3_best_model.h5`` (fixtures/course/README.md): Conv2D 32
3x3 same -> BatchNorm -> ReLU -> MaxPool 2x2 -> Conv2D 64 3x3 same -> BatchNorm -> ReLU -> MaxPool 2x2 ->
Flatten -> Dense 128 ReLU -> Dropout 0.5 -> Dense softmax, trained with Adam 1e-3, batch 32 and early
stopping. Its input convention is the course's: the stored patches (digital numbers) are divided by the
course's scale *outside* the model, so the model takes reflectance 0-1.
"""

from __future__ import annotations

import numpy as np

from geoai_ref.course import COURSE, CourseConfig
from geoai_ref.models import keras
from geoai_ref.models.simple_cnn import MAX_EPOCHS, PATIENCE, TrainingResult, fit_week3_recipe, set_deterministic


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


def to_reflectance(stored: np.ndarray, course: CourseConfig = COURSE) -> np.ndarray:
    """Stored patches (the course's units) as reflectance 0-1, float32: what the Week 3 model takes."""
    return (np.asarray(stored, dtype=np.float32) / np.float32(course.s2_scale)).astype(np.float32)


def train_week3_cnn(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int,
                    course: CourseConfig = COURSE, max_epochs: int = MAX_EPOCHS,
                    patience: int = PATIENCE) -> TrainingResult:
    """Train the course's Week 3 SimpleCNN on stored patches (scaled to reflectance outside the model).

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
    return fit_week3_recipe(model, to_reflectance(x_train, course), y_train, to_reflectance(x_val, course), y_val,
                            max_epochs, patience)
