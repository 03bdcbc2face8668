"""Training with the exercise's callbacks: Adam, batch 32, EarlyStopping, ReduceLROnPlateau, ModelCheckpoint.

Seeded and deterministic on CPU (``tf.config.experimental.enable_op_determinism``). The
model left in memory after :func:`train` holds the weights of the best validation epoch
(EarlyStopping restores them), the same weights ModelCheckpoint saved.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from geoai_ref.models import build_step_state, keras
from geoai_ref.models.simple_cnn import set_deterministic
from geoai_ref.recipes import BATCH_SIZE, Profile


@dataclass(frozen=True)
class TrainConfig:
    learning_rate: float
    max_epochs: int
    patience: int
    reduce_lr_patience: int
    seed: int
    batch_size: int = BATCH_SIZE
    reduce_lr_factor: float = 0.5
    min_learning_rate: float = 1e-6
    monitor: str = "val_accuracy"

    @classmethod
    def from_profile(cls, profile: Profile, learning_rate: float, seed: int) -> TrainConfig:
        return cls(learning_rate=learning_rate, max_epochs=profile.max_epochs, patience=profile.patience,
                   reduce_lr_patience=profile.reduce_lr_patience, seed=seed)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainingOutcome:
    history: dict[str, list[float]]
    best_epoch: int
    epochs_run: int
    seconds: float
    seconds_per_epoch: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


class _EpochTimer(keras.callbacks.Callback):
    """Times each epoch; on a terminal it also shows a progress bar (tqdm, silent when not a TTY)."""

    def __init__(self, max_epochs: int, label: str) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0
        self._bar = tqdm(total=max_epochs, desc=label, unit="epoch", disable=None, leave=False)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)
        self._bar.set_postfix(val_accuracy=f"{(logs or {}).get('val_accuracy', float('nan')):.3f}")
        self._bar.update()

    def on_train_end(self, logs: dict | None = None) -> None:
        self._bar.close()


def check_training_data(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                        n_classes: int) -> None:
    """Raises: ValueError naming the problem: mismatched lengths or bands, NaN, labels out of range,
    a single class in the training labels (a one-class *validation* set is allowed: the checker reports it)."""
    for name, x, y in (("training", x_train, y_train), ("validation", x_val, y_val)):
        if len(x) != len(y):
            raise ValueError(f"{name} set has {len(x)} patches but {len(y)} labels")
        if len(x) == 0:
            raise ValueError(f"{name} set is empty")
        if not np.isfinite(x).all():
            raise ValueError(f"{name} patches hold NaN or infinite values: run quality control before training")
        bad = np.setdiff1d(np.unique(y), np.arange(n_classes))
        if bad.size:
            raise ValueError(f"{name} labels {bad.tolist()} are outside 0..{n_classes - 1}")
    present = np.unique(y_train)
    if present.size < 2:
        raise ValueError(f"training labels hold a single class ({present.tolist()}): a classifier cannot learn from "
                         "that; check the split (stratify=y) and the labels")
    if x_train.shape[1:] != x_val.shape[1:]:
        raise ValueError(f"training patches are {x_train.shape[1:]} but validation patches {x_val.shape[1:]}")


def train(model: keras.Model, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
          config: TrainConfig, checkpoint: Path | None = None) -> TrainingOutcome:
    """Compile and fit ``model``; save the best epoch to ``checkpoint`` (.h5) when given.

    Raises:
        ValueError: if the data fail :func:`check_training_data`.
    """
    check_training_data(x_train, y_train, x_val, y_val, int(model.output_shape[-1]))
    set_deterministic(config.seed)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    build_step_state(model, x_train, y_train)
    timer = _EpochTimer(config.max_epochs, f"training {model.name}")
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.EarlyStopping(monitor=config.monitor, patience=config.patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=config.reduce_lr_factor,
                                          patience=config.reduce_lr_patience, min_lr=config.min_learning_rate),
        timer,
    ]
    if checkpoint is not None:
        Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor=config.monitor,
                                                         save_best_only=True))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras' "HDF5 is legacy" notice on every checkpoint
        fit = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=config.max_epochs,
                        batch_size=config.batch_size, shuffle=True, callbacks=callbacks, verbose=0)
    history = {k: [float(v) for v in values] for k, values in fit.history.items()}
    best = int(np.argmax(history[config.monitor])) if history.get(config.monitor) else 0
    return TrainingOutcome(history=history, best_epoch=best + 1, epochs_run=len(history.get("loss", [])),
                           seconds=time.perf_counter() - start, seconds_per_epoch=timer.seconds)


def predict_labels(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Predicted class ids (argmax of the softmax)."""
    return np.argmax(model.predict(x, batch_size=batch_size, verbose=0), axis=1)
