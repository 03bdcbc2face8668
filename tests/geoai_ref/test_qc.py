import numpy as np
import pytest

from geoai_ref.bands import FUSED_BANDS, S2_BANDS
from geoai_ref.qc import QualityError, check_bands


def good_patches(n: int = 4) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.empty((n, 8, 8, 8), dtype=np.float32)
    x[..., :6] = rng.uniform(0.01, 0.4, size=(n, 8, 8, 6))
    x[..., 6] = rng.uniform(0.2, 0.9, size=(n, 8, 8))
    x[..., 7] = rng.uniform(50, 1500, size=(n, 8, 8))
    return x


def test_clean_data_passes():
    report = check_bands(good_patches(), FUSED_BANDS)
    assert report.ok and report.messages == [] and report.n_values == 4 * 64
    report.raise_if_failed()


def test_nan_is_reported_with_band_and_count():
    x = good_patches()
    x[0, :2, :, 6] = np.nan
    report = check_bands(x, FUSED_BANDS)
    assert not report.ok
    assert report.messages == [report.findings[0].message]
    assert report.findings[0].band == "MODIS_NDVI" and report.findings[0].count == 16
    assert "band MODIS_NDVI: 16 of 256 values" in report.messages[0]
    with pytest.raises(QualityError, match="MODIS_NDVI"):
        report.raise_if_failed()


def test_all_nan_array_is_reported_per_band():
    x = np.full((2, 8, 8, 6), np.nan, dtype=np.float32)
    report = check_bands(x, S2_BANDS)
    assert {f.band for f in report.findings} == set(S2_BANDS)
    assert any("no valid values" in m for m in report.messages)


def test_nan_allowed_for_scenes_with_cloud_holes():
    x = good_patches()
    x[0, 0, 0, :] = np.nan
    assert check_bands(x, FUSED_BANDS, allow_nan=True).ok


def test_unscaled_sentinel2_is_explained():
    x = good_patches()
    x[..., 2] *= 10000
    report = check_bands(x, FUSED_BANDS)
    (finding,) = report.findings
    assert finding.band == "B4" and finding.problem == "range"
    assert "multiply by 0.0001" in finding.message


def test_raw_modis_with_fill_is_explained():
    x = good_patches()
    x[..., 6] = np.round(x[..., 6] * 10000)
    x[0, 0, 0, 6] = -3000
    (finding,) = check_bands(x, FUSED_BANDS).findings
    assert "mask -3000" in finding.message and "0.0001" in finding.message


def test_unmasked_srtm_nodata_is_explained():
    x = good_patches()
    x[1, 3, 3, 7] = -32768
    (finding,) = check_bands(x, FUSED_BANDS).findings
    assert finding.band == "DEM" and "-32768" in finding.message


def test_constant_band_is_reported():
    x = good_patches()
    x[..., 6] = 0.5
    (finding,) = check_bands(x, FUSED_BANDS).findings
    assert finding.problem == "constant" and "carries no information" in finding.message


def test_band_count_mismatch_says_channels_last():
    with pytest.raises(ValueError, match="channels-last"):
        check_bands(np.zeros((2, 8, 8, 6)), FUSED_BANDS)
