"""Train / validation splits: stratified by class and grouped by polygon, and a split checker.

Patches cut from one polygon are near-copies of each other; putting some in training and
some in validation inflates accuracy (Roberts et al. 2017, Ecography 40:913; Karasiak et
al. 2022, Machine Learning 111:2715). The reference split keeps each polygon on one side
(scikit-learn's ``StratifiedGroupKFold``) and makes sure every class that has at least two
polygons reaches both sides.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from geoai_ref.classes import CLASS_NAMES

MAX_PROPORTION_GAP = 0.10  # largest acceptable difference in a class's share between train and validation


def stratified_group_split(y: np.ndarray, groups: np.ndarray, val_fraction: float = 0.2,
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): whole groups on each side, class proportions kept, seeded.

    Among the ``round(1 / val_fraction)`` folds of ``StratifiedGroupKFold`` it takes the one
    closest to ``val_fraction`` in which every class with at least two groups appears on
    both sides; if no fold does, it moves the smallest group of each missing class into
    validation (groups are assumed to hold one class each, as polygons do).

    Raises:
        ValueError: if y and groups differ in length, ``val_fraction`` is not in (0, 0.5],
            or there are fewer groups than folds.
    """
    y = np.asarray(y)
    groups = np.asarray(groups)
    if y.shape != groups.shape or y.ndim != 1:
        raise ValueError(f"y and groups must be 1-D and of equal length, got {y.shape} and {groups.shape}")
    if not 0 < val_fraction <= 0.5:
        raise ValueError(f"val_fraction must be in (0, 0.5], got {val_fraction}")
    n_splits = max(2, round(1 / val_fraction))
    n_groups = np.unique(groups).size
    if n_groups < n_splits:
        raise ValueError(f"{n_groups} groups cannot be split {n_splits} ways; label more polygons "
                         f"or use a larger val_fraction")
    splittable = [c for c in np.unique(y) if np.unique(groups[y == c]).size >= 2]

    def covers(train: np.ndarray, val: np.ndarray) -> bool:
        return all(c in y[val] and c in y[train] for c in splittable)

    if np.unique(y, return_counts=True)[1].max() < n_splits:
        raise ValueError(f"every class has fewer than {n_splits} samples: too few to stratify a "
                         f"{val_fraction:g} validation split; label more samples")
    with warnings.catch_warnings():  # small classes are expected; `covers` below handles them
        warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        folds = list(splitter.split(y, y, groups))
    folds.sort(key=lambda f: abs(len(f[1]) / len(y) - val_fraction))
    for train, val in folds:
        if covers(train, val):
            return np.sort(train), np.sort(val)
    train, val = folds[0]
    in_val = np.zeros(len(y), dtype=bool)
    in_val[val] = True

    def smallest_group(mask: np.ndarray) -> object:
        return min(np.unique(groups[mask]), key=lambda g: (np.sum(groups == g), str(g)))

    for c in splittable:
        if c not in y[in_val]:
            in_val[groups == smallest_group((y == c) & ~in_val)] = True
        if c not in y[~in_val]:
            in_val[groups == smallest_group((y == c) & in_val)] = False
    return np.flatnonzero(~in_val), np.flatnonzero(in_val)


def keras_validation_split(n: int, validation_split: float) -> tuple[np.ndarray, np.ndarray]:
    """The indices Keras ``fit(validation_split=...)`` uses: the *last* samples, before any shuffling.

    Mirrors ``keras.src.trainers.data_adapters.array_slicing.train_validation_split``
    (``split_at = floor(n * (1 - validation_split))``).
    """
    split_at = int(math.floor(n * (1.0 - validation_split)))
    return np.arange(split_at), np.arange(split_at, n)


@dataclass
class SplitReport:
    """What :func:`check_split` found; ``ok`` when nothing is wrong."""

    classes_missing_in_val: list[str] = field(default_factory=list)
    classes_missing_in_train: list[str] = field(default_factory=list)
    train_proportions: dict[str, float] = field(default_factory=dict)
    val_proportions: dict[str, float] = field(default_factory=dict)
    leaked_groups: list = field(default_factory=list)
    duplicate_patches: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _proportions(y: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    return {name: float(np.mean(y == c)) if y.size else 0.0 for c, name in enumerate(names)}


def check_split(y_train: np.ndarray, y_val: np.ndarray, groups_train: np.ndarray | None = None,
                groups_val: np.ndarray | None = None, x_train: np.ndarray | None = None,
                x_val: np.ndarray | None = None, class_names: tuple[str, ...] = CLASS_NAMES) -> SplitReport:
    """Report classes missing from validation, class proportions and leakage between the sides.

    Leakage is the same group (polygon) on both sides, or identical patches on both sides
    (when ``x_train`` and ``x_val`` are given).
    """
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    report = SplitReport(train_proportions=_proportions(y_train, class_names),
                         val_proportions=_proportions(y_val, class_names))
    present = set(np.unique(np.concatenate([y_train, y_val])).tolist())
    for c, name in enumerate(class_names):
        if c in present and c not in y_val:
            report.classes_missing_in_val.append(name)
        if c in present and c not in y_train:
            report.classes_missing_in_train.append(name)
    if report.classes_missing_in_val:
        only = ", ".join(class_names[c] for c in np.unique(y_val)) or "nothing"
        report.problems.append(
            f"validation set has no samples of class {', '.join(report.classes_missing_in_val)} "
            f"(it holds only {only}): split with stratify=y, e.g. train_test_split(..., stratify=y) "
            "or StratifiedGroupKFold, never Keras validation_split on class-sorted data")
    if report.classes_missing_in_train:
        report.problems.append(f"training set has no samples of class {', '.join(report.classes_missing_in_train)}: "
                               "the model cannot learn it; split with stratify=y")
    for name in class_names:
        gap = abs(report.train_proportions[name] - report.val_proportions[name])
        if gap > MAX_PROPORTION_GAP and name not in report.classes_missing_in_val + report.classes_missing_in_train:
            report.problems.append(f"class {name} is {100 * report.train_proportions[name]:.0f} % of training but "
                                   f"{100 * report.val_proportions[name]:.0f} % of validation: stratify the split")
    if groups_train is not None and groups_val is not None:
        leaked = sorted(set(np.asarray(groups_train).tolist()) & set(np.asarray(groups_val).tolist()))
        report.leaked_groups = leaked
        if leaked:
            shown = ", ".join(map(str, leaked[:8])) + (" ..." if len(leaked) > 8 else "")
            report.problems.append(f"{len(leaked)} polygon(s) have samples on both sides ({shown}): "
                                   "split by polygon (StratifiedGroupKFold with groups=polygon_id)")
    if x_train is not None and x_val is not None and len(x_train) and len(x_val):
        train_keys = {np.ascontiguousarray(p).tobytes() for p in np.asarray(x_train)}
        dup = sum(np.ascontiguousarray(p).tobytes() in train_keys for p in np.asarray(x_val))
        report.duplicate_patches = int(dup)
        if dup:
            report.problems.append(f"{dup} validation patch(es) are identical to training patches: "
                                   "remove duplicates before splitting")
    return report
