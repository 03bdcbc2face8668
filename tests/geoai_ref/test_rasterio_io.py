import numpy as np
import pytest
from affine import Affine

from geoai_ref.grids import S2_CRS, Grid
from geoai_ref.rasterio_io import Raster, read_raster, write_raster


def test_round_trip_keeps_values_grid_names_and_scale(tmp_path):
    grid = Grid(S2_CRS, Affine(10, 0, 700000, 0, -10, 5400000), 4, 5)
    data = np.arange(40, dtype=np.uint16).reshape(2, 4, 5)
    path = write_raster(tmp_path / "r.tif", Raster(data, grid, ("B2", "B3"), nodata=0, scale=1e-4))
    back = read_raster(path)
    assert np.array_equal(back.data, data)
    assert back.grid.same_as(grid) and back.band_names == ("B2", "B3") and back.scale == 1e-4
    physical = back.physical("B3")
    assert physical[0, 0] == pytest.approx(20 * 1e-4) and np.isnan(back.physical("B2")[0, 0])


def test_missing_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="geoai-ref fixtures"):
        read_raster(tmp_path / "nope.tif")


def test_wrong_band_count_is_refused(tmp_path):
    grid = Grid(S2_CRS, Affine(10, 0, 0, 0, -10, 0), 2, 2)
    with pytest.raises(ValueError, match="bands=3"):
        write_raster(tmp_path / "r.tif", Raster(np.zeros((2, 2, 2), np.uint8), grid, ("a", "b", "c"), None))


def test_unknown_band_lookup(tmp_path):
    grid = Grid(S2_CRS, Affine(10, 0, 0, 0, -10, 0), 2, 2)
    r = Raster(np.zeros((1, 2, 2), np.uint8), grid, ("a",), None)
    with pytest.raises(KeyError, match="not 'b'"):
        r.band("b")
