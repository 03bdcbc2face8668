"""The Week 3 dataset as the course made it: centroid + jittered patches, the patch-level stratified split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from conftest import COURSE_VAL_SUPPORT
from rasterio.crs import CRS

from geoai_ref import layout
from geoai_ref.course import COURSE
from geoai_ref.grids import Grid
from geoai_ref.polygons import load_polygons
from geoai_ref.sample_index import read_sample_index
from geoai_ref.week3_dataset import JITTER_M, build_week3_dataset, polygon_centroid, write_week3_dataset

COURSE_POLYGONS = Path(__file__).resolve().parents[2] / "fixtures" / "course" / "larger_polygons.geojson"


@pytest.fixture(scope="module")
def grid_and_composite():
    """A 10 m grid over the course's polygons whose pixels encode their own row and column."""
    grid = Grid(CRS.from_string(COURSE.crs), Affine(10.0, 0.0, 658_000.0, 0.0, -10.0, 5_453_000.0), 1250, 1150)
    rows, cols = np.mgrid[0:grid.height, 0:grid.width]
    composite = np.stack([rows, cols, *([rows + cols] * 4)], axis=-1).astype(np.float32)
    return grid, composite


@pytest.fixture(scope="module")
def dataset(grid_and_composite):
    grid, composite = grid_and_composite
    return build_week3_dataset(composite, grid, load_polygons(COURSE_POLYGONS))


def test_375_patches_split_300_75_with_the_course_supports(dataset) -> None:
    assert dataset.x_train.shape == (300, 8, 8, 6) and dataset.x_val.shape == (75, 8, 8, 6)
    assert dataset.x_train.dtype == np.float32 and dataset.y_train.dtype == np.int64
    supports = {name: int((dataset.y_val == COURSE.label_of(name)).sum()) for name in COURSE.class_names}
    assert supports == COURSE_VAL_SUPPORT


def test_the_patch_level_split_leaks_polygons_across_train_and_val(dataset) -> None:
    leaked = dataset.leaked_polygons()
    assert 30 <= len(leaked) <= 75  # every validation patch whose polygon kept another patch in training
    val_polygons = {dataset.sites[i].polygon_id for i in dataset.val}
    assert leaked <= val_polygons


def test_each_polygon_gives_its_centroid_patch_and_two_jittered_ones(dataset) -> None:
    by_polygon: dict[int, list] = {}
    for s in dataset.sites:
        by_polygon.setdefault(s.polygon_id, []).append(s)
    assert len(by_polygon) == 125 and all(len(v) == 3 for v in by_polygon.values())
    for sites in by_polygon.values():
        centre = sites[0]
        assert [s.jitter for s in sites] == [0, 1, 2]
        for s in sites[1:]:
            assert 0 < max(abs(s.x - centre.x), abs(s.y - centre.y)) <= JITTER_M


def test_each_patch_is_the_window_around_its_centre(dataset, grid_and_composite) -> None:
    grid, _ = grid_and_composite
    for position, array, k in ((dataset.train, dataset.x_train, 7), (dataset.val, dataset.x_val, 3)):
        site = dataset.sites[position[k]]
        r, c = grid.fractional_index(np.array([site.x]), np.array([site.y]))
        window_rows = array[k, :, 0, 0]  # channel 0 holds the row number
        assert window_rows.tolist() == list(range(site.row - 4, site.row + 4))
        # the window's centre (between its 4th and 5th pixel) is within half a pixel of the patch centre
        assert abs(window_rows.mean() - r[0]) <= 0.5 and abs(array[k, 0, :, 1].mean() - c[0]) <= 0.5


def test_labels_follow_class_names(dataset) -> None:
    for positions, labels in ((dataset.train, dataset.y_train), (dataset.val, dataset.y_val)):
        assert [COURSE.class_names[v] for v in labels] == [dataset.sites[i].class_name for i in positions]


def test_written_dataset_and_sample_index_agree(dataset, tmp_path: Path) -> None:
    write_week3_dataset(tmp_path, dataset)
    index = read_sample_index(tmp_path / layout.SAMPLE_INDEX)
    assert len(index) == 375
    val = index.where("val")
    np.testing.assert_array_equal(index.class_id[val], np.load(tmp_path / layout.Y_VAL))
    np.testing.assert_array_equal(np.load(tmp_path / layout.X_TRAIN), dataset.x_train)


def test_centroids_of_holes_and_multipolygons() -> None:
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]  # the lower-left quarter removed
    x, y = polygon_centroid({"type": "Polygon", "coordinates": [square, hole]})
    assert (x, y) == pytest.approx((7 / 3, 7 / 3))
    other = [[10, 0], [12, 0], [12, 2], [10, 2], [10, 0]]
    x, y = polygon_centroid({"type": "MultiPolygon", "coordinates": [[square], [other[::-1]]]})
    assert (x, y) == pytest.approx(((16 * 2 + 4 * 11) / 20, (16 * 2 + 4 * 1) / 20))


def test_the_split_checker_shows_the_courses_leak(dataset) -> None:
    """What Phase 4B's checker tells a student about the Week 3 split they hold: every class on both sides, but
    polygons on both sides too."""
    from geoai_ref.splits import check_split

    groups = np.array([s.polygon_id for s in dataset.sites])
    report = check_split(dataset.y_train, dataset.y_val, groups[dataset.train], groups[dataset.val],
                         class_names=COURSE.class_names)
    assert not report.classes_missing_in_val and not report.classes_missing_in_train
    assert sorted(report.leaked_groups) == sorted(dataset.leaked_polygons())
    (problem,) = report.problems
    assert problem.startswith(f"{len(report.leaked_groups)} polygon(s) have samples on both sides")
    assert "StratifiedGroupKFold" in problem
