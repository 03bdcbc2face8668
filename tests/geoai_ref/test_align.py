import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.enums import Resampling
from rasterio.warp import transform

from geoai_ref.align import fuse, load_sources, resample_band
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.grids import S2_CRS, WGS84, Grid, modis_grid_covering, s2_grid, srtm_grid_covering
from geoai_ref.rasterio_io import Raster


def analytic_source(grid: Grid, fn, name: str) -> Raster:
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    x, y = grid.pixel_centres(rows, cols)
    return Raster(fn(x, y).astype(np.float32)[None], grid, (name,), nodata=None, scale=1.0)


def target_grid(dx: float, dy: float, size: int = 30) -> Grid:
    xs, ys = transform(WGS84, S2_CRS, [-72.54], [-41.21])
    return s2_grid(xs[0] + dx, ys[0] + dy, size)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    a=st.floats(-1.0, 1.0), b=st.floats(-1.0, 1.0), c=st.floats(-100, 100),
    dx=st.floats(-2000, 2000), dy=st.floats(-2000, 2000), source=st.sampled_from(["modis", "srtm"]),
)
def test_bilinear_reproduces_planes_at_pixel_centres(a, b, c, dx, dy, source):
    """Bilinear interpolation is exact for planes: aligned values equal the plane at each 10 m centre."""
    target = target_grid(dx, dy)
    src_grid = modis_grid_covering(target) if source == "modis" else srtm_grid_covering(target)
    ox, oy = src_grid.transform.c, src_grid.transform.f
    step = src_grid.transform.a

    def plane(x, y):
        return a * (x - ox) / step + b * (y - oy) / step + c  # slope in units per source pixel

    name = "MODIS_NDVI" if source == "modis" else "DEM"
    aligned = resample_band(analytic_source(src_grid, plane, name), name, target)
    rows, cols = np.mgrid[0 : target.height, 0 : target.width]
    x, y = target.pixel_centres(rows, cols)
    sx, sy = transform(target.crs, src_grid.crs, x.ravel(), y.ravel())
    expected = plane(np.asarray(sx), np.asarray(sy)).reshape(target.shape)
    assert np.isfinite(aligned).all()
    # GDAL's approximate transformer errs by < 0.05 source pixels; float32 storage adds ~1e-7 relative.
    tolerance = 0.05 * (abs(a) + abs(b)) + 1e-5 * (abs(c) + 10)
    assert np.abs(aligned - expected).max() <= tolerance


def test_nodata_is_not_smeared_into_neighbours():
    target = target_grid(0, 0)
    src_grid = modis_grid_covering(target)
    stored = np.full((1, *src_grid.shape), 5000, dtype=np.int16)
    stored[0, src_grid.height // 2, src_grid.width // 2] = -3000
    aligned = resample_band(Raster(stored, src_grid, ("MODIS_NDVI",), nodata=-3000, scale=1e-4), "MODIS_NDVI",
                            target)
    finite = aligned[np.isfinite(aligned)]
    assert finite.size > 0
    assert np.allclose(finite, 0.5, atol=1e-6), "fill value -3000 leaked into valid pixels"


def test_categorical_band_keeps_class_ids():
    target = target_grid(0, 0)
    src_grid = target.expand(3)
    classes = np.random.default_rng(0).integers(0, 5, size=(1, *src_grid.shape)).astype(np.uint8)
    aligned = resample_band(Raster(classes, src_grid, ("LANDCOVER",), nodata=255), "LANDCOVER", target)
    assert set(np.unique(aligned)) <= {0, 1, 2, 3, 4}
    assert np.array_equal(aligned, classes[0, 3:-3, 3:-3])


def test_explicit_resampling_overrides_the_registry():
    target = target_grid(0, 0)
    src_grid = modis_grid_covering(target)
    src = analytic_source(src_grid, lambda x, y: (x - x.min()) / 231.0, "MODIS_NDVI")
    nearest = resample_band(src, "MODIS_NDVI", target, Resampling.nearest)
    bilinear = resample_band(src, "MODIS_NDVI", target)
    assert np.unique(nearest).size < np.unique(bilinear).size / 5  # blocky: few distinct values


def test_fuse_tiny_fixture(tiny_root):
    sources = load_sources(tiny_root)
    stack = fuse(sources)
    assert stack.band_names == FUSED_BANDS
    assert stack.data.shape == (*sources.s2.grid.shape, 8) and stack.data.dtype == np.float32
    assert stack.grid.same_as(sources.s2.grid)
    s2 = stack.data[..., :6]
    valid = np.isfinite(s2)
    assert 0 < np.nanmin(s2[valid]) and np.nanmax(s2[valid]) <= 1.0
    assert -0.2 <= np.nanmin(stack.band("MODIS_NDVI")) and np.nanmax(stack.band("MODIS_NDVI")) <= 1.0
    assert 40 < np.nanmin(stack.band("DEM")) < np.nanmax(stack.band("DEM")) < 3500


def test_load_sources_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="s2_l2a_composite.tif"):
        load_sources(tmp_path)


def test_load_sources_rejects_wrong_band_names(tiny_root, tmp_path):
    import shutil

    from geoai_ref import layout
    from geoai_ref.rasterio_io import read_raster, write_raster

    shutil.copytree(tiny_root, tmp_path / "d")
    dem = read_raster(tmp_path / "d" / layout.SRTM_DEM)
    write_raster(tmp_path / "d" / layout.SRTM_DEM, Raster(dem.data, dem.grid, ("elevation",), dem.nodata))
    with pytest.raises(ValueError, match="expected \\['DEM'\\]"):
        load_sources(tmp_path / "d")
