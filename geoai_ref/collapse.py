"""Model-collapse detection from true and predicted labels.

In the exercise a ResNet-50 predicted one class (Agriculture, its report says) for every validation patch
and scored 13.33 % = 10 / 75: exactly the share of that class in its validation set. A collapsed model's
accuracy is the prevalence of the one class it predicts, so accuracy alone can look like "a bit
of learning". ``detect_collapse`` looks at the *predictions* instead, with the signals listed in
/work/shared/REFERENCES.md, section "Model collapse signals".

Thresholds (``CollapseThresholds``; ``THRESHOLDS`` holds the defaults and is the one place they
are defined):

``majority_share = 0.9``
    Share of all predictions that fall in the most-predicted class at or above which the model
    is *collapsed*. The REFERENCES.md example value ("e.g. >= 0.9"). None of the exercise's five
    classes is near 90 % of the validation set, so a healthy model never gets there; note that a
    data set that *is* >= 90 % one class trips this rule even for a perfect model.
``normalized_entropy = 0.2``
    Entropy of the predicted-class distribution divided by its maximum ``log K`` (0 = one class
    only, 1 = all classes predicted equally often), at or below which the model is *collapsed*.
    The REFERENCES.md example value ("e.g. < 0.2"; taken inclusive here). With K = 5 a model
    predicting 90 % one class and 10 % another has about 0.20, so this rule and the share rule agree
    there; with more classes it catches collapse onto two or three classes.
``balanced_accuracy_margin = 0.05``
    Balanced accuracy (mean per-class recall, scikit-learn's ``balanced_accuracy_score``) at or
    below chance ``1/K`` plus this margin counts as "at chance". A constant predictor scores
    exactly ``1/K`` when every class is present in the truth (REFERENCES.md: "balanced accuracy
    at chance (1/K for a constant predictor)"); 5 points (one sample in twenty per class) allows
    for small validation sets. At chance alone gives *partial collapse*.
``partial_zero_recall = 2``
    Number of classes present in the truth that are never correctly predicted (recall 0, from
    REFERENCES.md "classes with zero recall") at or above which a model that is not collapsed is
    a *partial collapse*: one missed class can be a hard class, two or more is a model that has
    given up on part of the label space.

Prevalence signature: exactly one class is predicted and accuracy equals that class's
prevalence in the truth (within 1e-9). This is the exercise's 13.33 % = 10 / 75 and always means
*collapsed*.

Verdict: "undetermined" if the truth holds a single class (every rule would fire on a correct
model: a validation set taken from class-sorted data, the exercise's Phase 4B failure); else
"collapsed" if the share rule, the entropy rule or the prevalence signature fires; otherwise
"partial collapse" if the zero-recall rule or the at-chance rule fires; otherwise "healthy".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, recall_score

from geoai_ref.classes import CLASS_NAMES, NUM_CLASSES
from geoai_ref.evaluation import check_inputs


@dataclass(frozen=True)
class CollapseThresholds:
    """Decision thresholds of ``detect_collapse``; see the module docstring for each one's origin."""

    majority_share: float = 0.9
    normalized_entropy: float = 0.2
    balanced_accuracy_margin: float = 0.05
    partial_zero_recall: int = 2


#: The default thresholds: the only place their values are set.
THRESHOLDS = CollapseThresholds()

PREVALENCE_TOLERANCE = 1e-9  # |accuracy - prevalence| within which the prevalence signature holds
_EPS = 1e-12  # float slack so that a value exactly at a threshold counts as "at" it

VERDICT_COLLAPSED = "collapsed"
VERDICT_PARTIAL = "partial collapse"
VERDICT_HEALTHY = "healthy"
#: The truth holds a single class (a validation set taken from class-sorted data): predicting that
#: one class is then right, not a collapse, and no other class can be checked.
VERDICT_UNDETERMINED = "undetermined"


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f} %"


@dataclass
class CollapseReport:
    """Collapse signals for one set of predictions, the verdict and the reasons for it."""

    n_samples: int
    n_classes: int
    majority_class: int
    majority_class_name: str
    majority_share: float
    normalized_entropy: float
    predicted_classes: list[int]
    zero_recall_classes: list[str]
    balanced_accuracy: float
    chance_level: float
    accuracy: float
    majority_class_prevalence: float
    prevalence_signature: bool
    verdict: str
    collapsed: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary (Python floats / ints / bools / strings / lists only)."""
        return {
            "n_samples": int(self.n_samples),
            "n_classes": int(self.n_classes),
            "majority_class": int(self.majority_class),
            "majority_class_name": str(self.majority_class_name),
            "majority_share": float(self.majority_share),
            "normalized_entropy": float(self.normalized_entropy),
            "predicted_classes": [int(c) for c in self.predicted_classes],
            "zero_recall_classes": [str(c) for c in self.zero_recall_classes],
            "balanced_accuracy": float(self.balanced_accuracy),
            "chance_level": float(self.chance_level),
            "accuracy": float(self.accuracy),
            "majority_class_prevalence": float(self.majority_class_prevalence),
            "prevalence_signature": bool(self.prevalence_signature),
            "verdict": str(self.verdict),
            "collapsed": bool(self.collapsed),
            "reasons": [str(r) for r in self.reasons],
        }

    @property
    def summary(self) -> str:
        """One line: verdict, dominant class and its share, accuracy and balanced accuracy against chance."""
        return (f"{self.verdict}: {_pct(self.majority_share)} of {self.n_samples} predictions are "
                f"{self.majority_class_name}, {len(self.predicted_classes)}/{self.n_classes} classes predicted, "
                f"accuracy {_pct(self.accuracy, 2)}, balanced accuracy {_pct(self.balanced_accuracy, 2)} "
                f"(chance {_pct(self.chance_level, 2)})")


def normalized_entropy(pred: np.ndarray, n_classes: int) -> float:
    """Entropy of the predicted-class frequencies divided by ``log(n_classes)``: 0 = one class, 1 = uniform.

    Raises:
        ValueError: if ``n_classes`` < 2 (the normalisation ``log K`` is 0).
    """
    if n_classes < 2:
        raise ValueError(f"normalised entropy needs at least 2 classes, got n_classes={n_classes}")
    counts = np.bincount(np.asarray(pred, dtype=np.int64), minlength=n_classes).astype(float)
    p = counts[counts > 0] / counts.sum()
    h = float(-(p * np.log(p)).sum())
    return max(0.0, h / math.log(n_classes))


def detect_collapse(y_true: Any, y_pred: Any, n_classes: int = NUM_CLASSES,
                    class_names: Sequence[str] = CLASS_NAMES,
                    thresholds: CollapseThresholds = THRESHOLDS) -> CollapseReport:
    """Collapse signals and verdict ("collapsed" | "partial collapse" | "healthy" | "undetermined") for predictions.

    "undetermined" means ``y_true`` holds a single class, so a one-class prediction cannot be told
    from a correct one.

    ``y_pred`` may be integer class ids (1-D) or an (n, K) probability matrix (argmax over axis 1).

    Raises:
        ValueError: if ``n_classes`` < 2, ``class_names`` does not hold ``n_classes`` names, or the inputs
            are empty, differ in length, hold labels outside 0..K-1, or are a probability matrix with NaN
            or with a column count other than ``n_classes``.
    """
    if n_classes < 2:
        raise ValueError(f"collapse detection needs at least 2 classes, got n_classes={n_classes}")
    names = [str(n) for n in class_names]
    if len(names) != n_classes:
        raise ValueError(f"class_names has {len(names)} names but n_classes is {n_classes}; pass one name per "
                         f"class id (class_names=[...]) together with n_classes")
    true, pred = check_inputs(y_true, y_pred, n_classes)
    n = int(true.shape[0])
    labels = list(range(n_classes))

    pred_counts = np.bincount(pred, minlength=n_classes)
    true_counts = np.bincount(true, minlength=n_classes)
    majority = int(np.argmax(pred_counts))  # ties: lowest class id
    majority_share = float(pred_counts[majority] / n)
    entropy = normalized_entropy(pred, n_classes)
    predicted_classes = [int(c) for c in np.flatnonzero(pred_counts)]

    recall = recall_score(true, pred, labels=labels, average=None, zero_division=0)
    zero_recall = [names[c] for c in labels if true_counts[c] > 0 and recall[c] == 0]
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true" is expected, not an error
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(balanced_accuracy_score(true, pred))
    chance = 1.0 / n_classes
    accuracy = float(accuracy_score(true, pred))
    prevalence = float(true_counts[majority] / n)
    signature = len(predicted_classes) == 1 and abs(accuracy - prevalence) <= PREVALENCE_TOLERANCE

    t = thresholds
    share_rule = majority_share >= t.majority_share - _EPS
    entropy_rule = entropy <= t.normalized_entropy + _EPS
    zero_recall_rule = len(zero_recall) >= t.partial_zero_recall
    chance_rule = balanced <= chance + t.balanced_accuracy_margin + _EPS

    name = names[majority]
    reasons: list[str] = []
    if signature:
        reasons.append(f"accuracy {_pct(accuracy, 2)} equals the prevalence of {name}, the only class predicted: "
                       f"the model predicts one class for everything")
    if share_rule:
        reasons.append(f"{_pct(majority_share)} of predictions are {name} (threshold {100 * t.majority_share:g} %)")
    if entropy_rule:
        reasons.append(f"normalised prediction entropy {entropy:.3f} is at or below {t.normalized_entropy:g} "
                       f"(0 = one class only, 1 = all {n_classes} classes equally often)")
    if zero_recall_rule:
        reasons.append(f"{len(zero_recall)} classes present in the truth are never correctly predicted (recall 0): "
                       f"{', '.join(zero_recall)} (threshold {t.partial_zero_recall})")
    if chance_rule:
        reasons.append(f"balanced accuracy {_pct(balanced, 2)} is at or below chance 1/{n_classes} = {_pct(chance, 2)} "
                       f"(margin {100 * t.balanced_accuracy_margin:g} points)")

    one_class_truth = int(np.count_nonzero(true_counts)) < 2
    if one_class_truth:
        verdict = VERDICT_UNDETERMINED
        reasons = [f"the truth holds one class only ({names[int(np.argmax(true_counts))]}): collapse cannot be "
                   "judged, and accuracy measures that class alone; split with stratify=y so every class is "
                   "validated"]
    elif share_rule or entropy_rule or signature:
        verdict = VERDICT_COLLAPSED
    elif zero_recall_rule or chance_rule:
        verdict = VERDICT_PARTIAL
    else:
        verdict = VERDICT_HEALTHY

    return CollapseReport(
        n_samples=n,
        n_classes=n_classes,
        majority_class=majority,
        majority_class_name=name,
        majority_share=majority_share,
        normalized_entropy=entropy,
        predicted_classes=predicted_classes,
        zero_recall_classes=zero_recall,
        balanced_accuracy=balanced,
        chance_level=chance,
        accuracy=accuracy,
        majority_class_prevalence=prevalence,
        prevalence_signature=bool(signature),
        verdict=verdict,
        collapsed=verdict == VERDICT_COLLAPSED,
        reasons=reasons,
    )
