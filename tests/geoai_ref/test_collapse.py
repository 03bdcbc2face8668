"""Tests for geoai_ref.collapse: the exercise's one-class ResNet-50, healthy and partial models, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import assert_plain_json
from hypothesis import given, settings
from hypothesis import strategies as st

from geoai_ref.classes import CLASS_NAMES, NUM_CLASSES, class_id
from geoai_ref.collapse import (
    THRESHOLDS,
    CollapseReport,
    CollapseThresholds,
    detect_collapse,
    normalized_entropy,
)

AGRI = class_id("Parcels")
EXERCISE_COUNTS = (12, 20, 10, 13, 20)  # validation class counts of the exercise; Parcels = 10 of 75


def exercise_truth() -> np.ndarray:
    return np.repeat(np.arange(NUM_CLASSES), EXERCISE_COUNTS)


def confusion_to_labels(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) realising confusion matrix ``cm`` (rows true, columns predicted)."""
    true, pred = [], []
    for i, row in enumerate(cm):
        for j, count in enumerate(row):
            true += [i] * int(count)
            pred += [j] * int(count)
    return np.array(true), np.array(pred)


# --- the exercise --------------------------------------------------------------------------------


def test_exercise_all_agriculture_is_collapsed_with_prevalence_signature() -> None:
    y_true = exercise_truth()
    assert y_true.size == 75
    report = detect_collapse(y_true, np.full(75, AGRI))

    assert report.accuracy == pytest.approx(10 / 75)
    assert round(report.accuracy, 4) == 0.1333
    assert report.verdict == "collapsed"
    assert report.collapsed is True
    assert report.prevalence_signature is True
    assert report.majority_class == AGRI
    assert report.majority_class_name == "Parcels"
    assert report.majority_share == 1.0
    assert report.majority_class_prevalence == pytest.approx(10 / 75)
    assert report.normalized_entropy == 0.0
    assert report.predicted_classes == [AGRI]
    assert report.zero_recall_classes == ["Agriculture", "Forest", "Urban", "Water"]
    assert report.balanced_accuracy == pytest.approx(0.2)
    assert report.chance_level == pytest.approx(0.2)
    assert report.balanced_accuracy == pytest.approx(report.chance_level)
    assert report.n_samples == 75 and report.n_classes == 5


def test_exercise_reasons_name_agriculture_and_the_numbers() -> None:
    report = detect_collapse(exercise_truth(), np.full(75, AGRI))
    text = "\n".join(report.reasons)
    assert "Parcels" in text
    assert ("accuracy 13.33 % equals the prevalence of Parcels, the only class predicted: "
            "the model predicts one class for everything") in report.reasons
    assert "100.0 % of predictions are Parcels (threshold 90 %)" in report.reasons
    assert any("balanced accuracy 20.00 %" in r for r in report.reasons)
    assert any("4 classes" in r and "Agriculture" in r for r in report.reasons)
    assert report.summary.startswith("collapsed:")
    assert "Parcels" in report.summary and "13.33 %" in report.summary
    assert "\n" not in report.summary


def test_to_dict_is_plain_json() -> None:
    report = detect_collapse(exercise_truth(), np.full(75, AGRI))
    d = report.to_dict()
    assert_plain_json(d)
    assert json.loads(json.dumps(d)) == d
    assert set(d) == set(CollapseReport.__dataclass_fields__)
    assert d["verdict"] == "collapsed" and d["prevalence_signature"] is True


# --- healthy, partial and near collapse ----------------------------------------------------------


def test_healthy_model_with_spread_errors() -> None:
    # 20 samples per class, 17 correct (85 %), the 3 errors go to three different classes
    cm = np.full((5, 5), 0)
    for i in range(5):
        cm[i, i] = 17
        for k in range(1, 4):
            cm[i, (i + k) % 5] = 1
    y_true, y_pred = confusion_to_labels(cm)
    report = detect_collapse(y_true, y_pred)
    assert report.accuracy == pytest.approx(0.85)
    assert report.verdict == "healthy"
    assert report.collapsed is False
    assert report.prevalence_signature is False
    assert report.reasons == []
    assert report.zero_recall_classes == []
    assert report.balanced_accuracy == pytest.approx(0.85)
    assert report.normalized_entropy == pytest.approx(1.0)


def test_never_predicting_two_classes_is_partial_collapse() -> None:
    # classes 0-2 always right; Urban is always called Agriculture, Water always Forest
    y_true = np.repeat(np.arange(5), 20)
    y_pred = y_true.copy()
    y_pred[y_true == 3] = 0
    y_pred[y_true == 4] = 1
    report = detect_collapse(y_true, y_pred)
    assert report.verdict == "partial collapse"
    assert report.collapsed is False
    assert report.zero_recall_classes == ["Urban", "Water"]
    assert report.majority_share == pytest.approx(0.4)
    assert report.balanced_accuracy == pytest.approx(0.6)
    assert any("Urban" in r and "Water" in r and "recall 0" in r for r in report.reasons)


def test_one_zero_recall_class_alone_is_healthy() -> None:
    y_true = np.repeat(np.arange(5), 20)
    y_pred = y_true.copy()
    y_pred[y_true == 3] = 0
    report = detect_collapse(y_true, y_pred)
    assert report.zero_recall_classes == ["Urban"]
    assert report.verdict == "healthy"


def test_balanced_accuracy_at_chance_alone_is_partial_collapse() -> None:
    # every true class is predicted as each class equally often: recall 0.2 everywhere, no zero recall
    cm = np.full((5, 5), 5)
    y_true, y_pred = confusion_to_labels(cm)
    report = detect_collapse(y_true, y_pred)
    assert report.zero_recall_classes == []
    assert report.majority_share == pytest.approx(0.2)
    assert report.balanced_accuracy == pytest.approx(0.2)
    assert report.verdict == "partial collapse"
    assert any("at or below chance" in r for r in report.reasons)


def test_near_collapse_at_92_percent_share_is_collapsed_by_share_rule_alone() -> None:
    y_true = np.repeat(np.arange(5), 20)
    y_pred = np.full(100, AGRI)
    for c in (0, 1, 3, 4):  # two correct predictions of each other class
        y_pred[np.flatnonzero(y_true == c)[:2]] = c
    report = detect_collapse(y_true, y_pred)
    assert report.majority_share == pytest.approx(0.92)
    assert report.normalized_entropy > THRESHOLDS.normalized_entropy  # the entropy rule does not fire
    assert report.prevalence_signature is False
    assert report.verdict == "collapsed"
    assert "92.0 % of predictions are Parcels (threshold 90 %)" in report.reasons
    assert not any("entropy" in r for r in report.reasons)


def test_entropy_rule_alone_collapses_with_many_classes() -> None:
    # K = 10, 85 % / 15 % over two classes: share below 0.9 but H / log 10 = 0.184 <= 0.2
    names = [f"c{i}" for i in range(10)]
    y_true = np.repeat(np.arange(10), 10)
    y_pred = np.where(np.arange(100) < 85, 0, 1)
    report = detect_collapse(y_true, y_pred, n_classes=10, class_names=names)
    expected = -(0.85 * math.log(0.85) + 0.15 * math.log(0.15)) / math.log(10)
    assert report.normalized_entropy == pytest.approx(expected)
    assert report.majority_share < THRESHOLDS.majority_share
    assert report.verdict == "collapsed"
    assert any("entropy" in r for r in report.reasons)
    assert not any("of predictions are" in r for r in report.reasons)


def test_custom_thresholds_change_the_verdict() -> None:
    y_true = np.repeat(np.arange(5), 20)
    y_pred = np.full(100, AGRI)
    for c in (0, 1, 3, 4):
        y_pred[np.flatnonzero(y_true == c)[:2]] = c
    assert detect_collapse(y_true, y_pred).verdict == "collapsed"
    # balanced accuracy is (4 * 0.1 + 1.0) / 5 = 0.28: not at chance with the default 0.05 margin
    lenient_share = CollapseThresholds(majority_share=0.95)
    assert detect_collapse(y_true, y_pred, thresholds=lenient_share).verdict == "healthy"
    wide_margin = CollapseThresholds(majority_share=0.95, balanced_accuracy_margin=0.1)
    assert detect_collapse(y_true, y_pred, thresholds=wide_margin).verdict == "partial collapse"


def test_prevalence_signature_alone_collapses() -> None:
    # with the share and entropy rules switched off, the one-class signature still decides
    off = CollapseThresholds(majority_share=1.5, normalized_entropy=-1.0)
    report = detect_collapse(exercise_truth(), np.full(75, AGRI), thresholds=off)
    assert report.prevalence_signature is True
    assert report.verdict == "collapsed"
    assert not any("of predictions are" in r or "entropy" in r for r in report.reasons)


def test_thresholds_are_the_documented_defaults_and_frozen() -> None:
    assert THRESHOLDS == CollapseThresholds(0.9, 0.2, 0.05, 2)
    with pytest.raises(AttributeError):
        THRESHOLDS.majority_share = 0.5  # type: ignore[misc]
    import geoai_ref.collapse as mod

    for name in ("majority_share", "normalized_entropy", "balanced_accuracy_margin", "partial_zero_recall"):
        assert name in (mod.__doc__ or "")


# --- entropy -------------------------------------------------------------------------------------


def test_normalized_entropy_matches_hand_computation() -> None:
    # predicted shares 1/2, 1/4, 1/4 -> H = 1.5 bits; normalised by log2(5)
    y_pred = np.array([0] * 50 + [1] * 25 + [2] * 25)
    expected = 1.5 / math.log2(5)
    assert normalized_entropy(y_pred, 5) == pytest.approx(expected)
    report = detect_collapse(np.repeat(np.arange(5), 20), y_pred)
    assert report.normalized_entropy == pytest.approx(0.6460148371)


def test_normalized_entropy_extremes_and_error() -> None:
    assert normalized_entropy(np.zeros(10, dtype=int), 5) == 0.0
    assert normalized_entropy(np.arange(5), 5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        normalized_entropy(np.zeros(3, dtype=int), 1)


# --- probability input ---------------------------------------------------------------------------


def test_probability_matrix_equals_label_input() -> None:
    rng = np.random.default_rng(0)
    y_true = np.repeat(np.arange(5), 15)
    probs = rng.dirichlet(np.ones(5), size=75)
    by_probs = detect_collapse(y_true, probs)
    by_labels = detect_collapse(y_true, probs.argmax(axis=1))
    assert by_probs.to_dict() == by_labels.to_dict()


def test_collapsed_softmax_output_is_detected() -> None:
    probs = np.tile([0.1, 0.15, 0.5, 0.1, 0.15], (75, 1))  # softmax stuck on Parcels
    report = detect_collapse(exercise_truth(), probs)
    assert report.collapsed and report.prevalence_signature
    assert report.accuracy == pytest.approx(10 / 75)


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([], [], "y_true is empty"),
        ([0, 1], [], "y_pred is empty"),
        ([0, 1], np.zeros((0, 5)), "y_pred is empty"),
        ([0, 1, 2], [0, 1], "y_true has 3 samples but y_pred has 2"),
        ([0, 1, 2], np.full((2, 5), 0.2), "y_true has 3 samples but y_pred has 2"),
        ([0, 5, 7, 5], [0, 1, 2, 3], r"y_true has labels outside 0\.\.4: \[5, 7\]"),
        ([0, 1, 2], [0, -1, 255], r"y_pred has labels outside 0\.\.4: \[-1, 255\]"),
        ([0, 1], [[0.5, 0.5, 0, 0, 0], [np.nan, 0.5, 0, 0, 0]], r"contains NaN in 1 row\(s\) \(first: \[1\]\)"),
        ([0, 1], np.full((2, 3), 1 / 3), "probability matrix has 3 columns but there are 5 classes"),
        ([0, 1], [[0], [1]], r"has 1 columns .*y_pred\.ravel\(\)"),
        ([0.0, 1.5], [0, 1], r"y_true contains non-integer values \[1\.5\]"),
        ([0, 1], np.zeros((2, 5, 1)), "got shape"),
        (["Agriculture", "Forest"], [0, 1], "y_true must hold integer class ids"),
    ],
)
def test_value_errors_are_actionable(y_true: object, y_pred: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        detect_collapse(y_true, y_pred)


def test_class_names_must_match_n_classes() -> None:
    with pytest.raises(ValueError, match="class_names has 5 names but n_classes is 3"):
        detect_collapse([0, 1, 2], [0, 1, 2], n_classes=3)
    with pytest.raises(ValueError, match="at least 2 classes"):
        detect_collapse([0, 0], [0, 0], n_classes=1, class_names=["only"])


def test_float_labels_that_are_whole_numbers_are_accepted() -> None:
    report = detect_collapse(exercise_truth().astype(np.float32), np.full(75, float(AGRI)))
    assert report.prevalence_signature


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    y_true=st.lists(st.integers(0, NUM_CLASSES - 1), min_size=1, max_size=200),
    constant=st.integers(0, NUM_CLASSES - 1),
)
def test_constant_predictor_is_always_collapsed(y_true: list[int], constant: int) -> None:
    """A constant predictor is collapsed whenever the truth holds two classes or more (else: undetermined)."""
    report = detect_collapse(y_true, [constant] * len(y_true))
    prevalence = y_true.count(constant) / len(y_true)
    if len(set(y_true)) < 2:
        assert report.verdict == "undetermined" and not report.collapsed
        return
    assert report.verdict == "collapsed"
    assert report.collapsed
    assert report.prevalence_signature
    assert abs(report.accuracy - prevalence) <= 1e-12
    assert report.majority_class_prevalence == pytest.approx(prevalence)
    assert report.majority_class == constant and report.majority_class_name == CLASS_NAMES[constant]


@st.composite
def truth_with_three_or_more_classes(draw: st.DrawFn) -> list[int]:
    """Labels with >= 3 classes present, each 2..20 times (so no class exceeds 20 / 24 of the data), shuffled."""
    present = draw(st.lists(st.integers(0, NUM_CLASSES - 1), min_size=3, max_size=NUM_CLASSES, unique=True))
    labels: list[int] = []
    for c in present:
        labels += [c] * draw(st.integers(2, 20))
    return draw(st.permutations(labels))


@settings(max_examples=200, deadline=None)
@given(y_true=truth_with_three_or_more_classes())
def test_perfect_predictor_is_never_collapsed(y_true: list[int]) -> None:
    report = detect_collapse(y_true, list(y_true))
    assert not report.collapsed
    assert report.verdict == "healthy"
    assert report.prevalence_signature is False
    assert report.balanced_accuracy == pytest.approx(1.0)
    assert report.accuracy == 1.0
    assert report.zero_recall_classes == []


def test_one_class_truth_is_undetermined_not_collapsed() -> None:
    """Keras validation_split on class-sorted data: all 75 validation samples are Water."""
    y_true = np.full(75, class_id("Water"))
    report = detect_collapse(y_true, y_true)  # a model right on every one of them
    assert report.verdict == "undetermined" and not report.collapsed
    assert report.accuracy == 1.0
    (reason,) = report.reasons
    assert "one class only (Water)" in reason and "stratify=y" in reason
    wrong = detect_collapse(y_true, np.full(75, class_id("Agriculture")))
    assert wrong.verdict == "undetermined" and wrong.accuracy == 0.0  # the exercise's 0 %
