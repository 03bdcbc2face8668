"""The data pipeline end to end on the committed fixtures."""

import json

import numpy as np
import pytest

from geoai_ref import layout
from geoai_ref.course import COURSE
from geoai_ref.pipeline import FIGURE, FUSED_STACK, REPORT, run_data_pipeline
from geoai_ref.qc import QualityError
from geoai_ref.rasterio_io import read_raster


@pytest.fixture(scope="module")
def result(fixtures_root, tmp_path_factory):
    return run_data_pipeline(fixtures_root, tmp_path_factory.mktemp("pipeline"), show_progress=False)


def test_writes_the_exercise_deliverables(result, fixtures_root):
    out = result.out
    x_train, x_val = np.load(out / layout.X_TRAIN_FUSED), np.load(out / layout.X_VAL_FUSED)
    assert x_train.shape == (300, 8, 8, 8) and x_val.shape == (75, 8, 8, 8)
    assert x_train.dtype == np.float32 and np.isfinite(x_train).all()
    week3 = np.load(fixtures_root / layout.X_TRAIN)  # digital numbers; the fused bands are reflectance
    np.testing.assert_allclose(x_train[..., :6], week3 / COURSE.s2_scale, rtol=1e-6)
    assert json.loads((out / REPORT).read_text())["patches"]["train"]["s2_bands_equal_week3"] is True
    assert {p.relative_to(out) for p in result.files} == {FUSED_STACK, layout.X_TRAIN_FUSED, layout.X_VAL_FUSED,
                                                          REPORT, FIGURE}


def test_fused_stack_file_is_on_the_s2_grid(result, fixtures_root):
    stack = read_raster(result.out / FUSED_STACK)
    s2 = read_raster(fixtures_root / layout.S2_COMPOSITE)
    assert stack.grid.same_as(s2.grid)
    assert stack.band_names == ("B2", "B3", "B4", "B8", "B11", "B12", "MODIS_NDVI", "DEM")


def test_report_records_alignment_qc_and_splits(result):
    report = json.loads((result.out / REPORT).read_text())
    assert [a["band"] for a in report["alignment"]] == ["MODIS_NDVI", "DEM"]
    assert all(a["passed"] for a in report["alignment"])
    assert report["quality_control"]["ok"] and report["quality_control"]["nodata_pixels"] > 0  # the cloud hole
    splits = report["splits"]
    assert splits["stratified_group_split"]["ok"]
    week3 = splits["week3"]  # the course's patch-level split: stratified, but polygons on both sides
    assert not week3["ok"] and len(week3["leaked_groups"]) == 58 and week3["classes_missing_in_val"] == []
    keras_split = splits["keras_validation_split"]
    assert not keras_split["ok"]
    assert keras_split["classes_missing_in_val"] == ["Agriculture", "Forest", "Urban", "Water"]


def test_figure_is_a_real_image(result):
    import matplotlib.image as mpimg

    image = mpimg.imread(result.out / FIGURE)
    assert image.shape[0] > 500 and image.shape[1] > 800
    assert image[..., :3].std() > 0.05  # not blank


def test_patch_in_cloud_hole_fails_quality_control(fixtures_root, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(fixtures_root, data, ignore=shutil.ignore_patterns("*.h5", "tiny"))
    s2 = read_raster(data / layout.S2_COMPOSITE)
    from geoai_ref.rasterio_io import Raster, write_raster
    from geoai_ref.sample_index import read_sample_index

    index = read_sample_index(data / layout.SAMPLE_INDEX)
    r, c = int(index.row[0]), int(index.col[0])
    holed = s2.data.copy()
    holed[:, r - 1 : r + 1, c - 1 : c + 1] = 0  # cloud over sample 0
    write_raster(data / layout.S2_COMPOSITE, Raster(holed, s2.grid, s2.band_names, s2.nodata, s2.scale))
    with pytest.raises(QualityError, match="NaN or nodata"):
        run_data_pipeline(data, tmp_path / "out", show_progress=False)
