"""One experiment: train a model, evaluate it, detect collapse, and record the result.

Shared by the three phases so that every model in the kit is trained, evaluated and
reported the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geoai_ref import layout
from geoai_ref.classes import CLASS_NAMES
from geoai_ref.collapse import detect_collapse
from geoai_ref.course import COURSE
from geoai_ref.errors import MissingInput
from geoai_ref.evaluation import evaluate
from geoai_ref.models import keras
from geoai_ref.schemas import ModelResult
from geoai_ref.training import TrainConfig, predict_labels, train


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train / validation split of patches (channels last) with integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    bands: tuple[str, ...]
    split_method: str
    #: Stored value = physical value x ``stored_scale`` (the Week 3 patches: Sentinel-2 digital numbers, 10000).
    stored_scale: float = 1.0

    def split_info(self) -> dict:
        return {
            "method": self.split_method,
            "n_train": int(len(self.y_train)),
            "n_val": int(len(self.y_val)),
            "val_class_counts": {c: int(np.sum(self.y_val == i)) for i, c in enumerate(CLASS_NAMES)},
        }


WEEK3_SPLIT = "Week 3 split: stratified by class at the patch level, as the course made it (polygons on both sides)"


def load_week3(data_root: Path) -> Dataset:
    """The Week 3 dataset (6 Sentinel-2 bands) of a data folder.

    Raises:
        FileNotFoundError: if an array is missing (the message says how to make it).
    """
    from geoai_ref.bands import S2_BANDS

    arrays = []
    for rel in (layout.X_TRAIN, layout.Y_TRAIN, layout.X_VAL, layout.Y_VAL):
        path = Path(data_root) / rel
        if not path.exists():
            raise MissingInput(f"{path} not found: generate the data with `geoai-ref fixtures --out DIR`")
        arrays.append(np.load(path))
    return Dataset(*arrays, bands=S2_BANDS, split_method=WEEK3_SPLIT, stored_scale=COURSE.s2_scale)


def evaluate_model(name: str, bands: tuple[str, ...] | list[str], model: keras.Model, x_val: np.ndarray,
                   y_val: np.ndarray, training: dict, model_path: Path | None = None) -> ModelResult:
    """Evaluation metrics and the collapse verdict of ``model`` on the validation patches."""
    y_pred = predict_labels(model, x_val)
    metrics = evaluate(y_val, y_pred)
    collapse = detect_collapse(y_val, y_pred)
    return ModelResult(name=name, bands=list(bands), accuracy=metrics.accuracy, macro_f1=metrics.macro_f1,
                       evaluation=metrics.to_dict(), collapse=collapse.to_dict(), training=training,
                       model_path=None if model_path is None else str(model_path))


def fit_and_evaluate(name: str, model: keras.Model, data: Dataset, config: TrainConfig,
                     checkpoint: Path | None = None) -> ModelResult:
    """Train ``model`` on ``data``'s patches as they are (a model carries its own preprocessing) and evaluate it."""
    outcome = train(model, data.x_train, data.y_train, data.x_val, data.y_val, config, checkpoint)
    training = {"epochs_run": outcome.epochs_run, "best_epoch": outcome.best_epoch,
                "seconds": round(outcome.seconds, 2),
                "seconds_per_epoch": [round(s, 3) for s in outcome.seconds_per_epoch],
                "history": outcome.history, "config": config.to_dict()}
    return evaluate_model(name, data.bands, model, data.x_val, data.y_val, training, checkpoint)
