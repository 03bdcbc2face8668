"""Trusted checks on snapshot folders: correct submissions pass, each typical fault fails with its flag.

Submissions are built here, never taken from solutions/ (absent in a fresh clone): tiny Keras models
whose last layer is a logistic regression fitted on the patches' per-band means, so they really
classify (accuracy about 0.85) at no training cost. Only two tests start the sandbox (4A, 4C);
the 4B array checks run no model.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from conftest import ALLOW_UNJAILED, FIXTURES, HIDDEN, REPO, assert_plain_json
from sklearn.linear_model import LogisticRegression

from autograder.authoring.release_data import KIT_DATA, fused_reference
from autograder.trusted import sandbox
from autograder.trusted.checks import TRUSTED_CHECKS, trusted_checks
from autograder.trusted.metrics_match import metrics_match
from autograder.trusted.reeval import RAW_INPUT, PhaseModels, SubmittedModel
from autograder.trusted.reported import METRIC_TOLERANCE_SAMPLES, MIN_METRIC_TOLERANCE
from autograder.trusted.result import FLAGS, TrustedResult
from autograder.trusted.sandbox import SandboxLimits
from geoai_ref import layout
from geoai_ref.bands import FUSED_BANDS, S2_BANDS, band_indices
from geoai_ref.collapse import detect_collapse
from geoai_ref.evaluation import evaluate
from geoai_ref.fused_check import NEAREST_ZERO_SHARE
from geoai_ref.schemas import AblationStudy, ModelResult, Phase4AMetrics, write_json

CONFIGS = {"S2": S2_BANDS, "S2+MODIS": (*S2_BANDS, "MODIS_NDVI"), "S2+DEM": (*S2_BANDS, "DEM"), "Full": FUSED_BANDS}
#: The hidden region's patch count, and the largest class's share of the validation set (a model that learnt
#: nothing scores about that much).
N_HIDDEN = len(np.load(HIDDEN / layout.Y_HIDDEN))
MAJORITY = max(np.bincount(np.load(FIXTURES / layout.Y_VAL))) / 75
TEXT = "# Method\nPer-band normalisation, frozen backbone.\n\n# Result\nThe model beats the baseline.\n\n" \
       "# Failure analysis\nNo collapse was seen.\n\n# Next step\nTry more epochs and other freeze ratios.\n" * 2


# ------------------------------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    fused = fused_reference()
    return {"x_train": np.load(FIXTURES / layout.X_TRAIN), "y_train": np.load(FIXTURES / layout.Y_TRAIN),
            "x_val": np.load(FIXTURES / layout.X_VAL), "y_val": np.load(FIXTURES / layout.Y_VAL),
            "xf_train": np.load(fused / layout.X_TRAIN_FUSED), "xf_val": np.load(fused / layout.X_VAL_FUSED)}


class Tiny:
    """A per-band standardisation + logistic regression on patch means, as a Keras model and in NumPy."""

    def __init__(self, x_train: np.ndarray, y_train: np.ndarray) -> None:
        self.mean = x_train.mean(axis=(0, 1, 2))
        self.std = x_train.std(axis=(0, 1, 2))
        lr = LogisticRegression(max_iter=2000).fit(self.features(x_train), y_train)
        self.kernel, self.bias = lr.coef_.T.astype(np.float32), lr.intercept_.astype(np.float32)

    def features(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).mean(axis=(1, 2))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.features(x) @ self.kernel + self.bias).argmax(axis=1)

    def save(self, path: Path, normalization: bool, collapsed: bool = False) -> Path:
        import keras

        bands = len(self.mean)
        inp = keras.Input((8, 8, bands))
        x = keras.layers.Normalization(mean=self.mean, variance=self.std**2)(inp) if normalization else inp
        conv = keras.layers.Conv2D(bands, 1, use_bias=False)
        dense = keras.layers.Dense(5, activation="softmax")
        model = keras.Model(inp, dense(keras.layers.GlobalAveragePooling2D()(conv(x))))
        conv.set_weights([np.eye(bands, dtype=np.float32)[None, None]])
        if collapsed:  # zero kernel, bias favouring Parcels: one class for everything
            dense.set_weights([np.zeros_like(self.kernel), np.array([0, 0, 5, 0, 0], dtype=np.float32)])
        else:
            dense.set_weights([self.kernel, self.bias])
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        return path


def model_result(name: str, bands, y_true, y_pred, accuracy: float | None = None,
                 model_path: str | None = None) -> ModelResult:
    ev = evaluate(y_true, y_pred)
    return ModelResult(name=name, bands=list(bands), accuracy=ev.accuracy if accuracy is None else accuracy,
                       macro_f1=ev.macro_f1 if accuracy is None else accuracy, evaluation=ev.to_dict(),
                       collapse=detect_collapse(y_true, y_pred).to_dict(), training={"epochs_run": 1},
                       model_path=model_path)


def figure(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mpimg.imsave(path, np.random.default_rng(0).random((240, 240, 3)))


def text(path: Path, content: str = TEXT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def by_id(results: list[TrustedResult]) -> dict[str, TrustedResult]:
    return {r.id: r for r in results}


def check_shape_of(results: list[TrustedResult], phase: str) -> None:
    assert [r.id for r in results] == list(TRUSTED_CHECKS[phase])
    for r in results:
        assert r.phase == phase and r.message and set(r.flags) <= set(FLAGS)
        d = r.to_dict()
        assert_plain_json(d, allow_none=True)
        json.dumps(d, allow_nan=False)


# ------------------------------------------------------------------------------------------ phase 4A


def test_correct_4a_submission_passes_every_check(tmp_path, data):
    """A self-contained model (its per-band normalisation inside) is fed the raw patches and passes."""
    tiny = Tiny(data["x_train"], data["y_train"])
    tiny.save(tmp_path / layout.PHASE4A_MODEL, normalization=True)
    result = model_result("ResNet-50", S2_BANDS, data["y_val"], tiny.predict(data["x_val"]))
    week3 = json.loads((FIXTURES / layout.WEEK3_MODEL_INFO).read_text())["val_accuracy"]
    write_json(tmp_path / layout.PHASE4A_METRICS, Phase4AMetrics(
        phase="4A", model="ResNet-50", recipe={}, pretrained=False, weights_source=None, freeze={}, result=result,
        week3_baseline={"val_accuracy": week3, "source": "models/week3/best_model.h5"}, split={}))
    figure(tmp_path / layout.PHASE4A_CURVES)
    figure(tmp_path / layout.PHASE4A_CONFUSION)
    text(tmp_path / layout.PHASE4A_COMPARISON,
         TEXT + f"\n| model | accuracy |\n|---|---|\n| Week 3 | {week3:.2%} |\n| ResNet-50 | {result.accuracy:.2%} |\n")
    notebook = "Week_4_Exercise_Phase4A.ipynb"  # the worked solution: its functions pass the hidden checks' probes
    shutil.copyfile(REPO / "solutions" / "phase4a" / notebook, tmp_path / notebook)

    results = trusted_checks("phase4a", tmp_path, jailed=not ALLOW_UNJAILED)

    check_shape_of(results, "phase4a")
    assert all(r.passed for r in results), [r.message for r in results if not r.passed]
    reeval = by_id(results)["4a_model_reeval"].evidence["models"][str(layout.PHASE4A_MODEL)]
    assert reeval["input"] == RAW_INPUT and reeval["normalization_layer"] is True
    assert reeval["hidden"]["n_samples"] == N_HIDDEN and reeval["validation"]["n_samples"] == 75
    assert reeval["validation"]["accuracy"] > MAJORITY + 0.2 and reeval["hidden"]["collapse"]["verdict"] == "healthy"
    assert set(reeval["validation"]["per_class"]) == {"Agriculture", "Forest", "Parcels", "Urban", "Water"}
    match = by_id(results)["4a_metrics_match"].evidence
    assert match["n"] == 75 and match["reported"]["accuracy"] == pytest.approx(result.accuracy)
    assert abs(match["recomputed"]["accuracy"] - result.accuracy) <= match["tolerance"]


def test_a_model_normalised_outside_is_fed_raw_patches_and_disagrees_with_its_own_report(tmp_path, data):
    """No convention is guessed: the student's file, fed the patches as released, disagrees with the figures the
    student honestly measured on patches normalised outside the model, and only that raises metrics-mismatch."""
    tiny = Tiny(data["x_train"], data["y_train"])
    tiny.save(tmp_path / layout.PHASE4A_MODEL, normalization=False)  # expects standardised patches
    honest = model_result("ResNet-50", S2_BANDS, data["y_val"], tiny.predict(data["x_val"]))
    write_json(tmp_path / layout.PHASE4A_METRICS, Phase4AMetrics(
        phase="4A", model="ResNet-50", recipe={}, pretrained=False, weights_source=None, freeze={}, result=honest,
        week3_baseline={}, split={}))

    models = PhaseModels(tmp_path, {"result": SubmittedModel(None, layout.PHASE4A_MODEL, week3_input=True)},
                         SandboxLimits(), KIT_DATA)
    reeval = models.reeval("4a_model_reeval", "phase4a")
    evidence = reeval.evidence["models"][str(layout.PHASE4A_MODEL)]
    assert evidence["input"] == RAW_INPUT and evidence["normalization_layer"] is False
    recomputed = evidence["validation"]["accuracy"]
    raw_means = data["x_val"].mean(axis=(1, 2))  # what the file computes on raw patches, in NumPy
    assert recomputed == pytest.approx(float(np.mean((raw_means @ tiny.kernel + tiny.bias).argmax(axis=1)
                                                     == data["y_val"])))
    assert abs(recomputed - honest.accuracy) > 0.1, "the test needs a model whose two inputs disagree"

    match = metrics_match("4a_metrics_match", "phase4a", tmp_path, layout.PHASE4A_METRICS, Phase4AMetrics,
                          models.evaluated(), KIT_DATA)
    assert not match.passed and match.flags == ["metrics-mismatch"]
    assert "raw validation patches" in match.message and "preprocessing inside" in match.message


# ------------------------------------------------------------------------------------------ phase 4C


def test_faulty_4c_submission_fails_with_flags_and_keeps_labels_out_of_the_sandbox(tmp_path, data, monkeypatch):
    """S2: inflated figures; S2+MODIS: random bytes; S2+DEM: collapsed; Full: correct. One sandbox call."""
    y_val = data["y_val"]
    configs = []
    for name, bands in CONFIGS.items():
        idx = band_indices(bands)
        tiny = Tiny(data["xf_train"][..., idx], data["y_train"])
        rel = layout.PHASE4C_MODEL_FILES[name]
        if name == "S2+MODIS":
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_bytes(np.random.default_rng(3).bytes(20_000))
            configs.append(model_result(name, bands, y_val, np.zeros(75, dtype=int), model_path=str(rel)))
            continue
        tiny.save(tmp_path / rel, normalization=True, collapsed=name == "S2+DEM")
        pred = np.full(75, 2) if name == "S2+DEM" else tiny.predict(data["xf_val"][..., idx])
        configs.append(model_result(name, bands, y_val, pred, accuracy=0.99 if name == "S2" else None,
                                    model_path=str(rel)))
    write_json(tmp_path / layout.PHASE4C_RESULTS, AblationStudy(phase="4C", model="SimpleCNN", configurations=configs,
                                                               best_configuration="Full", split={}))
    figure(tmp_path / layout.PHASE4C_CONFUSION)
    figure(tmp_path / layout.PHASE4C_ACCURACY)
    text(tmp_path / layout.PHASE4C_REPORT)

    staged: list[dict] = []
    real_stage = sandbox.stage_job

    def spy(models, inputs, box):
        job, refused = real_stage(models, inputs, box)
        staged.append({p.name: (np.load(p).shape, np.load(p).dtype) if p.suffix == ".npy" else None
                       for p in box.iterdir()})
        staged[-1]["bytes"] = {p.name: p.read_bytes() for p in box.iterdir()}
        return job, refused

    monkeypatch.setattr(sandbox, "stage_job", spy)
    results = trusted_checks("phase4c", tmp_path)
    check_shape_of(results, "phase4c")
    r = by_id(results)

    # one sandbox call, holding the three loadable models and their inputs, never labels
    assert len(staged) == 1
    files = staged[0]
    contents = files.pop("bytes")
    assert sorted(n for n in files if n.endswith(".h5")) == ["m0.h5", "m1.h5", "m2.h5"]
    assert set(files) - {"job.json"} <= {f"m{i}.h5" for i in range(3)} | {f"m{i}_s{j}.npy" for i in range(3)
                                                                           for j in range(2)}
    for name, info in files.items():
        if name.endswith(".npy"):
            shape, dtype = info
            assert len(shape) == 4 and shape[0] in (N_HIDDEN, 75) and dtype == np.float32, (name, shape)
    labels = {(HIDDEN / "data/processed/y_hidden.npy").read_bytes(), (FIXTURES / layout.Y_VAL).read_bytes()}
    assert not labels & set(contents.values())

    # re-evaluation: corrupt -> unloadable, collapsed -> collapse, the others still evaluated
    reeval = r["4c_models_reeval"]
    assert not reeval.passed and set(reeval.flags) == {"model-unloadable", "collapse"}
    models = reeval.evidence["models"]
    assert "error" in models["phase4c_outputs/models/s2_modis.h5"]
    assert models["phase4c_outputs/models/s2_dem.h5"]["validation"]["collapse"]["collapsed"] is True
    assert "COLLAPSED" in reeval.message and "Parcels" in reeval.message
    for ok in ("s2.h5", "full.h5"):
        assert models[f"phase4c_outputs/models/{ok}"]["validation"]["accuracy"] > MAJORITY + 0.2
        assert models[f"phase4c_outputs/models/{ok}"]["input"].startswith("raw")

    # metrics: the inflated S2 figures are caught with both numbers; Full matches
    match = r["4c_metrics_match"]
    assert not match.passed and "metrics-mismatch" in match.flags
    rep, rec = match.evidence["reported"], match.evidence["recomputed"]
    assert rep["S2"]["accuracy"] == 0.99 and rec["S2"]["accuracy"] < 0.95 and match.evidence["n"] == 75
    assert abs(rep["Full"]["accuracy"] - rec["Full"]["accuracy"]) <= match.evidence["tolerance"]
    assert "claims accuracy 0.990 for S2" in match.message and f"{rec['S2']['accuracy']:.3f}" in match.message
    assert "Full" not in match.message.replace("S2+DEM", "")  # no complaint about the correct model
    assert "S2+MODIS: cannot recompute" in match.message

    files_check = r["4c_files"]
    assert not files_check.passed and "phase4c_outputs/models/s2_modis.h5" in files_check.message


# ------------------------------------------------------------------------------------------ phase 4B


def _nearest_fused() -> dict[Path, np.ndarray]:
    """The fused patches with MODIS and DEM resampled by rasterio with nearest neighbour (the fault)."""
    from rasterio.enums import Resampling

    from geoai_ref.align import fuse, load_sources, resample_band
    from geoai_ref.patches import extract_patches
    from geoai_ref.sample_index import read_sample_index

    sources = load_sources(FIXTURES)
    stack = fuse(sources).data.copy()
    stack[..., 6] = resample_band(sources.modis, "MODIS_NDVI", sources.s2.grid, Resampling.nearest)
    stack[..., 7] = resample_band(sources.dem, "DEM", sources.s2.grid, Resampling.nearest)
    index = read_sample_index(FIXTURES / layout.SAMPLE_INDEX)
    out = {}
    for split, rel in (("train", layout.X_TRAIN_FUSED), ("val", layout.X_VAL_FUSED)):
        chosen = index.where(split)
        out[rel] = extract_patches(stack, index.row[chosen], index.col[chosen]).astype(np.float32)
    return out


def _fused_variant(kind: str, data: dict) -> dict[Path, np.ndarray | None]:
    arrays = {layout.X_TRAIN_FUSED: data["xf_train"].copy(), layout.X_VAL_FUSED: data["xf_val"].copy()}
    if kind == "swapped":
        return {rel: x[..., [0, 1, 2, 3, 4, 5, 7, 6]] for rel, x in arrays.items()}
    if kind == "nearest":
        return _nearest_fused()
    if kind == "nan":
        for x in arrays.values():
            x[:5] = np.nan
    if kind == "missing":
        return {rel: None for rel in arrays}
    return arrays


@pytest.mark.parametrize("kind, flags, words", [
    ("reference", [], "bilinear"),
    ("swapped", ["band-order"], "looks like DEM"),
    ("nearest", ["nearest-resampling"], "nearest neighbour"),
    ("nan", [], "NaN"),
    ("missing", ["missing-deliverable"], "missing"),
])
def test_fused_arrays(tmp_path, data, kind, flags, words):
    for rel, x in _fused_variant(kind, data).items():
        if x is not None:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            np.save(tmp_path / rel, x)
    results = trusted_checks("phase4b", tmp_path)  # no model submitted: no sandbox
    check_shape_of(results, "phase4b")
    fused = by_id(results)["4b_fused_trusted"]
    assert fused.passed is (kind == "reference"), fused.message
    assert fused.flags == flags
    assert words in fused.message
    if kind in ("reference", "nearest"):
        for rel in ("data/processed/X_train_fused.npy", "data/processed/X_val_fused.npy"):
            shares = fused.evidence["files"][rel]["resampling"]
            for band, threshold in NEAREST_ZERO_SHARE.items():
                share = shares[band]["zero_difference_share"]
                # calibration: bilinear about 0 (<= 0.002), rasterio nearest >= 0.6; thresholds well between
                assert (share <= 0.01) if kind == "reference" else (share >= threshold + 0.25), (rel, band, share)
    reeval = by_id(results)["4b_model_reeval"]
    assert not reeval.passed and reeval.flags == ["missing-deliverable"]


def test_pickled_npy_and_garbage_files_fail_without_raising(tmp_path, data):
    (tmp_path / "data/processed").mkdir(parents=True)
    np.save(tmp_path / layout.X_TRAIN_FUSED, np.array([{"payload": 1}] * 3, dtype=object), allow_pickle=True)
    np.save(tmp_path / layout.X_VAL_FUSED, data["xf_val"][..., :4])  # wrong shape
    text(tmp_path / layout.PHASE4B_ABLATION, '{"phase": "4B", "configurations": 5}')
    (tmp_path / layout.PHASE4B_MODEL).parent.mkdir(parents=True)
    (tmp_path / layout.PHASE4B_MODEL).write_bytes(b"\x89HDF\r\n" + bytes(100))
    text(tmp_path / layout.CONFIG, "::: not yaml {" * 30)
    text(tmp_path / layout.BASELINE_REPORT, "# Method\n" + "x" * 300)

    results = trusted_checks("phase4b", tmp_path)

    check_shape_of(results, "phase4b")
    r = by_id(results)
    assert not any(x.passed for x in results)
    assert "not a readable .npy array" in r["4b_fused_trusted"].message
    assert "shape (75, 8, 8, 4)" in r["4b_fused_trusted"].message
    assert r["4b_model_reeval"].flags == ["model-unloadable"]
    assert "phase4b_ablation_study.json" in r["4b_metrics_match"].message
    assert "missing section(s)" in r["4b_report_files"].message


def test_symlinked_deliverable_is_not_followed(tmp_path):
    (tmp_path / layout.PHASE4A_MODEL).parent.mkdir(parents=True)
    (tmp_path / layout.PHASE4A_MODEL).symlink_to(HIDDEN / "data/processed/y_hidden.npy")
    reeval = by_id(trusted_checks("phase4a", tmp_path))["4a_model_reeval"]
    assert not reeval.passed and "missing" in reeval.message


def test_unknown_phase_raises():
    with pytest.raises(ValueError, match="unknown phase 'phase5'"):
        trusted_checks("phase5", Path("."))


def test_flags_and_checks_are_described():
    assert set(FLAGS) == {"collapse", "metrics-mismatch", "band-order", "nearest-resampling",
                          "missing-deliverable", "model-unloadable"}
    assert all(isinstance(v, str) and v for v in FLAGS.values())
    assert MIN_METRIC_TOLERANCE == 0.02 and math.isclose(METRIC_TOLERANCE_SAMPLES / 75, 0.02)
