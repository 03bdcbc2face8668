"""The synthetic scene under the course's real polygons: truth, lake and terrain, MODIS mixing, spectra, seeds.

Most tests use the polygons around Frutillar Bajo (a 4.5 km window holding the bay, the town, parcels,
paddocks and forest: 44 polygons of all five classes); one test builds the scene under all 125.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import FIXTURES
from rasterio.crs import CRS
from rasterio.features import rasterize
from rasterio.warp import transform_bounds
from scipy.ndimage import binary_dilation, label

from geoai_ref.course import COURSE
from geoai_ref.errors import UsageError
from geoai_ref.polygons import LabelledPolygon, PolygonSet, load_polygons
from geoai_ref.synth.course_scene import (
    SURFACES,
    aoi_s2_grid,
    build_course_scene,
    course_s2_grid,
    draw_shares,
    polygons_bounds,
    s2_grid_from_bounds,
)
from geoai_ref.synth.scene import HAZE_MAX, LAKE_LEVEL_M
from geoai_ref.synth.sensors import (
    MODIS_COMPOSITE_NOISE,
    SRTM_NOISE_M,
    modis_cells,
    modis_ndvi,
    sentinel2,
    srtm,
    truth,
)
from geoai_ref.synth.spectra import REFLECTANCE_RANGES

POLYGONS = FIXTURES / "course" / "larger_polygons.geojson"
WINDOW = (663000.0, 5442700.0, 667500.0, 5447000.0)  # UTM 18S: Frutillar Bajo and its bay
WATER = COURSE.label_of("Water")
#: The surfaces each class mixes (course_scene.draw_shares), whose published ranges bound its reflectance.
CLASS_SURFACES = {"Water": ("water",), "Forest": ("forest", "pasture"), "Agriculture": ("pasture", "bare", "forest"),
                  "Parcels": ("forest", "pasture", "urban", "bare"), "Urban": ("forest", "pasture", "urban", "bare")}


def _centroid(p: LabelledPolygon) -> np.ndarray:
    return np.asarray(p.geometry_in(COURSE.crs)["coordinates"][0], dtype=float)[:, :2].mean(axis=0)


def _subset(polygons: PolygonSet, keep: list[LabelledPolygon]) -> PolygonSet:
    return dataclasses.replace(polygons, polygons=tuple(keep))


def _interior(p: LabelledPolygon, grid) -> np.ndarray:
    """Pixels of ``grid`` whose centre lies inside the polygon."""
    geometry = p.geometry if grid.crs.is_geographic else p.geometry_in(COURSE.crs)
    return rasterize([(geometry, 1)], out_shape=grid.shape, transform=grid.transform, fill=0, dtype="uint8") > 0


def _is_pond(p: LabelledPolygon, polygons: PolygonSet) -> bool:
    """A Water polygon with a land polygon east of it at the same northings is inland, not Lake Llanquihue."""
    xy = np.asarray(p.geometry_in(COURSE.crs)["coordinates"][0])[:, :2]
    for q in polygons.polygons:
        if q.class_name != "Water":
            qxy = np.asarray(q.geometry_in(COURSE.crs)["coordinates"][0])[:, :2]
            same_northings = qxy[:, 1].min() < xy[:, 1].max() and qxy[:, 1].max() > xy[:, 1].min()
            if same_northings and qxy[:, 0].max() > xy[:, 0].min():
                return True
    return False


def _truth_problems(polygons: PolygonSet, labels) -> list[str]:
    problems = []
    for p in polygons.polygons:
        inside = _interior(p, labels.grid)
        share = float((labels.data[0][inside] == p.label).mean())
        if not inside.any() or share < 0.95:
            problems.append(f"feature {p.feature} ({p.class_name}): {share:.1%} of {inside.sum()} pixels "
                            "carry its class")
    return problems


def _elevation_problems(polygons: PolygonSet, scene, dem) -> list[str]:
    """Lake polygons at lake level, ponds flat below their rim, land polygons above the lake (rendered SRTM)."""
    noise, problems = SRTM_NOISE_M, []
    for p in polygons.polygons:
        z = dem.data[0][_interior(p, dem.grid)].astype(float)
        where = f"feature {p.feature} ({p.class_name})"
        if z.size == 0:
            problems.append(f"{where}: no SRTM post inside")
        elif p.class_name != "Water":
            if np.median(z) <= LAKE_LEVEL_M + 2 * noise:
                problems.append(f"{where}: median elevation {np.median(z)} m is not above the lake")
        elif not _is_pond(p, polygons):
            if abs(np.median(z) - LAKE_LEVEL_M) > 1.5 or np.abs(z - LAKE_LEVEL_M).max() > 4.5 * noise:
                problems.append(f"{where}: elevations {z.min()}-{z.max()} m, not the lake level {LAKE_LEVEL_M} m")
        else:
            inside = _interior(p, scene.world)
            level = scene.terrain.dem[inside]
            rim = binary_dilation(inside, iterations=2) & ~inside
            flat = np.ptp(level) == 0 and level[0] < scene.terrain.dem[rim].min()
            if not flat or np.abs(z - level[0]).max() > 4.5 * noise:
                problems.append(f"{where}: pond not flat below its rim (levels {np.unique(level)}, "
                                f"SRTM {z.min()}-{z.max()} m)")
    return problems


def _shore_problems(polygons: PolygonSet, scene) -> list[str]:
    """The lake is one body reaching the east edge; every land polygon is on the mainland (connected to the west
    edge by land), every lake polygon in that lake, every pond apart from it."""
    water = scene.landcover == WATER
    lakes, _ = label(water)
    lake = np.isin(lakes, np.setdiff1d(np.unique(lakes[:, -1]), [0]))
    lands, _ = label(~water)
    mainland = np.isin(lands, np.setdiff1d(np.unique(lands[:, 0]), [0]))
    problems = []
    for p in polygons.polygons:
        inside = _interior(p, scene.world)
        expected = mainland if p.class_name != "Water" else (water & ~lake if _is_pond(p, polygons) else lake)
        if not expected[inside].all():
            problems.append(f"feature {p.feature} ({p.class_name}) is not where it belongs (mainland / lake / pond)")
    return problems


@pytest.fixture(scope="module")
def polygons() -> PolygonSet:
    return load_polygons(POLYGONS, COURSE)


@pytest.fixture(scope="module")
def window(polygons):
    x0, y0, x1, y1 = WINDOW
    return _subset(polygons, [p for p in polygons.polygons if x0 < _centroid(p)[0] < x1 and y0 < _centroid(p)[1] < y1])


@pytest.fixture(scope="module")
def rendered(window):
    scene = build_course_scene(window)
    return scene, sentinel2(scene), modis_ndvi(scene), srtm(scene), truth(scene)


def test_window_holds_every_class(window):
    assert all(n >= 4 for n in window.counts(COURSE).values()), window.counts(COURSE)


def test_grid_is_the_course_crs_snapped_to_10_m_and_covers_all_polygons(polygons):
    grid = course_s2_grid(polygons, COURSE, margin_m=400.0)
    assert grid.crs == CRS.from_user_input(COURSE.crs)
    assert grid.transform.a == 10.0 and grid.transform.e == -10.0
    left, bottom, right, top = grid.bounds
    assert all(v % 10.0 == 0.0 for v in (left, bottom, right, top))
    west, south, east, north = polygons_bounds(polygons, COURSE.crs)
    assert left <= west - 400 and bottom <= south - 400 and right >= east + 400 and top >= north + 400
    assert right - left < east - west + 820 and top - bottom < north - south + 820
    aoi = aoi_s2_grid(COURSE)
    a_west, a_south, a_east, a_north = transform_bounds("OGC:CRS84", COURSE.crs, *COURSE.aoi_lonlat)
    assert aoi.bounds[0] <= a_west and aoi.bounds[1] <= a_south and aoi.bounds[2] >= a_east and aoi.bounds[3] >= a_north


def test_empty_bounds_are_refused():
    with pytest.raises(ValueError, match="empty bounds"):
        s2_grid_from_bounds((10.0, 0.0, 10.0, 100.0), COURSE.crs)


def test_a_course_without_a_water_class_is_refused(window):
    other = dataclasses.replace(COURSE, class_names=("Fields", "Woods"), class_colors=("#aa0", "#0a0"),
                                class_kinds=("Agriculture", "Forest"))
    with pytest.raises(UsageError, match="no class of kind Water"):
        build_course_scene(window, other)


def test_surface_shares_are_mixtures_and_parcels_mix_all_four():
    rng = np.random.default_rng(0)
    for name in CLASS_SURFACES:
        shares = draw_shares(name, rng, 500)
        assert shares.shape == (500, len(SURFACES)) and (shares >= 0).all()
        assert np.allclose(shares.sum(axis=1), 1.0) or name == "Water"
    parcels = draw_shares("Parcels", rng, 500)
    assert (parcels > 0).mean(axis=0).min() > 0.9  # trees, grass, built and soil on (nearly) every lot
    urban, forest = draw_shares("Urban", rng, 500), draw_shares("Forest", rng, 500)
    built = SURFACES.index("urban")
    assert urban[:, built].mean() > parcels[:, built].mean() > forest[:, built].mean()
    with pytest.raises(KeyError, match="no surface shares"):
        draw_shares("Bare", rng, 1)


def test_every_polygon_interior_carries_its_class(window, rendered):
    scene, *_, labels = rendered
    assert labels.grid.same_as(scene.s2) and set(np.unique(labels.data)) <= set(range(COURSE.num_classes))
    assert _truth_problems(window, labels) == []


def test_water_at_lake_level_and_land_above_it(window, rendered):
    scene, _, _, dem, _ = rendered
    assert _elevation_problems(window, scene, dem) == []
    assert _shore_problems(window, scene) == []
    land = scene.landcover != WATER
    assert (scene.terrain.dem[land] > LAKE_LEVEL_M).all()
    assert (scene.terrain.dem[~land] == LAKE_LEVEL_M).mean() > 0.99  # the lake (ponds lie elsewhere)


def test_terrain_rises_inland_to_about_200_m(rendered):
    scene, *_ = rendered
    dem = scene.terrain.dem[scene.landcover != WATER]
    assert 150 < np.percentile(dem, 99) < 240 and np.percentile(dem, 1) < 80


def test_modis_is_the_area_mean_of_the_10_m_ndvi_so_shore_cells_are_mixed(rendered):
    scene, _, modis, _, _ = rendered
    cell, inside = modis_cells(scene, modis.grid)
    n = modis.grid.height * modis.grid.width

    count = np.bincount(cell[inside], minlength=n)

    def per_cell(values: np.ndarray) -> np.ndarray:
        return np.bincount(cell[inside], weights=values.ravel()[inside], minlength=n) / count

    mean, water = per_cell(scene.ndvi), per_cell((scene.landcover == WATER).astype(float))
    observed = modis.data[0].ravel() * modis.scale
    unclipped = mean > -0.19  # MOD13Q1's valid range starts at -0.2
    residual = (observed - mean)[unclipped]
    assert np.abs(residual).max() < 5 * MODIS_COMPOSITE_NOISE
    assert 0.7 < residual.std() / MODIS_COMPOSITE_NOISE < 1.3
    pure_water, pure_land = observed[water == 1.0], observed[water == 0.0]
    assert pure_water.size > 20 and pure_land.size > 20 and np.median(pure_water) < 0 < 0.6 < np.median(pure_land)
    mixed = observed[(water > 0.25) & (water < 0.75)]
    intermediate = (mixed > np.percentile(pure_water, 99) + 0.05) & (mixed < np.percentile(pure_land, 1) - 0.05)
    assert intermediate.sum() >= 3, np.sort(mixed)


def test_modis_ndvi_agrees_with_the_sentinel2_bands_it_averages(rendered):
    """NDVI comes from the same surfaces as the reflectance: over cells inside the S2 grid, MODIS ~ mean S2 NDVI."""
    scene, s2, modis, _, _ = rendered
    cell, inside = modis_cells(scene, modis.grid)
    m, n = scene.margin_px, modis.grid.height * modis.grid.width
    on_s2 = np.zeros(scene.world.shape, dtype=bool)
    on_s2[m : m + scene.s2.height, m : m + scene.s2.width] = True
    red, nir = s2.data[2].astype(float), s2.data[3].astype(float)
    ndvi = np.zeros(scene.world.shape)
    ndvi[on_s2] = ((nir - red) / (nir + red)).ravel()
    total = np.bincount(cell[inside], minlength=n)
    covered = np.bincount(cell[inside], weights=on_s2.ravel()[inside], minlength=n)
    full = (total > 0) & (covered == total)
    s2_mean = np.bincount(cell[inside], weights=ndvi.ravel()[inside], minlength=n)[full] / total[full]
    difference = modis.data[0].ravel()[full] * modis.scale - s2_mean
    assert full.sum() > 100
    assert np.percentile(np.abs(difference), 95) < 0.08 and abs(np.median(difference)) < 0.04


def _bounds_of(name: str) -> tuple[np.ndarray, np.ndarray]:
    ranges = np.stack([REFLECTANCE_RANGES[s] for s in CLASS_SURFACES[name]])
    return ranges[..., 0].min(axis=0), ranges[..., 1].max(axis=0)


def test_sentinel2_of_each_class_lies_in_its_published_ranges(window, rendered):
    """Per polygon, the median DN / 10000 lies within the ranges of the surfaces its class mixes.

    Allowed beyond them: illumination by the terrain (15 %), residual haze (HAZE_MAX, falling with
    wavelength) and 0.005 for the noise left in a median; 95 % of single pixels within three times that.
    """
    _, s2, _, _, _ = rendered
    assert s2.data.dtype == np.uint16 and s2.scale == pytest.approx(1e-4)
    haze = HAZE_MAX * (0.49 / np.array([0.49, 0.56, 0.665, 0.842, 1.61, 2.19])) ** 2
    for p in window.polygons:
        pixels = s2.data[:, _interior(p, s2.grid)].T / 10000.0
        lo, hi = _bounds_of(p.class_name)
        median = np.median(pixels, axis=0)
        assert ((median >= 0.85 * lo - 0.005) & (median <= 1.15 * hi + haze + 0.005)).all(), (p.class_name, median)
        within = (pixels >= 0.55 * lo - 0.015) & (pixels <= 1.45 * hi + haze + 0.015)
        assert within.all(axis=1).mean() > 0.95, (p.class_name, within.mean(axis=0))


def test_classes_differ_where_their_surfaces_differ(window, rendered):
    """Water is darkest in NIR, Forest greenest (NDVI), Urban brightest in red; Parcels between pasture and town."""
    _, s2, _, _, _ = rendered
    stats: dict[str, list[np.ndarray]] = {}
    for p in window.polygons:
        stats.setdefault(p.class_name, []).append(np.median(s2.data[:, _interior(p, s2.grid)].astype(float), axis=1))
    med = {name: np.median(v, axis=0) for name, v in stats.items()}
    ndvi = {name: (m[3] - m[2]) / (m[3] + m[2]) for name, m in med.items()}
    assert med["Water"][3] < min(m[3] for name, m in med.items() if name != "Water") / 5
    assert ndvi["Forest"] > ndvi["Parcels"] > ndvi["Urban"] > ndvi["Water"]
    assert med["Urban"][2] > med["Parcels"][2] > med["Forest"][2]


def test_same_seed_same_scene_other_seed_other_scene(polygons):
    bay = np.array([665800.0, 5444600.0])
    small = _subset(polygons, sorted(polygons.polygons, key=lambda p: np.hypot(*(_centroid(p) - bay)))[:8])
    a, b, c = build_course_scene(small, seed=1), build_course_scene(small, seed=1), build_course_scene(small, seed=2)
    for layer in ("landcover", "reflectance", "ndvi"):
        assert np.array_equal(getattr(a, layer), getattr(b, layer)), layer
    assert np.array_equal(a.terrain.dem, b.terrain.dem)
    assert np.array_equal(modis_ndvi(a).data, modis_ndvi(b).data)
    assert np.array_equal(srtm(a).data, srtm(b).data)
    assert not np.array_equal(a.reflectance, c.reflectance) and not np.array_equal(a.terrain.dem, c.terrain.dem)
    assert np.array_equal(truth(a).data[0][_interior(small.polygons[0], a.s2)],
                          truth(c).data[0][_interior(small.polygons[0], c.s2)])  # polygons fix their pixels
    assert not a.cloud.any()  # the course's Week 3 patches hold no nodata: no cloud unless asked for
    clouded = sentinel2(build_course_scene(small, seed=1, cloud_hole=True))
    assert 0 < (clouded.data[0] == clouded.nodata).sum() and (clouded.data[:, clouded.data[0] == 0] == 0).all()


def test_all_125_polygons(polygons):
    """Under all usable polygons: each interior carries its class, lake / pond / land elevations hold."""
    assert len(polygons.polygons) == 125
    scene = build_course_scene(polygons)
    assert scene.s2.crs == CRS.from_user_input(COURSE.crs)
    west, south, east, north = polygons_bounds(polygons, COURSE.crs)
    left, bottom, right, top = scene.s2.bounds
    assert left < west and bottom < south and right > east and top > north
    assert _truth_problems(polygons, truth(scene)) == []
    assert _elevation_problems(polygons, scene, srtm(scene)) == []
    assert _shore_problems(polygons, scene) == []
    assert sum(_is_pond(p, polygons) for p in polygons.polygons if p.class_name == "Water") == 4
