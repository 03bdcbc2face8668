"""The band registry: every band the kit handles, described once.

For each band: which sensor and Earth Engine asset it comes from, its native grid
resolution, how it is stored on disk (dtype, scale, nodata), its valid range in
physical units, and the resampling it needs when it is aligned onto the
Sentinel-2 10 m grid (bilinear for continuous values, nearest for categories).
Sources: ../shared/REFERENCES.md (Sentinel-2 L2A, MOD13Q1 and SRTMGL1 product specs).
"""

from __future__ import annotations

from dataclasses import dataclass

from rasterio.enums import Resampling


@dataclass(frozen=True)
class Band:
    """Description of one band.

    ``scale`` converts stored values to physical units: ``physical = stored * scale``.
    ``valid_range`` is in physical units, inclusive.
    """

    name: str
    sensor: str
    description: str
    unit: str
    native_resolution_m: float
    storage_dtype: str
    scale: float
    nodata: int | float | None
    valid_range: tuple[float, float]
    resampling: Resampling
    ee_asset: str
    ee_band: str


_S2 = "Sentinel-2 L2A"
_S2_ASSET = "COPERNICUS/S2_SR_HARMONIZED"
# L2A surface reflectance is stored as uint16 reflectance x 10000 with nodata 0
# (no BOA offset for scenes processed before baseline 04.00, i.e. our 2019 scenes).
_S2_SCALE = 1e-4
_REFLECTANCE_RANGE = (0.0, 1.0)


def _s2(name: str, description: str, resolution_m: float) -> Band:
    return Band(
        name=name,
        sensor=_S2,
        description=description,
        unit="reflectance (0-1)",
        native_resolution_m=resolution_m,
        storage_dtype="uint16",
        scale=_S2_SCALE,
        nodata=0,
        valid_range=_REFLECTANCE_RANGE,
        resampling=Resampling.bilinear,
        ee_asset=_S2_ASSET,
        ee_band=name,
    )


#: MOD13Q1 nominal "250 m" pixels are 231.656 m in the MODIS sinusoidal grid.
MODIS_PIXEL_SIZE_M: float = 1111950.5196666666 / 4800

BANDS: dict[str, Band] = {
    "B2": _s2("B2", "blue, 490 nm", 10.0),
    "B3": _s2("B3", "green, 560 nm", 10.0),
    "B4": _s2("B4", "red, 665 nm", 10.0),
    "B8": _s2("B8", "near infrared, 842 nm", 10.0),
    "B11": _s2("B11", "short-wave infrared, 1610 nm", 20.0),
    "B12": _s2("B12", "short-wave infrared, 2190 nm", 20.0),
    "MODIS_NDVI": Band(
        name="MODIS_NDVI",
        sensor="MODIS Terra MOD13Q1",
        description="16-day NDVI, composited over the austral summer",
        unit="NDVI (-1 to 1)",
        native_resolution_m=MODIS_PIXEL_SIZE_M,
        storage_dtype="int16",
        scale=1e-4,
        nodata=-3000,
        valid_range=(-0.2, 1.0),
        resampling=Resampling.bilinear,
        ee_asset="MODIS/061/MOD13Q1",
        ee_band="NDVI",
    ),
    "DEM": Band(
        name="DEM",
        sensor="SRTM GL1",
        description="void-filled elevation, 1 arc-second",
        unit="metres above the EGM96 geoid",
        native_resolution_m=30.0,
        storage_dtype="int16",
        scale=1.0,
        nodata=-32768,
        valid_range=(-500.0, 9000.0),
        resampling=Resampling.bilinear,
        ee_asset="USGS/SRTMGL1_003",
        ee_band="elevation",
    ),
    "LANDCOVER": Band(
        name="LANDCOVER",
        sensor="truth",
        description="land-cover class id (see geoai_ref.classes)",
        unit="class id",
        native_resolution_m=10.0,
        storage_dtype="uint8",
        scale=1.0,
        nodata=255,
        valid_range=(0.0, 4.0),
        resampling=Resampling.nearest,
        ee_asset="",
        ee_band="",
    ),
}

#: The six Sentinel-2 bands of the Week 3 dataset, in order.
S2_BANDS: tuple[str, ...] = ("B2", "B3", "B4", "B8", "B11", "B12")
#: The band order of the fused 8-band stack the exercise requires.
FUSED_BANDS: tuple[str, ...] = (*S2_BANDS, "MODIS_NDVI", "DEM")

#: "Austral summer 2019" is ambiguous; the kit means December 2018 to February 2019
#: (meteorological summer, end date exclusive as Earth Engine's filterDate takes it).
COMPOSITE_START: str = "2018-12-01"
COMPOSITE_END: str = "2019-03-01"


def band(name: str) -> Band:
    """Return the registry entry for ``name``.

    Raises:
        KeyError: if the band is not in the registry; the message lists the known bands.
    """
    try:
        return BANDS[name]
    except KeyError:
        raise KeyError(f"unknown band {name!r}; known bands: {', '.join(BANDS)}") from None


def band_indices(names: tuple[str, ...] | list[str], order: tuple[str, ...] = FUSED_BANDS) -> list[int]:
    """Positions of ``names`` within ``order`` (the fused stack by default).

    Raises:
        KeyError: if a name is not in ``order``.
    """
    missing = [n for n in names if n not in order]
    if missing:
        raise KeyError(f"bands {missing} are not in the stack {list(order)}")
    return [order.index(n) for n in names]
