import numpy as np
import pytest
from rasterio.warp import transform

from geoai_ref.grids import (
    MODIS_ORIGIN,
    MODIS_SINUSOIDAL,
    S2_CRS,
    SRTM_PIXEL_DEG,
    WGS84,
    modis_grid_covering,
    s2_grid,
    srtm_grid_covering,
)


@pytest.fixture(scope="module")
def s2():
    xs, ys = transform(WGS84, S2_CRS, [-72.54], [-41.21])
    return s2_grid(xs[0], ys[0], 100)


def test_s2_grid_on_10m_lattice(s2):
    assert s2.crs.to_epsg() == 32718
    assert s2.transform.a == 10 and s2.transform.e == -10
    assert s2.transform.c % 10 == 0 and s2.transform.f % 10 == 0


def test_modis_grid_on_the_global_sinusoidal_lattice(s2):
    m = modis_grid_covering(s2)
    assert m.crs == MODIS_SINUSOIDAL
    assert m.transform.a == pytest.approx(1111950.5196666666 / 4800)
    cols = (m.transform.c - MODIS_ORIGIN[0]) / m.transform.a
    rows = (MODIS_ORIGIN[1] - m.transform.f) / m.transform.a
    assert cols == pytest.approx(round(cols), abs=1e-6) and rows == pytest.approx(round(rows), abs=1e-6)


def test_srtm_pixel_centres_on_whole_arc_seconds(s2):
    g = srtm_grid_covering(s2)
    lon, lat = g.pixel_centres(np.array([0, 5]), np.array([0, 7]))
    assert np.allclose(lon * 3600, np.round(lon * 3600), atol=1e-6)
    assert np.allclose(lat * 3600, np.round(lat * 3600), atol=1e-6)
    assert g.transform.a == pytest.approx(SRTM_PIXEL_DEG)


@pytest.mark.parametrize("make", [modis_grid_covering, srtm_grid_covering])
def test_covering_grids_contain_the_s2_footprint(s2, make):
    g = make(s2)
    rows, cols = np.mgrid[0 : s2.height : 9, 0 : s2.width : 9]
    x, y = s2.pixel_centres(rows.ravel(), cols.ravel())
    gx, gy = transform(s2.crs, g.crs, x, y)
    r, c = g.fractional_index(np.asarray(gx), np.asarray(gy))
    assert r.min() > 0 and c.min() > 0 and r.max() < g.height - 1 and c.max() < g.width - 1


def test_fractional_index_inverts_pixel_centres(s2):
    x, y = s2.pixel_centres(np.array([3]), np.array([4]))
    r, c = s2.fractional_index(x, y)
    assert (r[0], c[0]) == pytest.approx((3.0, 4.0))


def test_expand_keeps_the_lattice(s2):
    e = s2.expand(5)
    assert e.shape == (s2.height + 10, s2.width + 10)
    x, y = e.pixel_centres(np.array([5]), np.array([5]))
    assert (x[0], y[0]) == pytest.approx(tuple(np.ravel(s2.pixel_centres(np.array([0]), np.array([0])))))
    assert s2.same_as(s2) and not s2.same_as(e)
