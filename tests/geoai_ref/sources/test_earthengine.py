"""Offline tests of the Earth Engine source.

No network and no credentials are used: the credential checks run in an empty HOME, the
expression graphs are built against the algorithm signatures the earthengine-api package
ships for its own tests (``ee.apitestcase.GetAlgorithms``), and ``ee.data.computePixels`` runs
its real code path down to a fake Cloud API resource that answers with GeoTIFF bytes.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

import ee
import ee.apitestcase
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.io import MemoryFile

from geoai_ref import grids, layout
from geoai_ref.bands import MODIS_PIXEL_SIZE_M, S2_BANDS
from geoai_ref.rasterio_io import read_raster
from geoai_ref.sources import earthengine as eesrc
from geoai_ref.sources.earthengine import EarthEngineUnavailable, call_with_timeout

# Near Puerto Montt, UTM 18S.
S2_GRID = grids.s2_grid(672_345.0, 5_408_765.0, 64)
AOI_GEOJSON: dict[str, Any] = {
    "type": "Feature",
    "properties": {"name": "test aoi"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[-73.0, -41.5], [-72.9, -41.5], [-72.9, -41.4], [-73.0, -41.4], [-73.0, -41.5]]],
    },
}


# --------------------------------------------------------------------------- credentials and timeouts


@pytest.fixture
def empty_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """HOME is an empty folder and no credential variable is set."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for var in list(os.environ):
        if var.startswith("EE_") or var in ("GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG"):
            monkeypatch.delenv(var)
    # ee.oauth.get_credentials_path() is ~/.config/earthengine/credentials: make sure it follows HOME.
    assert Path(ee.oauth.get_credentials_path()).is_relative_to(home)
    return home


class FakeInitialize:
    """Stands in for ee.Initialize: records calls, then blocks, raises or returns."""

    def __init__(self, block: bool = False, error: Exception | None = None):
        self.calls: list[dict[str, Any]] = []
        self.block = block
        self.error = error
        self.release = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append({"args": args, "kwargs": kwargs})
        if self.block:
            self.release.wait(30)
        if self.error is not None:
            raise self.error


@pytest.fixture
def fake_initialize(monkeypatch: pytest.MonkeyPatch):
    fakes: list[FakeInitialize] = []

    def install(**kwargs: Any) -> FakeInitialize:
        fake = FakeInitialize(**kwargs)
        fakes.append(fake)
        monkeypatch.setattr(ee, "Initialize", fake)
        return fake

    yield install
    for fake in fakes:
        fake.release.set()


def _write_ee_credentials(home: Path) -> Path:
    path = Path(ee.oauth.get_credentials_path())
    assert path.is_relative_to(home)
    path.parent.mkdir(parents=True)
    path.write_text('{"refresh_token": "not-a-real-token"}')
    return path


def test_initialize_without_credentials_fails_at_once(empty_home: Path, fake_initialize) -> None:
    fake = fake_initialize(block=True)
    t0 = time.monotonic()
    with pytest.raises(EarthEngineUnavailable) as info:
        eesrc.initialize("some-project", timeout_s=30.0)
    elapsed = time.monotonic() - t0
    message = str(info.value)
    assert "earthengine authenticate" in message
    assert "fixtures" in message
    assert "geoai-ref fixtures --out fixtures" in message
    assert fake.calls == [], "ee.Initialize must not be tried without credentials"
    assert elapsed < 10.0, f"waited {elapsed:.1f} s with no credentials"


def test_find_credentials_sees_each_source(empty_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert eesrc.find_credentials() is None

    key = empty_home / "service-account.json"
    key.write_text("{}")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    assert eesrc.find_credentials() == key

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(empty_home / "missing.json"))
    with pytest.raises(EarthEngineUnavailable, match="missing.json"):
        eesrc.find_credentials()
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")

    gcloud = empty_home / ".config" / "gcloud" / "application_default_credentials.json"
    gcloud.parent.mkdir(parents=True)
    gcloud.write_text("{}")
    assert eesrc.find_credentials() == gcloud

    ee_file = _write_ee_credentials(empty_home)
    assert eesrc.find_credentials() == ee_file


def test_initialize_with_credentials_calls_ee_initialize(empty_home: Path, fake_initialize) -> None:
    _write_ee_credentials(empty_home)
    fake = fake_initialize()
    eesrc.initialize("my-project", timeout_s=10.0)
    assert len(fake.calls) == 1
    assert fake.calls[0]["kwargs"].get("project") == "my-project"


def test_initialize_times_out_instead_of_hanging(empty_home: Path, fake_initialize) -> None:
    _write_ee_credentials(empty_home)
    fake = fake_initialize(block=True)
    t0 = time.monotonic()
    with pytest.raises(EarthEngineUnavailable) as info:
        eesrc.initialize("my-project", timeout_s=0.2)
    assert time.monotonic() - t0 < 20.0
    assert len(fake.calls) == 1
    message = str(info.value)
    assert "timed out" in message
    assert "earthengine authenticate" in message and "fixtures" in message


def test_initialize_wraps_earth_engine_errors(empty_home: Path, fake_initialize) -> None:
    _write_ee_credentials(empty_home)
    error = ee.EEException("invalid_grant: token has been expired or revoked")
    fake_initialize(error=error)
    with pytest.raises(EarthEngineUnavailable) as info:
        eesrc.initialize("my-project", timeout_s=10.0)
    assert info.value.__cause__ is error
    assert "invalid_grant" in str(info.value)
    assert "earthengine authenticate" in str(info.value)


def test_call_with_timeout_gives_up_on_a_slow_function() -> None:
    release = threading.Event()
    t0 = time.monotonic()
    try:
        with pytest.raises(EarthEngineUnavailable) as info:
            call_with_timeout(lambda: release.wait(30), 0.1, "slow thing")
    finally:
        release.set()
    assert time.monotonic() - t0 < 20.0
    assert "slow thing" in str(info.value)
    assert "timed out" in str(info.value)


def test_call_with_timeout_returns_the_value() -> None:
    assert call_with_timeout(lambda: 42, 10.0, "fast thing") == 42
    assert call_with_timeout(lambda: None, 10.0, "fast thing") is None


def test_call_with_timeout_wraps_errors() -> None:
    def broken() -> None:
        raise ValueError("bad value")

    with pytest.raises(EarthEngineUnavailable) as info:
        call_with_timeout(broken, 10.0, "broken thing")
    assert isinstance(info.value.__cause__, ValueError)
    assert "bad value" in str(info.value)
    assert "broken thing" in str(info.value)


# --------------------------------------------------------------------------- expression graphs


@pytest.fixture
def offline_ee(monkeypatch: pytest.MonkeyPatch):
    """Earth Engine initialised offline, as ee.apitestcase.ApiTestCase.InitializeApi does."""
    ee.Reset()
    monkeypatch.setattr(ee.data, "_install_cloud_api_resource", lambda: None)
    monkeypatch.setattr(ee.data, "getAlgorithms", ee.apitestcase.GetAlgorithms)
    # ee.Initialize fetches the data catalogue's deprecation list over the network otherwise.
    monkeypatch.setattr(ee.deprecation, "_FetchDataCatalogStac", dict)
    ee.Initialize(None, "", project="test-project")
    yield
    ee.Reset()


def _resolve(node: Any, values: dict[str, Any]) -> Any:
    """Inline the value references of a serialized graph into one nested tree."""
    if isinstance(node, dict):
        if set(node) == {"valueReference"}:
            return _resolve(values[node["valueReference"]], values)
        if "functionDefinitionValue" in node:
            fn = node["functionDefinitionValue"]
            return {"functionDefinitionValue": {"argumentNames": fn["argumentNames"],
                                                "body": _resolve(values[fn["body"]], values)}}
        return {k: _resolve(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, values) for v in node]
    return node


def graph(obj: ee.ComputedObject) -> dict[str, Any]:
    """The expression tree of ``obj`` as Earth Engine's serializer writes it."""
    encoded = json.loads(obj.serialize())
    return _resolve(encoded["values"][encoded["result"]], encoded["values"])


def calls(tree: Any, name: str) -> list[dict[str, Any]]:
    """Arguments of every invocation of function ``name`` in ``tree``."""
    found: list[dict[str, Any]] = []
    if isinstance(tree, dict):
        inv = tree.get("functionInvocationValue")
        if inv is not None and inv["functionName"] == name:
            found.append(inv["arguments"])
        for value in tree.values():
            found.extend(calls(value, name))
    elif isinstance(tree, list):
        for value in tree:
            found.extend(calls(value, name))
    return found


def const(arg: dict[str, Any]) -> Any:
    """The constant of an argument, looking through Image.constant(...)."""
    if "constantValue" in arg:
        return arg["constantValue"]
    inv = arg["functionInvocationValue"]
    assert inv["functionName"] == "Image.constant", inv["functionName"]
    return inv["arguments"]["value"]["constantValue"]


def outer(tree: dict[str, Any]) -> str:
    return tree["functionInvocationValue"]["functionName"]


@pytest.fixture
def aoi(offline_ee) -> ee.Geometry:
    return ee.Geometry.Rectangle([-73.0, -41.5, -72.9, -41.4])


def test_s2_composite_graph(aoi: ee.Geometry) -> None:
    tree = graph(eesrc.s2_composite(aoi))
    # Output: uint16 with masked pixels set to nodata 0.
    assert outer(tree) == "Image.toUint16"
    assert [const(a["value"]) for a in calls(tree, "Image.unmask")] == [0]
    assert [a["id"]["constantValue"] for a in calls(tree, "ImageCollection.load")] == ["COPERNICUS/S2_SR_HARMONIZED"]
    # Default dates: December 2018 to February 2019, end exclusive.
    [dates] = calls(tree, "DateRange")
    assert (dates["start"]["constantValue"], dates["end"]["constantValue"]) == ("2018-12-01", "2019-03-01")
    [cloudy] = calls(tree, "Filter.lessThan")
    assert cloudy["leftField"]["constantValue"] == "CLOUDY_PIXEL_PERCENTAGE"
    assert cloudy["rightValue"]["constantValue"] == 60
    assert len(calls(tree, "Filter.intersects")) == 1
    # The six bands, in order, then the median composite.
    selections = [a["bandSelectors"]["constantValue"] for a in calls(tree, "Image.select")]
    assert ["B2", "B3", "B4", "B8", "B11", "B12"] in selections
    assert len(calls(tree, "reduce.median")) == 1
    assert [a["mode"]["constantValue"] for a in calls(tree, "Image.resample")] == ["bilinear"]
    # Cloud mask: SCL classes 3, 8, 9, 10 and QA60 bits 10 (1024) and 11 (2048).
    assert ["SCL"] in selections and ["QA60"] in selections
    assert sorted(const(a["image2"]) for a in calls(tree, "Image.neq")) == [3, 8, 9, 10]
    assert sorted(const(a["image2"]) for a in calls(tree, "Image.bitwiseAnd")) == [1024, 2048]
    assert len(calls(tree, "Image.updateMask")) == 1


def test_s2_composite_mask_is_applied_per_scene_before_the_median(aoi: ee.Geometry) -> None:
    tree = graph(eesrc.s2_composite(aoi))
    [median] = calls(tree, "reduce.median")
    [mapped] = calls(median, "Collection.map")
    body = mapped["baseAlgorithm"]["functionDefinitionValue"]["body"]
    assert calls(body, "Image.updateMask") and calls(body, "Image.resample")
    # Nothing is masked or resampled after compositing.
    assert len(calls(tree, "Image.updateMask")) == len(calls(body, "Image.updateMask"))


def test_s2_composite_passes_dates_and_cloud_limit(aoi: ee.Geometry) -> None:
    tree = graph(eesrc.s2_composite(aoi, "2019-12-01", "2020-03-01", max_cloud_pct=20))
    [dates] = calls(tree, "DateRange")
    assert (dates["start"]["constantValue"], dates["end"]["constantValue"]) == ("2019-12-01", "2020-03-01")
    [cloudy] = calls(tree, "Filter.lessThan")
    assert cloudy["rightValue"]["constantValue"] == 20


def test_modis_ndvi_graph(aoi: ee.Geometry) -> None:
    tree = graph(eesrc.modis_ndvi_composite(aoi))
    assert outer(tree) == "Image.toInt16"
    assert [a["id"]["constantValue"] for a in calls(tree, "ImageCollection.load")] == ["MODIS/061/MOD13Q1"]
    [dates] = calls(tree, "DateRange")
    assert (dates["start"]["constantValue"], dates["end"]["constantValue"]) == ("2018-12-01", "2019-03-01")
    selections = [a["bandSelectors"]["constantValue"] for a in calls(tree, "Image.select")]
    assert ["NDVI"] in selections and ["SummaryQA"] in selections
    [qa] = calls(tree, "Image.lte")
    assert const(qa["image2"]) == 1
    assert len(calls(tree, "reduce.median")) == 1
    assert len(calls(tree, "Image.round")) == 1
    assert [const(a["value"]) for a in calls(tree, "Image.unmask")] == [-3000]


def test_srtm_graph(offline_ee) -> None:
    tree = graph(eesrc.srtm_elevation())
    assert outer(tree) == "Image.toInt16"
    assert [a["id"]["constantValue"] for a in calls(tree, "Image.load")] == ["USGS/SRTMGL1_003"]
    assert [a["bandSelectors"]["constantValue"] for a in calls(tree, "Image.select")] == [["elevation"]]
    assert not calls(tree, "ImageCollection.load")


# --------------------------------------------------------------------------- pixel requests


def test_pixel_request_s2_grid(offline_ee) -> None:
    image = eesrc.srtm_elevation()
    req = eesrc.pixel_request(image, S2_GRID)
    assert req["expression"] is image
    assert req["fileFormat"] == "GEO_TIFF"
    grid = req["grid"]
    assert grid["crsCode"] == "EPSG:32718"
    assert "crsWkt" not in grid
    assert grid["dimensions"] == {"width": 64, "height": 64}
    t = S2_GRID.transform
    assert grid["affineTransform"] == {
        "scaleX": 10.0, "shearX": 0.0, "translateX": t.c, "shearY": 0.0, "scaleY": -10.0, "translateY": t.f,
    }
    assert t.c % 10 == 0 and t.f % 10 == 0
    json.dumps(grid)  # plain JSON types only


def test_pixel_request_modis_grid_uses_wkt(offline_ee) -> None:
    modis = grids.modis_grid_covering(S2_GRID)
    grid = eesrc.pixel_request(eesrc.srtm_elevation(), modis, file_format="NPY")["grid"]
    assert "crsCode" not in grid
    assert "Sinusoidal" in grid["crsWkt"]
    assert CRS.from_wkt(grid["crsWkt"]) == grids.MODIS_SINUSOIDAL
    at = grid["affineTransform"]
    assert at["scaleX"] == pytest.approx(231.656358, abs=1e-6)
    assert at["scaleY"] == pytest.approx(-231.656358, abs=1e-6)
    assert at["scaleX"] == MODIS_PIXEL_SIZE_M
    # On the global MODIS lattice.
    cols = (at["translateX"] - grids.MODIS_ORIGIN[0]) / MODIS_PIXEL_SIZE_M
    rows = (grids.MODIS_ORIGIN[1] - at["translateY"]) / MODIS_PIXEL_SIZE_M
    assert cols == pytest.approx(round(cols), abs=1e-6) and rows == pytest.approx(round(rows), abs=1e-6)
    assert grid["dimensions"] == {"width": modis.width, "height": modis.height}


def test_pixel_request_srtm_grid(offline_ee) -> None:
    srtm = grids.srtm_grid_covering(S2_GRID)
    grid = eesrc.pixel_request(eesrc.srtm_elevation(), srtm)["grid"]
    assert grid["crsCode"] == "EPSG:4326"
    assert grid["affineTransform"]["scaleX"] == pytest.approx(1 / 3600)
    assert grid["affineTransform"]["translateX"] == srtm.transform.c


class FakeCloudApi:
    """Stands in for the Cloud API resource: ``projects().image().computePixels(...).execute()``.

    Answers each request with a GeoTIFF on the requested grid, whose dtype and band count
    follow the expression's final cast, and keeps the request bodies.
    """

    def __init__(self, wrong_shape: bool = False):
        self.bodies: list[dict[str, Any]] = []
        self.answers: list[np.ndarray] = []
        self.wrong_shape = wrong_shape

    def projects(self) -> FakeCloudApi:
        return self

    def image(self) -> FakeCloudApi:
        return self

    def computePixels(self, project: str, body: dict[str, Any]) -> Any:  # the Cloud API's method name
        self.bodies.append(body)
        api = self

        class Call:
            def execute(self, num_retries: int = 0) -> bytes:
                return api.answer(body)

        return Call()

    def answer(self, body: dict[str, Any]) -> bytes:
        grid = body["grid"]
        crs = CRS.from_string(grid["crsCode"]) if "crsCode" in grid else CRS.from_wkt(grid["crsWkt"])
        a = grid["affineTransform"]
        transform = Affine(a["scaleX"], a["shearX"], a["translateX"], a["shearY"], a["scaleY"], a["translateY"])
        width, height = grid["dimensions"]["width"], grid["dimensions"]["height"]
        if self.wrong_shape:
            width -= 1
        encoded = json.dumps(body["expression"])
        final_cast = body["expression"]["values"][body["expression"]["result"]]["functionInvocationValue"]
        dtype = {"Image.toUint16": "uint16", "Image.toInt16": "int16"}[final_cast["functionName"]]
        count = 6 if "COPERNICUS/S2_SR_HARMONIZED" in encoded else 1
        data = (np.arange(count * height * width) % 5000 + len(self.answers)).astype(dtype)
        data = data.reshape(count, height, width)
        self.answers.append(data)
        with MemoryFile() as mem:
            with mem.open(driver="GTiff", height=height, width=width, count=count, dtype=dtype, crs=crs,
                          transform=transform) as dst:
                dst.write(data)
            return mem.read()


@pytest.fixture
def fake_cloud(offline_ee, monkeypatch: pytest.MonkeyPatch):
    def install(**kwargs: Any) -> FakeCloudApi:
        fake = FakeCloudApi(**kwargs)
        monkeypatch.setattr(ee._state.get_state(), "cloud_api_resource_raw", fake)
        monkeypatch.setattr(eesrc, "initialize", lambda project, timeout_s=20.0: inits.append((project, timeout_s)))
        return fake

    inits: list[tuple[str | None, float]] = []
    install.inits = inits  # type: ignore[attr-defined]
    return install


def test_pixel_request_goes_through_compute_pixels(fake_cloud) -> None:
    fake = fake_cloud()
    tif = ee.data.computePixels(eesrc.pixel_request(eesrc.srtm_elevation(), S2_GRID))
    [body] = fake.bodies
    assert body["fileFormat"] == "GEO_TIFF"
    assert body["grid"]["crsCode"] == "EPSG:32718"
    assert "USGS/SRTMGL1_003" in json.dumps(body["expression"])
    with MemoryFile(tif) as mem, mem.open() as src:
        assert (src.height, src.width) == S2_GRID.shape


def test_download_sources_writes_the_fixture_layout(fake_cloud, tmp_path: Path) -> None:
    fake = fake_cloud()
    out = tmp_path / "data"
    paths = eesrc.download_sources(out, AOI_GEOJSON, S2_GRID, project="my-project", timeout_s=5.0)
    assert paths == [out / layout.S2_COMPOSITE, out / layout.MODIS_NDVI, out / layout.SRTM_DEM, out / layout.AOI]
    assert fake_cloud.inits == [("my-project", 5.0)]
    assert len(fake.bodies) == 3

    expected = [
        (S2_GRID, S2_BANDS, "uint16", 0, 1e-4),
        (grids.modis_grid_covering(S2_GRID), ("MODIS_NDVI",), "int16", -3000, 1e-4),
        (grids.srtm_grid_covering(S2_GRID), ("DEM",), "int16", -32768, 1.0),
    ]
    for path, answer, (grid, names, dtype, nodata, scale) in zip(paths[:3], fake.answers, expected, strict=True):
        raster = read_raster(path)
        assert raster.grid.same_as(grid), path
        assert raster.band_names == tuple(names)
        assert raster.data.dtype == np.dtype(dtype)
        assert raster.nodata == nodata
        assert math.isclose(raster.scale, scale)
        np.testing.assert_array_equal(raster.data, answer)
    with rasterio.open(paths[1]) as src:
        assert src.crs == grids.MODIS_SINUSOIDAL
    assert json.loads((out / layout.AOI).read_text()) == AOI_GEOJSON
    # The S2 request composites the default summer over the AOI's polygon.
    s2_expr = json.dumps(fake.bodies[0]["expression"])
    assert "2018-12-01" in s2_expr and "2019-03-01" in s2_expr and "-72.9" in s2_expr


def test_download_sources_rejects_a_raster_of_another_shape(fake_cloud, tmp_path: Path) -> None:
    fake_cloud(wrong_shape=True)
    with pytest.raises(RuntimeError, match="shape"):
        eesrc.download_sources(tmp_path, AOI_GEOJSON, S2_GRID, project="my-project")
