"""The kit's data sets: the committed fixtures (the course's polygons under the synthetic sensors, a Week 3 folder
like the course's), the hidden region and the tiny scene; their size, and that the generators reproduce them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import COURSE_VAL_SUPPORT, FIXTURES, HIDDEN, REPO

from geoai_ref import layout
from geoai_ref.align import load_sources
from geoai_ref.course import COURSE
from geoai_ref.errors import MissingInput, ProblemsFound
from geoai_ref.patches import extract_patches
from geoai_ref.polygons import load_polygons
from geoai_ref.sample_index import read_sample_index
from geoai_ref.sensor_probe import probe_folder
from geoai_ref.synth.build import content_hash
from geoai_ref.synth.course_build import (
    HIDDEN_COUNTS,
    build_course_data,
    build_course_hidden,
    build_tiny,
    ensure_rasters,
    stored_composite,
)
from geoai_ref.synth.verify import compare_generations, compare_week3_models, manifest_problems
from geoai_ref.week3_folder import check_week3_folder

POLYGONS = FIXTURES / "course" / "larger_polygons.geojson"


def test_fixtures_are_a_week3_folder_shaped_like_the_courses(fixtures_root):
    folder = check_week3_folder(fixtures_root)
    assert (folder.n_train, folder.n_val) == (300, 75) and folder.val_counts == COURSE_VAL_SUPPORT
    assert folder.value_range[1] > 1000  # digital numbers, not reflectance
    x = np.load(fixtures_root / layout.X_TRAIN)
    assert x.dtype == np.float32 and np.isfinite(x).all()
    assert (fixtures_root / layout.POLYGONS).read_bytes() == POLYGONS.read_bytes()  # the course's own file
    aoi = json.loads((fixtures_root / layout.AOI).read_text())["features"][0]
    assert aoi["properties"]["s2_grid"]["crs"] == COURSE.crs


def test_the_index_locates_every_week3_patch_in_the_composite(fixtures_root):
    index = read_sample_index(fixtures_root / layout.SAMPLE_INDEX)
    composite = stored_composite(load_sources(fixtures_root).s2)
    for split, x_path, y_path in (("train", layout.X_TRAIN, layout.Y_TRAIN), ("val", layout.X_VAL, layout.Y_VAL)):
        chosen = index.where(split)
        np.testing.assert_array_equal(extract_patches(composite, index.row[chosen], index.col[chosen]),
                                      np.load(fixtures_root / x_path))
        np.testing.assert_array_equal(index.class_id[chosen], np.load(fixtures_root / y_path))


def test_the_composite_has_a_cloud_but_no_patch_lies_under_it(fixtures_root):
    s2 = load_sources(fixtures_root).s2
    assert (s2.data == s2.nodata).all(axis=0).sum() > 1000  # one persistent cloud, for quality control to find
    composite = stored_composite(s2)
    index = read_sample_index(fixtures_root / layout.SAMPLE_INDEX)
    assert np.isfinite(extract_patches(composite, index.row, index.col)).all()


def test_notes_carry_the_attribution_skipped_polygon_and_leak(fixtures_root):
    notes = (fixtures_root / layout.DATA_NOTES).read_text()
    assert COURSE.attribution in notes
    assert "feature 122 of 126 (Parcels, digitised 2025-10-20) has no geometry" in notes
    assert "polygons have patches on both sides" in notes


def test_the_week3_model_beats_the_majority_class(fixtures_root):
    record = json.loads((fixtures_root / layout.WEEK3_MODEL_INFO).read_text())
    assert record["val_accuracy"] > max(COURSE_VAL_SUPPORT.values()) / 75
    assert "ReduceLROnPlateau" in record["recipe"]


def test_modis_and_dem_do_not_beat_sentinel2_on_the_week3_split(fixtures_root):
    """The issue's physics check: per-patch means of MODIS + DEM classify the Week 3 validation set no better than
    the six Sentinel-2 band means (1-NN, standardised); holding whole polygons out, the leak's share shows."""
    results = probe_folder(fixtures_root)
    week3, grouped = results["week3"].accuracy, results["grouped"].accuracy
    assert week3["MODIS+DEM"] <= week3["S2"]
    assert grouped["S2"] < week3["S2"]  # the patch-level split flatters: near-copies on both sides


def test_committed_files_match_their_manifests(fixtures_root):
    assert manifest_problems(fixtures_root) == []
    assert manifest_problems(fixtures_root / "tiny") == []
    assert manifest_problems(HIDDEN) == []


def test_committed_data_stay_small():
    """Everything git holds of the fixtures and the hidden data (the fixtures' S2 composite is generated)."""
    listed = subprocess.run(["git", "ls-files", "-z", "fixtures", "autograder/hidden_data"], capture_output=True,
                            cwd=REPO, check=True).stdout.decode().split("\0")
    total = sum((REPO / p).stat().st_size for p in listed if p and (REPO / p).is_file())
    assert total < 8 * 2**20, f"fixtures and hidden data take {total / 2**20:.1f} MiB in git"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(FIXTURES / layout.S2_COMPOSITE)], cwd=REPO)
    assert ignored.returncode == 0, "the fixtures' Sentinel-2 composite is generated on first use, not committed"


def test_the_hidden_region_has_its_own_generated_polygons_and_labelled_fused_patches(fixtures_root):
    polygons = load_polygons(HIDDEN / layout.POLYGONS)
    assert polygons.counts() == HIDDEN_COUNTS
    assert all(p.properties.get("generated") is True for p in polygons.polygons)
    west, south, east, north = COURSE.aoi_lonlat
    lons, lats = zip(*(xy for p in polygons.polygons for xy in p.geometry["coordinates"][0]), strict=True)
    assert max(lats) < south or min(lats) > north or max(lons) < west or min(lons) > east  # outside the AOI
    assert not list(fixtures_root.rglob("*hidden*"))
    x, y = np.load(HIDDEN / layout.X_HIDDEN_FUSED), np.load(HIDDEN / layout.Y_HIDDEN)
    assert x.shape == (3 * sum(HIDDEN_COUNTS.values()), 8, 8, 8) and np.isfinite(x).all()
    assert np.bincount(y).tolist() == [3 * HIDDEN_COUNTS[n] for n in COURSE.class_names]
    result = probe_folder(HIDDEN)
    assert set(result) == {"grouped"}  # no Week 3 split in the hidden region
    assert result["grouped"].accuracy["S2"] > result["grouped"].majority_share


@pytest.mark.slow
def test_the_generators_reproduce_the_committed_data(fixtures_root, tmp_path):
    """Bit for bit for rasters (by pixels), arrays, GeoJSON and CSV; the Week 3 model within the stated tolerance."""
    build_course_data(tmp_path / "fx", POLYGONS)
    assert compare_generations(fixtures_root, tmp_path / "fx") == []
    assert compare_week3_models(fixtures_root, tmp_path / "fx") == []
    build_course_hidden(tmp_path / "hidden")
    assert compare_generations(HIDDEN, tmp_path / "hidden") == []
    build_tiny(tmp_path / "tiny")
    assert compare_generations(fixtures_root / "tiny", tmp_path / "tiny") == []


def test_manifest_check_detects_an_edited_file(fixtures_root, tmp_path):
    shutil.copytree(fixtures_root / "tiny", tmp_path / "tiny")
    (tmp_path / "tiny" / layout.AOI).write_text("{}\n")
    assert manifest_problems(tmp_path / "tiny") == [f"{layout.AOI.as_posix()}: content differs from the manifest"]
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        manifest_problems(tmp_path / "nothing")


def test_a_missing_raster_without_a_course_to_generate_it_from_is_named(fixtures_root, tmp_path):
    shutil.copytree(fixtures_root / "tiny", tmp_path / "tiny")
    (tmp_path / "tiny" / layout.S2_COMPOSITE).unlink()
    with pytest.raises(MissingInput, match="lacks rasters/s2_l2a_composite.tif .* rerun what made the folder"):
        ensure_rasters(tmp_path / "tiny")
    with pytest.raises(MissingInput, match="manifest.json not found"):
        ensure_rasters(tmp_path / "nothing")


def test_command_line_help_and_probe(fixtures_root):
    run = [sys.executable, "-m", "geoai_ref.cli"]
    for command in ("course-data", "fixtures"):
        helped = subprocess.run([*run, command, "--help"], capture_output=True, text=True, cwd=REPO, timeout=60)
        assert helped.returncode == 0 and "--polygons" in helped.stdout and "patch level" in helped.stdout
    probed = subprocess.run([*run, "sensor-probe", "--data", str(fixtures_root)], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert probed.returncode == 0, probed.stderr
    assert set(json.loads(probed.stdout)) == {"week3", "grouped"} and "MODIS+DEM" in probed.stderr


def test_another_course_configuration_works_end_to_end(tmp_path):
    """A second, small course: two classes of its own names, reflectance 0-1, 2 patches per polygon, a quarter in
    validation, its own AOI and polygons: generated, built, checked and probed through the same code; its
    composite regenerated on first use, and refused where it no longer matches the manifest."""
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
    # first use: a missing composite is generated from the folder's polygons, manifest, course and seed
    composite = root / layout.S2_COMPOSITE
    expected = content_hash(composite)
    composite.unlink()
    assert ensure_rasters(root) == [composite] and content_hash(composite) == expected
    assert ensure_rasters(root) == []  # nothing missing, nothing done
    manifest = json.loads((root / layout.MANIFEST).read_text())
    manifest["files"][layout.S2_COMPOSITE.as_posix()] = "0" * 64
    (root / layout.MANIFEST).write_text(json.dumps(manifest))
    composite.unlink()
    with pytest.raises(ProblemsFound, match="differ from its manifest"):
        ensure_rasters(root)
    assert not composite.exists() and not list(root.glob(".generating-*"))  # nothing half-made left behind


def test_a_cloud_over_a_week3_patch_is_refused_naming_the_polygon(tmp_path, monkeypatch):
    """Where the synthetic cloud covers a patch (here put over the first polygon's centroid), the build stops and
    says which polygon and what to do, instead of cutting a patch of nodata."""
    from dataclasses import replace

    from rasterio.warp import transform_bounds

    from geoai_ref.errors import UsageError
    from geoai_ref.synth import course_build
    from geoai_ref.synth.generated_polygons import generate_polygons, region_bounds, write_polygons_geojson

    centre = (-73.05, -41.21)
    west, south, east, north = transform_bounds(COURSE.crs, "OGC:CRS84", *region_bounds(centre, 2000.0))
    course = replace(COURSE, name="cloud test", aoi_lonlat=(west - 0.01, south - 0.01, east + 0.01, north + 0.01))
    polygons = write_polygons_geojson(tmp_path / "polygons.geojson",
                                      generate_polygons(centre, dict.fromkeys(COURSE.class_names, 2), course,
                                                        extent_m=2000.0))
    real = course_build.stored_composite

    def clouded(s2, course):
        stack = real(s2, course)
        stack[np.isfinite(stack).all(axis=-1)] = np.nan  # cloud everywhere
        return stack

    monkeypatch.setattr(course_build, "stored_composite", clouded)
    with pytest.raises(UsageError, match=r"covers Week 3 patches of polygon\(s\) \[1, 2, .*--no-cloud"):
        build_course_data(tmp_path / "week3", polygons, course, train_model=False)
