"""The exercise's documented failures, measured on the kit's data (for docs/RESULTS.md).

1. Phase 4A: the exercise's recipe (150 of 175 layers frozen, ImageNet ``preprocess_input``
   on reflectance, BatchNorm in training mode) against the recommended recipe.
2. Phase 4B: a validation set taken the way Keras ``fit(validation_split=0.2)`` takes it - the
   last 20 % of the samples in the order Week 3 cut them (polygon by polygon, in digitising order) - against
   the Week 3 split (stratified by class at the patch level).

Each lesson trains real models; nothing is tuned to force the documented outcome.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from geoai_ref import layout
from geoai_ref.classes import CLASS_NAMES
from geoai_ref.experiment import Dataset, load_week3
from geoai_ref.phase4a import train_resnet
from geoai_ref.phase4b import load_fused
from geoai_ref.recipes import EXERCISE_RECIPE, RECOMMENDED_RECIPE, Profile
from geoai_ref.sample_index import read_sample_index
from geoai_ref.schemas import ModelResult
from geoai_ref.splits import check_split, keras_validation_split

LESSONS_FILE = Path("lessons.json")


def _row(result: ModelResult, **extra: object) -> dict:
    c = result.collapse
    return {**extra, "accuracy": round(result.accuracy, 4), "macro_f1": round(result.macro_f1, 4),
            "collapse_verdict": c["verdict"], "majority_class": c["majority_class_name"],
            "majority_share": round(c["majority_share"], 4), "epochs_run": result.training["epochs_run"]}


def lesson_recipes(data_root: Path, profile: Profile, weights: str | Path | None, allow_random_init: bool,
                   seed: int) -> list[dict]:
    """Phase 4A with the exercise's recipe and with the recommended one, on the Week 3 data."""
    data = load_week3(data_root)
    rows = []
    for recipe in (EXERCISE_RECIPE, RECOMMENDED_RECIPE):
        result, build, freeze = train_resnet(f"4A-{recipe.name}", data, recipe, profile, weights,
                                             allow_random_init, seed)
        rows.append(_row(result, recipe=recipe.name, pretrained=build.pretrained, frozen=freeze.summary,
                         input_handling=recipe.input_handling, bn_inference=recipe.bn_inference))
    return rows


def in_cutting_order(data_root: Path, fused: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """All 375 fused samples in sample-id order (the order Week 3 cut them: polygon by polygon, as digitised),
    with their labels."""
    index = read_sample_index(Path(data_root) / layout.SAMPLE_INDEX)
    x = np.empty((len(index), *fused.x_train.shape[1:]), dtype=fused.x_train.dtype)
    y = np.empty(len(index), dtype=np.int64)
    for split, xs, ys in (("train", fused.x_train, fused.y_train), ("val", fused.x_val, fused.y_val)):
        rows = index.where(split)
        x[rows], y[rows] = xs, ys
    return x, y


def lesson_split(data_root: Path, out: Path, profile: Profile, weights: str | Path | None, allow_random_init: bool,
                 seed: int) -> list[dict]:
    """The 8-band fusion model trained with a Keras-style validation split and with the grouped split."""
    fused = load_fused(data_root, out)
    x_all, y_all = in_cutting_order(data_root, fused)
    train_idx, val_idx = keras_validation_split(len(y_all), 0.2)
    keras_data = Dataset(x_all[train_idx], y_all[train_idx], x_all[val_idx], y_all[val_idx], fused.bands,
                         "Keras validation_split=0.2: the last 20 % of the samples in cutting order")
    rows = []
    for data in (keras_data, fused):
        result, _, _ = train_resnet("4B-split", data, RECOMMENDED_RECIPE, profile, weights, allow_random_init, seed)
        check = check_split(data.y_train, data.y_val)
        present = [CLASS_NAMES[c] for c in np.unique(data.y_val)]
        rows.append(_row(result, split=data.split_method, classes_in_validation=present,
                         split_problems=check.problems))
    return rows


def run_lessons(data_root: Path, out: Path, profile: Profile, weights: str | Path | None = "imagenet",
                allow_random_init: bool = False, seed: int = 42,
                progress: Callable[[str], None] | None = None) -> dict:
    """Run both lessons and write ``lessons.json`` under ``out``."""
    say = progress or (lambda _: None)
    say("lesson 1: Phase 4A recipes")
    recipes = lesson_recipes(data_root, profile, weights, allow_random_init, seed)
    say("lesson 2: validation split")
    split = lesson_split(data_root, out, profile, weights, allow_random_init, seed)
    lessons = {"profile": profile.name, "seed": seed, "recipes": recipes, "split": split}
    path = Path(out) / LESSONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lessons, indent=1) + "\n")
    return lessons
