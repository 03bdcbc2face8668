import numpy as np
import pytest
from affine import Affine
from rasterio.enums import Resampling

from geoai_ref.align import load_sources, resample_band
from geoai_ref.alignment_check import TOLERANCE, check_resampled, grid_problems
from geoai_ref.grids import WGS84, Grid
from geoai_ref.rasterio_io import Raster


@pytest.fixture(scope="module")
def sources(fixtures_root):
    return load_sources(fixtures_root)


def shifted(raster: Raster, drow: float, dcol: float) -> Raster:
    """The same pixels with a transform moved by (drow, dcol) pixels: a misregistered raster."""
    t = raster.grid.transform
    moved = Affine(t.a, t.b, t.c + dcol * t.a, t.d, t.e, t.f + drow * t.e)
    return Raster(raster.data, Grid(raster.grid.crs, moved, raster.grid.height, raster.grid.width),
                  raster.band_names, raster.nodata, raster.scale)


@pytest.mark.parametrize("name", ["MODIS_NDVI", "DEM"])
def test_correct_bilinear_alignment_passes(sources, name):
    src = sources.modis if name == "MODIS_NDVI" else sources.dem
    target = sources.s2.grid
    report = check_resampled(resample_band(src, name, target), target, target, src.physical(name), src.grid, name)
    assert report.passed, report.message
    assert report.error_p95 < TOLERANCE / 4 and report.n_samples > 500  # reproject's own error: ~0.02 of a step
    assert "aligned" in report.message


@pytest.mark.parametrize("name", ["MODIS_NDVI", "DEM"])
def test_half_pixel_shift_is_caught_and_named(sources, name):
    src = sources.modis if name == "MODIS_NDVI" else sources.dem
    target = sources.s2.grid
    wrong = resample_band(shifted(src, 0.5, 0.5), name, target)  # pixel corner taken for the centre
    report = check_resampled(wrong, target, target, src.physical(name), src.grid, name)
    assert not report.passed
    assert report.error_p95 > TOLERANCE
    assert "half-pixel shift" in report.diagnosis, report.message


def test_nearest_neighbour_modis_is_caught_and_named(sources):
    target = sources.s2.grid
    wrong = resample_band(sources.modis, "MODIS_NDVI", target, Resampling.nearest)
    report = check_resampled(wrong, target, target, sources.modis.physical("MODIS_NDVI"), sources.modis.grid,
                             "MODIS_NDVI")
    assert not report.passed
    assert report.diagnosis == "nearest-neighbour resampling"
    assert "NOT aligned" in report.message and "nearest" in report.message


def test_other_correct_resampling_call_passes(sources, tmp_path):
    """A WarpedVRT-based bilinear alignment (another correct call) passes the same check."""
    import rasterio
    from rasterio.vrt import WarpedVRT

    from geoai_ref.rasterio_io import write_raster

    target = sources.s2.grid
    modis = sources.modis
    path = write_raster(tmp_path / "modis.tif", modis)
    with rasterio.open(path) as src, WarpedVRT(src, crs=target.crs, transform=target.transform, width=target.width,
                                               height=target.height, resampling=Resampling.bilinear,
                                               src_nodata=-3000, nodata=-3000, dtype="float32") as vrt:
        stored = vrt.read(1)
    aligned = np.where(stored == -3000, np.nan, stored * 1e-4)
    report = check_resampled(aligned, target, target, modis.physical("MODIS_NDVI"), modis.grid, "MODIS_NDVI")
    assert report.passed, report.message


def test_grid_problems_name_crs_shape_and_half_pixel_origin(sources):
    s2 = sources.s2.grid
    assert grid_problems(s2, s2) == []
    other_crs = Grid(WGS84, s2.transform, s2.height, s2.width)
    assert any("CRS differs" in p for p in grid_problems(other_crs, s2))
    smaller = Grid(s2.crs, s2.transform, s2.height - 1, s2.width)
    assert any("shape differs" in p for p in grid_problems(smaller, s2))
    t = s2.transform
    half = Grid(s2.crs, Affine(t.a, 0, t.c + 5.0, 0, t.e, t.f), s2.height, s2.width)
    problems = grid_problems(half, s2)
    assert any("half-pixel shift" in p for p in problems), problems


def test_off_grid_array_fails_without_resampling_check(sources):
    s2 = sources.s2.grid
    t = s2.transform
    half = Grid(s2.crs, Affine(t.a, 0, t.c + 5.0, 0, t.e, t.f), s2.height, s2.width)
    dem = sources.dem
    report = check_resampled(resample_band(dem, "DEM", half), half, s2, dem.physical("DEM"), dem.grid, "DEM")
    assert not report.passed and report.grid_problems
    assert "not on the Sentinel-2 grid" in report.message


def test_shape_mismatch_raises(sources):
    s2 = sources.s2.grid
    with pytest.raises(ValueError, match="does not match its grid"):
        check_resampled(np.zeros((3, 3)), s2, s2, sources.dem.physical("DEM"), sources.dem.grid, "DEM")
