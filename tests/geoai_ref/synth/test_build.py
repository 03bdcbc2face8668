"""The committed fixtures: contents, size, and that the generator reproduces them."""

import json

import numpy as np
import pytest
from conftest import HIDDEN, REPO

from geoai_ref import layout
from geoai_ref.align import load_sources
from geoai_ref.bands import S2_BANDS
from geoai_ref.patches import extract_patches
from geoai_ref.sample_index import read_sample_index
from geoai_ref.synth.build import HIDDEN_SCENE, PUBLIC_SCENE, build_fixtures, build_tiny
from geoai_ref.synth.verify import compare_generations, compare_week3_models, manifest_problems


def test_week3_arrays_have_the_exercise_shapes(fixtures_root):
    shapes = {p: np.load(fixtures_root / p).shape for p in (layout.X_TRAIN, layout.Y_TRAIN, layout.X_VAL, layout.Y_VAL)}
    assert shapes == {layout.X_TRAIN: (300, 8, 8, 6), layout.Y_TRAIN: (300,), layout.X_VAL: (75, 8, 8, 6),
                      layout.Y_VAL: (75,)}
    x = np.load(fixtures_root / layout.X_TRAIN)
    assert x.dtype == np.float32 and np.isfinite(x).all() and 0 < x.min() and x.max() <= 1.0


def test_index_locates_every_week3_patch_in_the_s2_raster(fixtures_root):
    index = read_sample_index(fixtures_root / layout.SAMPLE_INDEX)
    s2 = load_sources(fixtures_root).s2
    stack = np.stack([s2.physical(b) for b in S2_BANDS], axis=-1)
    for split, x_path, y_path in (("train", layout.X_TRAIN, layout.Y_TRAIN), ("val", layout.X_VAL, layout.Y_VAL)):
        chosen = index.where(split)
        patches = extract_patches(stack, index.row[chosen], index.col[chosen])
        assert np.array_equal(patches, np.load(fixtures_root / x_path))
        assert np.array_equal(index.class_id[chosen], np.load(fixtures_root / y_path))


def test_geojson_files(fixtures_root):
    polygons = json.loads((fixtures_root / layout.POLYGONS).read_text())
    assert polygons["type"] == "FeatureCollection" and len(polygons["features"]) == 126
    lon, lat = np.array(polygons["features"][0]["geometry"]["coordinates"][0]).T
    assert (-73.0 < lon).all() and (lon < -72.0).all() and (-41.5 < lat).all() and (lat < -41.0).all()
    aoi = json.loads((fixtures_root / layout.AOI).read_text())["features"][0]
    assert aoi["properties"]["s2_grid"]["crs"] == "EPSG:32718" and aoi["properties"]["s2_grid"]["width"] == 400


def test_committed_files_match_their_manifests(fixtures_root):
    assert manifest_problems(fixtures_root) == []
    assert manifest_problems(fixtures_root / "tiny") == []
    assert manifest_problems(HIDDEN) == []


def test_committed_data_stay_small():
    total = sum(p.stat().st_size for root in (REPO / "fixtures", HIDDEN) for p in root.rglob("*") if p.is_file())
    assert total < 8 * 2**20, f"fixtures and hidden data take {total / 2**20:.1f} MiB"


def test_hidden_scene_is_another_scene_and_never_in_fixtures(fixtures_root):
    manifest = json.loads((HIDDEN / layout.MANIFEST).read_text())
    assert manifest["scene"]["seed"] != PUBLIC_SCENE.seed and manifest["scene"]["name"] == HIDDEN_SCENE.name
    assert (manifest["scene"]["centre_lon"], manifest["scene"]["centre_lat"]) != (PUBLIC_SCENE.centre_lon,
                                                                                  PUBLIC_SCENE.centre_lat)
    assert not list(fixtures_root.rglob("*hidden*"))
    x, y = np.load(HIDDEN / "data/processed/X_hidden_fused.npy"), np.load(HIDDEN / "data/processed/y_hidden.npy")
    assert x.shape == (170, 8, 8, 8) and np.isfinite(x).all() and set(np.unique(y)) == {0, 1, 2, 3, 4}


@pytest.mark.slow
def test_regeneration_reproduces_the_committed_fixtures(fixtures_root, tmp_path):
    """Bit for bit for rasters (by pixels), arrays, GeoJSON and CSV; the model within the stated tolerance."""
    build_fixtures(tmp_path / "fx")
    assert compare_generations(fixtures_root, tmp_path / "fx") == []
    assert compare_week3_models(fixtures_root, tmp_path / "fx") == []
    build_tiny(tmp_path / "tiny")
    assert compare_generations(fixtures_root / "tiny", tmp_path / "tiny") == []


def test_manifest_check_detects_an_edited_file(fixtures_root, tmp_path):
    import shutil

    shutil.copytree(fixtures_root / "tiny", tmp_path / "tiny")
    (tmp_path / "tiny" / layout.AOI).write_text("{}\n")
    assert manifest_problems(tmp_path / "tiny") == [f"{layout.AOI.as_posix()}: content differs from the manifest"]
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        manifest_problems(tmp_path / "nothing")


def test_generation_comparison_detects_another_seed(fixtures_root, tmp_path):
    build_fixtures(tmp_path / "fx", seed=PUBLIC_SCENE.seed + 1, train_model=False)
    problems = compare_generations(fixtures_root, tmp_path / "fx")
    assert any(p.startswith("rasters/s2_l2a_composite.tif: differs") for p in problems)
    assert "the scene specifications differ (seed, AOI or size)" in problems
