"""Classification metrics for the land-cover classifier, and the input checks shared with ``collapse``.

``evaluate`` wraps scikit-learn (``accuracy_score``, ``precision_recall_fscore_support``,
``confusion_matrix``) with ``labels=range(K)`` so that every class of the exercise gets a row,
column and per-class entry even when it is absent from both the truth and the predictions
(those entries are 0, with ``zero_division=0``, and no warning). Macro averages are therefore
taken over all K classes, exactly as ``classification_report(..., labels=range(K))`` does.

Predictions may be integer class ids (1-D) or a probability / score matrix of shape (n, K),
which is reduced with ``argmax`` over axis 1 (ties go to the lowest class id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from geoai_ref.classes import CLASS_NAMES

_MAX_LISTED = 10  # how many offending values / rows an error message lists


def check_labels(y: Any, n_classes: int, name: str = "y_true") -> np.ndarray:
    """Return ``y`` as a 1-D int64 array of class ids in ``0..n_classes-1``.

    Floats are accepted when they are whole numbers (e.g. labels loaded as float32).

    Raises:
        ValueError: if ``n_classes`` < 1, ``y`` is empty, not 1-D, not numeric, holds NaN /
            infinite / non-integer values, or holds ids outside ``0..n_classes-1`` (the message
            lists the offending values).
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    arr = np.asarray(y)
    if arr.size == 0:
        raise ValueError(f"{name} is empty: pass at least one sample (check that the data loaded and the "
                         f"split left samples on this side)")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class ids, got shape {arr.shape}; "
                         f"flatten it (e.g. y.ravel()) or, for one-hot labels, take y.argmax(axis=1)")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold integer class ids 0..{n_classes - 1}, got dtype {arr.dtype}; "
                         f"map class names to ids first (geoai_ref.classes.class_id)")
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            raise ValueError(f"{name} contains NaN or infinite values at positions "
                             f"{np.flatnonzero(~finite)[:_MAX_LISTED].tolist()}; class ids must be whole numbers")
        fractional = arr != np.round(arr)
        if fractional.any():
            raise ValueError(f"{name} contains non-integer values {np.unique(arr[fractional])[:_MAX_LISTED].tolist()}; "
                             f"class ids must be whole numbers (for probabilities pass the (n, {n_classes}) matrix)")
    labels = arr.astype(np.int64)
    bad = np.unique(labels[(labels < 0) | (labels >= n_classes)])
    if bad.size:
        raise ValueError(f"{name} has labels outside 0..{n_classes - 1}: {bad[:_MAX_LISTED].tolist()}; class ids "
                         f"must be 0..{n_classes - 1} (are the labels 1-based, or is a nodata value such as 255 "
                         f"left in?)")
    return labels


def as_labels(y_pred: Any, n_classes: int, name: str = "y_pred") -> np.ndarray:
    """Return predictions as 1-D int64 class ids: labels are checked, an (n, K) probability matrix is argmax-ed.

    Raises:
        ValueError: if ``y_pred`` is empty, neither 1-D nor 2-D, a matrix whose column count is not
            ``n_classes`` or that holds NaN / infinite values, or (1-D) fails ``check_labels``.
    """
    arr = np.asarray(y_pred)
    if arr.ndim == 1 or arr.size == 0:
        return check_labels(arr.ravel() if arr.size == 0 else arr, n_classes, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D class ids or a 2-D (n, {n_classes}) probability matrix, "
                         f"got shape {arr.shape}")
    if arr.shape[1] != n_classes:
        hint = " (a single column: pass class ids as a 1-D array, e.g. y_pred.ravel())" if arr.shape[1] == 1 else ""
        raise ValueError(f"{name} probability matrix has {arr.shape[1]} columns but there are {n_classes} classes; "
                         f"it needs one column per class, in class-id order{hint}")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} probability matrix must be numeric, got dtype {arr.dtype}")
    nan_rows = np.flatnonzero(np.isnan(arr).any(axis=1))
    if nan_rows.size:
        raise ValueError(f"{name} probability matrix contains NaN in {nan_rows.size} row(s) (first: "
                         f"{nan_rows[:_MAX_LISTED].tolist()}); the model output is invalid - check for diverged "
                         f"training (NaN loss) or NaN in the input bands")
    inf_rows = np.flatnonzero(np.isinf(arr).any(axis=1))
    if inf_rows.size:
        raise ValueError(f"{name} probability matrix contains infinite values in {inf_rows.size} row(s) (first: "
                         f"{inf_rows[:_MAX_LISTED].tolist()}); check the model output")
    return arr.argmax(axis=1).astype(np.int64)


def check_inputs(y_true: Any, y_pred: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (truth, prediction) pair and return both as 1-D int64 class ids of equal length.

    Raises:
        ValueError: as ``check_labels`` / ``as_labels``, or if the two differ in length.
    """
    true = check_labels(y_true, n_classes, "y_true")
    pred = as_labels(y_pred, n_classes, "y_pred")
    if true.shape[0] != pred.shape[0]:
        raise ValueError(f"y_true has {true.shape[0]} samples but y_pred has {pred.shape[0]}; predict on exactly "
                         f"the samples whose labels you pass, in the same order")
    return true, pred


@dataclass
class EvaluationMetrics:
    """Accuracy, macro / weighted scores, per-class scores and the confusion matrix (rows true, columns predicted)."""

    accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_f1: float
    per_class: dict[str, dict[str, float | int]]
    confusion_matrix: list[list[int]]
    class_names: list[str]
    n_samples: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary (Python floats / ints / lists only)."""
        return {
            "accuracy": float(self.accuracy),
            "macro_precision": float(self.macro_precision),
            "macro_recall": float(self.macro_recall),
            "macro_f1": float(self.macro_f1),
            "weighted_f1": float(self.weighted_f1),
            "per_class": {
                str(name): {
                    "precision": float(m["precision"]),
                    "recall": float(m["recall"]),
                    "f1": float(m["f1"]),
                    "support": int(m["support"]),
                }
                for name, m in self.per_class.items()
            },
            "confusion_matrix": [[int(v) for v in row] for row in self.confusion_matrix],
            "class_names": [str(n) for n in self.class_names],
            "n_samples": int(self.n_samples),
        }


def evaluate(y_true: Any, y_pred: Any, class_names: Sequence[str] = CLASS_NAMES) -> EvaluationMetrics:
    """Score predictions against truth over the classes ``0..len(class_names)-1``.

    ``y_pred`` may be integer class ids or an (n, K) probability matrix (argmax over axis 1).

    Raises:
        ValueError: if ``class_names`` is empty or has duplicates, or the inputs fail ``check_inputs`` (empty, length
            mismatch, labels outside 0..K-1, NaN in / wrong column count of a probability matrix).
    """
    names = [str(n) for n in class_names]
    if not names:
        raise ValueError("class_names is empty: pass one name per class id")
    if len(set(names)) != len(names):
        raise ValueError(f"class_names has duplicate names {sorted({n for n in names if names.count(n) > 1})}; "
                         f"give every class id its own name")
    k = len(names)
    true, pred = check_inputs(y_true, y_pred, k)
    labels = list(range(k))
    precision, recall, f1, support = precision_recall_fscore_support(true, pred, labels=labels, zero_division=0)
    macro_p, macro_r, macro_f1, _ = precision_recall_fscore_support(true, pred, labels=labels, average="macro",
                                                                    zero_division=0)
    _, _, weighted_f1, _ = precision_recall_fscore_support(true, pred, labels=labels, average="weighted",
                                                           zero_division=0)
    cm = confusion_matrix(true, pred, labels=labels)
    per_class: dict[str, dict[str, float | int]] = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
               "support": int(support[i])}
        for i, name in enumerate(names)
    }
    return EvaluationMetrics(
        accuracy=float(accuracy_score(true, pred)),
        macro_precision=float(macro_p),
        macro_recall=float(macro_r),
        macro_f1=float(macro_f1),
        weighted_f1=float(weighted_f1),
        per_class=per_class,
        confusion_matrix=cm.astype(int).tolist(),
        class_names=names,
        n_samples=int(true.shape[0]),
    )
