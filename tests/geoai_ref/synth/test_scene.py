"""The synthetic scene: deterministic, plausible structure, published spectra, informative DEM."""

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from geoai_ref.align import fuse, load_sources
from geoai_ref.classes import CLASS_NAMES, class_id
from geoai_ref.rasterio_io import read_raster
from geoai_ref.synth.build import TINY_SCENE
from geoai_ref.synth.scene import LAKE_LEVEL_M, build_scene
from geoai_ref.synth.sensors import modis_ndvi, sentinel2, srtm
from geoai_ref.synth.spectra import REFLECTANCE_RANGES


@pytest.fixture(scope="module")
def public(fixtures_root):
    stack = fuse(load_sources(fixtures_root))
    truth = read_raster(fixtures_root / "rasters/landcover_truth.tif").data[0]
    return stack, truth


def test_same_seed_same_scene_other_seed_other_scene():
    a, b = build_scene(TINY_SCENE), build_scene(TINY_SCENE)
    assert np.array_equal(sentinel2(a).data, sentinel2(b).data)
    assert np.array_equal(modis_ndvi(a).data, modis_ndvi(b).data) and np.array_equal(srtm(a).data, srtm(b).data)
    other = build_scene(type(TINY_SCENE)(**{**TINY_SCENE.__dict__, "seed": TINY_SCENE.seed + 1}))
    assert not np.array_equal(sentinel2(a).data, sentinel2(other).data)


def test_every_class_is_present_with_plausible_share(public):
    _, truth = public
    shares = np.bincount(truth.ravel(), minlength=5) / truth.size
    assert (shares > 0.03).all(), dict(zip(CLASS_NAMES, shares.round(3), strict=True))


def test_elevation_relates_to_class_as_in_los_lagos(public):
    """Water and urban low and flat, pasture below ~300 m, forest on slopes, bare ground above ~1,000 m."""
    stack, truth = public
    dem = stack.band("DEM")
    median = {name: float(np.nanmedian(dem[truth == class_id(name)])) for name in CLASS_NAMES}
    assert median["Water"] < 100 and median["Urban"] < 200
    assert median["Agriculture"] < 300
    assert median["Agriculture"] < median["Forest"] < median["Bare/Grassland"]
    assert median["Bare/Grassland"] > 1000
    lake = dem[truth == class_id("Water")]
    assert np.nanpercentile(lake, 50) == pytest.approx(LAKE_LEVEL_M, abs=6)


@pytest.mark.parametrize("name,surface", [("Forest", "forest"), ("Water", "water"), ("Urban", "urban")])
def test_class_spectra_within_published_ranges(public, name, surface):
    """Median reflectance of each class lies in its REFERENCES.md range, widened by the stated mixing.

    Urban blocks hold up to 80 % vegetation and every land pixel up to 40 % soil, so medians
    may sit up to 40 % of the range's width outside it; water is unmixed and must sit inside.
    """
    stack, truth = public
    lo, hi = REFLECTANCE_RANGES[surface][:, 0], REFLECTANCE_RANGES[surface][:, 1]
    median = np.nanmedian(stack.data[..., :6][truth == class_id(name)], axis=0)
    slack = 0.0 if surface == "water" else 0.4 * (hi - lo) + 0.01
    assert ((median >= lo - slack) & (median <= hi + slack)).all(), (median.round(3), lo, hi)


def test_dem_adds_more_than_modis_to_sentinel2(public):
    """Beyond Sentinel-2, DEM adds clearly more than coarse MODIS NDVI, and MODIS still adds a little.

    Per-pixel decision trees (depth 5) on 10,000 pixels, scored on 10,000 others.
    """
    stack, truth = public
    rng = np.random.default_rng(0)
    valid = np.isfinite(stack.data).all(axis=-1)
    idx = rng.choice(np.flatnonzero(valid.ravel()), 20000, replace=False)
    x, y = stack.data.reshape(-1, 8)[idx], truth.ravel()[idx]
    half = idx.size // 2

    def accuracy(columns: list[int]) -> float:
        tree = DecisionTreeClassifier(max_depth=5, random_state=0).fit(x[:half, columns], y[:half])
        return float(tree.score(x[half:, columns], y[half:]))

    s2 = accuracy([0, 1, 2, 3, 4, 5])
    gain_modis, gain_dem = accuracy([0, 1, 2, 3, 4, 5, 6]) - s2, accuracy([0, 1, 2, 3, 4, 5, 7]) - s2
    assert gain_dem > gain_modis + 0.02, (s2, gain_modis, gain_dem)
    assert gain_modis > 0.0, (s2, gain_modis)


def test_cloud_hole_is_nodata_in_s2_only():
    scene = build_scene(TINY_SCENE)
    s2 = sentinel2(scene)
    assert (s2.data[:, scene.cloud] == 0).all()
    assert (s2.data[:, ~scene.cloud] > 0).all()


def test_native_storage_matches_the_products():
    scene = build_scene(TINY_SCENE)
    s2, modis, dem = sentinel2(scene), modis_ndvi(scene), srtm(scene)
    assert s2.data.dtype == np.uint16 and s2.nodata == 0 and s2.data.max() <= 10000
    assert modis.data.dtype == np.int16 and modis.nodata == -3000 and modis.scale == 1e-4
    assert -2000 <= modis.data.min() and modis.data.max() <= 10000
    assert dem.data.dtype == np.int16 and dem.grid.crs.to_epsg() == 4326
