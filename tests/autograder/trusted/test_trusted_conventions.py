"""Models without a Normalization layer: judged by the notebook's per-band contract, or by ImageNet
preprocess_input when only that reproduces the student's own reported accuracy (the exercise's recipe)."""

import numpy as np
import pytest

from autograder.trusted.reeval import Convention, Split, SubmittedModel, _choose_convention, imagenet_preprocess
from autograder.trusted.reference import grader_data

CONTRACT, IMAGENET = Convention.PER_BAND, Convention.IMAGENET


@pytest.mark.parametrize("channels", [3, 6, 8])
def test_imagenet_preprocess_matches_keras(channels):
    from keras.applications.resnet import preprocess_input

    x = np.random.default_rng(0).uniform(0, 0.5, size=(4, 8, 8, channels)).astype(np.float32)
    np.testing.assert_allclose(imagenet_preprocess(x), preprocess_input(x.copy()), rtol=1e-6, atol=1e-4)


def _probs(labels: np.ndarray) -> np.ndarray:
    return np.eye(5, dtype=np.float32)[labels]


def _conventions(accuracy_contract: float, accuracy_imagenet: float) -> dict[Convention, dict[Split, np.ndarray]]:
    """Predictions on the 75 validation patches that score the given accuracies under each convention."""
    y = grader_data().y_val
    out = {}
    for name, accuracy in ((CONTRACT, accuracy_contract), (IMAGENET, accuracy_imagenet)):
        pred = y.copy()
        wrong = int(round(len(y) * (1 - accuracy)))
        pred[:wrong] = (pred[:wrong] + 1) % 5
        out[name] = {Split.VALIDATION: _probs(pred), Split.HIDDEN: _probs(np.zeros(170, dtype=int))}
    return out


@pytest.mark.parametrize("reported,expected", [
    (0.16, IMAGENET),  # the exercise's recipe, reported honestly: judged as the student ran it
    (0.80, CONTRACT),  # matches the contract
    (0.99, CONTRACT),  # matches neither (inflated): the contract, and the metrics check will say so
    (None, CONTRACT),  # nothing reported
])
def test_convention_follows_the_reported_accuracy(reported, expected):
    model = SubmittedModel(None, "models/week4/phase4a_transfer_model.h5")
    assert _choose_convention(model, _conventions(0.80, 0.16), reported) == expected
    assert model.evidence["validation_accuracy_by_input"] == pytest.approx({CONTRACT: 0.80, IMAGENET: 0.16},
                                                                          abs=0.01)


def test_contract_wins_when_both_match():
    model = SubmittedModel(None, "m.h5")
    assert _choose_convention(model, _conventions(0.60, 0.60), 0.60) == CONTRACT
