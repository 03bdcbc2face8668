"""Training polygons: the real course's file, its null geometry and its class_id trap, and malformed files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import COURSE_POLYGONS_PER_CLASS

from geoai_ref.course import COURSE
from geoai_ref.errors import MissingInput
from geoai_ref.polygons import PolygonFileError, load_polygons

COURSE_POLYGONS = Path(__file__).resolve().parents[2] / "fixtures" / "course" / "larger_polygons.geojson"


@pytest.fixture(scope="module")
def course_polygons():
    return load_polygons(COURSE_POLYGONS)


def test_the_course_file_gives_125_polygons_and_reports_the_null_one(course_polygons) -> None:
    assert (course_polygons.total_features, len(course_polygons.polygons)) == (126, 125)
    assert course_polygons.counts() == COURSE_POLYGONS_PER_CLASS
    (skipped,) = course_polygons.skipped
    assert skipped.class_name == "Parcels" and skipped.feature == 122
    assert "feature 122 of 126 (Parcels, digitised 2025-10-20) has no geometry (null)" in skipped.reason
    assert "redraw it in QGIS or delete the feature" in skipped.reason
    assert skipped.reason in course_polygons.summary()


def test_labels_come_from_class_name_never_from_class_id(course_polygons) -> None:
    # The file's class_id numbers the classes differently (Forest 0, Agriculture 1, Parcels 2, Water 3, Urban 4).
    disagree = [p for p in course_polygons.polygons if p.properties["class_id"] != p.label]
    assert disagree, "the trap is gone from the file: this test no longer tests it"
    assert all(p.label == COURSE.class_names.index(p.class_name) for p in course_polygons.polygons)


def test_geometries_reproject_into_the_course_aoi(course_polygons) -> None:
    west, south, east, north = COURSE.aoi_lonlat
    for p in course_polygons.polygons:
        lon, lat = p.geometry["coordinates"][0][0]
        assert west <= lon <= east and south <= lat <= north
    ring = course_polygons.polygons[0].geometry_in(COURSE.crs)["coordinates"][0]
    x, y = ring[0]
    assert 640_000 < x < 680_000 and 5_430_000 < y < 5_460_000  # UTM 18S around Frutillar


def _collection(tmp_path: Path, features: list, **extra) -> Path:
    path = tmp_path / "polygons.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}))
    return path


SQUARE = {"type": "Polygon", "coordinates": [[[-73.0, -41.1], [-72.99, -41.1], [-72.99, -41.11], [-73.0, -41.1]]]}


def test_unknown_and_missing_class_names_are_all_listed(tmp_path: Path) -> None:
    path = _collection(tmp_path, [
        {"type": "Feature", "properties": {"class_name": "Bare/Grassland"}, "geometry": SQUARE},
        {"type": "Feature", "properties": {"class_id": 3}, "geometry": SQUARE},
        {"type": "Feature", "properties": {"class_name": "Water"}, "geometry": SQUARE},
    ])
    with pytest.raises(PolygonFileError) as caught:
        load_polygons(path)
    message = str(caught.value)
    assert "feature 1 of 3 (Bare/Grassland) has class_name 'Bare/Grassland'" in message
    assert "Agriculture, Forest, Parcels, Urban, Water" in message
    assert "feature 2 of 3 has no 'class_name' property" in message


def test_points_projected_crs_and_non_geojson_are_refused(tmp_path: Path) -> None:
    point = {"type": "Point", "coordinates": [-73.0, -41.1]}
    with pytest.raises(PolygonFileError, match="is a Point, not a polygon"):
        load_polygons(_collection(tmp_path, [{"type": "Feature", "properties": {"class_name": "Urban"},
                                              "geometry": point}]))
    with pytest.raises(PolygonFileError, match="EPSG:4326"):
        load_polygons(_collection(tmp_path, [], crs={"type": "name", "properties": {"name": "EPSG:32718"}}))
    (tmp_path / "x.geojson").write_text('{"type": "Feature"}')
    with pytest.raises(PolygonFileError, match="not a GeoJSON FeatureCollection"):
        load_polygons(tmp_path / "x.geojson")
    with pytest.raises(MissingInput, match="export the training polygons"):
        load_polygons(tmp_path / "absent.geojson")


def test_a_file_of_only_empty_geometries_is_refused(tmp_path: Path) -> None:
    path = _collection(tmp_path, [{"type": "Feature", "properties": {"class_name": "Water"}, "geometry": None},
                                  {"type": "Feature", "properties": {"class_name": "Urban"},
                                   "geometry": {"type": "Polygon", "coordinates": []}}])
    with pytest.raises(PolygonFileError, match="no usable polygon .2 features, 2 without geometry"):
        load_polygons(path)


def test_another_course_labels_by_its_own_order(tmp_path: Path) -> None:
    other = replace(COURSE, class_names=("Water", "Land"), class_colors=("#00f", "#0a0"),
                    class_kinds=("Water", "Forest"))
    path = _collection(tmp_path, [{"type": "Feature", "properties": {"class_name": "Land"}, "geometry": SQUARE},
                                  {"type": "Feature", "properties": {"class_name": "Water"}, "geometry": SQUARE}])
    loaded = load_polygons(path, other)
    assert [p.label for p in loaded.polygons] == [1, 0]
    assert loaded.counts(other) == {"Water": 1, "Land": 1}
