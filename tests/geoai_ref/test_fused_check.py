"""The one fused-array check (geoai_ref.fused_check): shape, values, band order, resampling, as findings."""

import numpy as np
import pytest

from autograder.authoring.release_data import fused_reference
from geoai_ref import layout
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.fused_check import (
    MIN_BAND_CORRELATION,
    NEAREST_ZERO_SHARE,
    Problem,
    check_fused_array,
    zero_difference_share,
)

REL = layout.X_VAL_FUSED


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """The reference fused patches (the data pipeline on the fixtures, built once and shared by the suite)."""
    return np.load(fused_reference() / REL)


def _judge(tmp_path, x, reference=None, n=75):
    path = tmp_path / "x.npy"
    np.save(path, x)
    return check_fused_array(path, REL, n, reference)


def _problems(report) -> list[Problem]:
    return [f.problem for f in report.findings]


def test_reference_arrays_pass_with_evidence(reference, tmp_path):
    report = _judge(tmp_path, reference, reference)
    assert report.ok and report.flags == set()
    assert [m["best_match"] for m in report.evidence["band_match"]] == list(FUSED_BANDS)
    assert all(not v["nearest"] for v in report.evidence["resampling"].values())


def test_swapped_bands_are_a_band_order_error_listed_first(reference, tmp_path):
    swapped = reference.copy()
    swapped[..., [2, 3]] = reference[..., [3, 2]]  # B4 and B8: NIR's values are outside red's usual range too
    report = _judge(tmp_path, swapped, reference)
    assert report.flags == {"band-order"}
    assert _problems(report)[:2] == [Problem.BAND_ORDER, Problem.BAND_ORDER]
    assert "channel 2 looks like B8" in report.messages()[0] and str(REL) in report.messages()[0]


def test_a_channel_that_resembles_no_band_is_reported_even_in_its_place(reference, tmp_path):
    noisy = reference.copy()
    rng = np.random.default_rng(0)
    noisy[..., 7] = rng.uniform(100, 900, size=noisy.shape[:-1])  # DEM replaced by noise in its valid range
    report = _judge(tmp_path, noisy, reference)
    assert Problem.DIFFERS in _problems(report) and "band-order" not in report.flags
    differs = next(f for f in report.findings if f.problem is Problem.DIFFERS)
    assert "channel 7 (DEM)" in differs.message and report.evidence["band_match"][7]["r"] < MIN_BAND_CORRELATION


def test_nearest_resampled_modis_is_piecewise_constant(reference, tmp_path):
    blocky = reference.copy()
    i = FUSED_BANDS.index("MODIS_NDVI")
    blocky[..., i] = np.repeat(np.repeat(reference[:, ::4, ::4, i], 4, axis=1), 4, axis=2)
    report = _judge(tmp_path, blocky, None)
    assert report.flags == {"nearest-resampling"}
    share = report.evidence["resampling"]["MODIS_NDVI"]["zero_difference_share"]
    assert share >= NEAREST_ZERO_SHARE["MODIS_NDVI"]


@pytest.mark.parametrize("make,problem,words", [
    (lambda x: x[..., :6], Problem.SHAPE, "expected (75, 8, 8, 8)"),
    (lambda x: x.astype(np.int32), Problem.DTYPE, "float32"),
    (lambda x: np.where(np.arange(8) == 6, x * 10000, x), Problem.VALUES, "multiply by 0.0001"),
])
def test_broken_arrays_say_what_to_fix(reference, tmp_path, make, problem, words):
    report = _judge(tmp_path, make(reference), None)
    assert problem in _problems(report) and any(words in m for m in report.messages())


def test_missing_and_unreadable_files(tmp_path):
    missing = check_fused_array(None, REL, 75)
    assert _problems(missing) == [Problem.MISSING] and missing.flags == {"missing-deliverable"}
    (tmp_path / "junk.npy").write_text("junk")
    junk = check_fused_array(tmp_path / "junk.npy", REL, 75)
    assert _problems(junk) == [Problem.UNREADABLE] and "not a readable .npy" in junk.messages()[0]
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert _problems(check_fused_array(pickled, REL, 75)) == [Problem.UNREADABLE]  # never unpickled


def test_zero_difference_share_of_constant_and_smooth_patches():
    constant = np.ones((3, 8, 8))
    assert zero_difference_share(constant) == (1.0, 3)
    ramp = np.tile(np.arange(64, dtype=float).reshape(8, 8), (2, 1, 1))
    assert zero_difference_share(ramp) == (0.0, 0)
