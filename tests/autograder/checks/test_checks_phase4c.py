"""Phase 4C hidden checks: the solution passes; typical wrong answers fail with a message saying what to fix."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from autograder.authoring.solutions import solution_namespace  # noqa: E402
from autograder.checks import phase4c  # noqa: E402
from autograder.checks.common import CheckFailed  # noqa: E402
from autograder.paths import ASSIGNMENTS  # noqa: E402
from geoai_ref import layout  # noqa: E402
from geoai_ref.ablation import BAND_SUBSETS  # noqa: E402
from geoai_ref.bands import FUSED_BANDS, S2_BANDS  # noqa: E402

NAMES = tuple(BAND_SUBSETS)
BANDS = {name: list(bands) for name, bands in BAND_SUBSETS.items()}
FILES = {name: rel.name for name, rel in layout.PHASE4C_MODEL_FILES.items()}


@pytest.fixture(scope="module")
def ns() -> dict:
    """The solution functions plus the given evaluation cell (model_record)."""
    namespace = solution_namespace("phase4c")
    exec(compile((ASSIGNMENTS / "evaluation_cell.py").read_text(), "<evaluation_cell>", "exec"), namespace)  # noqa: S102
    return namespace


def fails(fn, *args, match: str) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args)
    assert match in str(info.value), str(info.value)
    return str(info.value)


# ---------------------------------------------------------------------------- 4c_subsets

def test_solution_subsets_pass(ns):
    phase4c.check_subsets(ns["band_subsets"], ns["select_bands"])


def test_subsets_in_another_order_pass(ns):
    def reordered():
        return {k: list(reversed(v)) for k, v in reversed(ns["band_subsets"]().items())}

    phase4c.check_subsets(reordered, ns["select_bands"])


def test_positional_selection_fails(ns):
    def by_position(x, names):
        return x[..., :len(names)]

    message = fails(phase4c.check_select_bands, by_position, match="wrong channels")
    assert "FUSED_BANDS" in message


def test_selection_ignoring_requested_order_fails(ns):
    def sorted_channels(x, names):
        return x[..., sorted(FUSED_BANDS.index(n) for n in names)]

    fails(phase4c.check_select_bands, sorted_channels, match="in the order requested")


def test_selection_without_error_on_unknown_band_fails():
    def lenient(x, names):
        return x[..., [FUSED_BANDS.index(n) for n in names if n in FUSED_BANDS]]

    fails(phase4c.check_select_bands, lenient, match="raise KeyError")


def test_selection_modifying_input_fails():
    def in_place(x, names):
        out = x[..., [FUSED_BANDS.index(n) for n in names]]
        x[...] = 0
        return out

    fails(phase4c.check_select_bands, in_place, match="modified its input")


def test_unimplemented_stub_fails():
    def stub():
        raise NotImplementedError()

    fails(phase4c.check_band_subsets, stub, match="not implemented yet")


def test_missing_configuration_fails(ns):
    def three():
        return {k: v for k, v in ns["band_subsets"]().items() if k != "S2+DEM"}

    fails(phase4c.check_band_subsets, three, match="missing ['S2+DEM']")


def test_wrong_band_in_configuration_fails(ns):
    def swapped():
        subsets = ns["band_subsets"]()
        subsets["S2+DEM"] = [*S2_BANDS, "MODIS_NDVI"]
        return subsets

    fails(phase4c.check_band_subsets, swapped, match="band_subsets()['S2+DEM']")


# ---------------------------------------------------------------------------- artifacts

def _tiny_model(n_bands: int):
    from geoai_ref.models import keras

    inputs = keras.Input((8, 8, n_bands))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x))


def _figure(path: Path, blank: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(4, 4))
    if not blank:
        ax.imshow(np.arange(25).reshape(5, 5), cmap="Blues")
        ax.set_title("confusion")
    else:
        ax.axis("off")
    fig.savefig(path, dpi=100)
    plt.close(fig)


@pytest.fixture(scope="module")
def submission(ns, tmp_path_factory) -> Path:
    """A complete, valid Phase 4C submission folder (tiny models, consistent metrics)."""
    root = tmp_path_factory.mktemp("submission")
    rng = np.random.default_rng(0)
    y_val = np.repeat(np.arange(5), 15)
    (root / layout.Y_VAL).parent.mkdir(parents=True)
    np.save(root / layout.Y_VAL, y_val)
    models = root / layout.PHASE4C_MODELS
    models.mkdir(parents=True)
    records = []
    for i, name in enumerate(NAMES):
        path = models / FILES[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _tiny_model(len(BANDS[name])).save(path)
        y_pred = np.where(rng.random(75) < 0.4 + 0.1 * i, y_val, (y_val + 1) % 5)
        history = {"loss": [1.5, 1.2], "val_loss": [1.6, 1.4], "accuracy": [0.3, 0.4], "val_accuracy": [0.3, 0.4]}
        records.append(ns["model_record"](name, BANDS[name], y_val, y_pred, history, path.relative_to(root)))
    best = max(records, key=lambda r: r["accuracy"])["name"]
    study = {"phase": "4C", "model": "SimpleCNN", "configurations": records, "best_configuration": best,
             "split": {"method": "stratified"}, "notes": []}
    (root / layout.PHASE4C_RESULTS).write_text(json.dumps(study))
    _figure(root / layout.PHASE4C_CONFUSION)
    _figure(root / layout.PHASE4C_ACCURACY)
    report = root / layout.PHASE4C_REPORT
    report.parent.mkdir(parents=True)
    report.write_text("# Phase 4C\n\n| configuration | accuracy |\n|---|---|\n"
                      + "".join(f"| {r['name']} | {r['accuracy']:.2f} |\n" for r in records)
                      + "\n## Conclusions\nThe DEM helped more than MODIS; the full fusion did not beat S2+DEM.\n"
                        "\n## Next steps\nRepeat with several seeds and collect more samples.\n")
    return root


@pytest.fixture
def copy(submission, tmp_path) -> Path:
    dest = tmp_path / "sub"
    shutil.copytree(submission, dest)
    return dest


def _edit_json(folder: Path, edit) -> None:
    path = folder / layout.PHASE4C_RESULTS
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def test_valid_submission_passes(submission):
    phase4c.check_results(submission)
    phase4c.check_figures(submission)
    phase4c.check_report(submission)


def test_missing_results_file_fails(copy):
    (copy / layout.PHASE4C_RESULTS).unlink()
    fails(phase4c.check_results, copy, match="evaluation_results.json is missing")


def test_json_missing_keys_fails(copy):
    _edit_json(copy, lambda d: [d.pop("best_configuration"), d.pop("split")])
    message = fails(phase4c.check_results, copy, match="lacks the key(s)")
    assert "best_configuration" in message and "split" in message


def test_record_missing_keys_fails(copy):
    _edit_json(copy, lambda d: d["configurations"][0].pop("evaluation"))
    fails(phase4c.check_results, copy, match="model_record")


def test_missing_configuration_in_json_fails(copy):
    _edit_json(copy, lambda d: d["configurations"].pop(2))
    fails(phase4c.check_results, copy, match="missing ['S2+DEM']")


def test_percent_accuracy_fails(copy):
    def percent(d):
        d["configurations"][0]["accuracy"] *= 100

    _edit_json(copy, percent)
    fails(phase4c.check_results, copy, match="not a fraction in 0..1")


def test_wrong_best_configuration_fails(copy):
    def worst(d):
        d["best_configuration"] = min(d["configurations"], key=lambda r: r["accuracy"])["name"]

    _edit_json(copy, worst)
    fails(phase4c.check_results, copy, match="best_configuration")


def test_wrong_bands_in_json_fails(copy):
    def swap(d):
        d["configurations"][2]["bands"] = [*S2_BANDS, "MODIS_NDVI"]

    _edit_json(copy, swap)
    fails(phase4c.check_results, copy, match="configuration 'S2+DEM' has the bands")


def test_missing_models_fail(copy):
    shutil.rmtree(copy / layout.PHASE4C_MODELS)
    message = fails(phase4c.check_results, copy, match="missing: save the trained model to")
    assert all(str(rel) in message for rel in layout.PHASE4C_MODEL_FILES.values())


def test_missing_seven_band_model_fails(copy):
    (copy / layout.PHASE4C_MODELS / "s2_dem.h5").unlink()
    message = fails(phase4c.check_results, copy, match="phase4c_outputs/models/s2_dem.h5: missing")
    assert "s2.h5" not in message.replace("s2_dem.h5", "")


def test_unreadable_model_fails(copy):
    (copy / layout.PHASE4C_MODELS / "full.h5").write_bytes(b"not a model")
    fails(phase4c.check_results, copy, match="not a readable HDF5 file")


def test_blank_figure_fails(copy):
    _figure(copy / layout.PHASE4C_ACCURACY, blank=True)
    fails(phase4c.check_figures, copy, match="blank")


def test_missing_figure_fails(copy):
    (copy / layout.PHASE4C_CONFUSION).unlink()
    fails(phase4c.check_figures, copy, match="missing")


def test_report_without_next_steps_fails(copy):
    path = copy / layout.PHASE4C_REPORT
    path.write_text(path.read_text().replace("## Next steps", "Then:"))
    fails(phase4c.check_report, copy, match="'## Next steps'")


def test_report_not_naming_every_configuration_fails(copy):
    path = copy / layout.PHASE4C_REPORT
    path.write_text(path.read_text().replace("S2+MODIS", "the MODIS run"))
    fails(phase4c.check_report, copy, match="does not mention ['S2+MODIS']")


def test_missing_report_fails(copy):
    (copy / layout.PHASE4C_REPORT).unlink()
    fails(phase4c.check_report, copy, match="missing")
