"""The Earth Engine source: the same three source rasters as the offline fixtures, from Earth Engine.

Nothing here is needed for the offline kit. The expression builders (:func:`s2_composite`,
:func:`modis_ndvi_composite`, :func:`srtm_elevation`) and :func:`pixel_request` only build
objects and make no server calls; :func:`initialize` and :func:`download_sources` talk to
Earth Engine and need credentials (``earthengine authenticate``) and a network.

Every raster is requested on the exact grid the fixtures use (``geoai_ref.grids``): the
Sentinel-2 10 m UTM 18S grid, the MODIS sinusoidal lattice covering it and the SRTM
1 arc-second lattice covering it, so a downloaded folder and a fixture folder are
interchangeable (file names from ``geoai_ref.layout``).
Sources: ../shared/REFERENCES.md (asset ids, bands, nodata and scale).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import ee
import numpy as np
import rasterio

from geoai_ref import layout
from geoai_ref.bands import BANDS, COMPOSITE_END, COMPOSITE_START, S2_BANDS, Band
from geoai_ref.errors import Unavailable
from geoai_ref.grids import Grid, modis_grid_covering, srtm_grid_covering
from geoai_ref.rasterio_io import Raster, write_raster

T = TypeVar("T")

#: What to do when Earth Engine cannot be used; every EarthEngineUnavailable message ends with it.
OFFLINE_ADVICE = (
    "Run `earthengine authenticate` (and pass a Google Cloud project registered for Earth Engine), "
    "or work offline: the committed fixtures in `fixtures/` are the default data, and "
    "`geoai-ref fixtures --out fixtures` regenerates them."
)

#: Sentinel-2 scene classification (SCL) classes masked as cloud: 3 cloud shadow,
#: 8 cloud medium probability, 9 cloud high probability, 10 thin cirrus.
SCL_CLOUD_CLASSES: tuple[int, ...] = (3, 8, 9, 10)
#: QA60 bits: 10 opaque clouds, 11 cirrus.
QA60_CLOUD_BITS: tuple[int, ...] = (10, 11)
#: MOD13Q1 SummaryQA: 0 good, 1 marginal, 2 snow/ice, 3 cloudy. Keep <= 1.
MODIS_MAX_SUMMARY_QA = 1

_S2 = BANDS[S2_BANDS[0]]
_MODIS = BANDS["MODIS_NDVI"]
_DEM = BANDS["DEM"]


class EarthEngineUnavailable(Unavailable):
    """Earth Engine cannot be used here (no credentials, no network, a timeout or a server error)."""


# --------------------------------------------------------------------------- initialisation


def call_with_timeout(fn: Callable[[], T], timeout_s: float, what: str, advice: str = OFFLINE_ADVICE) -> T:
    """Run ``fn()`` in a daemon thread and return its value, waiting at most ``timeout_s`` seconds.

    A call that overruns is abandoned (the daemon thread cannot keep the process alive).

    Raises:
        EarthEngineUnavailable: if ``fn`` has not returned after ``timeout_s`` seconds, or if it
            raised (the original exception is chained as ``__cause__``). The message names
            ``what`` and ends with ``advice``.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"call_with_timeout: {what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise EarthEngineUnavailable(
            f"{what} timed out after {timeout_s:g} s (bad credentials or no network?). {advice}"
        )
    if "error" in outcome:
        exc = outcome["error"]
        raise EarthEngineUnavailable(f"{what} failed: {type(exc).__name__}: {exc}. {advice}") from exc
    if "value" not in outcome:
        raise EarthEngineUnavailable(f"{what} ended without a result. {advice}")
    return outcome["value"]


def _gcloud_adc_path() -> Path:
    """Where `gcloud auth application-default login` (and Colab) leave application default credentials."""
    try:
        from google.auth import _cloud_sdk

        return Path(_cloud_sdk.get_application_default_credentials_path())
    except Exception:  # noqa: BLE001 - private google-auth helper; fall back to its documented location
        config = os.environ.get("CLOUDSDK_CONFIG") or os.path.expanduser("~/.config/gcloud")
        return Path(config) / "application_default_credentials.json"


def find_credentials() -> Path | None:
    """The credentials file Earth Engine would use, or None when there is none.

    Looks where ``ee.Initialize`` looks, without any network call: the file written by
    ``earthengine authenticate`` (``ee.oauth.get_credentials_path()``), a service-account or
    user key named by ``GOOGLE_APPLICATION_CREDENTIALS``, and gcloud's application default
    credentials. (Credentials from a cloud VM's metadata server are not detected.)

    Raises:
        EarthEngineUnavailable: if ``GOOGLE_APPLICATION_CREDENTIALS`` names a file that does not exist.
    """
    ee_file = Path(ee.oauth.get_credentials_path())
    if ee_file.is_file():
        return ee_file
    env_file = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if env_file:
        if not Path(env_file).is_file():
            raise EarthEngineUnavailable(
                f"GOOGLE_APPLICATION_CREDENTIALS is set to {env_file!r}, which is not a file. {OFFLINE_ADVICE}"
            )
        return Path(env_file)
    adc = _gcloud_adc_path()
    if adc.is_file():
        return adc
    return None


def initialize(project: str | None, timeout_s: float = 20.0) -> None:
    """Initialise Earth Engine for ``project``, never waiting longer than ``timeout_s`` seconds.

    Raises:
        EarthEngineUnavailable: at once when no credentials exist (see :func:`find_credentials`);
            after ``timeout_s`` seconds when ``ee.Initialize`` has not returned (bad credentials
            or no network); or when ``ee.Initialize`` raises (wrapped, with the advice).
    """
    if find_credentials() is None:
        raise EarthEngineUnavailable(
            f"no Earth Engine credentials found (looked for {ee.oauth.get_credentials_path()}, "
            f"GOOGLE_APPLICATION_CREDENTIALS and {_gcloud_adc_path()}). {OFFLINE_ADVICE}"
        )
    call_with_timeout(lambda: ee.Initialize(project=project), timeout_s, "ee.Initialize")


# --------------------------------------------------------------------------- expressions (no server calls)


def _mask_s2_clouds(image: ee.Image) -> ee.Image:
    """Mask cloud, cloud shadow and cirrus pixels of one L2A scene (SCL classes and QA60 bits)."""
    scl = image.select("SCL")
    clear = scl.neq(SCL_CLOUD_CLASSES[0])
    for cls in SCL_CLOUD_CLASSES[1:]:
        clear = clear.And(scl.neq(cls))
    qa = image.select("QA60")
    for bit in QA60_CLOUD_BITS:
        clear = clear.And(qa.bitwiseAnd(1 << bit).eq(0))
    return image.updateMask(clear)


def s2_composite(
    aoi: ee.Geometry, start: str = COMPOSITE_START, end: str = COMPOSITE_END, max_cloud_pct: float = 60
) -> ee.Image:
    """Cloud-masked median Sentinel-2 L2A composite of the six bands of ``bands.S2_BANDS``.

    Scenes over ``aoi`` in [start, end) with CLOUDY_PIXEL_PERCENTAGE < ``max_cloud_pct``; each
    scene is masked (:func:`_mask_s2_clouds`) and resampled bilinearly (B11/B12 are natively
    20 m; resampling must happen per scene, a composite has no native projection to resample
    from). Stored as uint16 reflectance x 10000 with pixels left masked set to 0 (nodata).
    Builds an expression only; raises nothing beyond Earth Engine's own argument errors.
    """
    ee_bands = [BANDS[name].ee_band for name in S2_BANDS]

    def prepare(image: ee.Image) -> ee.Image:
        return _mask_s2_clouds(image).select(ee_bands, list(S2_BANDS)).resample("bilinear")

    scenes = (
        ee.ImageCollection(_S2.ee_asset)
        .filterBounds(aoi)
        .filterDate(start, end)
        .filter(ee.Filter.lt("CLOUDY_PIXEL_PERCENTAGE", max_cloud_pct))
        .map(prepare)
    )
    return scenes.median().round().unmask(_S2.nodata).toUint16()


def modis_ndvi_composite(aoi: ee.Geometry, start: str = COMPOSITE_START, end: str = COMPOSITE_END) -> ee.Image:
    """Median MOD13Q1 NDVI over [start, end) of the good and marginal pixels (SummaryQA <= 1).

    Stored int16 NDVI x 10000 with the product's fill value -3000 where no pixel is left.
    Builds an expression only.
    """

    def good_ndvi(image: ee.Image) -> ee.Image:
        return image.select(_MODIS.ee_band).updateMask(image.select("SummaryQA").lte(MODIS_MAX_SUMMARY_QA))

    composites = ee.ImageCollection(_MODIS.ee_asset).filterBounds(aoi).filterDate(start, end).map(good_ndvi)
    return composites.median().round().unmask(_MODIS.nodata).toInt16()


def srtm_elevation() -> ee.Image:
    """SRTM GL1 void-filled elevation in metres as int16 (masked pixels, if any, set to -32768).

    Builds an expression only.
    """
    return ee.Image(_DEM.ee_asset).select(_DEM.ee_band).unmask(_DEM.nodata).toInt16()


def pixel_request(image: ee.Image, grid: Grid, file_format: str = "GEO_TIFF") -> dict[str, Any]:
    """The ``ee.data.computePixels`` request that returns ``image`` on exactly ``grid``.

    The CRS goes as ``crsCode`` ("EPSG:n") when it has an EPSG code, else as ``crsWkt``
    (the MODIS sinusoidal CRS).
    """
    t = grid.transform
    pixel_grid: dict[str, Any] = {
        "dimensions": {"width": int(grid.width), "height": int(grid.height)},
        "affineTransform": {
            "scaleX": float(t.a),
            "shearX": float(t.b),
            "translateX": float(t.c),
            "shearY": float(t.d),
            "scaleY": float(t.e),
            "translateY": float(t.f),
        },
    }
    epsg = grid.crs.to_epsg()
    if epsg is not None:
        pixel_grid["crsCode"] = f"EPSG:{epsg}"
    else:
        pixel_grid["crsWkt"] = grid.crs.to_wkt()
    return {"expression": image, "fileFormat": file_format, "grid": pixel_grid}


# --------------------------------------------------------------------------- download


def _aoi_geometry(aoi_geojson: dict[str, Any]) -> ee.Geometry:
    """An ee.Geometry from a GeoJSON geometry, Feature or FeatureCollection (lon/lat)."""
    kind = aoi_geojson.get("type")
    if kind == "Feature":
        return ee.Geometry(aoi_geojson["geometry"])
    if kind == "FeatureCollection":
        features = [ee.Feature(ee.Geometry(f["geometry"])) for f in aoi_geojson["features"]]
        return ee.FeatureCollection(features).geometry()
    return ee.Geometry(aoi_geojson)


def _fetch(image: ee.Image, grid: Grid, band_names: tuple[str, ...], band: Band, path: Path) -> Path:
    """Compute ``image`` on ``grid``, and write it at ``path`` with the registry's dtype, nodata and scale.

    Raises:
        RuntimeError: if Earth Engine returns a raster of another shape or band count.
    """
    tif_bytes = ee.data.computePixels(pixel_request(image, grid))
    with tempfile.TemporaryDirectory() as tmp:
        tmp_tif = Path(tmp) / "download.tif"
        tmp_tif.write_bytes(tif_bytes)
        with rasterio.open(tmp_tif) as src:
            data = src.read()
    if data.shape != (len(band_names), grid.height, grid.width):
        raise RuntimeError(
            f"Earth Engine returned an array of shape {data.shape} for {path.name}, "
            f"expected {(len(band_names), grid.height, grid.width)}"
        )
    data = data.astype(np.dtype(band.storage_dtype), copy=False)
    return write_raster(path, Raster(data=data, grid=grid, band_names=band_names, nodata=band.nodata,
                                     scale=band.scale))


def download_sources(
    out_dir: Path,
    aoi_geojson: dict[str, Any],
    s2: Grid,
    project: str | None,
    start: str = COMPOSITE_START,
    end: str = COMPOSITE_END,
    timeout_s: float = 20.0,
) -> list[Path]:
    """Download the three source rasters onto the kit's grids and write the AOI, under ``out_dir``.

    Writes ``layout.S2_COMPOSITE`` on ``s2``, ``layout.MODIS_NDVI`` on the MODIS grid covering
    ``s2``, ``layout.SRTM_DEM`` on the SRTM grid covering it, and ``layout.AOI``. Returns the paths.

    Raises:
        EarthEngineUnavailable: if Earth Engine cannot be initialised (see :func:`initialize`).
        ee.EEException: if a computation fails on the server.
        RuntimeError: if a returned raster does not have the requested shape.
    """
    out_dir = Path(out_dir)
    initialize(project, timeout_s=timeout_s)
    aoi = _aoi_geometry(aoi_geojson)
    jobs = [
        (s2_composite(aoi, start, end), s2, S2_BANDS, _S2, layout.S2_COMPOSITE),
        (modis_ndvi_composite(aoi, start, end), modis_grid_covering(s2), ("MODIS_NDVI",), _MODIS, layout.MODIS_NDVI),
        (srtm_elevation(), srtm_grid_covering(s2), ("DEM",), _DEM, layout.SRTM_DEM),
    ]
    paths = [_fetch(image, grid, names, band, out_dir / rel) for image, grid, names, band, rel in jobs]
    aoi_path = out_dir / layout.AOI
    aoi_path.parent.mkdir(parents=True, exist_ok=True)
    aoi_path.write_text(json.dumps(aoi_geojson, indent=2) + "\n", encoding="utf-8")
    return [*paths, aoi_path]
