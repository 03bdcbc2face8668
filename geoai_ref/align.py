"""Alignment of every source onto the Sentinel-2 10 m grid, and the fused 8-band stack.

Resampling is decided by the band registry (bilinear for continuous bands, nearest for
categories) and done by ``rasterio.warp.reproject``. Values are converted to physical
units *before* resampling, with nodata as NaN, so fill values never leak into
neighbouring pixels.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.enums import Resampling
from rasterio.warp import reproject

from geoai_ref import layout
from geoai_ref.bands import FUSED_BANDS, S2_BANDS, band
from geoai_ref.grids import Grid
from geoai_ref.rasterio_io import Raster, read_raster


@dataclass(frozen=True, eq=False)
class AlignedStack:
    """Bands on one grid, channels last: ``data`` is (height, width, bands) float32, NaN = nodata."""

    data: np.ndarray
    grid: Grid
    band_names: tuple[str, ...]

    def band(self, name: str) -> np.ndarray:
        """One band as (height, width).

        Raises:
            KeyError: if the stack has no band called ``name``.
        """
        if name not in self.band_names:
            raise KeyError(f"stack has bands {list(self.band_names)}, not {name!r}")
        return self.data[..., self.band_names.index(name)]


@dataclass(frozen=True, eq=False)
class Sources:
    """The three source rasters on their native grids."""

    s2: Raster
    modis: Raster
    dem: Raster


def load_sources(root: Path) -> Sources:
    """Read the Sentinel-2, MODIS and SRTM GeoTIFFs of a data folder (fixtures or Earth Engine download).

    A data set the kit generated (its ``manifest.json`` records the course) gets a missing raster generated on
    first use (:func:`geoai_ref.synth.course_build.ensure_rasters`: the fixtures' Sentinel-2 composite is not
    committed); a message on stderr says so.

    Raises:
        FileNotFoundError: if a file is missing (the message says how to make it).
        ValueError: if a file lacks the bands the kit expects.
        geoai_ref.errors.ProblemsFound: if a raster generated on first use differs from the manifest.
    """
    root = Path(root)
    if (root / layout.MANIFEST).is_file():
        from geoai_ref.synth.course_build import ensure_rasters

        ensure_rasters(root, progress=lambda message: print(message, file=sys.stderr, flush=True))
    s2 = read_raster(root / layout.S2_COMPOSITE)
    modis = read_raster(root / layout.MODIS_NDVI)
    dem = read_raster(root / layout.SRTM_DEM)
    for raster, names, path in ((s2, S2_BANDS, layout.S2_COMPOSITE), (modis, ("MODIS_NDVI",), layout.MODIS_NDVI),
                                (dem, ("DEM",), layout.SRTM_DEM)):
        if tuple(raster.band_names) != tuple(names):
            raise ValueError(f"{root / path} has bands {list(raster.band_names)}; expected {list(names)} in that order")
    return Sources(s2=s2, modis=modis, dem=dem)


def resample_band(source: Raster, name: str, target: Grid, resampling: Resampling | None = None) -> np.ndarray:
    """One band of ``source`` resampled onto ``target``, in physical units (float32, NaN = nodata).

    ``resampling`` defaults to the registry's choice for the band.
    """
    method = band(name).resampling if resampling is None else resampling
    values = source.physical(name)
    out = np.full(target.shape, np.nan, dtype=np.float32)
    reproject(
        values,
        out,
        src_transform=source.grid.transform,
        src_crs=source.grid.crs,
        src_nodata=np.nan,
        dst_transform=target.transform,
        dst_crs=target.crs,
        dst_nodata=np.nan,
        resampling=method,
    )
    return out


def fuse(sources: Sources) -> AlignedStack:
    """The 8-band stack ``[B2, B3, B4, B8, B11, B12, MODIS_NDVI, DEM]`` on the Sentinel-2 grid."""
    target = sources.s2.grid
    data = np.empty((*target.shape, len(FUSED_BANDS)), dtype=np.float32)  # filled band by band: one copy in memory
    for i, name in enumerate(S2_BANDS):
        data[..., i] = sources.s2.physical(name)
    data[..., 6] = resample_band(sources.modis, "MODIS_NDVI", target)
    data[..., 7] = resample_band(sources.dem, "DEM", target)
    return AlignedStack(data, target, FUSED_BANDS)
