"""geoai_ref.experiment: the Week 3 dataset, and one model trained, evaluated and collapse-checked as a ModelResult."""

import shutil
from dataclasses import asdict

import numpy as np
import pytest
from conftest import COURSE_VAL_SUPPORT, assert_plain_json

from geoai_ref import experiment, layout
from geoai_ref.bands import S2_BANDS
from geoai_ref.classes import CLASS_NAMES, class_id
from geoai_ref.evaluation import evaluate
from geoai_ref.experiment import WEEK3_SPLIT, Dataset, evaluate_model, fit_and_evaluate, load_week3
from geoai_ref.training import TrainConfig, TrainingOutcome, predict_labels

WEEK3_ARRAYS = (layout.X_TRAIN, layout.Y_TRAIN, layout.X_VAL, layout.Y_VAL)


class FixedPredictions:
    """Stands in for a Keras model: predicts the given class ids (as one-hot probabilities) whatever the input."""

    def __init__(self, labels) -> None:
        self.labels = np.asarray(labels)

    def predict(self, x, batch_size=None, verbose=0):
        assert len(x) == len(self.labels)
        return np.eye(len(CLASS_NAMES), dtype=np.float32)[self.labels]


class ClassInFirstPixel:
    """Stands in for a Keras model: predicts the class id written in each patch's first value."""

    def predict(self, x, batch_size=None, verbose=0):
        return np.eye(len(CLASS_NAMES), dtype=np.float32)[x[:, 0, 0, 0].astype(int)]


def toy_dataset(bands=("B2", "B3", "B4")) -> Dataset:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 12)
    x = (rng.normal(size=(60, 8, 8, len(bands))) + y[:, None, None, None]).astype(np.float32)
    return Dataset(x[::2], y[::2], x[1::2], y[1::2], tuple(bands), "toy split")


def test_split_info_counts_the_validation_samples_of_every_class():
    y_val = np.array([0, 0, 2, 4, 4, 4])
    data = Dataset(np.zeros((10, 8, 8, 6)), np.arange(10) % 5, np.zeros((6, 8, 8, 6)), y_val, S2_BANDS, "my split")
    info = data.split_info()
    assert info == {"method": "my split", "n_train": 10, "n_val": 6,
                    "val_class_counts": {"Agriculture": 2, "Forest": 0, "Parcels": 1, "Urban": 0, "Water": 3}}
    assert list(info["val_class_counts"]) == list(CLASS_NAMES)
    assert_plain_json(info)


def test_load_week3_reads_the_four_arrays_with_the_sentinel2_bands(fixtures_root):
    data = load_week3(fixtures_root)
    for array, rel in zip((data.x_train, data.y_train, data.x_val, data.y_val), WEEK3_ARRAYS, strict=True):
        assert np.array_equal(array, np.load(fixtures_root / rel))
    assert data.x_train.shape == (300, 8, 8, 6) and data.x_val.shape == (75, 8, 8, 6)
    assert data.bands == S2_BANDS and data.split_method == WEEK3_SPLIT
    info = data.split_info()
    assert (info["n_train"], info["n_val"]) == (300, 75)
    assert info["val_class_counts"] == COURSE_VAL_SUPPORT


@pytest.mark.parametrize("missing", WEEK3_ARRAYS, ids=lambda p: p.name)
def test_load_week3_names_the_missing_array_and_how_to_make_it(fixtures_root, tmp_path, missing):
    for rel in WEEK3_ARRAYS:
        if rel != missing:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(fixtures_root / rel, tmp_path / rel)
    with pytest.raises(FileNotFoundError, match=rf"{missing.name} not found: generate the data with `geoai-ref "
                                                r"fixtures --out DIR`"):
        load_week3(tmp_path)


def week3_like_labels() -> np.ndarray:
    """75 validation labels with the Week 3 class counts (Parcels: 10)."""
    return np.repeat(np.arange(5), [15, 20, 10, 15, 15])


def test_evaluate_model_of_an_agriculture_only_model_reports_the_exercise_collapse():
    y_val = week3_like_labels()
    x_val = np.zeros((75, 8, 8, 6), dtype=np.float32)
    model = FixedPredictions(np.full(75, class_id("Parcels")))
    training = {"epochs_run": 3, "best_epoch": 1}
    result = evaluate_model("resnet", S2_BANDS, model, x_val, y_val, training)
    assert result.accuracy == pytest.approx(10 / 75) == result.evaluation["accuracy"]
    assert result.macro_f1 == result.evaluation["macro_f1"]
    matrix = np.array(result.evaluation["confusion_matrix"])
    assert matrix.sum() == 75 and matrix[:, 2].sum() == 75  # every prediction in the Parcels column
    collapse = result.collapse
    assert collapse["verdict"] == "collapsed" and collapse["collapsed"] is True
    assert collapse["prevalence_signature"] and collapse["majority_class_name"] == "Parcels"
    assert collapse["majority_share"] == 1.0 and collapse["predicted_classes"] == [2]
    assert collapse["accuracy"] == result.accuracy and collapse["n_samples"] == 75
    assert result.name == "resnet" and result.bands == list(S2_BANDS) and result.training is training
    assert result.model_path is None
    assert_plain_json(asdict(result), allow_none=True)


def test_evaluate_model_of_a_perfect_model_is_healthy_and_records_the_model_path(tmp_path):
    y_val = week3_like_labels()
    result = evaluate_model("cnn", ["B2"], FixedPredictions(y_val), np.zeros((75, 8, 8, 1)), y_val, {},
                            model_path=tmp_path / "m.h5")
    assert result.accuracy == 1.0 and result.macro_f1 == 1.0
    assert np.array_equal(result.evaluation["confusion_matrix"], np.diag([15, 20, 10, 15, 15]))
    assert result.collapse["verdict"] == "healthy" and result.collapse["zero_recall_classes"] == []
    assert result.model_path == str(tmp_path / "m.h5")


CONFIG = TrainConfig(learning_rate=1e-3, max_epochs=2, patience=2, reduce_lr_patience=1, seed=3)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A SimpleCNN fitted on the toy set for two epochs (a few seconds), with its checkpoint."""
    from geoai_ref.models.simple_cnn import build_simple_cnn, set_deterministic

    data = toy_dataset()
    set_deterministic(3)
    model = build_simple_cnn(3, data.x_train)
    checkpoint = tmp_path_factory.mktemp("fit") / "models" / "cnn.h5"
    return data, model, checkpoint, fit_and_evaluate("toy_cnn", model, data, CONFIG, checkpoint)


@pytest.mark.slow
def test_fit_and_evaluate_records_the_training_run(fitted):
    data, _, _, result = fitted
    training = result.training
    assert training["epochs_run"] == len(training["history"]["loss"]) <= CONFIG.max_epochs
    assert 1 <= training["best_epoch"] <= training["epochs_run"]
    assert len(training["seconds_per_epoch"]) == training["epochs_run"]
    assert training["seconds"] > 0 and round(training["seconds"], 2) == training["seconds"]
    assert training["config"] == CONFIG.to_dict()
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(training["history"])
    assert result.name == "toy_cnn" and result.bands == list(data.bands)
    assert_plain_json(asdict(result), allow_none=True)


@pytest.mark.slow
def test_fit_and_evaluate_scores_the_best_epoch_which_is_the_saved_checkpoint(fitted):
    from geoai_ref.models import keras

    data, model, checkpoint, result = fitted
    assert checkpoint.is_file() and result.model_path == str(checkpoint)
    best = result.training["history"]["val_accuracy"][result.training["best_epoch"] - 1]
    assert result.accuracy == pytest.approx(best, abs=1e-6)
    saved = keras.models.load_model(checkpoint, compile=False)
    y_pred = predict_labels(saved, data.x_val)
    assert evaluate(data.y_val, y_pred).confusion_matrix == result.evaluation["confusion_matrix"]
    assert result.collapse["accuracy"] == result.accuracy == pytest.approx(np.mean(y_pred == data.y_val))


def test_fit_and_evaluate_trains_and_scores_on_the_datasets_patches_as_they_are(monkeypatch, tmp_path):
    """Models carry their own preprocessing: training and evaluation both see the dataset's own arrays."""
    base = toy_dataset()
    x_train = np.broadcast_to(base.y_train[:, None, None, None], base.x_train.shape).astype(np.float32)
    x_val = np.broadcast_to(base.y_val[:, None, None, None], base.x_val.shape).astype(np.float32)
    data = Dataset(x_train, base.y_train, x_val, base.y_val, base.bands, base.split_method)
    calls = []

    def fake_train(model, *args):
        # the behaviour under test is which arrays are passed on, not the fitting itself
        calls.append(args)
        return TrainingOutcome(history={"loss": [0.5], "val_accuracy": [1.0]}, best_epoch=1, epochs_run=1,
                               seconds=1.23456, seconds_per_epoch=[1.23456])

    monkeypatch.setattr(experiment, "train", fake_train)
    result = fit_and_evaluate("m", ClassInFirstPixel(), data, CONFIG, tmp_path / "c.h5")
    ((got_x_train, got_y_train, got_x_val, got_y_val, got_config, got_checkpoint),) = calls
    assert got_x_train is data.x_train and got_x_val is data.x_val
    assert got_y_train is data.y_train and got_y_val is data.y_val
    assert got_config == CONFIG and got_checkpoint == tmp_path / "c.h5"
    assert result.accuracy == 1.0  # scored on data.x_val, whose first pixel is the class
    assert result.training["seconds"] == 1.23 and result.training["seconds_per_epoch"] == [1.235]
