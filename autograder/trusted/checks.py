"""Trusted checks: what the grader verifies itself on a submission's snapshot, without trusting student code.

The notebook's hidden tests run inside the student's kernel, where student code could fake them.
These checks run in the grader's process on the snapshot of the submitted files (see
:data:`TRUSTED_CHECKS`), and submitted models are only ever loaded in the sandbox
(:func:`autograder.sandbox.predict_in_sandbox`, one call per phase):

- ``*_files``: the phase's deliverables, statically (:mod:`geoai_ref.deliverables`);
- ``4b_fused_trusted``: the fused arrays' shape, dtype, values, band order (against the reference
  fused patches) and resampling (nearest-neighbour MODIS / DEM are piecewise constant);
- ``*_model_reeval``: the submitted model(s) predict the hidden patches (labels stay here) and the
  release's validation patches; trusted code scores them and looks for collapse;
- ``*_metrics_match``: the figures the student reported against the ones recomputed on the same
  validation patches.

Every finding of a student's file becomes a failed :class:`TrustedResult` whose message says what
is wrong and what to do; only an unknown phase raises.

Input convention for re-evaluation (the 4A notebook's contract): a model whose layers include a
Keras ``Normalization`` layer receives raw patches (physical units); any other model receives
patches standardised per band with the TRAINING set's statistics (fixtures ``X_train`` for the six
Sentinel-2 bands, the reference ``X_train_fused`` for fused bands).

Nearest-resampling detection: a MODIS NDVI pixel (231.656 m) covers about 23 x 23 pixels of the
10 m grid and an SRTM pixel (1 arc-second, about 31 x 23 m here) about 3 x 2, so with nearest
neighbour most adjacent-pixel differences inside an 8 x 8 patch are exactly 0, while bilinear
values change from pixel to pixel. The statistic is the share of exactly-zero differences
(horizontal and vertical) over the patches in which the band is not constant (a lake surface
that SRTM flattens is constant whatever the resampling; if every patch is constant the share is
1). Measured on the fixture scene (see :data:`NEAREST_ZERO_SHARE`):

==========================  ===========  =========
arrays                      MODIS_NDVI   DEM
==========================  ===========  =========
reference, bilinear         0.000        <= 0.0016
hidden scene, bilinear      0.000        0.0013
cubic / cubic spline        <= 0.0001    0.000
nearest (rasterio)          0.918        0.633 - 0.641
==========================  ===========  =========
"""

from __future__ import annotations

import functools
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.paths import FIXTURES, HIDDEN_DATA, RELEASE_DATA, REPO
from autograder.trusted.sandbox import SandboxError, SandboxLimits, predict_in_sandbox
from geoai_ref import layout
from geoai_ref.bands import FUSED_BANDS, S2_BANDS, band_indices
from geoai_ref.classes import NUM_CLASSES
from geoai_ref.collapse import detect_collapse
from geoai_ref.deliverables import (
    MIN_BAND_CORRELATION,
    DeliverablesReport,
    check_figure,
    check_json,
    check_model,
    check_text,
    inspect_h5_model,
    match_bands,
)
from geoai_ref.evaluation import EvaluationMetrics, evaluate
from geoai_ref.qc import check_bands
from geoai_ref.schemas import AblationStudy, ModelResult, Phase4AMetrics, read_json

TRUSTED_CHECKS: dict[str, tuple[str, ...]] = {
    "phase4a": ("4a_files", "4a_model_reeval", "4a_metrics_match"),
    "phase4b": ("4b_fused_trusted", "4b_ablation_files", "4b_report_files", "4b_model_reeval", "4b_metrics_match"),
    "phase4c": ("4c_files", "4c_models_reeval", "4c_metrics_match"),
}

FLAGS: dict[str, str] = {
    "collapse": "a submitted model predicts (nearly) one class for everything on the hidden or validation patches",
    "metrics-mismatch": "reported accuracy or macro F1 differs from the grader's re-evaluation of the submitted model",
    "band-order": "fused array channels are not stacked in the required order B2, B3, B4, B8, B11, B12, MODIS_NDVI, "
                  "DEM",
    "nearest-resampling": "MODIS NDVI or SRTM DEM were resampled onto the 10 m grid with nearest neighbour, not "
                          "bilinear",
    "missing-deliverable": "a required file of the phase was not submitted",
    "model-unloadable": "a submitted model could not be loaded or run on the grader's patches",
}

#: The four configurations of Phases 4B / 4C and their bands, in the fused stack's order.
CONFIGURATIONS: dict[str, tuple[str, ...]] = {
    "S2": S2_BANDS,
    "S2+MODIS": (*S2_BANDS, "MODIS_NDVI"),
    "S2+DEM": (*S2_BANDS, "DEM"),
    "Full": FUSED_BANDS,
}
#: Phase 4C's model files (MODEL_FILES in assignments/phase4c/Week_4_Exercise_Phase4C.src.py).
PHASE4C_MODEL_FILES: dict[str, str] = {"S2": "s2.h5", "S2+MODIS": "s2_modis.h5", "S2+DEM": "s2_dem.h5",
                                       "Full": "full.h5"}
#: Share of exactly-zero adjacent-pixel differences at or above which a band counts as nearest-resampled
#: (figures in the module docstring: bilinear about 0, nearest 0.92 for MODIS and 0.63 for the DEM).
NEAREST_ZERO_SHARE: dict[str, float] = {"MODIS_NDVI": 0.5, "DEM": 0.3}
#: |reported - recomputed| above max(MIN_METRIC_TOLERANCE, METRIC_TOLERANCE_SAMPLES / n) is a mismatch.
MIN_METRIC_TOLERANCE = 0.02
METRIC_TOLERANCE_SAMPLES = 1.5
FUSED_SAMPLES = {layout.X_TRAIN_FUSED: 300, layout.X_VAL_FUSED: 75}


@dataclass
class TrustedResult:
    """The outcome of one trusted check; ``evidence`` is JSON-plain."""

    id: str
    phase: str
    passed: bool
    message: str
    evidence: dict = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-able dictionary (numpy scalars and arrays converted)."""
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars / arrays, tuples and paths turned into JSON-plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, int | str):
        return value
    return str(value)


# --- reference data (grader side) ----------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
    x_hidden: np.ndarray  # (170, 8, 8, 8) FUSED_BANDS
    y_hidden: np.ndarray
    x_train_s2: np.ndarray  # fixtures X_train (the 4A statistics)
    x_val_s2: np.ndarray  # fixtures X_val
    x_train_fused: np.ndarray  # reference fused patches
    x_val_fused: np.ndarray
    y_val: np.ndarray


@functools.cache
def _reference() -> _Reference:
    """The grader's data, loaded once per process.

    Raises:
        FileNotFoundError: if the fixtures or the hidden data are missing (run `make fixtures`).
    """
    from autograder.authoring.course import fused_reference

    fused = fused_reference()
    paths = {"x_hidden": HIDDEN_DATA / layout.X_HIDDEN_FUSED, "y_hidden": HIDDEN_DATA / layout.Y_HIDDEN,
             "x_train_s2": FIXTURES / layout.X_TRAIN, "x_val_s2": FIXTURES / layout.X_VAL,
             "x_train_fused": fused / layout.X_TRAIN_FUSED, "x_val_fused": fused / layout.X_VAL_FUSED,
             "y_val": FIXTURES / layout.Y_VAL}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"the grader's data is incomplete ({missing}); regenerate it with `make fixtures`")
    return _Reference(**{name: np.load(path, allow_pickle=False) for name, path in paths.items()})


# --- helpers ---------------------------------------------------------------------------------------


def _inside(snapshot: Path, rel: Path) -> Path | None:
    """``snapshot / rel`` if it exists, is no symbolic link and stays inside the snapshot; else None."""
    path = snapshot / rel
    try:
        if path.is_symlink() or not path.is_file():
            return None
        path.resolve().relative_to(snapshot.resolve())
    except (OSError, ValueError):
        return None
    return path


def _guard(report: DeliverablesReport, rel: Path, check: Callable[[], Any]) -> Any:
    """Run one static check; anything it raises on a malformed file becomes a failed entry."""
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a student's file must never crash the grader
        report.add(rel, False, f"could not be read ({type(exc).__name__}: {exc}); re-save it from the notebook")
        return None


def _files_result(check_id: str, phase: str, snapshot: Path, report: DeliverablesReport,
                  rels: list[Path]) -> TrustedResult:
    missing = sorted({c.path for c in report.checks if not (snapshot / c.path).exists()} & {str(r) for r in rels})
    local = f"{snapshot}/"  # messages name files relative to the submission, not the grader's disk
    failures = report.failures
    if failures:
        texts = [(c.path, c.message.replace(local, "")) for c in failures]
        message = "; ".join(t if t.startswith(path) else f"{path}: {t}" for path, t in texts)
    else:
        message = f"all {len(report.checks)} deliverable(s) present and valid"
    return TrustedResult(check_id, phase, not failures, message,
                         evidence={"files": {c.path: {"passed": c.passed, "message": c.message.replace(local, "")}
                                             for c in report.checks},
                                   "missing": missing},
                         flags=["missing-deliverable"] if missing else [])


def _static_model(report: DeliverablesReport, snapshot: Path, rel: Path, bands: int | None) -> None:
    _guard(report, rel, lambda: check_model(report, snapshot / rel, rel, bands))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(float(value)) else None


# --- *_files ----------------------------------------------------------------------------------------


def _check_4a_files(snapshot: Path) -> TrustedResult:
    report = DeliverablesReport()
    rels = list(layout.DELIVERABLES["4a"])
    _static_model(report, snapshot, layout.PHASE4A_MODEL, len(S2_BANDS))
    _guard(report, layout.PHASE4A_METRICS,
           lambda: check_json(report, snapshot / layout.PHASE4A_METRICS, layout.PHASE4A_METRICS, Phase4AMetrics))
    for rel in (layout.PHASE4A_CURVES, layout.PHASE4A_CONFUSION):
        _guard(report, rel, lambda rel=rel: check_figure(report, snapshot / rel, rel))
    _guard(report, layout.PHASE4A_COMPARISON,
           lambda: check_text(report, snapshot / layout.PHASE4A_COMPARISON, layout.PHASE4A_COMPARISON))
    return _files_result("4a_files", "phase4a", snapshot, report, rels)


def _check_4b_ablation_files(snapshot: Path) -> TrustedResult:
    report = DeliverablesReport()
    rels = [layout.PHASE4B_ABLATION, layout.PHASE4B_SENSOR_FIGURE, layout.PHASE4B_MODEL]
    _guard(report, layout.PHASE4B_ABLATION,
           lambda: check_json(report, snapshot / layout.PHASE4B_ABLATION, layout.PHASE4B_ABLATION, AblationStudy))
    _guard(report, layout.PHASE4B_SENSOR_FIGURE,
           lambda: check_figure(report, snapshot / layout.PHASE4B_SENSOR_FIGURE, layout.PHASE4B_SENSOR_FIGURE))
    _static_model(report, snapshot, layout.PHASE4B_MODEL, len(FUSED_BANDS))
    return _files_result("4b_ablation_files", "phase4b", snapshot, report, rels)


def _check_4b_report_files(snapshot: Path) -> TrustedResult:
    report = DeliverablesReport()
    rels = [layout.CONFIG, layout.BASELINE_REPORT]
    for rel in rels:
        _guard(report, rel, lambda rel=rel: check_text(report, snapshot / rel, rel))
    return _files_result("4b_report_files", "phase4b", snapshot, report, rels)


def _check_4c_files(snapshot: Path) -> TrustedResult:
    report = DeliverablesReport()
    rels = list(layout.DELIVERABLES["4c"])
    _guard(report, layout.PHASE4C_RESULTS,
           lambda: check_json(report, snapshot / layout.PHASE4C_RESULTS, layout.PHASE4C_RESULTS, AblationStudy))
    for rel in (layout.PHASE4C_CONFUSION, layout.PHASE4C_ACCURACY):
        _guard(report, rel, lambda rel=rel: check_figure(report, snapshot / rel, rel))
    _guard(report, layout.PHASE4C_REPORT,
           lambda: check_text(report, snapshot / layout.PHASE4C_REPORT, layout.PHASE4C_REPORT))
    for name, filename in PHASE4C_MODEL_FILES.items():
        rel = layout.PHASE4C_MODELS / filename
        rels.append(rel)
        _static_model(report, snapshot, rel, len(CONFIGURATIONS[name]))
    return _files_result("4c_files", "phase4c", snapshot, report, rels)


# --- 4b_fused_trusted -------------------------------------------------------------------------------


def zero_difference_share(x: np.ndarray) -> tuple[float, int]:
    """Share of exactly-zero adjacent-pixel differences of one band (n, h, w), over its non-constant patches.

    Returns (share, number of constant patches); the share is 1.0 when every patch is constant.
    """
    v = np.asarray(x, dtype=np.float64)
    flat = v.reshape(len(v), -1)
    constant = flat.max(axis=1) == flat.min(axis=1)
    varying = v[~constant]
    if len(varying) == 0:
        return 1.0, int(constant.sum())
    diffs = np.concatenate([np.diff(varying, axis=1).reshape(len(varying), -1),
                            np.diff(varying, axis=2).reshape(len(varying), -1)], axis=1)
    return float(np.mean(diffs == 0)), int(constant.sum())


def _check_one_fused(path: Path | None, rel: Path, n: int, reference: np.ndarray) -> tuple[list[str], set[str], dict]:
    """Problems, flags and evidence for one fused array."""
    evidence: dict[str, Any] = {"expected_shape": [n, 8, 8, len(FUSED_BANDS)]}
    if path is None:
        return [f"{rel}: missing: save the fused patches with np.save('{rel}', X)"], {"missing-deliverable"}, evidence
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        return [f"{rel}: not a readable .npy array of numbers ({exc}); save it with np.save('{rel}', "
                "X.astype('float32'))"], set(), evidence
    evidence.update(shape=list(mapped.shape), dtype=str(mapped.dtype))
    if mapped.shape != (n, 8, 8, len(FUSED_BANDS)):
        return [f"{rel}: shape {mapped.shape}, expected ({n}, 8, 8, 8): patches x rows x cols x bands, channels "
                "last, in the sample index's order"], set(), evidence
    if mapped.dtype.kind != "f":
        return [f"{rel}: dtype {mapped.dtype}; store physical values as float32 (X.astype('float32'))"], set(), evidence
    x = np.array(mapped, dtype=np.float64)
    problems: list[str] = []
    flags: set[str] = set()
    finite = bool(np.isfinite(x).all())
    evidence["finite"] = finite
    qc = check_bands(x, FUSED_BANDS)
    evidence["qc"] = qc.messages
    problems += [f"{rel}: {m}" for m in qc.messages]
    if finite:
        matches = match_bands(x, reference)
        evidence["band_match"] = [{"channel": i, "expected": FUSED_BANDS[i], "best_match": FUSED_BANDS[j], "r": r}
                                  for i, (j, r) in enumerate(matches)]
        for i, (j, r) in enumerate(matches):
            if j != i and r >= MIN_BAND_CORRELATION:
                flags.add("band-order")
                problems.append(f"{rel}: channel {i} looks like {FUSED_BANDS[j]} (r={r:.2f}), not {FUSED_BANDS[i]}: "
                                f"stack the bands as {list(FUSED_BANDS)}")
            elif r < MIN_BAND_CORRELATION:
                problems.append(f"{rel}: channel {i} ({FUSED_BANDS[i]}) differs from the reference patches "
                                f"(best r={r:.2f}): check its alignment, and keep the patches in the sample index's "
                                "order")
        resampling = {}
        for name, threshold in NEAREST_ZERO_SHARE.items():
            share, constant = zero_difference_share(x[..., FUSED_BANDS.index(name)])
            nearest = share >= threshold
            resampling[name] = {"zero_difference_share": share, "threshold": threshold,
                                "constant_patches": constant, "nearest": nearest}
            if nearest:
                flags.add("nearest-resampling")
                problems.append(f"{rel}: {name} is piecewise constant ({100 * share:.0f} % of adjacent-pixel "
                                f"differences are exactly 0; bilinear gives about 0 %): it was resampled with "
                                "nearest neighbour; use Resampling.bilinear for continuous bands")
        evidence["resampling"] = resampling
    return problems, flags, evidence


def _check_4b_fused(snapshot: Path) -> TrustedResult:
    ref = _reference()
    problems: list[str] = []
    flags: set[str] = set()
    evidence: dict[str, Any] = {"reference": str(RELEASE_DATA.relative_to(REPO)), "files": {}}
    for rel, n in FUSED_SAMPLES.items():
        reference = ref.x_train_fused if rel == layout.X_TRAIN_FUSED else ref.x_val_fused
        p, f, e = _check_one_fused(_inside(snapshot, rel), rel, n, reference)
        problems += p
        flags |= f
        evidence["files"][str(rel)] = e
    message = "; ".join(problems) if problems else (
        "both fused arrays have the right shape, finite in-range values, the required band order and "
        "bilinear-resampled MODIS / DEM")
    return TrustedResult("4b_fused_trusted", "phase4b", not problems, message, evidence, sorted(flags))


# --- re-evaluation ------------------------------------------------------------------------------------


@dataclass
class _Model:
    """One submitted model to re-evaluate, and what came of it."""

    configuration: str | None  # "S2", "S2+MODIS", "S2+DEM", "Full"; None: from the band count
    rel: Path
    error: str | None = None
    flags: set[str] = field(default_factory=set)
    evidence: dict = field(default_factory=dict)
    hidden: EvaluationMetrics | None = None
    validation: EvaluationMetrics | None = None
    collapsed: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.validation is not None


def _standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """``others`` standardised per band with ``train``'s mean and std (the 4A notebook's normalise_per_band)."""
    axes = tuple(range(train.ndim - 1))
    mean = train.mean(axis=axes, dtype=np.float64)
    std = train.std(axis=axes, dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    return [((x - mean) / std).astype(np.float32) for x in others]


#: Keras' ImageNet "caffe" preprocessing (keras.applications.resnet.preprocess_input): channels reversed,
#: then these BGR means subtracted from the first three channels. Restated in NumPy so that the grader's
#: own process never imports TensorFlow; tests/autograder/test_trusted_conventions.py checks it against Keras.
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)
CONTRACT = "per_band"  # the notebooks' input contract for models without a Normalization layer
IMAGENET = "imagenet"  # the exercise's recipe: keras.applications.resnet.preprocess_input on the raw patches


def imagenet_preprocess(x: np.ndarray) -> np.ndarray:
    """``keras.applications.resnet.preprocess_input(x)`` (mode "caffe") for any number of channels."""
    out = np.asarray(x, dtype=np.float32)[..., ::-1].copy()
    for channel, mean in enumerate(IMAGENET_BGR_MEAN[: out.shape[-1]]):
        out[..., channel] -= mean
    return out


def _prepare(model: _Model, path: Path) -> dict[str, np.ndarray] | None:
    """The hidden and validation inputs for ``model``, or None (with ``model.error`` set) if it cannot run."""
    try:
        summary = inspect_h5_model(path)
    except Exception as exc:  # noqa: BLE001 - malformed files fail this model only
        text = str(exc).replace(str(path), str(model.rel))
        model.error = text if str(model.rel) in text else f"{model.rel}: {text}"
        model.flags.add("model-unloadable")
        return None
    shape = tuple(summary.input_shape)
    if len(shape) != 4 or tuple(shape[1:3]) != (8, 8) or not isinstance(shape[3], int):
        model.error = f"{model.rel} takes inputs of shape {shape}; it must take (None, 8, 8, bands) patches"
        model.flags.add("model-unloadable")
        return None
    n_bands = shape[3]
    if model.configuration is None:
        model.configuration = {len(S2_BANDS): "S2", len(FUSED_BANDS): "Full"}.get(n_bands)
        if model.configuration is None:
            model.error = (f"{model.rel} takes {n_bands} bands; it must take the 6 Sentinel-2 bands or all "
                           f"{len(FUSED_BANDS)} fused bands")
            model.flags.add("model-unloadable")
            return None
    bands = CONFIGURATIONS[model.configuration]
    if n_bands != len(bands):
        model.error = (f"{model.rel} takes {n_bands} bands, but the {model.configuration} configuration has "
                       f"{len(bands)} ({', '.join(bands)})")
        model.flags.add("model-unloadable")
        return None
    ref = _reference()
    idx = band_indices(bands)
    hidden = ref.x_hidden[..., idx]
    s2_only = tuple(bands) == S2_BANDS
    val = ref.x_val_s2 if s2_only else ref.x_val_fused[..., idx]
    raw = "Normalization" in summary.layer_classes
    if raw:
        model.evidence.update(configuration=model.configuration, bands=list(bands), normalization_layer=True,
                              input="raw patches (the model has a Normalization layer)")
        return {"hidden": np.asarray(hidden, dtype=np.float32), "validation": np.asarray(val, dtype=np.float32)}
    # No Normalization layer: the model expects preprocessed patches. The notebooks' contract is per-band
    # standardisation with the training statistics; students who followed the exercise's recipe used ImageNet
    # preprocess_input instead. Both are evaluated; _score keeps the one the student's own figures match.
    train = ref.x_train_s2 if s2_only else ref.x_train_fused[..., idx]
    std_hidden, std_val = _standardise(train, hidden, val)
    model.evidence.update(configuration=model.configuration, bands=list(bands), normalization_layer=False)
    return {"hidden": std_hidden, "validation": std_val,
            f"hidden@{IMAGENET}": imagenet_preprocess(hidden), f"validation@{IMAGENET}": imagenet_preprocess(val)}


INPUT_DESCRIPTIONS = {
    CONTRACT: "standardised per band with the training set's statistics (the notebook's contract)",
    IMAGENET: "ImageNet preprocess_input on the raw patches (the exercise's recipe), because the student's "
              "reported figures match it",
}


def _choose_convention(model: _Model, by_convention: dict[str, dict[str, np.ndarray]],
                       reported_accuracy: float | None) -> str:
    """The input convention to judge ``model`` by: the contract, unless only the ImageNet one reproduces the
    accuracy the student reported (then the student is judged by what they actually did)."""
    if len(by_convention) == 1:
        return next(iter(by_convention))
    ref = _reference()
    accuracy = {name: float(np.mean(np.argmax(p["validation"], axis=1) == ref.y_val))
                for name, p in by_convention.items()}
    model.evidence["validation_accuracy_by_input"] = accuracy
    tol = max(MIN_METRIC_TOLERANCE, METRIC_TOLERANCE_SAMPLES / len(ref.y_val))
    if reported_accuracy is not None and abs(accuracy[CONTRACT] - reported_accuracy) > tol + 1e-9 \
            and abs(accuracy[IMAGENET] - reported_accuracy) <= tol + 1e-9:
        return IMAGENET
    return CONTRACT


def _score(model: _Model, probs: dict[str, np.ndarray], reported_accuracy: float | None = None) -> None:
    ref = _reference()
    by_convention: dict[str, dict[str, np.ndarray]] = {}
    for key, p in probs.items():
        set_name, _, convention = key.partition("@")
        by_convention.setdefault(convention or (CONTRACT if not model.evidence.get("normalization_layer")
                                                else "raw"), {})[set_name] = p
    for p in (q for sets in by_convention.values() for q in sets.values()):
        if p.shape[1] != NUM_CLASSES:
            model.error = f"{model.rel} outputs {p.shape[1]} values per patch; it must output {NUM_CLASSES} classes"
            model.flags.add("model-unloadable")
            return
    chosen = _choose_convention(model, by_convention, reported_accuracy)
    if not model.evidence.get("normalization_layer"):
        model.evidence["input"] = INPUT_DESCRIPTIONS[chosen]
        model.evidence["input_convention"] = chosen
    probs = by_convention[chosen]
    for set_name, y in (("hidden", ref.y_hidden), ("validation", ref.y_val)):
        p = probs[set_name]
        metrics = evaluate(y, p)
        collapse = detect_collapse(y, p)
        setattr(model, set_name, metrics)
        model.evidence[set_name] = {
            **metrics.to_dict(),
            "collapse": {"verdict": collapse.verdict, "collapsed": collapse.collapsed,
                         "majority_class": collapse.majority_class_name, "majority_share": collapse.majority_share,
                         "reasons": collapse.reasons},
        }
        if collapse.collapsed:
            model.collapsed = True
            model.flags.add("collapse")


def _reevaluate(snapshot: Path, models: list[_Model], limits: SandboxLimits,
                reported: dict[str, float | None] | None = None) -> float | None:
    """Run every model of ``models`` in ONE sandbox call and score it; fills in each _Model.

    Returns the seconds the sandbox call took, or None when no model could be sent to it.
    """
    paths: dict[str, Path] = {}
    inputs: dict[str, dict[str, np.ndarray]] = {}
    for m in models:
        path = _inside(snapshot, m.rel)
        if path is None:
            m.error = f"{m.rel} is missing: save the trained model there with model.save('{m.rel}')"
            m.flags.add("missing-deliverable")
            continue
        prepared = _prepare(m, path)
        if prepared is not None:
            paths[str(m.rel)] = path
            inputs[str(m.rel)] = prepared
    if not paths:
        return None
    start = time.monotonic()
    try:
        outputs = predict_in_sandbox(paths, inputs, limits)
    except SandboxError as exc:
        outputs = {key: exc for key in paths}
    seconds = time.monotonic() - start
    for m in models:
        out = outputs.get(str(m.rel))
        if out is None:
            continue
        if isinstance(out, SandboxError):
            m.error = f"{m.rel}: {out}"
            m.evidence["sandbox_error"] = out.kind
            m.flags.add("model-unloadable")
        else:
            _score(m, out, (reported or {}).get(str(m.rel)))
    return seconds


def _pct(x: float) -> str:
    return f"{x:.3f}"


def _reeval_result(check_id: str, phase: str, models: list[_Model], seconds: float | None) -> TrustedResult:
    lines, flags = [], set()
    for m in models:
        flags |= m.flags
        if m.error:
            lines.append(m.error)
        elif m.hidden is not None and m.validation is not None:
            h, v = m.evidence["hidden"]["collapse"], m.evidence["validation"]["collapse"]
            line = (f"{m.rel}: accuracy {_pct(m.hidden.accuracy)} / macro F1 {_pct(m.hidden.macro_f1)} on "
                    f"{m.hidden.n_samples} hidden patches, accuracy {_pct(m.validation.accuracy)} on the "
                    f"{m.validation.n_samples} validation patches")
            if m.collapsed:
                worst = h if h["collapsed"] else v
                where = "hidden" if h["collapsed"] else "validation"
                line += (f"; COLLAPSED on the {where} patches: {100 * worst['majority_share']:.0f} % predicted "
                         f"{worst['majority_class']} ({'; '.join(worst['reasons'][:1])}). Check the input "
                         "normalisation, the learning rate and the freeze ratio, then retrain")
            elif "partial collapse" in (h["verdict"], v["verdict"]):
                line += "; partial collapse (some classes never predicted): look at the per-class recall"
            lines.append(line)
    passed = all(m.ok and not m.collapsed for m in models)
    evidence = {"models": {str(m.rel): m.evidence | ({"error": m.error} if m.error else {}) for m in models},
                "sandbox_seconds": None if seconds is None else round(seconds, 2)}
    return TrustedResult(check_id, phase, passed, "; ".join(lines), evidence, sorted(flags))


def _read_reported(snapshot: Path, rel: Path, cls: type) -> tuple[Phase4AMetrics | AblationStudy | None, str | None]:
    path = _inside(snapshot, rel)
    if path is None:
        return None, f"{rel} is missing: write the metrics there"
    try:
        return read_json(path, cls), None
    except Exception as exc:  # noqa: BLE001 - garbage JSON of any shape is the student's
        return None, f"{rel} could not be read ({exc}); write it with the layout the notebook shows"


def _match_result(check_id: str, phase: str, snapshot: Path, rel: Path, cls: type,
                  pairs: list[tuple[str, _Model]], nested: bool) -> TrustedResult:
    """Compare the reported figures of each (configuration name, model) pair with the recomputed ones."""
    data, error = _read_reported(snapshot, rel, cls)
    if data is None:
        flags = ["missing-deliverable"] if _inside(snapshot, rel) is None else []
        return TrustedResult(check_id, phase, False, error or "", {"file": str(rel)}, flags)
    n = len(_reference().y_val)
    tol = max(MIN_METRIC_TOLERANCE, METRIC_TOLERANCE_SAMPLES / n)
    reported: dict[str, Any] = {}
    recomputed: dict[str, Any] = {}
    problems: list[str] = []
    mismatch = False
    for name, m in pairs:
        result: ModelResult | None
        if isinstance(data, Phase4AMetrics):
            result = data.result
        else:
            result = next((r for r in data.configurations if r.name == name), None)
        if result is None:
            problems.append(f"{rel} has no configuration named {name!r}: report every configuration")
            continue
        rep = {"accuracy": _number(result.accuracy), "macro_f1": _number(result.macro_f1)}
        reported[name] = rep
        if not m.ok or m.validation is None:
            problems.append(f"{name}: cannot recompute the figures, {m.rel} could not be evaluated (see the "
                            "re-evaluation check)")
            continue
        rec = {"accuracy": m.validation.accuracy, "macro_f1": m.validation.macro_f1}
        recomputed[name] = rec
        for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
            if rep[key] is None:
                problems.append(f"{rel} reports {label} {getattr(result, key)!r} for {name}, not a number "
                                "between 0 and 1")
                mismatch = True
            elif abs(rep[key] - rec[key]) > tol + 1e-9:
                what = f" for {name}" if nested else ""
                problems.append(f"{rel} claims {label} {rep[key]:.3f}{what} but the submitted model ({m.rel}) "
                                f"scores {rec[key]:.3f} on the same {n} validation patches (re-evaluated by the "
                                "grader): report the model's own figures")
                mismatch = True
    if not nested and len(pairs) == 1:
        name = pairs[0][0]
        reported, recomputed = reported.get(name, {}), recomputed.get(name, {})
    evidence = {"file": str(rel), "reported": reported, "recomputed": recomputed, "n": n, "tolerance": tol}
    if not nested and isinstance(data, AblationStudy):
        evidence["configuration"] = pairs[0][0]
    message = "; ".join(problems) if problems else (
        f"reported accuracy and macro F1 match the grader's re-evaluation on the {n} validation patches "
        f"(within {tol:.3f})")
    return TrustedResult(check_id, phase, not problems, message, evidence, ["metrics-mismatch"] if mismatch else [])


# --- phases --------------------------------------------------------------------------------------------


class _Evaluation:
    """The models of one phase, run in the sandbox once, on first use by either check that needs them."""

    def __init__(self, snapshot: Path, models: dict[str, _Model], limits: SandboxLimits,
                 metrics: tuple[Path, type] | None = None) -> None:
        self.snapshot, self.models, self.limits, self.metrics = snapshot, models, limits, metrics
        self._done = False
        self.seconds: float | None = None

    def run(self) -> list[_Model]:
        if not self._done:
            self._done = True
            self.seconds = _reevaluate(self.snapshot, list(self.models.values()), self.limits,
                                       self._reported_accuracy())
        return list(self.models.values())

    def _reported_accuracy(self) -> dict[str, float | None]:
        """model path -> the validation accuracy the student reported for it (None if unreadable)."""
        if self.metrics is None:
            return {}
        data, _ = _read_reported(self.snapshot, *self.metrics)
        reported: dict[str, float | None] = {}
        for name, m in self.models.items():
            result = None
            if isinstance(data, Phase4AMetrics):
                result = data.result
            elif isinstance(data, AblationStudy):
                result = next((r for r in data.configurations if r.name == name), None)
            reported[str(m.rel)] = _number(result.accuracy) if result is not None else None
        return reported

    def reeval(self, check_id: str, phase: str) -> TrustedResult:
        models = self.run()
        return _reeval_result(check_id, phase, models, self.seconds)

    def match(self, check_id: str, phase: str, rel: Path, cls: type) -> TrustedResult:
        self.run()
        return _match_result(check_id, phase, self.snapshot, rel, cls, list(self.models.items()),
                             nested=len(self.models) > 1)


def _phase4a(snapshot: Path, limits: SandboxLimits) -> list[Callable[[], TrustedResult]]:
    shared = _Evaluation(snapshot, {"result": _Model(None, layout.PHASE4A_MODEL)}, limits,
                         (layout.PHASE4A_METRICS, Phase4AMetrics))
    return [lambda: _check_4a_files(snapshot),
            lambda: shared.reeval("4a_model_reeval", "phase4a"),
            lambda: shared.match("4a_metrics_match", "phase4a", layout.PHASE4A_METRICS, Phase4AMetrics)]


def _phase4b(snapshot: Path, limits: SandboxLimits) -> list[Callable[[], TrustedResult]]:
    shared = _Evaluation(snapshot, {"Full": _Model(None, layout.PHASE4B_MODEL)}, limits,
                         (layout.PHASE4B_ABLATION, AblationStudy))
    return [lambda: _check_4b_fused(snapshot), lambda: _check_4b_ablation_files(snapshot),
            lambda: _check_4b_report_files(snapshot),
            lambda: shared.reeval("4b_model_reeval", "phase4b"),
            lambda: shared.match("4b_metrics_match", "phase4b", layout.PHASE4B_ABLATION, AblationStudy)]


def _phase4c(snapshot: Path, limits: SandboxLimits) -> list[Callable[[], TrustedResult]]:
    models = {name: _Model(name, layout.PHASE4C_MODELS / f) for name, f in PHASE4C_MODEL_FILES.items()}
    shared = _Evaluation(snapshot, models, limits, (layout.PHASE4C_RESULTS, AblationStudy))
    return [lambda: _check_4c_files(snapshot),
            lambda: shared.reeval("4c_models_reeval", "phase4c"),
            lambda: shared.match("4c_metrics_match", "phase4c", layout.PHASE4C_RESULTS, AblationStudy)]


PHASES = {"phase4a": _phase4a, "phase4b": _phase4b, "phase4c": _phase4c}


def trusted_checks(phase: str, snapshot: Path, limits: SandboxLimits | None = None) -> list[TrustedResult]:
    """Every trusted check of ``phase`` on a snapshot folder, in TRUSTED_CHECKS order.

    Never raises for anything a student submitted (missing file, corrupt .h5, NaN arrays, pickled
    .npy, garbage JSON): each becomes a failed TrustedResult with a message. The models of the phase
    are run in one sandbox call, shared by the re-evaluation and metrics checks.

    Raises:
        ValueError: for an unknown phase (the message lists the known ones).
        FileNotFoundError: if the GRADER's own data (fixtures, hidden data) is missing: run `make fixtures`.
    """
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; trusted checks exist for {sorted(PHASES)}")
    snapshot = Path(snapshot)
    _reference()  # grader data first: its absence is the grader's problem, not the student's
    results = []
    for check_id, check in zip(TRUSTED_CHECKS[phase], PHASES[phase](snapshot, limits or SandboxLimits()),
                               strict=True):
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - never let one submission crash the grading run
            result = TrustedResult(check_id, phase, False,
                                   f"the grader could not run this check ({type(exc).__name__}: {exc}); "
                                   "ask the instructor to look at the evidence",
                                   {"error": traceback.format_exc(limit=5)})
        results.append(result)
    return results
