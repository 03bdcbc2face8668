"""geoai_ref.phase4a: what each recipe does to the raw patches inside ResNet-50, the Week 3 baseline, and the
phase's deliverables.

The real end-to-end run (ResNet-50 trained on the fixtures) is in test_run.py; here each function is
tested on its own, with the training replaced where the behaviour under test does not depend on it.
"""

import json
import shutil
from dataclasses import replace
from types import SimpleNamespace

import matplotlib.image as mpimg
import numpy as np
import pytest
from conftest import assert_plain_json

from geoai_ref import layout, phase4a
from geoai_ref.bands import S2_BANDS
from geoai_ref.classes import class_id
from geoai_ref.collapse import detect_collapse
from geoai_ref.course import to_reflectance
from geoai_ref.evaluation import evaluate
from geoai_ref.experiment import Dataset, evaluate_model, load_week3
from geoai_ref.models.resnet import FreezeReport, PretrainedWeightsUnavailable
from geoai_ref.phase4a import run_phase4a, train_resnet, week3_baseline
from geoai_ref.recipes import EXERCISE_RECIPE, RECOMMENDED_RECIPE, Profile
from geoai_ref.schemas import Phase4AMetrics, read_json
from geoai_ref.training import TrainConfig, predict_labels

TINY_PROFILE = Profile("tiny", max_epochs=1, patience=1, reduce_lr_patience=1)


def read_png(path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    image = mpimg.imread(path)
    assert image[..., :3].std() > 0.05, f"{path} is blank"
    return image


def small_dataset(n_bands: int = 6, bands: tuple[str, ...] = S2_BANDS) -> Dataset:
    rng = np.random.default_rng(4)
    y = np.repeat(np.arange(5), 4)
    x = rng.uniform(0.01, 0.6, size=(20, 8, 8, n_bands)).astype(np.float32)
    return Dataset(x[:15], y[:15], x[15:], y[15:], bands, "test split")


def test_unknown_input_handling_is_rejected_with_the_valid_choices():
    with pytest.raises(ValueError, match=r"unknown input handling 'zscore'; use 'per_band' or 'imagenet_preprocess'"):
        train_resnet("m", small_dataset(), replace(RECOMMENDED_RECIPE, input_handling="zscore"), TINY_PROFILE, None,
                     allow_random_init=False, seed=1)


def test_week3_baseline_rescores_the_week3_model_on_the_same_validation_set(fixtures_root):
    from geoai_ref.models import keras

    data = load_week3(fixtures_root)
    baseline = week3_baseline(fixtures_root, data)
    record = json.loads((fixtures_root / layout.WEEK3_MODEL_INFO).read_text())
    assert baseline["val_accuracy"] == pytest.approx(record["val_accuracy"], abs=1e-4)
    assert baseline["source"] == str(fixtures_root / layout.WEEK3_MODEL)
    model = keras.models.load_model(fixtures_root / layout.WEEK3_MODEL, compile=False)
    y_pred = predict_labels(model, to_reflectance(data.x_val))  # the course's model: scaled outside it
    metrics = evaluate(data.y_val, y_pred)
    assert (baseline["val_accuracy"], baseline["macro_f1"]) == (metrics.accuracy, metrics.macro_f1)
    assert baseline["collapse_verdict"] == detect_collapse(data.y_val, y_pred).verdict
    assert_plain_json(baseline)


def test_week3_baseline_without_the_week3_model_says_where_it_looked(tmp_path):
    baseline = week3_baseline(tmp_path, small_dataset())
    assert baseline == {"val_accuracy": None, "source": f"{tmp_path / layout.WEEK3_MODEL} not found"}


def fake_fit(calls: list):
    def fit_and_evaluate(name, model, data, config, checkpoint=None):
        # train_resnet's job is building, freezing and configuring: the fitting itself is tested in
        # test_experiment.py, and one ResNet-50 epoch costs about 30 s of graph tracing on 2 cores
        calls.append(SimpleNamespace(name=name, model=model, data=data, config=config, checkpoint=checkpoint))
        return "the result"
    return fit_and_evaluate


@pytest.mark.parametrize("recipe", [RECOMMENDED_RECIPE, EXERCISE_RECIPE], ids=lambda r: r.name)
def test_train_resnet_builds_freezes_and_configures_the_model_as_the_recipe_says(recipe, monkeypatch, tmp_path):
    from geoai_ref.models import keras

    calls = []
    monkeypatch.setattr(phase4a, "fit_and_evaluate", fake_fit(calls))
    data = small_dataset()
    result, build, freeze = train_resnet("m", data, recipe, TINY_PROFILE, weights=None, allow_random_init=False,
                                         seed=7, checkpoint=tmp_path / "m.h5")
    (call,) = calls
    assert result == "the result" and call.name == "m" and call.data is data
    assert call.model is build.model and call.checkpoint == tmp_path / "m.h5"
    assert call.config == TrainConfig.from_profile(TINY_PROFILE, recipe.learning_rate, 7)
    model = build.model
    assert model.input_shape == (None, 8, 8, 6) and model.output_shape == (None, 5)
    assert model.get_layer("dropout").rate == recipe.dropout
    layer_names = [layer.name for layer in model.layers]
    assert ("per_band_normalization" in layer_names) == (recipe.input_handling == "per_band")
    assert ("imagenet_preprocess" in layer_names) == (recipe.input_handling == "imagenet_preprocess")
    assert build.normalization == recipe.input_handling
    assert build.pretrained is False and build.weights_source is None
    layers = build.base.layers
    cut = recipe.freeze_layers if recipe.freeze_layers is not None else round(recipe.freeze_ratio * len(layers))
    is_bn = [isinstance(layer, keras.layers.BatchNormalization) for layer in layers]
    assert not any(layer.trainable for layer in layers[:cut])
    # after the cut everything trains, except BatchNorm when it is kept in inference mode
    assert [layer.trainable for layer in layers[cut:]] == [not (bn and recipe.bn_inference) for bn in is_bn[cut:]]
    assert freeze.frozen_layers == cut + (sum(is_bn[cut:]) if recipe.bn_inference else 0)
    # the numbers recipes.py documents: 126/175 layers for the recommended recipe, 150/175 for the exercise's
    assert (freeze.frozen_layers, freeze.total_layers) == ((126, 175) if recipe.bn_inference else (150, 175))


def test_train_resnet_without_imagenet_weights_refuses_unless_random_init_is_allowed(monkeypatch, tmp_path):
    monkeypatch.delenv("GEOAI_RESNET50_WEIGHTS", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(PretrainedWeightsUnavailable, match="--allow-random-init"):
        train_resnet("m", small_dataset(), RECOMMENDED_RECIPE, TINY_PROFILE, "imagenet", allow_random_init=False,
                     seed=1)


def test_train_resnet_rejects_patches_with_nan():
    data = small_dataset()
    data.x_train[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train_resnet("m", data, RECOMMENDED_RECIPE, TINY_PROFILE, None, allow_random_init=False, seed=1)


def test_train_resnet_rejects_patches_whose_band_count_differs_from_the_band_names():
    data = small_dataset(n_bands=8, bands=S2_BANDS)  # 8-band fused patches labelled as the 6 S2 bands
    with pytest.raises(ValueError, match=r"Input shape mismatch: x_train must be \(n, 8, 8, 6\)"):
        train_resnet("m", data, RECOMMENDED_RECIPE, TINY_PROFILE, None, allow_random_init=False, seed=1)


def test_run_phase4a_without_the_week3_data_says_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="X_train.npy not found.*geoai-ref fixtures"):
        run_phase4a(tmp_path / "empty", tmp_path / "out", TINY_PROFILE, weights=None)


HISTORY = {"loss": [1.6, 1.5, 1.55], "accuracy": [0.2, 0.25, 0.22],
           "val_loss": [1.6, 1.58, 1.59], "val_accuracy": [0.1333, 0.1333, 0.1333]}
FREEZE = FreezeReport(frozen_layers=150, total_layers=175, layer_fraction=150 / 175, frozen_params=13_600_000,
                      total_params=23_600_000, param_fraction=13.6 / 23.6)


@pytest.fixture(scope="module")
def run_without_week3_model(fixtures_root, tmp_path_factory):
    """run_phase4a on the Week 3 arrays but no Week 3 model, with a ResNet-50 that predicts Agriculture only.

    The deliverables are written from the ModelResult whatever model produced it, so the training is replaced
    (the real training is run by test_run.py).
    """
    tmp_path = tmp_path_factory.mktemp("phase4a")
    data_root = tmp_path / "data"
    for rel in (layout.X_TRAIN, layout.Y_TRAIN, layout.X_VAL, layout.Y_VAL):
        (data_root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(fixtures_root / rel, data_root / rel)
    calls = []

    class ForestOnly:  # Forest is 10 of the 75 validation patches: the exercise's 13.33 %
        def predict(self, x, batch_size=None, verbose=0):
            return np.eye(5, dtype=np.float32)[np.full(len(x), class_id("Forest"))]

    def fake_train_resnet(name, data, recipe, profile, weights, allow_random_init, seed, checkpoint=None):
        calls.append(SimpleNamespace(name=name, data=data, recipe=recipe, profile=profile, weights=weights,
                                     allow_random_init=allow_random_init, seed=seed, checkpoint=checkpoint))
        result = evaluate_model(name, data.bands, ForestOnly(), data.x_val, data.y_val,
                                {"epochs_run": 3, "best_epoch": 1, "history": HISTORY}, checkpoint)
        return result, SimpleNamespace(pretrained=False, weights_source=None), FREEZE

    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(phase4a, "train_resnet", fake_train_resnet)
        metrics = run_phase4a(data_root, out, TINY_PROFILE, EXERCISE_RECIPE, weights="imagenet",
                              allow_random_init=True, seed=11)
    return data_root, out, metrics, calls


def test_run_phase4a_trains_one_resnet_on_the_week3_data_saved_at_the_exercise_path(run_without_week3_model):
    data_root, out, _, calls = run_without_week3_model
    (call,) = calls
    assert call.name == "phase4a_transfer_model" and call.checkpoint == out / layout.PHASE4A_MODEL
    assert (call.recipe, call.profile, call.weights, call.allow_random_init, call.seed) == (
        EXERCISE_RECIPE, TINY_PROFILE, "imagenet", True, 11)
    assert call.data.bands == S2_BANDS and np.array_equal(call.data.x_val, np.load(data_root / layout.X_VAL))


def test_run_phase4a_metrics_json_is_what_it_returns_in_the_schema_layout(run_without_week3_model):
    data_root, out, metrics, _ = run_without_week3_model
    path = out / layout.PHASE4A_METRICS
    assert read_json(path, Phase4AMetrics) == metrics
    assert_plain_json(json.loads(path.read_text()), allow_none=True)
    assert metrics.phase == "4A" and metrics.recipe == EXERCISE_RECIPE.to_dict()
    assert metrics.model == "ResNet-50 (conv1_inflation), 8x8 upsampled to 32x32"
    assert metrics.pretrained is False and metrics.weights_source is None
    assert metrics.freeze == FREEZE.to_dict() | {"summary": FREEZE.summary}
    assert metrics.split == load_week3(data_root).split_info()
    assert metrics.result.accuracy == pytest.approx(10 / 75)
    assert metrics.result.collapse["verdict"] == "collapsed"
    assert metrics.week3_baseline == {"val_accuracy": None,
                                      "source": f"{data_root / layout.WEEK3_MODEL} not found"}


def test_run_phase4a_report_and_log_say_the_baseline_is_missing_and_quote_the_collapse(run_without_week3_model):
    _, out, _, _ = run_without_week3_model
    comparison = (out / layout.PHASE4A_COMPARISON).read_text()
    assert "The Week 3 baseline was not available, so no comparison could be made." in comparison
    assert "| 13.33 % |" in comparison and "collapsed" in comparison
    log = (out / layout.EXPERIMENT_LOG).read_text()
    assert log.count("## ") == 1 and "Phase 4A" in log
    assert "accuracy 13.33 % vs Week 3 n/a; collapse verdict: collapsed" in log
    assert "pretrained=False" in log and FREEZE.summary in log


def test_run_phase4a_draws_the_training_curves_and_the_confusion_matrix(run_without_week3_model):
    _, out, _, _ = run_without_week3_model
    assert read_png(out / layout.PHASE4A_CURVES).shape[:2] == (420, 1100)
    assert read_png(out / layout.PHASE4A_CONFUSION).shape[:2] == (550, 650)
