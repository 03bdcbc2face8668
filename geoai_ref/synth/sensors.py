"""Render a :class:`~geoai_ref.synth.scene.Scene` as each sensor delivers it, on its native grid.

- Sentinel-2 L2A composite: uint16 reflectance x 10000, nodata 0 under persistent cloud.
- MODIS MOD13Q1 NDVI: the area mean of the 10 m NDVI inside each 231.656 m sinusoidal
  pixel (its footprint), plus composite noise; int16, scale 0.0001, fill -3000.
- SRTM GL1: the analytic terrain sampled at each 1 arc-second post, plus ~2 m noise
  (SRTM's absolute height error is several metres); int16 metres.
"""

from __future__ import annotations

import numpy as np
from rasterio.warp import transform as warp_transform

from geoai_ref.bands import BANDS, S2_BANDS
from geoai_ref.classes import TRUTH_NODATA
from geoai_ref.grids import Grid, modis_grid_covering, srtm_grid_covering
from geoai_ref.rasterio_io import Raster
from geoai_ref.synth.scene import Scene

MODIS_COMPOSITE_NOISE = 0.02  # NDVI units, residual BRDF / atmosphere noise of a 16-day composite
SRTM_NOISE_M = 2.0


def sentinel2(scene: Scene) -> Raster:
    """The Sentinel-2 L2A composite on the scene's 10 m UTM grid."""
    refl = scene.crop(scene.reflectance)
    stored = np.clip(np.rint(refl * 10000.0), 1, 10000).astype(np.uint16)
    stored[:, scene.cloud] = 0
    return Raster(stored, scene.s2, S2_BANDS, nodata=0, scale=BANDS["B2"].scale)


def modis_cells(scene: Scene, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """The MODIS cell (flat index on ``grid``) whose footprint holds the centre of each world pixel (flattened),
    and which world pixels fall on the MODIS grid at all."""
    rows, cols = np.mgrid[0 : scene.world.height, 0 : scene.world.width]
    x, y = scene.world.pixel_centres(rows, cols)
    sx, sy = warp_transform(scene.world.crs, grid.crs, x.ravel(), y.ravel())
    mr, mc = grid.fractional_index(np.asarray(sx), np.asarray(sy))
    mr, mc = np.floor(mr + 0.5).astype(int), np.floor(mc + 0.5).astype(int)
    inside = (mr >= 0) & (mr < grid.height) & (mc >= 0) & (mc < grid.width)
    return mr * grid.width + mc, inside


def modis_ndvi(scene: Scene) -> Raster:
    """The MODIS NDVI composite on the sinusoidal grid covering the scene.

    Raises:
        RuntimeError: if a MODIS pixel's footprint reaches past the scene's world grid
            (the generator's margin is too small for the AOI).
    """
    grid = modis_grid_covering(scene.s2, margin=1)
    cell, inside = modis_cells(scene, grid)
    flat = cell[inside]
    counts = np.bincount(flat, minlength=grid.height * grid.width)
    sums = np.bincount(flat, weights=scene.ndvi.ravel()[inside], minlength=grid.height * grid.width)
    expected = (grid.transform.a / scene.world.transform.a) ** 2
    if counts.min() < 0.9 * expected:
        raise RuntimeError("a MODIS footprint reaches past the world grid: scene.world_margin_px is too small")
    ndvi = (sums / counts).reshape(grid.shape)
    ndvi += scene.rng("modis").normal(0.0, MODIS_COMPOSITE_NOISE, size=ndvi.shape)
    stored = np.clip(np.rint(ndvi / BANDS["MODIS_NDVI"].scale), -2000, 10000).astype(np.int16)
    return Raster(stored[None], grid, ("MODIS_NDVI",), nodata=BANDS["MODIS_NDVI"].nodata,
                  scale=BANDS["MODIS_NDVI"].scale)


def srtm(scene: Scene) -> Raster:
    """The SRTM DEM on the 1 arc-second grid covering the scene."""
    grid = srtm_grid_covering(scene.s2, margin=2)
    rows, cols = np.mgrid[0 : grid.height, 0 : grid.width]
    lon, lat = grid.pixel_centres(rows, cols)
    x, y = warp_transform(grid.crs, scene.s2.crs, lon.ravel(), lat.ravel())
    z = scene.terrain.elevation(np.asarray(x), np.asarray(y)).reshape(grid.shape)
    z += scene.rng("srtm").normal(0.0, SRTM_NOISE_M, size=z.shape)
    return Raster(np.rint(z).astype(np.int16)[None], grid, ("DEM",), nodata=BANDS["DEM"].nodata, scale=1.0)


def truth(scene: Scene) -> Raster:
    """The land-cover truth on the Sentinel-2 grid (uint8 class ids)."""
    return Raster(scene.crop(scene.landcover)[None].copy(), scene.s2, ("LANDCOVER",), nodata=TRUTH_NODATA, scale=1.0)
