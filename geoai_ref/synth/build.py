"""Writing a generated data set: its rasters, AOI, Week 3 model and manifest.

Shared by the generators of :mod:`geoai_ref.synth.course_build` (the kit's fixtures, the hidden region, the
tiny unit-test scene). Each folder gets a ``manifest.json`` with a content hash of every file, so a
regeneration can be compared with what is committed (:mod:`geoai_ref.synth.verify`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import rasterio
from rasterio.warp import transform_geom

from geoai_ref import layout
from geoai_ref.course import CourseConfig
from geoai_ref.grids import Grid
from geoai_ref.rasterio_io import Raster, write_raster
from geoai_ref.synth import sensors
from geoai_ref.synth.scene import Scene

if TYPE_CHECKING:  # TensorFlow is imported only when a model is trained
    from geoai_ref.models.simple_cnn import TrainingResult

#: Files that training makes: compared with a tolerance, not bit for bit.
TOLERANCE_FILES = (layout.WEEK3_MODEL, layout.WEEK3_MODEL_INFO)


def content_hash(path: Path) -> str:
    """SHA-256 of a file's *content*: pixels and georeferencing for GeoTIFFs, bytes otherwise.

    Hashing pixels rather than bytes keeps the comparison independent of the zlib build
    that compressed the file.
    """
    digest = hashlib.sha256()
    if path.suffix == ".tif":
        with rasterio.open(path) as src:
            digest.update(src.read().tobytes())
            digest.update(json.dumps([src.crs.to_wkt(), list(src.transform), src.nodata, src.dtypes,
                                      src.descriptions]).encode())
    else:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _write_json(path: Path, obj: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1) + "\n")
    return path


def _ring_to_wgs84(ring: list[tuple[float, float]], grid: Grid) -> list[list[float]]:
    geom = transform_geom(grid.crs, "EPSG:4326", {"type": "Polygon", "coordinates": [ring]})
    return [[round(x, 7), round(y, 7)] for x, y in geom["coordinates"][0]]


def write_aoi(path: Path, scene: Scene) -> Path:
    """The AOI (the Sentinel-2 grid's footprint) as GeoJSON, with the grid it must be exported on."""
    w, s, e, n = scene.s2.bounds
    ring = [(w, n), (e, n), (e, s), (w, s), (w, n)]
    feature = {
        "type": "Feature",
        "properties": {
            "name": scene.spec.name,
            "description": scene.spec.description,
            "s2_grid": {"crs": scene.s2.crs.to_string(), "transform": list(scene.s2.transform)[:6],
                        "width": scene.s2.width, "height": scene.s2.height},
        },
        "geometry": {"type": "Polygon", "coordinates": [_ring_to_wgs84(ring, scene.s2)]},
    }
    return _write_json(path, {"type": "FeatureCollection", "features": [feature]})


@dataclass(frozen=True, eq=False)
class SceneRasters:
    """A scene rendered once as each sensor delivers it (see :mod:`geoai_ref.synth.sensors`)."""

    s2: Raster
    modis: Raster
    dem: Raster
    truth: Raster


#: Each raster of a scene (its path in a data set) and the sensor that renders it.
RENDERERS = {layout.S2_COMPOSITE: sensors.sentinel2, layout.MODIS_NDVI: sensors.modis_ndvi,
             layout.SRTM_DEM: sensors.srtm, layout.LANDCOVER_TRUTH: sensors.truth}


def render(scene: Scene) -> SceneRasters:
    return SceneRasters(*(RENDERERS[rel](scene) for rel in (layout.S2_COMPOSITE, layout.MODIS_NDVI, layout.SRTM_DEM,
                                                            layout.LANDCOVER_TRUTH)))


def write_rasters(root: Path, rasters: SceneRasters) -> list[Path]:
    """The four rasters of a scene on their native grids."""
    return [
        write_raster(root / layout.S2_COMPOSITE, rasters.s2),
        write_raster(root / layout.MODIS_NDVI, rasters.modis),
        write_raster(root / layout.SRTM_DEM, rasters.dem),
        write_raster(root / layout.LANDCOVER_TRUTH, rasters.truth),
    ]


def save_week3_model(root: Path, result: TrainingResult, seed: int, model: str, input_: str,
                     recipe: str) -> list[Path]:
    """Save a trained Week 3 model at ``layout.WEEK3_MODEL`` with its training record (what it is, its input,
    its recipe, its validation accuracy and history, the library versions)."""
    import warnings

    from geoai_ref.models import keras, tf

    model_path = root / layout.WEEK3_MODEL
    model_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result.model.save(model_path)
    record = {
        "model": model,
        "input": input_,
        "val_accuracy": round(result.val_accuracy, 4),
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history["loss"]),
        "seed": seed,
        "recipe": recipe,
        "history": {k: [round(v, 4) for v in vals] for k, vals in result.history.items()},
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    return [model_path, _write_json(root / layout.WEEK3_MODEL_INFO, record)]


def write_manifest(root: Path, scene: Scene, paths: list[Path], course: CourseConfig | None = None) -> Path:
    """``manifest.json``: the scene spec, the course (if given) and a content hash of every generated file."""
    files = {p.relative_to(root).as_posix(): content_hash(p) for p in sorted(paths)}
    manifest = {
        "generator": "geoai_ref.synth.course_build (geoai-ref fixtures / course-data, geoai-grade hidden-data)",
        "scene": asdict(scene.spec),
        **({"course": course.to_dict()} if course is not None else {}),
        "s2_grid": scene.s2.describe(),
        "files": {k: v for k, v in files.items() if Path(k) not in TOLERANCE_FILES},
        "compared_with_tolerance": sorted(k for k in files if Path(k) in TOLERANCE_FILES),
    }
    return _write_json(root / layout.MANIFEST, manifest)
