"""Hidden checks of Phase 4A: normalisation, conv1 inflation, the transfer model, freezing,
callbacks, metrics, collapse detection, the Week 3 baseline, stability and the comparison report (the
deliverables themselves are checked by autograder/trusted/files.py).

Every check tests properties on inputs the notebook never used (other band counts, other
model sizes, other prediction vectors), so any correct method passes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from autograder.checks.common import CheckFailed, as_array, call, expect
from autograder.paths import FIXTURES
from autograder.probes.facts import CallbackFacts, ModelArg, ModelFacts, type_name
from geoai_ref import layout
from geoai_ref.classes import CLASS_NAMES, NUM_CLASSES
from geoai_ref.collapse import THRESHOLDS
from geoai_ref.deliverables import MIN_REPORT_CHARS

#: The fixtures' Week 3 model record (a course's own release records its model elsewhere:
#: :attr:`autograder.authoring.release_data.ReleaseData.week3_record`).
WEEK3_RECORD = FIXTURES / layout.WEEK3_MODEL_INFO
ACCURACY_TOLERANCE = 0.005  # Week 3 baseline: the model is deterministic; allow rounding
COLLAPSE_THRESHOLD = THRESHOLDS.majority_share
COLLAPSE_MARGIN = 0.02  # generated vectors keep their majority share this far from the threshold
#: An accuracy counts as stated in the comparison report when a number in it is within rounding to 0.1
#: percentage points (or 0.001 as a fraction) of it.
STATED_PERCENT_TOLERANCE = 0.051
STATED_FRACTION_TOLERANCE = 0.0051


def _rng(seed: int = 20261124) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- Task 1 -------------------------------------------------------------------------------------

def normalise_inputs() -> list[tuple[np.ndarray, np.ndarray]]:
    """The (x_train, x_other) pairs :func:`check_normalise` calls the function on (the same on every call)."""
    rng = _rng()
    scales = np.array([0.02, 0.05, 0.1, 0.3, 0.2, 150.0, 0.3])  # reflectance-, NDVI- and DEM-like bands
    offsets = np.array([0.03, 0.06, 0.05, 0.3, 0.2, 400.0, 0.6])
    x_train = (rng.normal(size=(40, 8, 8, 7)) * scales + offsets).astype(np.float32)
    x_other = (rng.normal(size=(15, 8, 8, 7)) * scales * 2 + offsets + scales).astype(np.float32)
    return [(x_train, x_other)]


def check_normalise(normalise_per_band: Callable) -> None:
    """Per-band standardisation with the *training* statistics, float32, inputs untouched."""
    ((x_train, x_other),) = normalise_inputs()
    before = (x_train.copy(), x_other.copy())
    result = call(normalise_per_band, x_train, x_other, what="normalise_per_band")
    expect(isinstance(result, tuple | list) and len(result) == 2,
           "normalise_per_band must return two arrays: (x_train normalised, x_other normalised)")
    a, b = as_array(result[0], "normalise_per_band"), as_array(result[1], "normalise_per_band")
    expect(np.array_equal(x_train, before[0]) and np.array_equal(x_other, before[1]),
           "normalise_per_band modified its inputs in place: compute new arrays instead")
    expect(a.shape == x_train.shape and b.shape == x_other.shape,
           f"shapes changed: got {a.shape} and {b.shape} for inputs {x_train.shape} and {x_other.shape}")
    expect(a.dtype == np.float32 and b.dtype == np.float32, f"return float32 arrays, got {a.dtype} and {b.dtype}")
    mean = x_train.astype(np.float64).mean(axis=(0, 1, 2))
    std = x_train.astype(np.float64).std(axis=(0, 1, 2))
    expect(np.allclose(a.mean(axis=(0, 1, 2)), 0, atol=1e-3) and np.allclose(a.std(axis=(0, 1, 2)), 1, atol=1e-2),
           "on a 7-band input with very different band scales the training bands are not mean 0 / std 1: "
           "normalise each band (the last axis) separately, over axes (0, 1, 2)")
    expected = (x_other - mean) / std
    expect(np.allclose(b, expected, rtol=1e-3, atol=1e-3),
           "the second array is not (x_other - training mean) / training std: use the training statistics for "
           "both arrays, never the other set's own")


# --- Task 2 -------------------------------------------------------------------------------------

INFLATE_BANDS = (1, 2, 4, 6, 8, 9, 13)


def inflate_inputs() -> list[tuple[np.ndarray, int]]:
    """The (kernel, n_bands) calls of :func:`check_inflate`, in its order: each kernel to every band count of
    :data:`INFLATE_BANDS`, then to 3 bands."""
    rng = _rng(1)
    kernels = [rng.normal(size=(kh, kh, 3, filters)).astype(np.float32) for kh, filters in ((7, 64), (3, 16))]
    return [(kernel, n) for kernel in kernels for n in (*INFLATE_BANDS, 3)]


def check_inflate(inflate_conv1_kernel: Callable) -> None:
    """Shape (kh, kw, N, filters); band k is RGB kernel k % 3 scaled by 3 / N (timm, TorchGeo); N = 3 unchanged."""
    for kernel, n in inflate_inputs():
        out = as_array(call(inflate_conv1_kernel, kernel, n, what="inflate_conv1_kernel"), "inflate_conv1_kernel")
        if n == 3:
            expect(np.allclose(out, kernel, atol=1e-6), "for 3 bands the kernel must come back unchanged")
            continue
        kh, filters = kernel.shape[0], kernel.shape[3]
        expect(out.shape == (kh, kh, n, filters),
               f"for a {kernel.shape} kernel and {n} bands expected shape {(kh, kh, n, filters)}, got {out.shape}")
        expect(np.isfinite(out).all(), f"the inflated kernel for {n} bands holds NaN or infinite values")
        if n % 3 == 0:
            expect(np.allclose(out.sum(axis=2), kernel.sum(axis=2), rtol=1e-4, atol=1e-4),
                   f"for {n} bands the kernel summed over bands differs from the RGB kernel's sum: an image with "
                   "the same value in every band must give the same response; scale by 3 / n_bands")
        repeated = kernel[:, :, [k % 3 for k in range(n)], :]
        if np.allclose(out, repeated, rtol=1e-4, atol=1e-5):
            raise CheckFailed(f"for {n} bands the kernels are repeated but not scaled: multiply by 3 / n_bands")
        expect(np.allclose(out, repeated * (3.0 / n), rtol=1e-4, atol=1e-5),
               f"for {n} bands, band k of the result must be RGB kernel k % 3 times 3 / {n}")


# --- Task 3 -------------------------------------------------------------------------------------

#: (n_bands, n_classes) the transfer model is built for: other band and class counts than the notebook's.
BUILD_CASES = ((4, 5), (8, 3))


def build_model_calls() -> list[tuple]:
    """The calls of :func:`check_build_model`."""
    return [("build_transfer_model", (n, classes, 32, None)) for n, classes in BUILD_CASES]


def _not_a_model(what: str, value: object) -> str:
    return f"{what} returned {type_name(value)}, not a keras.Model"


def check_build_model(build_transfer_model: Callable) -> None:
    """Other band counts: (8, 8, N) input, a softmax over n_classes, a ResNet-50 backbone fed N bands by either
    adapter (judged from the probe's description of the model, :class:`~autograder.probes.facts.ModelFacts`)."""
    for n, classes in BUILD_CASES:
        what = f"build_transfer_model({n}, {classes}, 32, None)"
        model = call(build_transfer_model, n, classes, 32, None, what=what)
        expect(isinstance(model, ModelFacts), _not_a_model(what, model))
        expect(model.input_shape == (None, 8, 8, n),
               f"for {n} bands the input must be (None, 8, 8, {n}), got {model.input_shape}: "
               "build the input from n_bands instead of a fixed 6")
        expect(model.output_shape == (None, classes),
               f"with n_classes={classes} the output must be (None, {classes}), got {model.output_shape}: "
               "use the n_classes argument for the head")
        layers = model.all_layers
        names = {layer.name for layer in layers}
        expect("conv1_conv" in names and sum(layer.is_a("Conv2D") for layer in layers) >= 53,
               "no ResNet-50 backbone found (its first convolution is called conv1_conv): use "
               "keras.applications.ResNet50(include_top=False, ...)")
        expect("predictions" not in names, "the ImageNet head (layer 'predictions') is still there: "
                                           "build the backbone with include_top=False")
        conv1 = next(layer for layer in layers if layer.name == "conv1_conv")
        bands_in = conv1.kernel_shape[2] if conv1.kernel_shape and len(conv1.kernel_shape) == 4 else None
        adapter = any(layer.is_a("Conv2D") and layer.kernel_size == (1, 1) and layer.kernel_shape is not None
                      and layer.kernel_shape[2:] == (n, 3) for layer in layers)
        expect(bands_in == n or (bands_in == 3 and adapter),
               f"for {n} bands conv1_conv takes {bands_in} bands and there is no 1x1 convolution from {n} bands to 3: "
               "inflate conv1 to N bands or put a 1x1 band-reduction convolution in front of an RGB backbone")
        probs = model.predictions
        expect(probs is not None and probs.ndim == 2 and np.allclose(probs.sum(axis=1), 1, atol=1e-4)
               and bool((probs >= 0).all()),
               "the output rows are not probabilities: end with Dense(n_classes, activation='softmax')")
        seen = conv1.input_shape
        if seen is not None and len(seen) == 4 and seen[1] is not None:
            expect(seen[1] >= 32, f"the backbone sees {seen[1]}x{seen[2]} inputs: upsample the 8x8 patches to "
                                  "input_size (32) first")


# --- Task 4 -------------------------------------------------------------------------------------

def _freeze_cases() -> list[tuple[str, ModelArg, tuple[float, ...]]]:
    """(label, model the probe builds, ratios): a ResNet-50 and small models of other sizes, frozen in turn."""
    return [("ResNet-50", ModelArg("resnet50", "resnet50"), (0.0, 0.3, 0.75, 1.0)),
            ("a 20-layer model", ModelArg("layers20", "layers", 20), (0.5, 0.25)),
            ("a 7-layer model", ModelArg("layers7", "layers", 7), (0.6,))]


def _scattered() -> ModelArg:
    """A ResNet-50 whose layers are frozen in an arbitrary pattern, not a prefix."""
    return ModelArg("scattered", "resnet50", trainable=tuple(bool(v) for v in _rng(4).random(400) >= 0.5))


def freeze_calls() -> list[tuple]:
    """The calls of :func:`check_freeze`."""
    calls = [call for _, model, ratios in _freeze_cases() for ratio in ratios
             for call in (("freeze_by_ratio", (model, ratio)), ("frozen_fraction", (model,)))]
    return [*calls, ("frozen_fraction", (_scattered(),))]


def _check_freeze_result(backbone: ModelFacts, ratio: float, label: str) -> None:
    layers = backbone.layers
    cut = ratio * len(layers)
    low, high = int(np.floor(cut)), int(np.ceil(cut))
    expect(backbone.trainable, f"{label}: backbone.trainable is False, which freezes every layer: keep it True "
                               "and set layer.trainable layer by layer")
    frozen_prefix = next((i for i, layer in enumerate(layers) if layer.trainable), len(layers))
    expect(frozen_prefix >= low,
           f"{label}, ratio {ratio}: only the first {frozen_prefix} layers are frozen, expected the first "
           f"{round(cut)} of {len(layers)}")
    late = [layer for layer in layers[high:] if layer.has_weights and not layer.is_a("BatchNormalization")]
    frozen_late = [layer.name for layer in late if not layer.trainable]
    expect(not frozen_late,
           f"{label}, ratio {ratio}: layers after the cut ({round(cut)} of {len(layers)}) are frozen: "
           f"{frozen_late[:3]}; only BatchNormalization layers may stay frozen there")


def _measured(frozen_fraction: Callable, model: ModelArg, label: str) -> tuple[object, float]:
    """``frozen_fraction(model)`` and the fraction geoai_ref measures; the call must leave the model unchanged."""
    from geoai_ref.freezing import measure_frozen

    before = model.facts
    fraction = call(frozen_fraction, model, what=f"frozen_fraction({label})")
    after = model.facts
    expect(after is not None, f"frozen_fraction({label}): the model could not be read after the call")
    expect(before is None or [la.trainable for la in before.layers] == [la.trainable for la in after.layers],
           f"frozen_fraction({label}) changed which layers are trainable: it should only measure them")
    return fraction, measure_frozen(after).layer_fraction


def check_freeze(freeze_by_ratio: Callable, frozen_fraction: Callable) -> None:
    """Freezing a ResNet-50 and small models by ratio; frozen_fraction against geoai_ref's measure."""
    for label, backbone, ratios in _freeze_cases():
        for ratio in ratios:
            call(freeze_by_ratio, backbone, ratio, what=f"freeze_by_ratio({label}, {ratio})")
            expect(backbone.facts is not None,
                   f"freeze_by_ratio({label}, {ratio}): the model could not be read after the call")
            _check_freeze_result(backbone.facts, ratio, label)
            fraction, expected = _measured(frozen_fraction, backbone, label)
            expect(isinstance(fraction, float | int) and not isinstance(fraction, bool)
                   and abs(float(fraction) - expected) < 1e-6,
                   f"frozen_fraction({label}) returned {fraction!r}; {expected:.4f} of its layers are frozen "
                   "(layers with trainable False over all layers)")
    scattered = _scattered()
    fraction, expected = _measured(frozen_fraction, scattered, "a scattered pattern")
    expect(isinstance(fraction, float | int) and abs(float(fraction) - expected) < 1e-6,
           f"on a scattered freezing pattern frozen_fraction returned {fraction!r} instead of {expected:.4f}: "
           "count every layer whose trainable is False")


# --- Task 5 -------------------------------------------------------------------------------------

#: The checkpoint path make_callbacks is given (the probe's own folder; nothing is written there).
CHECKPOINT_PATH = "hidden_check.weights.h5"


def callbacks_calls() -> list[tuple]:
    """The calls of :func:`check_callbacks`."""
    return [("make_callbacks", (CHECKPOINT_PATH,))]


def check_callbacks(make_callbacks: Callable) -> None:
    """EarlyStopping (best weights), ReduceLROnPlateau (smaller patience), ModelCheckpoint (best only) on val loss,
    judged from the probe's descriptions of the callbacks (:class:`~autograder.probes.facts.CallbackFacts`)."""
    callbacks = call(make_callbacks, CHECKPOINT_PATH, what="make_callbacks")
    expect(isinstance(callbacks, list | tuple), "make_callbacks must return a list of callbacks")

    def one(kind: str) -> CallbackFacts:
        found = [c for c in callbacks if isinstance(c, CallbackFacts) and c.is_a(kind)]
        expect(len(found) == 1, f"make_callbacks must return exactly one {kind}, found {len(found)}")
        return found[0]

    early, reduce, checkpoint = one("EarlyStopping"), one("ReduceLROnPlateau"), one("ModelCheckpoint")
    for name, cb in (("EarlyStopping", early), ("ReduceLROnPlateau", reduce), ("ModelCheckpoint", checkpoint)):
        expect(str(cb.monitor).startswith("val_"),
               f"{name} monitors {cb.monitor!r}: monitor the validation set (e.g. 'val_loss')")
    expect(bool(early.restore_best_weights),
           "EarlyStopping should restore the best weights (restore_best_weights=True)")
    expect(reduce.patience is not None and early.patience is not None and reduce.patience < early.patience,
           f"ReduceLROnPlateau patience ({reduce.patience}) must be smaller than EarlyStopping's ({early.patience}), "
           "or training stops before the learning rate is lowered")
    expect(reduce.factor is not None and 0 < reduce.factor < 1,
           f"ReduceLROnPlateau factor {reduce.factor} must be between 0 and 1")
    expect(bool(checkpoint.save_best_only), "ModelCheckpoint must keep the best epoch only (save_best_only=True)")
    expect(checkpoint.filepath == CHECKPOINT_PATH,
           f"ModelCheckpoint writes to {checkpoint.filepath!r}, not to the checkpoint_path it was given")


# --- Task 6 -------------------------------------------------------------------------------------

def metrics_inputs() -> list[tuple[np.ndarray, np.ndarray]]:
    """The (y_true, y_pred) calls of :func:`check_metrics`."""
    rng, k = _rng(6), NUM_CLASSES
    return [(rng.integers(0, k, 60), rng.integers(0, k, 60)),
            (rng.integers(0, max(k - 2, 1), 40), rng.integers(0, k, 40)),  # the last classes absent from the truth
            (rng.integers(0, k - 1, 40), rng.integers(0, k - 1, 40)),  # the last class neither true nor predicted
            (rng.integers(0, k, 30), np.full(30, min(2, k - 1)))]  # a collapsed prediction


def check_metrics(evaluate_predictions: Callable) -> None:
    """Compare with scikit-learn on random label vectors, including absent and never-predicted classes."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    for y_true, y_pred in metrics_inputs():
        got = call(evaluate_predictions, y_true, y_pred, what="evaluate_predictions")
        expect(isinstance(got, dict), "evaluate_predictions must return a dict")
        labels = range(NUM_CLASSES)
        precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                                         zero_division=0)
        expected = {"accuracy": accuracy_score(y_true, y_pred), "macro_precision": precision.mean(),
                    "macro_recall": recall.mean(), "macro_f1": f1.mean()}
        for key, value in expected.items():
            expect(key in got, f"evaluate_predictions lacks the key {key!r}")
            expect(abs(float(got[key]) - value) < 1e-6,
                   f"{key} is {float(got[key]):.4f}, scikit-learn gives {value:.4f} (macro average over the "
                   f"{NUM_CLASSES} classes, labels=range(NUM_CLASSES), zero_division=0)")
        matrix = np.asarray(got.get("confusion_matrix"))
        expect(matrix.shape == (NUM_CLASSES, NUM_CLASSES) and
               np.array_equal(matrix, confusion_matrix(y_true, y_pred, labels=labels)),
               "the confusion matrix differs from sklearn.metrics.confusion_matrix(y_true, y_pred, "
               f"labels=range(NUM_CLASSES)) (rows: true class, columns: predicted class, all {NUM_CLASSES} labels)")
        per_class = got.get("per_class")
        expect(isinstance(per_class, dict) and set(per_class) == set(CLASS_NAMES),
               f"per_class must map each class name {CLASS_NAMES} to its scores")
        for i, name in enumerate(CLASS_NAMES):
            expect(abs(float(per_class[name]["recall"]) - recall[i]) < 1e-6 and
                   int(per_class[name]["support"]) == int(support[i]),
                   f"per_class[{name!r}] differs from scikit-learn's recall / support for that class")


# --- Task 7 -------------------------------------------------------------------------------------

def _vector(rng: np.random.Generator, majority: int, share: float, n: int) -> np.ndarray:
    k = int(round(share * n))
    others = [c for c in range(NUM_CLASSES) if c != majority]
    rest = rng.choice(others, n - k) if n > k else np.array([], dtype=int)
    y = np.concatenate([np.full(k, majority), rest]).astype(int)
    return rng.permutation(y)


def collapse_inputs() -> list[tuple[np.ndarray]]:
    """The (y_pred,) calls of :func:`check_collapse`: known majority shares, none near the threshold."""
    rng = _rng(7)
    cases = [np.full(75, min(2, NUM_CLASSES - 1)), np.full(40, 0), np.arange(75) % NUM_CLASSES]
    for share in (1.0, 0.97, 0.93, 0.85, 0.6, 0.4):
        for n in (50, 120):
            cases.append(_vector(rng, int(rng.integers(0, NUM_CLASSES)), share, n))
    kept = []
    for y_pred in cases:
        counts = np.bincount(y_pred, minlength=NUM_CLASSES)
        if abs(counts.max() / counts.sum() - COLLAPSE_THRESHOLD) >= COLLAPSE_MARGIN:
            kept.append((y_pred,))
    return kept


def check_collapse(detect_collapse: Callable) -> None:
    """Prediction vectors with known majority shares, away from the threshold, and the exercise's case."""
    from geoai_ref.collapse import detect_collapse as reference

    for (y_pred,) in collapse_inputs():
        counts = np.bincount(y_pred, minlength=NUM_CLASSES)
        share = counts.max() / counts.sum()
        got = call(detect_collapse, y_pred, what="detect_collapse")
        expect(isinstance(got, dict), "detect_collapse must return a dict")
        for key in ("collapsed", "majority_class", "majority_share", "predicted_classes"):
            expect(key in got, f"detect_collapse lacks the key {key!r}")
        collapsed = share >= COLLAPSE_THRESHOLD
        expect(bool(got["collapsed"]) == collapsed,
               f"{share:.0%} of {len(y_pred)} predictions are class {int(counts.argmax())}: collapsed should be "
               f"{collapsed} (threshold {COLLAPSE_THRESHOLD:.0%})")
        expect(int(got["majority_class"]) == int(counts.argmax()),
               f"majority_class is {got['majority_class']}, the most predicted class is {int(counts.argmax())}")
        expect(abs(float(got["majority_share"]) - share) < 1e-6,
               f"majority_share is {got['majority_share']}, expected {share:.4f} (a fraction 0-1)")
        expect(sorted(int(c) for c in got["predicted_classes"]) == [int(c) for c in np.flatnonzero(counts)],
               f"predicted_classes should be {np.flatnonzero(counts).tolist()}")
        if share == 1.0 or share < 0.7:  # clear-cut cases agree with geoai_ref's fuller verdict
            truth = np.arange(len(y_pred)) % NUM_CLASSES
            expect(reference(truth, y_pred).collapsed == bool(got["collapsed"]),
                   "detect_collapse disagrees with the reference on a clear-cut case")


# --- Week 3 baseline ----------------------------------------------------------------------------

def check_week3_baseline(week3_accuracy: object, week3_record: Path = WEEK3_RECORD) -> None:
    """The Week 3 model's accuracy on the Week 3 validation set, as ``week3_record`` holds it (measured when the
    release's data was made).

    Raises:
        CheckFailed: if ``week3_accuracy`` is not that accuracy as a fraction (within rounding).
    """
    expected = float(json.loads(week3_record.read_text())["val_accuracy"])
    expect(isinstance(week3_accuracy, float | int | np.floating),
           f"week3_accuracy must be a number, got {type(week3_accuracy).__name__}")
    value = float(week3_accuracy)
    if 1 < value <= 100:
        raise CheckFailed(f"week3_accuracy is {value}: give a fraction 0-1, not a percentage")
    expect(abs(value - expected) <= ACCURACY_TOLERANCE,
           f"week3_accuracy is {value:.4f}; the Week 3 model scores {expected:.4f} on the Week 3 validation patches. "
           "Feed it reflectance, scaled outside the model as Week 3 did (X_val / S2_SCALE), and compare argmax "
           "predictions with y_val")


# --- Submitted files ----------------------------------------------------------------------------

def _submitted_metrics(root: Path) -> object:
    from geoai_ref.schemas import Phase4AMetrics, read_json

    path = root / layout.PHASE4A_METRICS
    expect(path.exists(), f"{layout.PHASE4A_METRICS} is missing: run the notebook and submit the files it writes")
    try:
        return read_json(path, Phase4AMetrics)
    except ValueError as exc:
        raise CheckFailed(f"{layout.PHASE4A_METRICS}: {exc}; write it with the given phase4a_metrics()") from None


def check_week3_reported(root: Path, week3_record: Path = WEEK3_RECORD) -> None:
    """The Week 3 accuracy the submitted metrics file reports (``week3_baseline.val_accuracy``, written from the
    notebook's ``week3_accuracy``): :func:`check_week3_baseline` on it.

    Raises:
        CheckFailed: if the metrics file is missing or malformed, or the accuracy is not the Week 3 model's.
    """
    reported = _submitted_metrics(root).week3_baseline
    value = reported.get("val_accuracy") if isinstance(reported, dict) else None
    expect(value is not None, f"{layout.PHASE4A_METRICS} has no week3_baseline.val_accuracy: write it with the "
                              "given phase4a_metrics(..., week3_accuracy, ...)")
    check_week3_baseline(value, week3_record)


def check_stability(root: Path) -> None:
    """The submitted 4A model did not collapse: judged from the confusion matrix it reports."""
    metrics = _submitted_metrics(root)
    matrix = np.asarray(metrics.result.evaluation.get("confusion_matrix", []))
    expect(matrix.shape == (NUM_CLASSES, NUM_CLASSES),
           "the metrics file has no 5x5 confusion_matrix under result.evaluation")
    predicted = matrix.sum(axis=0)
    share = predicted.max() / max(predicted.sum(), 1)
    majority = CLASS_NAMES[int(predicted.argmax())]
    expect(share < COLLAPSE_THRESHOLD,
           f"your submitted 4A model predicts {majority} for {share:.0%} of the validation patches: it collapsed. "
           "Freeze less (50-70 % of the layers), normalise per band instead of preprocess_input, then retrain")
    true_counts = matrix.sum(axis=1)
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    expect(abs(accuracy - float(metrics.result.accuracy)) < 1e-3,
           f"the reported accuracy {float(metrics.result.accuracy):.4f} does not match its own confusion matrix "
           f"({accuracy:.4f})")
    expect((true_counts > 0).sum() == NUM_CLASSES, "the reported validation set lacks a class: use the Week 3 split")


def _numbers(text: str) -> list[float]:
    return [float(m) for m in re.findall(r"\d+(?:\.\d+)?", text)]


def check_comparison_report(root: Path) -> None:
    """reports/phase4a_comparison.md: substantial, and states both accuracies (any usual format)."""
    metrics = _submitted_metrics(root)
    path = root / layout.PHASE4A_COMPARISON
    expect(path.exists(), f"{layout.PHASE4A_COMPARISON} is missing: write the comparison report")
    text = path.read_text(errors="replace")
    expect(len(text.strip()) >= MIN_REPORT_CHARS,
           f"{layout.PHASE4A_COMPARISON} has only {len(text.strip())} characters: compare the two models in a few "
           "sentences and a table")
    numbers = _numbers(text)

    def mentioned(fraction: float) -> bool:
        return any(abs(x - 100 * fraction) <= STATED_PERCENT_TOLERANCE or abs(x - fraction) <= STATED_FRACTION_TOLERANCE
                   for x in numbers)

    week3 = float(metrics.week3_baseline.get("val_accuracy", -1))
    ours = float(metrics.result.accuracy)
    expect(mentioned(week3), f"the comparison does not state the Week 3 accuracy ({100 * week3:.2f} %)")
    expect(mentioned(ours), f"the comparison does not state the Phase 4A accuracy ({100 * ours:.2f} %) "
                            "reported in reports/phase4a_metrics.json")
