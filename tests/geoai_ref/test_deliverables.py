"""The deliverables checker: each kind of artifact, good and broken (the full run is checked in test_run.py)."""

import json
import shutil
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from geoai_ref import layout  # noqa: E402
from geoai_ref.deliverables import (  # noqa: E402
    DeliverablesReport,
    check_deliverables,
    check_figure,
    check_fused,
    check_json,
    check_model,
    check_text,
    inspect_h5_model,
)
from geoai_ref.models import keras  # noqa: E402
from geoai_ref.pipeline import run_data_pipeline  # noqa: E402
from geoai_ref.schemas import AblationStudy, Phase4AMetrics  # noqa: E402


def one(check, *args) -> tuple[bool, str]:
    report = DeliverablesReport()
    check(report, *args)
    (c,) = report.checks
    return c.passed, c.message


def save(model, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    return path


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    inputs = keras.Input((8, 8, 6))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = keras.layers.Dense(5, activation="softmax", name="probabilities")(x)
    return save(keras.Model(inputs, outputs), tmp_path_factory.mktemp("m") / "model.h5")


def test_model_checked_without_loading_it(small_model, tmp_path):
    summary = inspect_h5_model(small_model)
    assert summary.input_shape == (None, 8, 8, 6) and summary.output_units == 5
    assert one(check_model, small_model, "m.h5", 6)[0]
    passed, message = one(check_model, small_model, "m.h5", 8)
    assert not passed and "takes 6 bands, expected 8" in message


def test_sequential_and_wrong_head(tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 8)), keras.layers.Flatten(), keras.layers.Dense(3)])
    passed, message = one(check_model, save(model, tmp_path / "s.h5"), "s.h5", 8)
    assert not passed and "output has 3 units, expected 5 classes" in message


@pytest.mark.parametrize("wrapper", ["sequential", "functional"])
def test_a_network_wrapped_with_its_normalisation_is_read_through(small_model, tmp_path, wrapper):
    """The 4A notebook's saved model: a Normalization layer in front of the trained network (a nested model)."""
    network = keras.models.load_model(small_model, compile=False)
    norm = keras.layers.Normalization(axis=-1, mean=[0.1] * 6, variance=[0.01] * 6)
    if wrapper == "sequential":
        model = keras.Sequential([keras.Input((8, 8, 6)), norm, network])
    else:
        inputs = keras.Input((8, 8, 6))
        model = keras.Model(inputs, network(norm(inputs)))
    summary = inspect_h5_model(save(model, tmp_path / "wrapped.h5"))
    assert summary.input_shape == (None, 8, 8, 6) and summary.output_units == 5
    assert "Normalization" in summary.layer_classes and "Dense" in summary.layer_classes
    assert one(check_model, tmp_path / "wrapped.h5", "wrapped.h5", 6)[0]


def test_lambda_layer_is_flagged(tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 6)), keras.layers.Lambda(lambda t: t * 2.0),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(5)])
    passed, message = one(check_model, save(model, tmp_path / "l.h5"), "l.h5", 6)
    assert not passed and "Lambda layer" in message


def test_corrupt_weights_only_and_missing_models(small_model, tmp_path):
    (tmp_path / "bad.h5").write_bytes(b"not hdf5 at all")
    assert "not a readable HDF5 file" in one(check_model, tmp_path / "bad.h5", "bad.h5", 6)[1]
    inputs = keras.Input((8, 8, 6))
    model = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(inputs)))
    model.save_weights(tmp_path / "w.weights.h5")
    assert "weights only" in one(check_model, tmp_path / "w.weights.h5", "w.h5", 6)[1]
    assert "missing: save the trained model" in one(check_model, tmp_path / "none.h5", "none.h5", 6)[1]


@pytest.fixture(scope="module")
def fused(fixtures_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("fused")
    run_data_pipeline(fixtures_root, out, show_progress=False)
    return out


def test_fused_arrays_good_and_band_order(fused, tmp_path):
    rel = layout.X_VAL_FUSED
    assert one(check_fused, fused / rel, rel, 75, fused)[0]
    x = np.load(fused / rel)
    swapped = x.copy()
    swapped[..., [0, 2]] = x[..., [2, 0]]  # B2 and B4 exchanged: both still in the reflectance range
    (tmp_path / "s.npy").parent.mkdir(exist_ok=True)
    np.save(tmp_path / "s.npy", swapped)
    passed, message = one(check_fused, tmp_path / "s.npy", rel, 75, fused)
    assert not passed and "channel 0 looks like B4" in message and "channel 2 looks like B2" in message


def test_fused_arrays_broken(fused, tmp_path):
    rel = layout.X_VAL_FUSED
    x = np.load(fused / rel)
    raw = x.copy()
    raw[..., 6] *= 10000  # NDVI left as MOD13Q1 integers
    np.save(tmp_path / "raw.npy", raw)
    assert "multiply by 0.0001" in one(check_fused, tmp_path / "raw.npy", rel, 75, None)[1]
    np.save(tmp_path / "short.npy", x[..., :6])
    assert "expected (75, 8, 8, 8)" in one(check_fused, tmp_path / "short.npy", rel, 75, None)[1]
    nan = x.copy()
    nan[0, 0, 0, 7] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    assert "band DEM: 1 of" in one(check_fused, tmp_path / "nan.npy", rel, 75, None)[1]
    (tmp_path / "junk.npy").write_text("junk")
    assert "not a readable .npy" in one(check_fused, tmp_path / "junk.npy", rel, 75, None)[1]


def test_metrics_json(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"phase": "4C", "model": "x", "best_configuration": "S2", "split": {},
                                "configurations": [{"name": "S2", "bands": [], "accuracy": 88.0, "macro_f1": 0.8,
                                                    "evaluation": {}, "collapse": {}, "training": {}}]}))
    assert "report fractions, not percentages" in one(check_json, path, "m.json", AblationStudy)[1]
    data = json.loads(path.read_text())
    data["configurations"][0]["accuracy"] = 0.88
    path.write_text(json.dumps(data))
    assert "needs S2, S2+MODIS, S2+DEM and Full" in one(check_json, path, "m.json", AblationStudy)[1]
    assert "lacks the key(s)" in one(check_json, path, "m.json", Phase4AMetrics)[1]


def test_figures(tmp_path):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "good.png", dpi=100)
    plt.close(fig)
    assert one(check_figure, tmp_path / "good.png", "good.png")[0]
    fig = plt.figure(figsize=(4, 3))
    fig.savefig(tmp_path / "blank.png", dpi=100)
    plt.close(fig)
    assert "blank" in one(check_figure, tmp_path / "blank.png", "blank.png")[1]
    (tmp_path / "bad.png").write_text("no image")
    assert "not a readable PNG" in one(check_figure, tmp_path / "bad.png", "bad.png")[1]


def test_reports_and_config(tmp_path):
    path = tmp_path / "r.md"
    path.write_text("# Baseline\n## Methods\n" + "text " * 60 + "\n## Results\nmore\n")
    passed, message = one(check_text, path, layout.BASELINE_REPORT)
    assert not passed and "missing section(s) ['failure', 'next step']" in message
    path.write_text("short")
    assert "only 5 characters" in one(check_text, path, layout.PHASE4C_REPORT)[1]
    path.write_text("a: [1, 2\n" + "# padding\n" * 40)
    assert "not valid YAML" in one(check_text, path, layout.CONFIG)[1]


def test_empty_folder_reports_every_missing_file(tmp_path):
    report = check_deliverables(tmp_path)
    assert not report.ok
    missing = [c for c in report.failures if c.message.startswith("missing")]
    assert len(missing) == sum(len(v) for v in layout.DELIVERABLES.values())
    assert {c.path for c in missing} >= {str(rel) for rel in layout.PHASE4C_MODEL_FILES.values()}


def test_copied_fused_folder_passes_its_own_checks(fused, tmp_path):
    shutil.copytree(fused / "data", tmp_path / "data")
    report = check_deliverables(tmp_path, ("4b",), reference=fused)
    passed = {c.path for c in report.checks if c.passed}
    assert {str(layout.X_TRAIN_FUSED), str(layout.X_VAL_FUSED)} <= passed
