"""The course-shaped data set: a Week 3 folder like the course's, built under its real polygons, reproducible."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import COURSE_VAL_SUPPORT, FIXTURES, REPO

from geoai_ref import layout
from geoai_ref.align import load_sources
from geoai_ref.course import COURSE
from geoai_ref.patches import extract_patches
from geoai_ref.polygons import load_polygons
from geoai_ref.sample_index import read_sample_index
from geoai_ref.sensor_probe import probe_folder
from geoai_ref.synth.course_build import (
    DATA_NOTES,
    HIDDEN_COUNTS,
    build_course_data,
    build_course_hidden,
    stored_composite,
)
from geoai_ref.synth.verify import compare_generations
from geoai_ref.week3_folder import check_week3_folder

POLYGONS = FIXTURES / "course" / "larger_polygons.geojson"


@pytest.fixture(scope="module")
def course_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("course_data")
    build_course_data(root, POLYGONS)
    return root


def test_it_is_a_week3_folder_shaped_like_the_courses(course_data):
    folder = check_week3_folder(course_data)
    assert (folder.n_train, folder.n_val) == (300, 75) and folder.val_counts == COURSE_VAL_SUPPORT
    assert folder.value_range[1] > 1000  # digital numbers, not reflectance
    assert np.load(course_data / layout.X_TRAIN).dtype == np.float32
    assert (course_data / layout.POLYGONS).read_bytes() == POLYGONS.read_bytes()


def test_the_index_locates_every_week3_patch_in_the_composite(course_data):
    index = read_sample_index(course_data / layout.SAMPLE_INDEX)
    composite = stored_composite(load_sources(course_data).s2)
    for split, x_path, y_path in (("train", layout.X_TRAIN, layout.Y_TRAIN), ("val", layout.X_VAL, layout.Y_VAL)):
        chosen = index.where(split)
        np.testing.assert_array_equal(extract_patches(composite, index.row[chosen], index.col[chosen]),
                                      np.load(course_data / x_path))
        np.testing.assert_array_equal(index.class_id[chosen], np.load(course_data / y_path))


def test_notes_carry_the_attribution_skipped_polygon_and_leak(course_data):
    notes = (course_data / DATA_NOTES).read_text()
    assert COURSE.attribution in notes
    assert "feature 122 of 126 (Parcels, digitised 2025-10-20) has no geometry" in notes
    assert "polygons have patches on both sides" in notes


def test_the_week3_model_beats_the_majority_class(course_data):
    record = json.loads((course_data / layout.WEEK3_MODEL_INFO).read_text())
    assert record["val_accuracy"] > max(COURSE_VAL_SUPPORT.values()) / 75
    assert "ReduceLROnPlateau" in record["recipe"]


def test_modis_and_dem_do_not_beat_sentinel2_on_the_week3_split(course_data):
    """The issue's physics check: per-patch means of MODIS + DEM classify the Week 3 validation set no better than
    the six Sentinel-2 band means (1-NN, standardised); holding whole polygons out, the leak's share shows."""
    results = probe_folder(course_data)
    week3, grouped = results["week3"].accuracy, results["grouped"].accuracy
    assert week3["MODIS+DEM"] <= week3["S2"]
    assert grouped["S2"] < week3["S2"]  # the patch-level split flatters: near-copies on both sides


def test_the_generator_reproduces_its_files(course_data, tmp_path):
    build_course_data(tmp_path, POLYGONS, train_model=False)
    assert compare_generations(course_data, tmp_path) == []


def test_command_line_help_and_probe(course_data):
    run = [sys.executable, "-m", "geoai_ref.cli"]
    helped = subprocess.run([*run, "course-data", "--help"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert helped.returncode == 0 and "--polygons" in helped.stdout and "patch level" in helped.stdout
    probed = subprocess.run([*run, "sensor-probe", "--data", str(course_data)], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert probed.returncode == 0, probed.stderr
    assert set(json.loads(probed.stdout)) == {"week3", "grouped"} and "MODIS+DEM" in probed.stderr


@pytest.fixture(scope="module")
def hidden(tmp_path_factory):
    root = tmp_path_factory.mktemp("hidden")
    build_course_hidden(root)
    return root


def test_the_hidden_region_has_its_own_generated_polygons_and_labelled_fused_patches(hidden):
    polygons = load_polygons(hidden / layout.POLYGONS)
    assert polygons.counts() == HIDDEN_COUNTS
    assert all(p.properties.get("generated") is True for p in polygons.polygons)
    west, south, east, north = COURSE.aoi_lonlat
    lons, lats = zip(*(xy for p in polygons.polygons for xy in p.geometry["coordinates"][0]), strict=True)
    assert max(lats) < south or min(lats) > north or max(lons) < west or min(lons) > east  # outside the AOI
    x, y = np.load(hidden / layout.X_HIDDEN_FUSED), np.load(hidden / layout.Y_HIDDEN)
    assert x.shape == (3 * sum(HIDDEN_COUNTS.values()), 8, 8, 8) and np.isfinite(x).all()
    assert np.bincount(y).tolist() == [3 * HIDDEN_COUNTS[n] for n in COURSE.class_names]
    result = probe_folder(hidden)
    assert set(result) == {"grouped"}  # no Week 3 split in the hidden region
    assert result["grouped"].accuracy["S2"] > result["grouped"].majority_share


def test_another_course_configuration_works_end_to_end(tmp_path):
    """A second, small course: two classes of its own names, reflectance 0-1, 2 patches per polygon, a quarter in
    validation, its own AOI and polygons: generated, built, checked and probed through the same code."""
    from dataclasses import replace

    from rasterio.warp import transform_bounds

    from geoai_ref.synth.generated_polygons import generate_polygons, region_bounds, write_polygons_geojson

    centre = (-73.05, -41.21)
    west, south, east, north = transform_bounds(COURSE.crs, "OGC:CRS84", *region_bounds(centre, 3000.0))
    course = replace(COURSE, name="two-class test course", class_names=("Land", "Lake"),
                     class_colors=("#aa7744", "#2255cc"), class_kinds=("Agriculture", "Water"),
                     aoi_lonlat=(west - 0.01, south - 0.01, east + 0.01, north + 0.01), s2_scale=1.0,
                     patches_per_polygon=2, val_fraction=0.25, attribution="test data")
    polygons = write_polygons_geojson(tmp_path / "polygons.geojson",
                                      generate_polygons(centre, {"Land": 12, "Lake": 6}, course, extent_m=3000.0))
    root = tmp_path / "week3"
    build_course_data(root, polygons, course)
    folder = check_week3_folder(root, course)
    assert (folder.n_train, folder.n_val) == (27, 9) and set(folder.val_counts) == {"Land", "Lake"}
    assert folder.value_range[1] <= 1.6  # reflectance, as this course stores it
    assert folder.model.output_units == 2
    config = course.to_json(tmp_path / "course.json")
    run = [sys.executable, "-m", "geoai_ref.cli"]
    checked = subprocess.run([*run, "check-week3", str(root), "--course", str(config)], capture_output=True,
                             text=True, cwd=REPO, timeout=120)
    assert checked.returncode == 0, checked.stderr
    assert "val: 9 patches (Land" in checked.stdout and "18 of 18 polygons used (Land 12, Lake 6)" in checked.stdout
    # the default course refuses this folder, naming why
    refused = subprocess.run([*run, "check-week3", str(root)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert refused.returncode == 1 and "look like reflectance 0-1" in refused.stderr
