"""Polygons, samples and the Week 3 split of the committed fixtures."""

import json
from collections import Counter

import numpy as np
import pytest
from rasterio.features import rasterize

from geoai_ref import layout
from geoai_ref.classes import CLASS_NAMES
from geoai_ref.rasterio_io import read_raster
from geoai_ref.sample_index import read_sample_index
from geoai_ref.synth.samples import WEEK3_DESIGN, _subset_with_sum


@pytest.fixture(scope="module")
def index(fixtures_root):
    return read_sample_index(fixtures_root / layout.SAMPLE_INDEX)


@pytest.fixture(scope="module")
def polygons(fixtures_root):
    return json.loads((fixtures_root / layout.POLYGONS).read_text())["features"]


def test_126_polygons_375_samples_per_design(index, polygons):
    assert len(polygons) == 126 and len(index) == 375
    per_class = Counter(f["properties"]["class_id"] for f in polygons)
    assert tuple(per_class[c] for c in range(5)) == WEEK3_DESIGN.polygons
    assert tuple(np.bincount(index.class_id)) == WEEK3_DESIGN.samples
    names = {f["properties"]["class_name"] for f in polygons}
    assert names == set(CLASS_NAMES)


def test_samples_are_class_sorted(index):
    assert (np.diff(index.class_id) >= 0).all()
    assert np.array_equal(index.sample_id, np.arange(375))


def test_week3_split_is_stratified_grouped_and_300_75(index):
    train, val = index.where("train"), index.where("val")
    assert (len(train), len(val)) == (300, 75)
    assert not set(index.polygon_id[train]) & set(index.polygon_id[val])
    assert tuple(np.bincount(index.class_id[val], minlength=5)) == (12, 20, 10, 13, 20)
    # the exercise's 13.33 %: a model predicting only Agriculture on the 75 validation samples
    assert np.mean(index.class_id[val] == 2) == pytest.approx(10 / 75)


def test_every_patch_lies_inside_its_polygon_and_is_one_class(fixtures_root, index, polygons):
    truth_raster = read_raster(fixtures_root / layout.LANDCOVER_TRUTH)
    truth, grid = truth_raster.data[0], truth_raster.grid
    from rasterio.warp import transform_geom

    by_id = {f["properties"]["polygon_id"]: f for f in polygons}
    for i in range(len(index)):
        feature = by_id[int(index.polygon_id[i])]
        assert feature["properties"]["class_id"] == index.class_id[i]
        geom = transform_geom("EPSG:4326", grid.crs, feature["geometry"])
        r, c = int(index.row[i]), int(index.col[i])
        inside = rasterize([(geom, 1)], out_shape=grid.shape, transform=grid.transform)
        assert inside[r - 4 : r + 4, c - 4 : c + 4].all(), f"sample {i} leaves polygon {index.polygon_id[i]}"
        assert (truth[r - 4 : r + 4, c - 4 : c + 4] == index.class_id[i]).all()


def test_polygons_do_not_overlap(fixtures_root, polygons):
    grid = read_raster(fixtures_root / layout.LANDCOVER_TRUTH).grid
    from rasterio.warp import transform_geom

    shapes = [(transform_geom("EPSG:4326", grid.crs, f["geometry"]), 1) for f in polygons]
    count = rasterize(shapes, out_shape=grid.shape, transform=grid.transform, merge_alg=__import__(
        "rasterio.enums", fromlist=["MergeAlg"]).MergeAlg.add)
    assert count.max() == 1


def test_subset_with_exact_sum():
    counts = [3, 3, 2, 4, 3]
    chosen = _subset_with_sum(counts, 7, np.arange(5))
    assert sum(counts[i] for i in chosen) == 7 and len(set(chosen)) == len(chosen)
    with pytest.raises(RuntimeError, match="exactly 1 samples"):
        _subset_with_sum([2, 3], 1, np.arange(2))


def test_placement_says_which_class_lacks_room(fixtures_root):
    from geoai_ref.synth.samples import Design, place_polygons

    grid = read_raster(fixtures_root / layout.LANDCOVER_TRUTH).grid
    truth = np.zeros((60, 60), dtype=np.uint8)  # all Water
    truth[:20, :20] = 3  # a small town: room for one polygon, not five
    design = Design(polygons=(1, 0, 0, 5, 0), samples=(2, 0, 0, 10, 0))
    with pytest.raises(RuntimeError, match="no room for another Urban polygon"):
        place_polygons(truth, np.ones_like(truth, dtype=bool), grid, design, np.random.default_rng(0))
