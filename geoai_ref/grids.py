"""Raster grids: a CRS, an affine transform and a shape, and each sensor's native grid.

A :class:`Grid` is what "aligned" means: two rasters are aligned when their grids are
equal. The constructors here snap an area of interest onto each sensor's native pixel
lattice the way the real products lay it out:

- Sentinel-2: 10 m pixels in UTM zone 18S (EPSG:32718), edges on multiples of 10 m.
- MODIS MOD13Q1: 231.656 m pixels in the MODIS sinusoidal CRS, edges on the global
  tile lattice that starts at (-20015109.354, 10007554.677).
- SRTM GL1: 1 arc-second in EPSG:4326, area-registered with pixel *centres* on whole
  arc-seconds (GDAL's reading of the point-registered tiles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import array_bounds
from rasterio.warp import transform_bounds

from geoai_ref.bands import MODIS_PIXEL_SIZE_M

S2_CRS = CRS.from_epsg(32718)
MODIS_SINUSOIDAL = CRS.from_proj4("+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs")
WGS84 = CRS.from_epsg(4326)

S2_PIXEL_M = 10.0
MODIS_ORIGIN = (-20015109.354, 10007554.677)
SRTM_PIXEL_DEG = 1.0 / 3600.0


@dataclass(frozen=True, eq=False)
class Grid:
    """A raster grid: ``crs``, ``transform`` (pixel corner -> map) and ``height`` x ``width``."""

    crs: CRS
    transform: Affine
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        west, south, east, north = array_bounds(self.height, self.width, self.transform)
        return (west, south, east, north)

    def pixel_centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates of the centres of pixels (rows, cols)."""
        xs, ys = self.transform @ (np.asarray(cols, dtype=float) + 0.5, np.asarray(rows, dtype=float) + 0.5)
        return np.asarray(xs), np.asarray(ys)

    def fractional_index(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (row, col) of map points, with pixel centres at whole numbers."""
        cols, rows = ~self.transform @ (np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
        return np.asarray(rows) - 0.5, np.asarray(cols) - 0.5

    def same_as(self, other: Grid, atol: float = 1e-9) -> bool:
        """True when CRS, shape and transform agree (transform within ``atol``)."""
        return (
            self.crs == other.crs
            and self.shape == other.shape
            and all(math.isclose(a, b, abs_tol=atol) for a, b in zip(self.transform, other.transform, strict=True))
        )

    def describe(self) -> str:
        t = self.transform
        return (
            f"{self.crs.to_string()[:60]} {self.height}x{self.width} px, "
            f"pixel {t.a:g} x {-t.e:g}, origin ({t.c:.6f}, {t.f:.6f})"
        )

    def expand(self, pixels: int) -> Grid:
        """The same lattice grown by ``pixels`` on every side."""
        t = self.transform
        return Grid(
            self.crs,
            Affine(t.a, t.b, t.c - pixels * t.a, t.d, t.e, t.f - pixels * t.e),
            self.height + 2 * pixels,
            self.width + 2 * pixels,
        )


def s2_grid(centre_x: float, centre_y: float, size_px: int) -> Grid:
    """A square Sentinel-2 grid of ``size_px`` 10 m pixels centred near (x, y) in EPSG:32718."""
    half = size_px * S2_PIXEL_M / 2
    left = math.floor((centre_x - half) / S2_PIXEL_M) * S2_PIXEL_M
    top = math.ceil((centre_y + half) / S2_PIXEL_M) * S2_PIXEL_M
    return Grid(S2_CRS, Affine(S2_PIXEL_M, 0, left, 0, -S2_PIXEL_M, top), size_px, size_px)


def _snapped_grid(crs: CRS, bounds: tuple[float, float, float, float], size: float, origin: tuple[float, float],
                  margin: int) -> Grid:
    west, south, east, north = bounds
    x0, y0 = origin
    c0 = math.floor((west - x0) / size) - margin
    c1 = math.ceil((east - x0) / size) + margin
    r0 = math.floor((y0 - north) / size) - margin
    r1 = math.ceil((y0 - south) / size) + margin
    return Grid(crs, Affine(size, 0, x0 + c0 * size, 0, -size, y0 - r0 * size), r1 - r0, c1 - c0)


def modis_grid_covering(grid: Grid, margin: int = 1) -> Grid:
    """The MODIS sinusoidal pixels that cover ``grid``, plus ``margin`` pixels on each side."""
    bounds = transform_bounds(grid.crs, MODIS_SINUSOIDAL, *grid.bounds, densify_pts=51)
    return _snapped_grid(MODIS_SINUSOIDAL, bounds, MODIS_PIXEL_SIZE_M, MODIS_ORIGIN, margin)


def srtm_grid_covering(grid: Grid, margin: int = 2) -> Grid:
    """The SRTM 1" area-registered pixels that cover ``grid``, plus ``margin`` on each side.

    Pixel centres fall on whole arc-seconds, so pixel edges sit half an arc-second off.
    """
    bounds = transform_bounds(grid.crs, WGS84, *grid.bounds, densify_pts=51)
    half = SRTM_PIXEL_DEG / 2
    return _snapped_grid(WGS84, bounds, SRTM_PIXEL_DEG, (-180.0 - half, 90.0 + half), margin)
