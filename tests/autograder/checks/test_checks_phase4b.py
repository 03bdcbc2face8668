"""Phase 4B hidden checks: the worked solution passes; typical wrong answers fail with a message saying what to fix."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from conftest import probed
from rasterio.enums import Resampling
from rasterio.warp import reproject

from autograder.authoring.release_data import KIT_DATA
from autograder.authoring.solutions import solution_namespace
from autograder.checks import phase4b
from autograder.checks.common import CheckFailed
from autograder.trusted.fused import fused_check
from geoai_ref import layout
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.phase import Phase


@pytest.fixture(scope="module")
def ns() -> dict:
    return solution_namespace("phase4b")


def fails(fn, *args, match: str) -> str:
    with pytest.raises(CheckFailed, match=match) as info:
        fn(*args)
    return str(info.value)


# --- task functions: the solution passes -------------------------------------------------------------------

@pytest.mark.parametrize(("check", "name"), [
    (phase4b.check_align, "align_to_s2"), (phase4b.check_stack, "stack_fused"),
    (phase4b.check_patches, "extract_patches"), (phase4b.check_qc, "quality_check"),
    (phase4b.check_split, "stratified_group_split"), (phase4b.check_select_bands, "select_bands"),
])
def test_solution_passes(ns, check, name):
    check(ns[name])


def test_solution_model_passes(ns, tmp_path):
    phase4b.check_band_reduction(*probed(tmp_path, phase4b.band_reduction_calls(),
                                         build_fusion_resnet=ns["build_fusion_resnet"]))


# --- alignment ---------------------------------------------------------------------------------------------

def _aligner(resampling=Resampling.bilinear, shift=0.0, mask_nodata=True, scale=True):
    def align(source_path, s2_path):
        with rasterio.open(s2_path) as s2:
            crs, transform, shape = s2.crs, s2.transform, (s2.height, s2.width)
        with rasterio.open(source_path) as src:
            stored = src.read(1)
            values = stored.astype(np.float32) * (np.float32(src.tags(1)["scale"]) if scale else 1)
            if mask_nodata:
                values[stored == src.nodata] = np.nan
            out = np.full(shape, np.nan, np.float32)
            src_transform = src.transform @ src.transform.translation(shift, shift)
            reproject(values, out, src_transform=src_transform, src_crs=src.crs, src_nodata=np.nan,
                      dst_transform=transform, dst_crs=crs, dst_nodata=np.nan, resampling=resampling)
        return out
    return align


def test_align_catches_nearest_neighbour():
    message = fails(phase4b.check_align, _aligner(Resampling.nearest), match="nearest-neighbour")
    assert "Resampling.bilinear" in message


def test_align_catches_half_pixel_shift():
    message = fails(phase4b.check_align, _aligner(shift=0.5), match="half-pixel shift")
    assert "transform" in message


def test_align_catches_missing_scale_and_unmasked_fill():
    fails(phase4b.check_align, _aligner(scale=False), match="scale")
    fails(phase4b.check_align, _aligner(mask_nodata=False), match="nodata")


def test_align_catches_hard_coded_grid():
    fails(phase4b.check_align, lambda source, s2: np.zeros((400, 400), np.float32), match="hard-code")


def test_align_not_implemented():
    def todo(source, s2):
        raise NotImplementedError()
    fails(phase4b.check_align, todo, match="not implemented")


# --- stack, patches, QC ------------------------------------------------------------------------------------

def test_stack_catches_dict_order():
    fails(phase4b.check_stack, lambda bands: np.stack(list(bands.values()), -1).astype(np.float32),
          match="stack by name")


def test_stack_catches_swapped_bands(ns):
    def swapped(bands):
        out = ns["stack_fused"](bands)
        return out[..., [0, 1, 2, 3, 4, 5, 7, 6]]
    fails(phase4b.check_stack, swapped, match="channel 6 should be MODIS_NDVI but holds DEM")


@pytest.mark.parametrize("offset", [1, -1])
def test_patches_catch_off_by_one(ns, offset):
    def shifted(stack, rows, cols, size=8):
        return np.stack([stack[r - 4 + offset:r + 4 + offset, c - 4 + offset:c + 4 + offset]
                         for r, c in zip(rows, cols, strict=True)])
    fails(phase4b.check_patches, shifted, match="off by")


def test_patches_must_reject_edges():
    def no_check(stack, rows, cols, size=8):
        return np.stack([stack[max(r - 4, 0):r + 4, max(c - 4, 0):c + 4] for r, c in zip(rows, cols, strict=True)])
    fails(phase4b.check_patches, no_check, match="raise ValueError")


def test_qc_catches_missing_range_check():
    def nan_only(x, band_names):
        if np.isnan(x).any():
            raise ValueError("NaN")
        return {}
    fails(phase4b.check_qc, nan_only, match="outside its band's range")


def test_qc_catches_rejecting_clean_data():
    def too_strict(x, band_names):
        if np.asarray(x).max() > 1:
            raise ValueError("out of range")
        return {}
    fails(phase4b.check_qc, too_strict, match="raised ValueError")


# --- split ---------------------------------------------------------------------------------------------------

def test_split_catches_leaky_split():
    from sklearn.model_selection import train_test_split

    def leaky(y, groups, val_fraction=0.2, seed=42):
        idx = np.arange(len(y))
        return tuple(np.sort(a) for a in train_test_split(idx, test_size=val_fraction, stratify=y, random_state=seed))
    fails(phase4b.check_split, leaky, match="both sides")


def test_split_catches_unstratified_split():
    def keras_like(y, groups, val_fraction=0.2, seed=42):
        order = np.argsort(groups, kind="stable")
        at = int(len(y) * (1 - val_fraction))
        while at < len(y) and groups[order[at]] == groups[order[at - 1]]:
            at += 1
        return np.sort(order[:at]), np.sort(order[at:])
    fails(phase4b.check_split, keras_like, match="none in validation")


def test_split_catches_unseeded_split(ns):
    rng = np.random.default_rng()

    def unseeded(y, groups, val_fraction=0.2, seed=42):
        return ns["stratified_group_split"](y, groups, val_fraction, int(rng.integers(1_000_000)))
    fails(phase4b.check_split, unseeded, match="same seed")


# --- model and band selection --------------------------------------------------------------------------------

def test_model_catches_three_band_only(ns, tmp_path):
    def three_band(n_bands, x_train, weights=None, freeze_ratio=0.6):
        return ns["build_fusion_resnet"](3, x_train[..., :3], weights, freeze_ratio)
    fails(phase4b.check_band_reduction,
          *probed(tmp_path, phase4b.band_reduction_calls(), build_fusion_resnet=three_band),
          match="expected \\(None, 8, 8, 4\\)")


def test_model_catches_missing_adapter(tmp_path):
    import keras

    def no_adapter(n_bands, x_train, weights=None, freeze_ratio=0.6):
        inputs = keras.Input((8, 8, n_bands))
        x = keras.layers.Resizing(32, 32)(inputs)
        x = keras.layers.Conv2D(3, 3, padding="same")(x)
        x = keras.layers.Flatten()(x)
        return keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x))
    fails(phase4b.check_band_reduction,
          *probed(tmp_path, phase4b.band_reduction_calls(), build_fusion_resnet=no_adapter),
          match="no nested ResNet-50")


def test_select_bands_catches_positional_selection():
    fails(phase4b.check_select_bands, lambda x, names, order=FUSED_BANDS: x[..., :len(names)],
          match="wrong channels")


def test_select_bands_must_reject_unknown_names():
    def lenient(x, names, order=FUSED_BANDS):
        return x[..., [list(order).index(n) for n in names if n in order]]
    fails(phase4b.check_select_bands, lenient, match="raise KeyError")


# --- artifacts -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def submission(tmp_path_factory) -> Path:
    """A complete, valid Phase 4B submission folder (reference fused arrays, a tiny 8-band .h5 model)."""
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autograder.authoring.release_data import fused_reference

    root = tmp_path_factory.mktemp("phase4b_submission")
    reference = fused_reference()
    for rel in (layout.X_TRAIN_FUSED, layout.X_VAL_FUSED):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(reference / rel, root / rel)
    inputs = keras.Input((8, 8, 8))
    x = keras.layers.Conv2D(3, 1)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x))
    (root / layout.PHASE4B_MODEL).parent.mkdir(parents=True)
    model.save(root / layout.PHASE4B_MODEL, include_optimizer=False)
    subsets = {name: list(bands) for name, bands in BAND_SUBSETS.items()}
    configurations = [{"name": n, "bands": b, "accuracy": 0.5, "macro_f1": 0.4, "evaluation": {},
                       "collapse": {"collapsed": False, "majority_share": 0.3}, "training": {}} for n, b in
                      subsets.items()]
    study = {"phase": "4B", "model": "ResNet50", "configurations": configurations, "best_configuration": "S2",
             "split": {"method": "stratified"}, "pretrained": False, "notes": []}
    (root / layout.PHASE4B_ABLATION).parent.mkdir(parents=True)
    (root / layout.PHASE4B_ABLATION).write_text(json.dumps(study))
    fig, ax = plt.subplots()
    ax.bar(range(4), [50, 60, 70, 40])
    (root / layout.PHASE4B_SENSOR_FIGURE).parent.mkdir(parents=True)
    fig.savefig(root / layout.PHASE4B_SENSOR_FIGURE)
    plt.close(fig)
    (root / layout.CONFIG).write_text(
        "bands: [B2, B3, B4, B8, B11, B12, MODIS_NDVI, DEM]\nresampling: bilinear\npatch_size: 8\n"
        "split: {method: stratified group k-fold, val_fraction: 0.2}\nseed: 42\n"
        "training: {learning_rate: 0.0001, batch_size: 32, epochs: 50, freeze_ratio: 0.6}\n")
    (root / layout.BASELINE_REPORT).write_text(
        "# Baseline report\n\n## Methods\n" + "Aligned, stacked and trained. " * 10
        + "\n\n## Results\n| S2 | 50 % |\n\n## Failures\nnone\n\n## Next steps\nmore samples\n")
    return root


@pytest.fixture
def copy_of(submission, tmp_path) -> Path:
    root = tmp_path / "submission"
    shutil.copytree(submission, root)
    return root


def fused_fails(root: Path, match: str) -> None:
    """The fused arrays are judged by the grader's trusted check (autograder/trusted/fused.py)."""
    result = fused_check("4b_fused_trusted", Phase.B, root, KIT_DATA)
    assert not result.passed and re.search(match, result.message), result.message


def test_complete_submission_passes(submission):
    assert fused_check("4b_fused_trusted", Phase.B, submission, KIT_DATA).passed
    phase4b.check_fusion_model(submission)
    phase4b.check_ablation_artifacts(submission)
    phase4b.check_config(submission)
    phase4b.check_baseline_report(submission)


@pytest.mark.parametrize(("check", "rel", "match"), [
    (phase4b.check_fusion_model, layout.PHASE4B_MODEL, "missing: save the trained model"),
    (phase4b.check_ablation_artifacts, layout.PHASE4B_SENSOR_FIGURE, "missing: save the figure"),
    (phase4b.check_ablation_artifacts, layout.PHASE4B_ABLATION, "missing: write the metrics"),
    (phase4b.check_config, layout.CONFIG, "missing"),
    (phase4b.check_baseline_report, layout.BASELINE_REPORT, "missing"),
])
def test_missing_artifacts_fail(copy_of, check, rel, match):
    (copy_of / rel).unlink()
    fails(check, copy_of, match=match)


@pytest.mark.parametrize(("order", "match"), [([0, 1, 2, 3, 4, 5, 7, 6], "channel 6 looks like DEM"),
                                              ([1, 0, 2, 3, 4, 5, 6, 7], "channel 0 looks like B3")])
def test_fused_arrays_catch_swapped_bands(copy_of, order, match):
    x = np.load(copy_of / layout.X_TRAIN_FUSED)
    np.save(copy_of / layout.X_TRAIN_FUSED, x[..., order])
    fused_fails(copy_of, match)


def test_fused_arrays_catch_unscaled_reflectance(copy_of):
    x = np.load(copy_of / layout.X_VAL_FUSED)
    x[..., :6] *= 10000
    np.save(copy_of / layout.X_VAL_FUSED, x)
    fused_fails(copy_of, "multiply by 0.0001")


def test_fused_arrays_catch_wrong_sample_count(copy_of):
    np.save(copy_of / layout.X_VAL_FUSED, np.load(copy_of / layout.X_VAL_FUSED)[:70])
    fused_fails(copy_of, "expected \\(75, 8, 8, 8\\)")


def test_fused_arrays_missing_fail(copy_of):
    (copy_of / layout.X_VAL_FUSED).unlink()
    fused_fails(copy_of, "missing")


def test_fusion_model_catches_collapse(copy_of):
    study = json.loads((copy_of / layout.PHASE4B_ABLATION).read_text())
    study["configurations"][3]["collapse"] = {"collapsed": True, "majority_share": 1.0,
                                              "majority_class_name": "Agriculture"}
    (copy_of / layout.PHASE4B_ABLATION).write_text(json.dumps(study))
    fails(phase4b.check_fusion_model, copy_of, match="collapsed.*Agriculture")


def test_ablation_catches_missing_configuration(copy_of):
    study = json.loads((copy_of / layout.PHASE4B_ABLATION).read_text())
    study["configurations"] = [c for c in study["configurations"] if c["name"] != "S2+DEM"]
    (copy_of / layout.PHASE4B_ABLATION).write_text(json.dumps(study))
    fails(phase4b.check_ablation_artifacts, copy_of, match="S2\\+DEM")


def test_config_catches_missing_parameters(copy_of):
    (copy_of / layout.CONFIG).write_text("bands: [B2, B3, B4, B8, B11, B12, MODIS_NDVI, DEM]\n"
                                         "model: ResNet50\nnotes: " + "x" * 200 + "\n")
    message = fails(phase4b.check_config, copy_of, match="no key for")
    assert "learning rate" in message and "seed" in message


def test_report_catches_missing_sections(copy_of):
    (copy_of / layout.BASELINE_REPORT).write_text("# Report\n\n## Methods\n" + "text " * 100)
    fails(phase4b.check_baseline_report, copy_of, match="## Failures")
