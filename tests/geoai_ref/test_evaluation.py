"""Tests for geoai_ref.evaluation: metrics against scikit-learn, absent classes, input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_plain_json
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import classification_report

from geoai_ref.classes import CLASS_NAMES, NUM_CLASSES
from geoai_ref.evaluation import EvaluationMetrics, as_labels, check_inputs, check_labels, evaluate

# fixed example: 20 samples, every class present, a few confusions
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4])
Y_PRED = np.array([0, 0, 1, 0, 1, 1, 2, 1, 1, 2, 2, 4, 3, 0, 3, 3, 4, 4, 2, 4])


def test_matches_sklearn_classification_report() -> None:
    m = evaluate(Y_TRUE, Y_PRED)
    report = classification_report(Y_TRUE, Y_PRED, labels=list(range(NUM_CLASSES)), target_names=list(CLASS_NAMES),
                                   output_dict=True, zero_division=0)
    assert m.accuracy == pytest.approx(report["accuracy"])
    assert m.accuracy == pytest.approx(15 / 20)
    assert m.macro_precision == pytest.approx(report["macro avg"]["precision"])
    assert m.macro_recall == pytest.approx(report["macro avg"]["recall"])
    assert m.macro_f1 == pytest.approx(report["macro avg"]["f1-score"])
    assert m.weighted_f1 == pytest.approx(report["weighted avg"]["f1-score"])
    for name in CLASS_NAMES:
        assert m.per_class[name]["precision"] == pytest.approx(report[name]["precision"])
        assert m.per_class[name]["recall"] == pytest.approx(report[name]["recall"])
        assert m.per_class[name]["f1"] == pytest.approx(report[name]["f1-score"])
        assert m.per_class[name]["support"] == report[name]["support"]
    # hand checks for one class: Forest has 5 true, 4 found; predicted Forest 5 times, 4 right
    assert m.per_class["Forest"] == {"precision": pytest.approx(0.8), "recall": pytest.approx(0.8),
                                     "f1": pytest.approx(0.8), "support": 5}


def test_confusion_matrix_rows_are_truth_columns_are_predictions() -> None:
    m = evaluate(Y_TRUE, Y_PRED)
    cm = np.array(m.confusion_matrix)
    assert cm.shape == (5, 5)
    assert cm[0, 1] == 1  # one Agriculture sample predicted Forest
    assert cm[3, 0] == 1  # one Urban sample predicted Agriculture
    assert cm[2, 4] == 1  # one Parcels sample predicted Water
    assert cm.sum(axis=1).tolist() == [4, 5, 3, 4, 4]
    assert m.class_names == list(CLASS_NAMES)
    assert m.n_samples == 20


@pytest.mark.filterwarnings("error")
def test_absent_classes_score_zero_without_warnings() -> None:
    # Urban (3) and Water (4) appear in neither the truth nor the predictions
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    m = evaluate(y_true, y_pred)
    for name in ("Urban", "Water"):
        assert m.per_class[name] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    cm = np.array(m.confusion_matrix)
    assert cm[3:].sum() == 0 and cm[:, 3:].sum() == 0
    assert m.per_class["Forest"]["support"] == 2


@pytest.mark.filterwarnings("error")
def test_class_predicted_but_never_true_and_true_but_never_predicted_without_warnings() -> None:
    m = evaluate([0, 0, 1, 1], [0, 2, 0, 0])
    assert m.per_class["Parcels"]["precision"] == 0.0 and m.per_class["Parcels"]["support"] == 0
    assert m.per_class["Forest"]["recall"] == 0.0 and m.per_class["Forest"]["support"] == 2


def test_probability_matrix_equals_label_input() -> None:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(5), size=len(Y_TRUE))
    assert evaluate(Y_TRUE, probs).to_dict() == evaluate(Y_TRUE, probs.argmax(axis=1)).to_dict()


def test_to_dict_is_plain_json() -> None:
    d = evaluate(Y_TRUE, Y_PRED).to_dict()
    assert_plain_json(d)
    assert json.loads(json.dumps(d)) == d
    assert set(d) == set(EvaluationMetrics.__dataclass_fields__)
    assert set(d["per_class"]["Agriculture"]) == {"precision", "recall", "f1", "support"}


def test_custom_class_names_set_the_number_of_classes() -> None:
    m = evaluate([0, 1, 1, 2], [0, 1, 2, 2], class_names=["a", "b", "c"])
    assert m.class_names == ["a", "b", "c"]
    assert len(m.confusion_matrix) == 3
    with pytest.raises(ValueError, match=r"outside 0\.\.2: \[3\]"):
        evaluate([0, 1, 3], [0, 1, 2], class_names=["a", "b", "c"])


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([], [], "y_true is empty"),
        ([0, 1], [], "y_pred is empty"),
        ([0, 1, 2], [0, 1], "y_true has 3 samples but y_pred has 2"),
        ([0, 9], [0, 1], r"y_true has labels outside 0\.\.4: \[9\]"),
        ([0, 1], [0, -2], r"y_pred has labels outside 0\.\.4: \[-2\]"),
        ([0, 1], [[np.nan] * 5, [0.2] * 5], "contains NaN in 1 row"),
        ([0, 1], [[np.inf] + [0.0] * 4, [0.2] * 5], "infinite values"),
        ([0, 1], np.full((2, 6), 1 / 6), "has 6 columns but there are 5 classes"),
        ([0, np.nan], [0, 1], "y_true contains NaN"),
        ([[0, 1]], [0, 1], "y_true must be a 1-D array"),
    ],
)
def test_value_errors_are_actionable(y_true: object, y_pred: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(y_true, y_pred)


def test_bad_class_names() -> None:
    with pytest.raises(ValueError, match="class_names is empty"):
        evaluate([0], [0], class_names=[])
    with pytest.raises(ValueError, match=r"duplicate names \['a'\]"):
        evaluate([0], [0], class_names=["a", "b", "a"])


def test_helpers_return_int_labels() -> None:
    assert check_labels([0.0, 2.0, 4.0], 5).tolist() == [0, 2, 4]
    assert check_labels(np.array([1, 2], dtype=np.uint8), 5).dtype == np.int64
    assert as_labels([[0.1, 0.9], [0.7, 0.3]], 2).tolist() == [1, 0]
    assert as_labels([[0.5, 0.5]], 2).tolist() == [0]  # ties go to the lowest class id
    true, pred = check_inputs([0, 1], [[0.9, 0.1], [0.2, 0.8]], 2)
    assert true.tolist() == [0, 1] and pred.tolist() == [0, 1]
    with pytest.raises(ValueError, match="n_classes must be at least 1"):
        check_labels([0], 0)


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, NUM_CLASSES - 1), st.integers(0, NUM_CLASSES - 1)),
                   min_size=1, max_size=200),
)
def test_confusion_matrix_sums_to_n_and_diagonal_gives_accuracy(pairs: list[tuple[int, int]]) -> None:
    y_true = [t for t, _ in pairs]
    y_pred = [p for _, p in pairs]
    m = evaluate(y_true, y_pred)
    cm = np.array(m.confusion_matrix)
    n = len(pairs)
    assert m.n_samples == n
    assert int(cm.sum()) == n
    assert np.trace(cm) / n == pytest.approx(m.accuracy)
    assert m.accuracy == pytest.approx(sum(t == p for t, p in pairs) / n)
    assert [m.per_class[c]["support"] for c in CLASS_NAMES] == cm.sum(axis=1).tolist()
