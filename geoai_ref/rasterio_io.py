"""Reading and writing the kit's GeoTIFFs with rasterio, in one place.

Files are written deterministically (deflate, fixed tiling, no timestamps) so that a
regenerated fixture is byte-identical to the committed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio

from geoai_ref.errors import MissingInput
from geoai_ref.grids import Grid


@dataclass(frozen=True, eq=False)
class Raster:
    """A multi-band raster in memory: ``data`` is (bands, height, width) as stored on disk."""

    data: np.ndarray
    grid: Grid
    band_names: tuple[str, ...]
    nodata: float | int | None
    scale: float = 1.0

    def band(self, name: str) -> np.ndarray:
        """Stored values of one band.

        Raises:
            KeyError: if the raster has no band called ``name``.
        """
        if name not in self.band_names:
            raise KeyError(f"raster has bands {list(self.band_names)}, not {name!r}")
        return self.data[self.band_names.index(name)]

    def physical(self, name: str) -> np.ndarray:
        """One band in physical units as float32, with nodata turned into NaN."""
        stored = self.band(name)
        out = stored.astype(np.float32) * np.float32(self.scale)
        if self.nodata is not None:
            out[stored == self.nodata] = np.nan
        return out


def write_raster(path: Path, raster: Raster) -> Path:
    """Write ``raster`` as a deflate-compressed GeoTIFF, band descriptions = band names."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = raster.data
    if data.ndim != 3 or data.shape[0] != len(raster.band_names):
        raise ValueError(f"expected data of shape (bands={len(raster.band_names)}, h, w), got {data.shape}")
    profile = {
        "driver": "GTiff",
        "height": data.shape[1],
        "width": data.shape[2],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": raster.grid.crs,
        "transform": raster.grid.transform,
        "nodata": raster.nodata,
        "compress": "deflate",
        "predictor": 2 if data.dtype.kind in "iu" else 3,
        "zlevel": 9,
        "tiled": False,
        "interleave": "band",
    }
    with rasterio.Env(GDAL_PAM_ENABLED="NO"):
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
            for i, name in enumerate(raster.band_names, start=1):
                dst.set_band_description(i, name)
                dst.update_tags(i, scale=repr(raster.scale))
    return path


def read_raster(path: Path) -> Raster:
    """Read a GeoTIFF written by :func:`write_raster` (or any single-CRS GeoTIFF).

    Raises:
        FileNotFoundError: if ``path`` does not exist (the message says how to make it).
        rasterio.errors.RasterioIOError: if the file is not a readable raster.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInput(
            f"{path} does not exist: generate the offline data with `geoai-ref fixtures --out DIR` "
            "or download it with `geoai-ref earthengine --out DIR`"
        )
    with rasterio.open(path) as src:
        data = src.read()
        names = tuple(d or f"band{i + 1}" for i, d in enumerate(src.descriptions))
        scale = float(src.tags(1).get("scale", src.scales[0] if src.scales else 1.0))
        grid = Grid(src.crs, src.transform, src.height, src.width)
        return Raster(data=data, grid=grid, band_names=names, nodata=src.nodata, scale=scale)
