"""Generated polygons for another lake-shore region: counts, shapes and areas like the course's, no overlaps,
water in the lake (never a pond), a GeoJSON round trip, determinism, and a scene built under them.

Most tests use the hidden region's design (76 polygons around the town of Llanquihue, ~17 km south of the
course's AOI); the scene test uses 25 polygons in a 5 km region (~3 s).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FIXTURES
from rasterio.features import rasterize
from rasterio.warp import transform_bounds
from scipy.ndimage import label
from scipy.spatial import cKDTree

from geoai_ref.course import COURSE
from geoai_ref.polygons import LabelledPolygon, PolygonSet, load_polygons
from geoai_ref.synth.course_scene import _lake_and_ponds, build_course_scene, s2_grid_from_bounds
from geoai_ref.synth.generated_polygons import (
    AREA_MODELS,
    MIN_GAP_M,
    generate_polygons,
    region_bounds,
    write_polygons_geojson,
)

LLANQUIHUE = (-73.01, -41.26)  # the town of Llanquihue, west shore of the lake, ~17 km south of Frutillar
COUNTS = {"Agriculture": 20, "Forest": 14, "Parcels": 16, "Urban": 14, "Water": 12}
SMALL_COUNTS = {"Agriculture": 6, "Forest": 4, "Parcels": 6, "Urban": 5, "Water": 4}
WATER = COURSE.label_of("Water")


def _ring(p: LabelledPolygon) -> np.ndarray:
    """The exterior ring (closed) in the course's UTM zone."""
    return np.asarray(p.geometry_in(COURSE.crs)["coordinates"][0], dtype=float)[:, :2]


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


def _grid(polygons: PolygonSet, margin_m: float = 200.0):
    rings = [_ring(p) for p in polygons.polygons]
    xy = np.concatenate(rings)
    return s2_grid_from_bounds((xy[:, 0].min() - margin_m, xy[:, 1].min() - margin_m, xy[:, 0].max() + margin_m,
                                xy[:, 1].max() + margin_m), COURSE.crs)


def _densified(ring: np.ndarray, step_m: float = 1.0) -> np.ndarray:
    parts = [np.linspace(a, b, max(int(np.hypot(*(b - a)) / step_m), 1), endpoint=False)
             for a, b in zip(ring[:-1], ring[1:], strict=True)]
    return np.concatenate(parts)


@pytest.fixture(scope="module")
def generated() -> PolygonSet:
    return generate_polygons(LLANQUIHUE, COUNTS, seed=11)


@pytest.fixture(scope="module")
def small() -> PolygonSet:
    return generate_polygons(LLANQUIHUE, SMALL_COUNTS, seed=5, extent_m=5000.0)


def test_counts_labels_numbers_and_properties(generated):
    assert generated.counts(COURSE) == COUNTS and generated.total_features == sum(COUNTS.values())
    assert [p.feature for p in generated.polygons] == list(range(1, sum(COUNTS.values()) + 1))
    assert [p.class_name for p in generated.polygons] == sorted((p.class_name for p in generated.polygons),
                                                                key=COURSE.class_names.index)
    for p in generated.polygons:
        assert p.label == COURSE.label_of(p.class_name)
        assert p.properties == {"class_name": p.class_name, "polygon_id": p.feature, "generated": True}
        ring = p.geometry["coordinates"][0]
        assert p.geometry["type"] == "Polygon" and ring[0] == ring[-1] and 6 <= len(ring) <= 13
        assert all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in ring)


def test_geojson_round_trip(generated, tmp_path):
    path = write_polygons_geojson(tmp_path / "hidden_polygons.geojson", generated)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["type"] == "FeatureCollection"
    assert raw["crs"]["properties"]["name"] == "urn:ogc:def:crs:OGC:1.3:CRS84"
    loaded = load_polygons(path, COURSE)
    assert loaded.skipped == () and loaded.total_features == len(generated.polygons)
    assert [(p.feature, p.label, p.class_name, p.geometry, p.properties) for p in loaded.polygons] == \
        [(p.feature, p.label, p.class_name, p.geometry, p.properties) for p in generated.polygons]


def test_no_two_polygons_share_a_pixel_or_come_within_the_gap(generated):
    grid = _grid(generated)
    claims = np.zeros(grid.shape, dtype=np.int32)
    for p in generated.polygons:
        claims += rasterize([(p.geometry_in(COURSE.crs), 1)], out_shape=grid.shape, transform=grid.transform,
                            fill=0, all_touched=True, dtype="int32")
    assert claims.max() == 1
    rings = [_ring(p) for p in generated.polygons]
    boxes = np.array([[r[:, 0].min(), r[:, 1].min(), r[:, 0].max(), r[:, 1].max()] for r in rings])
    trees = [cKDTree(_densified(r)) for r in rings]
    for i in range(len(rings)):
        for j in range(i + 1, len(rings)):
            gap = max(boxes[j, 0] - boxes[i, 2], boxes[i, 0] - boxes[j, 2], boxes[j, 1] - boxes[i, 3],
                      boxes[i, 1] - boxes[j, 3])
            if gap < MIN_GAP_M:
                d, _ = trees[i].query(trees[j].data)
                assert d.min() >= MIN_GAP_M - 1.0, (generated.polygons[i].feature, generated.polygons[j].feature)


def test_areas_per_class_like_the_course(generated):
    course = load_polygons(FIXTURES / "course" / "larger_polygons.geojson", COURSE)
    for name in COURSE.class_names:
        ours = np.array([_area(_ring(p)) for p in generated.polygons if p.class_name == name])
        theirs = np.array([_area(_ring(p)) for p in course.polygons if p.class_name == name])
        ratio = np.median(ours) / np.median(theirs)
        assert 0.5 <= ratio <= 2.0, (name, ratio)
        model = AREA_MODELS[name]
        assert model.min_m2 * 0.99 <= ours.min() and ours.max() <= model.max_m2 * 1.01
        assert theirs.min() == pytest.approx(model.min_m2, rel=0.01)


@pytest.mark.parametrize("which", ["generated", "small"])
def test_every_water_polygon_is_in_the_lake_by_the_scenes_rule(which, request):
    polygons = request.getfixturevalue(which)
    grid = _grid(polygons)
    names = [p.class_name for p in polygons.polygons]
    poly_id = rasterize([(p.geometry_in(COURSE.crs), i + 1) for i, p in enumerate(polygons.polygons)],
                        out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32")
    lake, ponds = _lake_and_ponds(poly_id, names)
    assert not ponds.any()
    for i, p in enumerate(polygons.polygons, start=1):
        assert lake[poly_id == i].all() == (p.class_name == "Water"), p.feature
        assert lake[poly_id == i].any() == (p.class_name == "Water"), p.feature
    # and geometrically: no land polygon reaches east of a Water polygon at the same northings
    for w in (p for p in polygons.polygons if p.class_name == "Water"):
        wr = _ring(w)
        for q in (p for p in polygons.polygons if p.class_name != "Water"):
            qr = _ring(q)
            if qr[:, 1].min() < wr[:, 1].max() and qr[:, 1].max() > wr[:, 1].min():
                assert qr[:, 0].max() < wr[:, 0].min(), (w.feature, q.feature)


def test_town_on_the_shore_and_farmland_inland(generated):
    """Urban lies nearer the lake than Agriculture and Forest, Parcels in between (medians of eastings)."""
    east = {n: np.median([_ring(p)[:, 0].mean() for p in generated.polygons if p.class_name == n])
            for n in COURSE.class_names}
    assert east["Water"] > east["Urban"] > east["Parcels"] > max(east["Agriculture"], east["Forest"])


def test_polygons_lie_in_the_region_and_away_from_the_course_aoi(generated):
    left, bottom, right, top = region_bounds(LLANQUIHUE, 10000.0, COURSE)
    xy = np.concatenate([_ring(p) for p in generated.polygons])
    assert xy[:, 0].min() >= left and xy[:, 0].max() <= right and xy[:, 1].min() >= bottom and xy[:, 1].max() <= top
    lonlat = np.concatenate([np.asarray(p.geometry["coordinates"][0]) for p in generated.polygons])
    west, south, east, north = COURSE.aoi_lonlat
    assert lonlat[:, 1].max() < south or lonlat[:, 1].min() > north or lonlat[:, 0].max() < west \
        or lonlat[:, 0].min() > east
    region = transform_bounds(COURSE.crs, "OGC:CRS84", left, bottom, right, top)
    assert region[0] <= LLANQUIHUE[0] <= region[2] and region[1] <= LLANQUIHUE[1] <= region[3]


def test_same_seed_same_polygons_other_seed_others(generated):
    again = generate_polygons(LLANQUIHUE, COUNTS, seed=11)
    assert [p.geometry for p in again.polygons] == [p.geometry for p in generated.polygons]
    other = generate_polygons(LLANQUIHUE, COUNTS, seed=12)
    assert [p.geometry for p in other.polygons] != [p.geometry for p in generated.polygons]


def test_bad_requests_raise_clear_errors():
    with pytest.raises(ValueError, match="does not have: Wetland"):
        generate_polygons(LLANQUIHUE, {"Wetland": 3, "Water": 2})
    with pytest.raises(ValueError, match="whole numbers"):
        generate_polygons(LLANQUIHUE, {"Water": -1, "Urban": 3})
    with pytest.raises(ValueError, match="no polygon"):
        generate_polygons(LLANQUIHUE, {"Water": 0})
    with pytest.raises(ValueError, match="enlarge extent_m or ask for fewer Urban"):
        generate_polygons(LLANQUIHUE, {"Urban": 200}, extent_m=2000.0)


def test_scene_under_generated_polygons_puts_each_in_its_class_and_the_water_in_the_lake(small):
    scene = build_course_scene(small, COURSE, seed=3)
    water = scene.landcover == WATER
    components, _ = label(water)
    east_lake = np.isin(components, np.setdiff1d(np.unique(components[:, -1]), [0]))
    for p in small.polygons:
        inside = rasterize([(p.geometry_in(COURSE.crs), 1)], out_shape=scene.world.shape,
                           transform=scene.world.transform, fill=0, dtype="uint8") > 0
        assert inside.any() and (scene.landcover[inside] == p.label).all(), p.feature
        if p.class_name == "Water":
            assert east_lake[inside].all(), p.feature  # joined to the lake at the east edge, not a pond
        else:
            assert not water[inside].any(), p.feature


def test_every_kind_a_course_can_name_has_a_layout_and_a_surface_mix():
    from geoai_ref.course import LAND_COVER_KINDS
    from geoai_ref.synth import course_scene, generated_polygons

    assert set(generated_polygons.KINDS) == set(LAND_COVER_KINDS) == set(course_scene.BACKGROUND_WEIGHTS)
    assert set(generated_polygons.VERTICES) == set(LAND_COVER_KINDS) == set(generated_polygons.PLACEMENT_ORDER)
