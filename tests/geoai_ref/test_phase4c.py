"""geoai_ref.phase4c: four SimpleCNNs trained for real on a small fused set, and the deliverables written from them.

test_run.py runs the phase on the full fixtures; here the set is 40 + 20 patches and training stops after two
epochs, so that every saved model can be checked against the metrics recorded for it.
"""

import json

import matplotlib.image as mpimg
import numpy as np
import pytest
from conftest import assert_plain_json

from geoai_ref import layout
from geoai_ref.ablation import BAND_SUBSETS, select_bands
from geoai_ref.evaluation import evaluate
from geoai_ref.phase4c import run_phase4c
from geoai_ref.recipes import SIMPLE_CNN_LEARNING_RATE, Profile
from geoai_ref.schemas import AblationStudy, ModelResult, read_json
from geoai_ref.training import predict_labels

pytestmark = pytest.mark.slow

PROFILE = Profile("tiny", max_epochs=2, patience=1, reduce_lr_patience=1)
RESNET_ACCURACY = {"S2": 0.2, "S2+MODIS": 0.25, "S2+DEM": 0.3, "Full": 0.35}


def read_png(path) -> np.ndarray:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    image = mpimg.imread(path)
    assert image[..., :3].std() > 0.05, f"{path} is blank"
    return image


def resnet_study() -> AblationStudy:
    """The Phase 4B results the report compares against (only their accuracies are read)."""
    results = [ModelResult(name=n, bands=list(BAND_SUBSETS[n]), accuracy=a, macro_f1=a, evaluation={}, collapse={},
                           training={}) for n, a in RESNET_ACCURACY.items()]
    return AblationStudy(phase="4B", model="ResNet-50", configurations=results, best_configuration="Full", split={})


@pytest.fixture(scope="module")
def phase(tmp_path_factory):
    """run_phase4c on 40 training and 20 validation 8-band patches whose class shows in every band."""
    tmp_path = tmp_path_factory.mktemp("phase4c")
    data_root, out = tmp_path / "data", tmp_path / "out"
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 12)
    x = (rng.normal(size=(60, 8, 8, 8)) + y[:, None, None, None]).astype(np.float32)
    train, val = np.arange(60) % 3 != 0, np.arange(60) % 3 == 0
    for root, rel, array in ((data_root, layout.Y_TRAIN, y[train]), (data_root, layout.Y_VAL, y[val]),
                             (out, layout.X_TRAIN_FUSED, x[train]), (out, layout.X_VAL_FUSED, x[val])):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        np.save(root / rel, array)
    study = run_phase4c(data_root, out, PROFILE, seed=9, resnet=resnet_study())
    return out, study, x[val], y[val]


def test_one_model_per_configuration_is_saved_at_its_layout_path_and_takes_its_bands(phase):
    from geoai_ref.models import keras

    out, study, _, _ = phase
    saved = sorted(p.relative_to(out) for p in (out / layout.PHASE4C_MODELS).iterdir())
    assert saved == sorted(layout.PHASE4C_MODEL_FILES.values())
    for name, rel in layout.PHASE4C_MODEL_FILES.items():
        assert study.result(name).model_path == str(out / rel)
        model = keras.models.load_model(out / rel, compile=False)
        assert model.input_shape == (None, 8, 8, len(BAND_SUBSETS[name])) and model.output_shape == (None, 5)


def test_each_saved_model_reproduces_the_metrics_recorded_for_it(phase):
    from geoai_ref.models import keras

    out, study, x_val, y_val = phase
    for r in study.configurations:
        model = keras.models.load_model(out / layout.PHASE4C_MODEL_FILES[r.name], compile=False)
        metrics = evaluate(y_val, predict_labels(model, select_bands(x_val, BAND_SUBSETS[r.name])))
        assert r.evaluation == metrics.to_dict()
        assert (r.accuracy, r.macro_f1) == (metrics.accuracy, metrics.macro_f1)


def test_collapse_fields_agree_with_the_recorded_confusion_matrix(phase):
    _, study, _, y_val = phase
    for r in study.configurations:
        matrix = np.array(r.evaluation["confusion_matrix"])
        predicted_per_class = matrix.sum(axis=0)
        c = r.collapse
        assert c["n_samples"] == matrix.sum() == len(y_val)
        assert c["accuracy"] == r.accuracy == pytest.approx(np.trace(matrix) / matrix.sum())
        assert c["predicted_classes"] == np.flatnonzero(predicted_per_class).tolist()
        assert c["majority_share"] == pytest.approx(predicted_per_class.max() / len(y_val))
        assert c["collapsed"] == (c["verdict"] == "collapsed")


def test_evaluation_results_json_is_what_run_phase4c_returns_in_the_schema_layout(phase):
    out, study, _, _ = phase
    path = out / layout.PHASE4C_RESULTS
    assert read_json(path, AblationStudy) == study
    assert_plain_json(json.loads(path.read_text()), allow_none=True)
    assert study.phase == "4C" and "SimpleCNN" in study.model and study.pretrained is None
    assert [r.name for r in study.configurations] == list(BAND_SUBSETS)
    assert [r.bands for r in study.configurations] == [list(b) for b in BAND_SUBSETS.values()]
    assert (study.split["n_train"], study.split["n_val"]) == (40, 20)
    for r in study.configurations:
        config = r.training["config"]
        assert config["learning_rate"] == SIMPLE_CNN_LEARNING_RATE and config["seed"] == 9
        assert config["max_epochs"] == PROFILE.max_epochs and config["patience"] == PROFILE.patience
        assert 1 <= r.training["best_epoch"] <= r.training["epochs_run"] <= PROFILE.max_epochs


def test_best_configuration_is_the_most_accurate_with_macro_f1_breaking_ties(phase):
    _, study, _, _ = phase
    best = max(study.configurations, key=lambda r: (r.accuracy, r.macro_f1))
    assert study.best_configuration == best.name


def test_figures_are_real_images_with_one_confusion_matrix_per_configuration(phase):
    out, _, _, _ = phase
    assert read_png(out / layout.PHASE4C_CONFUSION).shape[:2] == (520, 4 * 520)
    assert read_png(out / layout.PHASE4C_ACCURACY).shape[:2] == (480, 800)


def test_report_compares_with_resnet_and_the_log_quotes_the_accuracies(phase):
    out, study, _, _ = phase
    report = (out / layout.PHASE4C_REPORT).read_text()
    for r in study.configurations:
        assert f"| {r.name} | {len(r.bands)} | {100 * r.accuracy:.2f} % |" in report
        assert f"| {r.name} | {100 * r.accuracy:.2f} % | {100 * RESNET_ACCURACY[r.name]:.2f} % |" in report
    log = (out / layout.EXPERIMENT_LOG).read_text()
    assert log.count("## ") == 1 and "Phase 4C" in log
    accuracies = "; ".join(f"{r.name} {100 * r.accuracy:.2f} %" for r in study.configurations)
    assert f"{accuracies}; best {study.best_configuration}" in log


def test_missing_sources_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="s2_l2a_composite.tif"):
        run_phase4c(tmp_path / "data", tmp_path / "out", PROFILE)
