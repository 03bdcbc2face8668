"""geoai_ref.phase4b: the fused dataset, its band subsets, and the ResNet-50 ablation's deliverables.

The real run (four ResNet-50s trained on the fixtures) is in test_run.py; here the ablation's bookkeeping
is tested with the ResNet-50 training replaced by models whose predictions the test chooses.
"""

import json
from types import SimpleNamespace

import matplotlib.image as mpimg
import numpy as np
import pytest
from conftest import assert_plain_json

from geoai_ref import layout, phase4b
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.evaluation import evaluate
from geoai_ref.experiment import WEEK3_SPLIT, evaluate_model
from geoai_ref.phase4b import load_fused, run_phase4b, subset
from geoai_ref.recipes import EXERCISE_RECIPE, Profile
from geoai_ref.schemas import AblationStudy, read_json

TINY_PROFILE = Profile("tiny", max_epochs=1, patience=1, reduce_lr_patience=1)
Y_VAL = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])


def read_png(path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    image = mpimg.imread(path)
    assert image[..., :3].std() > 0.05, f"{path} is blank"
    return image


def write_week3_labels_and_fused_arrays(data_root, out):
    """A data folder with only the Week 3 labels, and a run folder that already holds the fused arrays."""
    rng = np.random.default_rng(2)
    y_train = np.repeat(np.arange(5), 4)
    x_train = rng.uniform(0, 1, size=(20, 8, 8, 8)).astype(np.float32)
    x_val = rng.uniform(0, 1, size=(10, 8, 8, 8)).astype(np.float32)
    for root, rel, array in ((data_root, layout.Y_TRAIN, y_train), (data_root, layout.Y_VAL, Y_VAL),
                             (out, layout.X_TRAIN_FUSED, x_train), (out, layout.X_VAL_FUSED, x_val)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        np.save(root / rel, array)
    return x_train, y_train, x_val


def test_load_fused_reuses_the_fused_arrays_already_in_the_run_folder(tmp_path):
    x_train, y_train, x_val = write_week3_labels_and_fused_arrays(tmp_path / "data", tmp_path / "out")
    # the data folder has no rasters: running the pipeline would raise FileNotFoundError
    fused = load_fused(tmp_path / "data", tmp_path / "out")
    assert np.array_equal(fused.x_train, x_train) and np.array_equal(fused.x_val, x_val)
    assert np.array_equal(fused.y_train, y_train) and np.array_equal(fused.y_val, Y_VAL)
    assert fused.bands == FUSED_BANDS and fused.split_method == WEEK3_SPLIT
    assert not (tmp_path / "out" / "aligned").exists()


def test_load_fused_runs_the_data_pipeline_when_the_fused_arrays_are_missing(tmp_path, monkeypatch):
    x_train, y_train, x_val = write_week3_labels_and_fused_arrays(tmp_path / "data", tmp_path / "made")
    calls = []

    def fake_pipeline(data_root, out, show_progress=True):
        # stands in for the real pipeline (tested in test_pipeline.py): it writes the two fused arrays
        calls.append((data_root, out, show_progress))
        for rel in (layout.X_TRAIN_FUSED, layout.X_VAL_FUSED):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes((tmp_path / "made" / rel).read_bytes())

    monkeypatch.setattr(phase4b, "run_data_pipeline", fake_pipeline)
    out = tmp_path / "out"
    fused = load_fused(tmp_path / "data", out, show_progress=True)
    assert calls == [(tmp_path / "data", out, True)]
    assert np.array_equal(fused.x_train, x_train) and np.array_equal(fused.y_val, Y_VAL)
    load_fused(tmp_path / "data", out)
    assert len(calls) == 1  # the second time the arrays are there


def test_load_fused_without_sources_names_the_missing_raster(tmp_path):
    with pytest.raises(FileNotFoundError, match="s2_l2a_composite.tif"):
        load_fused(tmp_path / "data", tmp_path / "out")


@pytest.mark.parametrize("name", list(BAND_SUBSETS))
def test_subset_keeps_the_samples_and_split_and_takes_the_named_bands(tmp_path, name):
    write_week3_labels_and_fused_arrays(tmp_path / "data", tmp_path / "out")
    fused = load_fused(tmp_path / "data", tmp_path / "out")
    part = subset(fused, name)
    assert part.bands == BAND_SUBSETS[name]
    for x_part, x_all in ((part.x_train, fused.x_train), (part.x_val, fused.x_val)):
        assert x_part.shape == (*x_all.shape[:3], len(BAND_SUBSETS[name]))
        for k, band in enumerate(BAND_SUBSETS[name]):
            assert np.array_equal(x_part[..., k], x_all[..., FUSED_BANDS.index(band)])
    assert part.y_train is fused.y_train and part.y_val is fused.y_val
    assert part.split_method == fused.split_method


def test_subset_rejects_an_unknown_configuration(tmp_path):
    write_week3_labels_and_fused_arrays(tmp_path / "data", tmp_path / "out")
    with pytest.raises(KeyError, match="S1"):
        subset(load_fused(tmp_path / "data", tmp_path / "out"), "S1")


# Chosen predictions per configuration. S2+MODIS and S2+DEM both score 80 %; S2+DEM spreads its two errors over
# two classes and has the higher macro F1, so it must be the best configuration (ties broken by macro F1).
PREDICTIONS = {
    "S2": np.array([0, 1, 1, 0, 2, 3, 3, 2, 4, 4]),  # 60 %
    "S2+MODIS": np.array([0, 0, 1, 1, 2, 2, 3, 3, 0, 0]),  # 80 %, never predicts Water
    "S2+DEM": np.array([0, 1, 1, 1, 2, 2, 3, 3, 4, 0]),  # 80 %
    "Full": np.array([0, 0, 1, 1, 2, 3, 3, 0, 4, 0]),  # 70 %
}


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    """run_phase4b with each ResNet-50 replaced by a model that predicts PREDICTIONS[configuration]."""
    tmp_path = tmp_path_factory.mktemp("phase4b")
    data_root, out = tmp_path / "data", tmp_path / "out"
    write_week3_labels_and_fused_arrays(data_root, out)
    calls = []

    class Chosen:
        def __init__(self, labels):
            self.labels = labels

        def predict(self, x, batch_size=None, verbose=0):
            return np.eye(5, dtype=np.float32)[self.labels]

    def fake_train_resnet(name, data, recipe, profile, weights, allow_random_init, seed, checkpoint=None):
        # run_phase4b's job is the ablation around the training (which is tested in test_phase4a.py)
        calls.append(SimpleNamespace(name=name, data=data, recipe=recipe, profile=profile, weights=weights,
                                     allow_random_init=allow_random_init, seed=seed, checkpoint=checkpoint))
        training = {"epochs_run": 1, "best_epoch": 1, "history": {"loss": [1.0]}}
        result = evaluate_model(name, data.bands, Chosen(PREDICTIONS[name]), data.x_val, data.y_val, training,
                                checkpoint)
        return result, SimpleNamespace(pretrained=False, weights_source=None), None

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(phase4b, "train_resnet", fake_train_resnet)
        study = run_phase4b(data_root, out, TINY_PROFILE, EXERCISE_RECIPE, weights="imagenet",
                            allow_random_init=True, seed=5)
    return out, study, calls


def test_the_chosen_predictions_tie_on_accuracy_but_not_on_macro_f1():
    scores = {name: evaluate(Y_VAL, pred) for name, pred in PREDICTIONS.items()}
    assert [round(s.accuracy, 2) for s in scores.values()] == [0.6, 0.8, 0.8, 0.7]
    assert scores["S2+DEM"].macro_f1 > scores["S2+MODIS"].macro_f1


def test_every_configuration_is_trained_with_the_same_recipe_on_its_own_bands(ablation):
    out, _, calls = ablation
    assert [c.name for c in calls] == list(BAND_SUBSETS)
    for call in calls:
        assert call.data.bands == BAND_SUBSETS[call.name]
        assert call.data.x_train.shape == (20, 8, 8, len(BAND_SUBSETS[call.name]))
        assert (call.recipe, call.profile, call.weights, call.allow_random_init, call.seed) == (
            EXERCISE_RECIPE, TINY_PROFILE, "imagenet", True, 5)
    # the Full configuration is the fusion model, saved once; the others are not saved
    assert {c.name: c.checkpoint for c in calls} == {"S2": None, "S2+MODIS": None, "S2+DEM": None,
                                                     "Full": out / layout.PHASE4B_MODEL}


def test_best_configuration_is_the_most_accurate_with_macro_f1_breaking_ties(ablation):
    _, study, _ = ablation
    assert study.best_configuration == "S2+DEM"


def test_ablation_json_is_what_run_phase4b_returns_in_the_schema_layout(ablation):
    out, study, _ = ablation
    path = out / layout.PHASE4B_ABLATION
    assert read_json(path, AblationStudy) == study
    assert_plain_json(json.loads(path.read_text()), allow_none=True)
    assert study.phase == "4B" and study.model == "ResNet-50 (conv1_inflation, exercise recipe)"
    assert study.pretrained is False
    assert [r.name for r in study.configurations] == list(BAND_SUBSETS)
    assert [r.bands for r in study.configurations] == [list(b) for b in BAND_SUBSETS.values()]
    assert study.split == {"method": WEEK3_SPLIT, "n_train": 20, "n_val": 10,
                           "val_class_counts": {"Agriculture": 2, "Forest": 2, "Parcels": 2, "Urban": 2,
                                                "Water": 2}}
    assert study.result("Full").model_path == str(out / layout.PHASE4B_MODEL)
    assert any("phase4b_fusion_model.h5" in note for note in study.notes)


def test_recorded_scores_match_each_configurations_predictions(ablation):
    _, study, _ = ablation
    for r in study.configurations:
        expected = evaluate(Y_VAL, PREDICTIONS[r.name])
        assert (r.accuracy, r.macro_f1) == (expected.accuracy, expected.macro_f1)
        assert r.evaluation["confusion_matrix"] == expected.confusion_matrix
    assert study.result("S2+MODIS").collapse["zero_recall_classes"] == ["Water"]


def test_sensor_figure_baseline_report_and_log_are_written_from_the_results(ablation):
    out, _, _ = ablation
    assert read_png(out / layout.PHASE4B_SENSOR_FIGURE).shape[:2] == (480, 800)
    report = (out / layout.BASELINE_REPORT).read_text()
    assert "Best configuration: **S2+DEM**" in report
    assert "| S2 | 6 | 60.00 % |" in report and "| S2+DEM | 7 | 80.00 % |" in report
    assert "| Full | 8 | 70.00 % |" in report
    assert f"see `{layout.CONFIG.as_posix()}`" in report
    assert "Backbone not pretrained" in report
    assert "- S2+MODIS: " in report and "Water" in report  # the class it never recognises
    log = (out / layout.EXPERIMENT_LOG).read_text()
    assert log.count("## ") == 1 and "Phase 4B" in log
    assert "S2 60.00 %; S2+MODIS 80.00 %; S2+DEM 80.00 %; Full 70.00 %; best S2+DEM" in log
