"""`geoai-ref run --phase all --profile fast`: every deliverable of the exercise, valid and consistent."""

import json
import warnings

import matplotlib.image as mpimg
import numpy as np
import pytest
import yaml
from conftest import COURSE_VAL_SUPPORT, FIXTURES, removed_when_passed

from geoai_ref import layout
from geoai_ref.models import keras
from geoai_ref.phase import Phase
from geoai_ref.recipes import PROFILES
from geoai_ref.run import run_phases
from geoai_ref.schemas import AblationStudy, Phase4AMetrics, read_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(request, fixtures_root, tmp_path_factory):
    with removed_when_passed(request, tmp_path_factory.mktemp("run")) as out:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the random-initialisation notice (tested elsewhere)
            written = run_phases(fixtures_root, out, ["4a", "4b", "4c"], PROFILES["fast"], allow_random_init=True)
        yield out, written


def test_every_deliverable_is_written_at_the_exercise_path(run):
    out, written = run
    expected = [p for phase in Phase for p in layout.DELIVERABLES[phase]]
    for rel in expected + [layout.EXPERIMENT_LOG]:
        assert (out / rel).is_file(), rel
        assert (out / rel) in written
    models = sorted(p.name for p in (out / layout.PHASE4C_MODELS).glob("*.h5"))
    assert models == ["full.h5", "s2.h5", "s2_dem.h5", "s2_modis.h5"]  # the names the notebook and grader use


def test_models_load_and_take_the_right_inputs(run, fixtures_root):
    out, _ = run
    for rel, bands in ((layout.PHASE4A_MODEL, 6), (layout.PHASE4B_MODEL, 8),
                       (layout.PHASE4C_MODEL_FILES["S2+DEM"], 7)):
        model = keras.models.load_model(out / rel, compile=False)
        assert model.input_shape == (None, 8, 8, bands) and model.output_shape == (None, 5)
    x = np.load(out / layout.X_VAL_FUSED)
    probabilities = keras.models.load_model(out / layout.PHASE4B_MODEL, compile=False).predict(x, verbose=0)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)


def test_metrics_files_follow_the_schemas_and_record_pretrained_false(run):
    out, _ = run
    m = read_json(out / layout.PHASE4A_METRICS, Phase4AMetrics)
    assert m.pretrained is False and m.weights_source is None
    record = json.loads((FIXTURES / layout.WEEK3_MODEL_INFO).read_text())  # measured when the fixtures were made
    assert m.week3_baseline["val_accuracy"] == pytest.approx(record["val_accuracy"], abs=1e-3)
    assert 0 <= m.result.accuracy <= 1 and m.result.training["epochs_run"] <= PROFILES["fast"].max_epochs
    assert m.freeze["layer_fraction"] > 0 and m.split["val_class_counts"] == COURSE_VAL_SUPPORT
    b = read_json(out / layout.PHASE4B_ABLATION, AblationStudy)
    c = read_json(out / layout.PHASE4C_RESULTS, AblationStudy)
    assert [r.name for r in b.configurations] == [r.name for r in c.configurations] == ["S2", "S2+MODIS", "S2+DEM",
                                                                                         "Full"]
    assert b.pretrained is False and c.phase == "4C"
    assert b.result("Full").model_path.endswith("phase4b_fusion_model.h5")
    for r in c.configurations:
        matrix = np.array(r.evaluation["confusion_matrix"])
        assert matrix.sum() == 75 and np.trace(matrix) / 75 == pytest.approx(r.accuracy)
        assert r.collapse["verdict"] in {"healthy", "partial collapse", "collapsed", "undetermined"}


def test_config_yaml_can_rerun_the_run(run):
    out, _ = run
    config = yaml.safe_load((out / layout.CONFIG).read_text())
    assert config["command"].startswith("geoai-ref run --phase all --profile fast --recipe recommended --seed 42")
    assert "--allow-random-init" in config["command"]
    assert config["resnet50"]["pretrained"] is False
    assert config["resnet50"]["recipe"]["freeze_ratio"] == 0.6
    assert config["ablation"]["S2+DEM"][-1] == "DEM"
    assert config["profile"]["max_epochs"] == 3


def test_reports_quote_the_measured_numbers(run):
    out, _ = run
    m = read_json(out / layout.PHASE4A_METRICS, Phase4AMetrics)
    comparison = (out / layout.PHASE4A_COMPARISON).read_text()
    assert f"{100 * m.result.accuracy:.2f} %" in comparison and "Backbone not pretrained" in comparison
    c = read_json(out / layout.PHASE4C_RESULTS, AblationStudy)
    report = (out / layout.PHASE4C_REPORT).read_text()
    for r in c.configurations:
        assert f"| {r.name} | {len(r.bands)} | {100 * r.accuracy:.2f} % |" in report
    baseline = (out / layout.BASELINE_REPORT).read_text()
    assert all(s in baseline for s in ("## Methods", "## Results", "## Failures", "## Next steps"))
    log = (out / layout.EXPERIMENT_LOG).read_text()
    assert log.count("## ") == 3


@pytest.mark.parametrize("figure", [layout.PHASE4A_CURVES, layout.PHASE4A_CONFUSION, layout.PHASE4B_SENSOR_FIGURE,
                                    layout.PHASE4C_CONFUSION, layout.PHASE4C_ACCURACY])
def test_figures_are_not_blank(run, figure):
    out, _ = run
    image = mpimg.imread(out / figure)
    assert image.shape[0] > 300 and image[..., :3].std() > 0.05


def test_unknown_phase_and_recipe(fixtures_root, tmp_path):
    with pytest.raises(ValueError, match="unknown phase"):
        run_phases(fixtures_root, tmp_path, ["4d"], PROFILES["fast"])
    with pytest.raises(ValueError, match="unknown recipe"):
        run_phases(fixtures_root, tmp_path, ["4a"], PROFILES["fast"], recipe_name="best")


def test_the_run_passes_the_deliverables_check(run):
    from geoai_ref.deliverables import check_deliverables

    out, _ = run
    report = check_deliverables(out, reference=out)
    assert report.ok, [f"{c.path}: {c.message}" for c in report.failures]
    assert len(report.checks) == sum(len(v) for v in layout.DELIVERABLES.values())  # one entry per file
