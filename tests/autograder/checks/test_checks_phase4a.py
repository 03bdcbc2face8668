"""The Phase 4A hidden checks: the worked solution passes, typical wrong answers fail with a useful message."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, probed

from autograder.authoring.solutions import solution_namespace
from autograder.checks import phase4a as checks
from autograder.checks.common import CheckFailed


@pytest.fixture(scope="module")
def sol() -> dict:
    return solution_namespace("phase4a")


def fails(check, *args, match: str) -> None:
    with pytest.raises(CheckFailed, match=match):
        check(*args)


def test_solution_functions_pass_every_function_check(sol: dict, tmp_path: Path) -> None:
    checks.check_normalise(sol["normalise_per_band"])
    checks.check_inflate(sol["inflate_conv1_kernel"])
    checks.check_callbacks(*probed(tmp_path, checks.callbacks_calls(), make_callbacks=sol["make_callbacks"]))
    checks.check_metrics(sol["evaluate_predictions"])
    checks.check_collapse(sol["detect_collapse"])


def test_week3_model_reevaluated_as_the_solution_does_passes_the_baseline_check() -> None:
    import keras
    from conftest import FIXTURES

    model = keras.models.load_model(FIXTURES / "models/week3/best_model.h5", compile=False)
    x_val, y_val = np.load(FIXTURES / "data/processed/X_val.npy"), np.load(FIXTURES / "data/processed/y_val.npy")
    scale = 10000.0  # the notebook's S2_SCALE: the course's model takes reflectance, scaled outside it
    accuracy = float(np.mean(np.argmax(model.predict(x_val / scale, verbose=0), axis=1) == y_val))
    checks.check_week3_baseline(accuracy)


def test_unimplemented_function_says_so() -> None:
    def normalise_per_band(x_train, x_other):
        raise NotImplementedError()

    fails(checks.check_normalise, normalise_per_band, match="not implemented yet")


def test_normalise_with_own_statistics_or_globally_fails() -> None:
    def own_stats(a, b):
        f = lambda x: ((x - x.mean((0, 1, 2))) / x.std((0, 1, 2))).astype(np.float32)  # noqa: E731
        return f(a), f(b)

    def global_stats(a, b):
        return ((a - a.mean()) / a.std()).astype(np.float32), ((b - a.mean()) / a.std()).astype(np.float32)

    def imagenet(a, b):
        import keras

        return (keras.applications.resnet.preprocess_input(a.copy()).astype(np.float32),
                keras.applications.resnet.preprocess_input(b.copy()).astype(np.float32))

    fails(checks.check_normalise, own_stats, match="training statistics")
    fails(checks.check_normalise, global_stats, match="each band")
    fails(checks.check_normalise, imagenet, match="each band")


def test_inflation_without_scaling_or_by_mean_fails() -> None:
    def unscaled(kernel, n):
        return np.tile(kernel, (1, 1, -(-n // 3), 1))[:, :, :n]

    def mean_kernel(kernel, n):
        return np.repeat(kernel.mean(axis=2, keepdims=True), n, axis=2) * 3.0 / n

    fails(checks.check_inflate, unscaled, match="not scaled")
    fails(checks.check_inflate, mean_kernel, match="RGB kernel k % 3")


def test_collapse_detector_with_wrong_threshold_or_share_fails(sol: dict) -> None:
    def never(y_pred, threshold=0.9):
        return {**sol["detect_collapse"](y_pred), "collapsed": False}

    def percent(y_pred, threshold=0.9):
        out = sol["detect_collapse"](y_pred)
        return {**out, "majority_share": 100 * out["majority_share"]}

    fails(checks.check_collapse, never, match="collapsed should be True")
    fails(checks.check_collapse, percent, match="fraction 0-1")


def test_metrics_with_weighted_average_or_missing_labels_fail(sol: dict) -> None:
    from sklearn.metrics import confusion_matrix, f1_score

    def weighted(y_true, y_pred):
        return {**sol["evaluate_predictions"](y_true, y_pred),
                "macro_f1": f1_score(y_true, y_pred, average="weighted", zero_division=0)}

    def no_labels(y_true, y_pred):
        return {**sol["evaluate_predictions"](y_true, y_pred),
                "confusion_matrix": confusion_matrix(y_true, y_pred).tolist()}

    fails(checks.check_metrics, weighted, match="macro_f1")
    fails(checks.check_metrics, no_labels, match="confusion matrix")


def test_callbacks_on_training_loss_or_equal_patience_fail(tmp_path: Path) -> None:
    import keras

    def on_training_loss(path):
        return [keras.callbacks.EarlyStopping(monitor="loss", patience=10, restore_best_weights=True),
                keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=5),
                keras.callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)]

    def same_patience(path):
        return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
                keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=5),
                keras.callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)]

    def not_callbacks(path):
        return [object(), {"monitor": "val_loss"}]

    calls = checks.callbacks_calls()
    fails(checks.check_callbacks, *probed(tmp_path, calls, make_callbacks=on_training_loss), match="monitors 'loss'")
    fails(checks.check_callbacks, *probed(tmp_path, calls, make_callbacks=same_patience),
          match="smaller than EarlyStopping")
    fails(checks.check_callbacks, *probed(tmp_path, calls, make_callbacks=not_callbacks),
          match="exactly one EarlyStopping, found 0")


def test_week3_baseline_as_percentage_or_wrong_value_fails() -> None:
    recorded = json.loads(checks.WEEK3_RECORD.read_text())["val_accuracy"]
    checks.check_week3_baseline(recorded)
    fails(checks.check_week3_baseline, 100 * recorded, match="not a percentage")
    fails(checks.check_week3_baseline, recorded + 0.1, match=f"scores {recorded:.4f}.*X_val / S2_SCALE")


@pytest.mark.slow
def test_model_and_freezing_checks_accept_the_solution_and_either_adapter(sol: dict, tmp_path: Path) -> None:
    import keras

    build = sol["build_transfer_model"]
    checks.check_build_model(*probed(tmp_path, checks.build_model_calls(), build_transfer_model=build))
    checks.check_freeze(*probed(tmp_path, checks.freeze_calls(), freeze_by_ratio=sol["freeze_by_ratio"],
                                frozen_fraction=sol["frozen_fraction"]))

    def band_reduction(n_bands, n_classes=5, input_size=32, weights=None):
        inputs = keras.Input((8, 8, n_bands))
        x = keras.layers.Conv2D(3, 1, name="band_reduction")(inputs)
        x = keras.layers.UpSampling2D(input_size // 8)(x)
        x = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(input_size, input_size, 3))(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))

    checks.check_build_model(*probed(tmp_path, checks.build_model_calls(), build_transfer_model=band_reduction))


@pytest.mark.slow
def test_fixed_six_bands_and_whole_backbone_freezing_fail(sol: dict, tmp_path: Path) -> None:
    build = sol["build_transfer_model"]

    def six_bands_always(n_bands, n_classes=5, input_size=32, weights=None):
        return build(6, n_classes, input_size, weights)

    def whole_backbone(backbone, ratio):
        backbone.trainable = False

    def bn_included_in_count(backbone, ratio):
        for layer in backbone.layers:
            layer.trainable = True
        for layer in backbone.layers[: int(ratio * len(backbone.layers) * 0.5)]:
            layer.trainable = False

    def measuring_by_freezing(backbone):  # answers right by making the model fit the answer
        for layer in backbone.layers:
            layer.trainable = False
        return 1.0

    fails(checks.check_build_model,
          *probed(tmp_path, checks.build_model_calls(), build_transfer_model=six_bands_always), match="input must be")
    for freeze, measure, match in ((whole_backbone, sol["frozen_fraction"], "backbone.trainable is False"),
                                   (bn_included_in_count, sol["frozen_fraction"], "only the first"),
                                   (sol["freeze_by_ratio"], measuring_by_freezing, "should only measure")):
        fails(checks.check_freeze, *probed(tmp_path, checks.freeze_calls(), freeze_by_ratio=freeze,
                                           frozen_fraction=measure), match=match)


def _solution_like_run(root: Path, confusion: list[list[int]], accuracy: float) -> Path:
    (root / "reports").mkdir(parents=True)
    metrics = {"phase": "4A", "model": "ResNet50", "recipe": {}, "pretrained": False, "weights_source": None,
               "freeze": {}, "week3_baseline": {"val_accuracy": 0.8667, "source": "x"}, "split": {},
               "result": {"name": "S2", "bands": [], "accuracy": accuracy, "macro_f1": 0.5,
                          "evaluation": {"confusion_matrix": confusion}, "collapse": {}, "training": {}}}
    (root / "reports" / "phase4a_metrics.json").write_text(json.dumps(metrics))
    return root


def test_stability_check_flags_a_collapsed_submission(tmp_path: Path) -> None:
    collapsed = [[0, 0, 15, 0, 0], [0, 0, 15, 0, 0], [0, 0, 10, 0, 0], [0, 0, 15, 0, 0], [0, 0, 20, 0, 0]]
    fails(checks.check_stability, _solution_like_run(tmp_path / "a", collapsed, 10 / 75),
          match="predicts Parcels for 100% .* collapsed")
    healthy = np.diag([15, 15, 10, 15, 20]).tolist()
    checks.check_stability(_solution_like_run(tmp_path / "b", healthy, 1.0))
    fails(checks.check_stability, _solution_like_run(tmp_path / "c", healthy, 0.95), match="does not match")
    fails(checks.check_stability, tmp_path / "missing", match="missing")


def test_comparison_report_must_state_both_accuracies(tmp_path: Path) -> None:
    root = _solution_like_run(tmp_path, np.diag([15, 15, 10, 15, 20]).tolist(), 1.0)
    report = root / "reports" / "phase4a_comparison.md"
    filler = "The ResNet-50 was compared with the SimpleCNN on the same validation split. " * 4
    report.write_text(f"# Comparison\n{filler}\nWeek 3: 86.67 %, Phase 4A: 100.00 %\n")
    checks.check_comparison_report(root)
    report.write_text(f"# Comparison\n{filler}\nWeek 3: 0.8667, ours: 1.0\n")
    checks.check_comparison_report(root)
    report.write_text(f"# Comparison\n{filler}\nWeek 3: 86.67 %\n")
    fails(checks.check_comparison_report, root, match="Phase 4A accuracy")


def test_artifact_check_names_the_missing_deliverable(tmp_path: Path) -> None:
    """4a_artifacts is judged by the grader's trusted files check (autograder/trusted/files.py)."""
    from autograder.trusted.files import files_check
    from geoai_ref import layout
    from geoai_ref.phase import Phase

    root = _solution_like_run(tmp_path, np.diag([15, 15, 10, 15, 20]).tolist(), 1.0)
    result = files_check("4a_files", Phase.A, root, layout.DELIVERABLES[Phase.A])
    assert not result.passed and "phase4a_transfer_model.h5: missing" in result.message
    shutil.rmtree(root / "reports")
    result = files_check("4a_files", Phase.A, root, layout.DELIVERABLES[Phase.A])
    assert not result.passed and "phase4a_metrics.json: missing" in result.message


#: The freeze check judged on facts alone, in a fresh process: what a grading worker does with a probe's answers.
#: The stand-ins set each model's facts as the probe's replay does (its state after the call).
_JUDGE_FREEZING = """
import sys
from autograder.checks import phase4a as checks
from autograder.probes.facts import LayerFacts, ModelFacts

def facts(flags):
    layers = tuple(LayerFacts(f"conv{i}", None, frozenset({"Conv2D"}), bool(t), True, 10) for i, t in enumerate(flags))
    return ModelFacts((None, 32, 32, 3), None, True, layers)

def freeze_by_ratio(model, ratio):
    n = model.n_layers or 175
    model.facts = facts([i >= int(ratio * n) for i in range(n)])

def frozen_fraction(model):
    if model.facts is None:  # the scattered pattern: built with its flags, never frozen by ratio
        model.facts = facts(model.trainable)
    return sum(not layer.trainable for layer in model.facts.layers) / len(model.facts.layers)

checks.check_freeze(freeze_by_ratio, frozen_fraction)
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""


def test_the_freeze_check_judges_a_probes_facts_without_importing_tensorflow() -> None:
    """A grading worker judges probes from plain data: importing TensorFlow there costs each worker seconds of CPU
    and hundreds of MB (the check once took geoai_ref's measure from the Keras module)."""
    judged = subprocess.run([sys.executable, "-c", _JUDGE_FREEZING], capture_output=True, text=True, cwd=REPO,
                            timeout=300)
    assert judged.returncode == 0, judged.stderr[-3000:]
    assert judged.stdout.strip() == "[]", judged.stdout
