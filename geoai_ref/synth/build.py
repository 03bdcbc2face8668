"""Write a whole fixture folder: rasters, polygons, AOI, the Week 3 dataset and model.

``build_fixtures(root)`` makes the offline Los Lagos data set (committed under
``fixtures/``), ``build_hidden(root)`` the hidden evaluation scene (committed under
``autograder/hidden_data/``, never released) and ``build_tiny(root)`` the tiny
unit-test scene. Each folder gets a ``manifest.json`` with a content hash of every file,
so a regeneration can be compared with what is committed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
from rasterio.warp import transform_geom

from geoai_ref import layout
from geoai_ref.bands import S2_BANDS
from geoai_ref.classes import CLASS_NAMES
from geoai_ref.grids import Grid
from geoai_ref.patches import extract_patches
from geoai_ref.qc import check_bands
from geoai_ref.rasterio_io import Raster, write_raster
from geoai_ref.synth import sensors
from geoai_ref.synth.samples import WEEK3_DESIGN, Design, Sample, TrainingPolygon, place_polygons, week3_split
from geoai_ref.synth.scene import Scene, SceneSpec, build_scene

if TYPE_CHECKING:  # TensorFlow is imported only when a model is trained
    from geoai_ref.models.simple_cnn import TrainingResult

PUBLIC_SCENE = SceneSpec(
    name="los_lagos_ensenada",
    seed=20190101,
    centre_lon=-72.54,
    centre_lat=-41.21,
    size_px=400,
    description="Lago Llanquihue shore below the Calbuco / Osorno volcanoes near Ensenada, "
    "about 40 km north-east of Puerto Montt (synthetic)",
)
HIDDEN_SCENE = SceneSpec(
    name="los_lagos_hidden",
    seed=20190315,
    centre_lon=-72.60,
    centre_lat=-41.40,
    size_px=320,
    description="hidden evaluation scene for the autograder, another seed and AOI (synthetic)",
)
TINY_SCENE = SceneSpec(name="tiny", seed=7, centre_lon=-72.55, centre_lat=-41.30, size_px=40,
                       description="tiny unit-test scene (synthetic)")
HIDDEN_DESIGN = Design(polygons=(10, 14, 10, 12, 14), samples=(30, 40, 30, 30, 40))

#: Files that training makes: compared with a tolerance, not bit for bit.
TOLERANCE_FILES = (layout.WEEK3_MODEL, layout.WEEK3_MODEL_INFO)


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


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


def write_polygons(path: Path, polygons: list[TrainingPolygon], grid: Grid) -> Path:
    """Training polygons as GeoJSON (RFC 7946: WGS84 lon/lat) with polygon_id, class_id, class_name."""
    features = [{
        "type": "Feature",
        "properties": {"polygon_id": p.polygon_id, "class_id": p.class_id, "class_name": CLASS_NAMES[p.class_id]},
        "geometry": {"type": "Polygon", "coordinates": [_ring_to_wgs84(p.ring, grid)]},
    } for p in polygons]
    return _write_json(path, {"type": "FeatureCollection", "features": features})


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


SAMPLE_INDEX_COLUMNS = ("sample_id", "polygon_id", "class_id", "class_name", "row", "col", "x", "y", "split",
                        "array_index")


def write_sample_index(path: Path, samples: list[Sample], grid: Grid) -> Path:
    """One row per sample: ids, class, location (patch centre: S2 row/col and map x/y), split, array position."""
    position: dict[str, int] = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SAMPLE_INDEX_COLUMNS)
    for s in samples:
        x, y = grid.transform @ (s.col, s.row)
        writer.writerow([s.sample_id, s.polygon_id, s.class_id, CLASS_NAMES[s.class_id], s.row, s.col,
                         f"{x:.1f}", f"{y:.1f}", s.split, position.get(s.split, 0)])
        position[s.split] = position.get(s.split, 0) + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue())
    return path


@dataclass(frozen=True, eq=False)
class SceneRasters:
    """A scene rendered once as each sensor delivers it (see :mod:`geoai_ref.synth.sensors`)."""

    s2: Raster
    modis: Raster
    dem: Raster
    truth: Raster


def render(scene: Scene) -> SceneRasters:
    return SceneRasters(sensors.sentinel2(scene), sensors.modis_ndvi(scene), sensors.srtm(scene),
                        sensors.truth(scene))


def write_rasters(root: Path, rasters: SceneRasters) -> list[Path]:
    """The four rasters of a scene on their native grids."""
    return [
        write_raster(root / layout.S2_COMPOSITE, rasters.s2),
        write_raster(root / layout.MODIS_NDVI, rasters.modis),
        write_raster(root / layout.SRTM_DEM, rasters.dem),
        write_raster(root / layout.LANDCOVER_TRUTH, rasters.truth),
    ]


def _save_arrays(root: Path, arrays: dict[Path, np.ndarray]) -> list[Path]:
    for rel, arr in arrays.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        np.save(root / rel, arr)
    return [root / rel for rel in arrays]


def _locations(samples: list[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([s.row for s in samples]), np.array([s.col for s in samples]),
            np.array([s.sample_id for s in samples]))


def write_week3_dataset(root: Path, s2: Raster, samples: list[Sample]) -> list[Path]:
    """X_train / y_train / X_val / y_val (class-sorted, reflectance 0-1, float32) and the sample index.

    Raises:
        QualityError: if a patch holds nodata or out-of-range values.
    """
    stack = np.stack([s2.physical(b) for b in S2_BANDS], axis=-1)
    paths = []
    for split, x_path, y_path in (("train", layout.X_TRAIN, layout.Y_TRAIN), ("val", layout.X_VAL, layout.Y_VAL)):
        chosen = [s for s in samples if s.split == split]
        rows, cols, ids = _locations(chosen)
        x = extract_patches(stack, rows, cols, sample_ids=ids).astype(np.float32)
        check_bands(x, S2_BANDS).raise_if_failed()
        y = np.array([s.class_id for s in chosen], dtype=np.int64)
        paths += _save_arrays(root, {x_path: x, y_path: y})
    paths.append(write_sample_index(root / layout.SAMPLE_INDEX, samples, s2.grid))
    return paths


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


def train_week3_model(root: Path, seed: int) -> list[Path]:
    """Train the Week 3 SimpleCNN on the written dataset and save it with its training record."""
    from geoai_ref.models.simple_cnn import train_simple_cnn

    x_train, y_train = np.load(root / layout.X_TRAIN), np.load(root / layout.Y_TRAIN)
    x_val, y_val = np.load(root / layout.X_VAL), np.load(root / layout.Y_VAL)
    result = train_simple_cnn(x_train, y_train, x_val, y_val, seed=seed)
    return save_week3_model(
        root, result, seed, model="SimpleCNN (geoai_ref.models.simple_cnn.build_simple_cnn)",
        input_="8x8x6 patches, Sentinel-2 B2 B3 B4 B8 B11 B12 reflectance 0-1; per-band normalisation inside the model",
        recipe="Adam lr 1e-3, batch 32, up to 50 epochs, EarlyStopping(val_accuracy, patience 10, best weights)")


def write_manifest(root: Path, scene: Scene, paths: list[Path]) -> Path:
    """``manifest.json``: the scene spec and a content hash of every generated file."""
    files = {p.relative_to(root).as_posix(): content_hash(p) for p in sorted(paths)}
    manifest = {
        "generator": "geoai-ref fixtures (geoai_ref.synth.build)",
        "scene": asdict(scene.spec),
        "s2_grid": scene.s2.describe(),
        "files": {k: v for k, v in files.items() if Path(k) not in TOLERANCE_FILES},
        "compared_with_tolerance": sorted(k for k in files if Path(k) in TOLERANCE_FILES),
    }
    return _write_json(root / layout.MANIFEST, manifest)


def build_fixtures(root: Path, seed: int = PUBLIC_SCENE.seed, train_model: bool = True,
                   progress: Progress = _quiet) -> list[Path]:
    """Generate the offline Los Lagos data set into ``root``; return the paths written."""
    root = Path(root)
    spec = SceneSpec(**{**asdict(PUBLIC_SCENE), "seed": seed})
    progress("generating the scene")
    scene = build_scene(spec)
    progress("rendering Sentinel-2, MODIS and SRTM on their native grids")
    rasters = render(scene)
    paths = write_rasters(root, rasters)
    progress("placing 126 training polygons and 375 samples")
    polygons, samples = place_polygons(rasters.truth.data[0], ~scene.cloud, scene.s2, WEEK3_DESIGN,
                                       scene.rng("polygons"))
    samples = week3_split(samples, WEEK3_DESIGN.val_fraction, scene.rng("split"))
    paths += [write_polygons(root / layout.POLYGONS, polygons, scene.s2), write_aoi(root / layout.AOI, scene)]
    progress("extracting the Week 3 dataset")
    paths += write_week3_dataset(root, rasters.s2, samples)
    if train_model:
        progress("training the Week 3 SimpleCNN")
        paths += train_week3_model(root, seed=spec.seed % 2**31)
    paths.append(write_manifest(root, scene, paths))
    return paths


def build_hidden(root: Path, progress: Progress = _quiet) -> list[Path]:
    """Generate the hidden evaluation scene: rasters, polygons and 8-band labelled patches.

    The patches are cut from the reference alignment of the hidden rasters, so models are
    re-evaluated on data that went through the same pipeline students implement.
    """
    from geoai_ref.align import fuse, load_sources
    from geoai_ref.bands import FUSED_BANDS

    root = Path(root)
    progress("generating the hidden scene")
    scene = build_scene(HIDDEN_SCENE)
    rasters = render(scene)
    paths = write_rasters(root, rasters)
    polygons, samples = place_polygons(rasters.truth.data[0], ~scene.cloud, scene.s2, HIDDEN_DESIGN,
                                       scene.rng("polygons"))
    samples = [Sample(s.sample_id, s.polygon_id, s.class_id, s.row, s.col, "hidden") for s in samples]
    paths += [write_polygons(root / layout.POLYGONS, polygons, scene.s2), write_aoi(root / layout.AOI, scene)]
    progress("aligning the hidden rasters and cutting 8-band patches")
    stack = fuse(load_sources(root))
    rows, cols, ids = _locations(samples)
    x = extract_patches(stack.data, rows, cols, sample_ids=ids).astype(np.float32)
    check_bands(x, FUSED_BANDS).raise_if_failed()
    labels = np.array([s.class_id for s in samples], np.int64)
    paths += _save_arrays(root, {layout.X_HIDDEN_FUSED: x, layout.Y_HIDDEN: labels})
    paths.append(write_sample_index(root / layout.SAMPLE_INDEX, samples, scene.s2))
    paths.append(write_manifest(root, scene, paths))
    return paths


def build_tiny(root: Path) -> list[Path]:
    """Generate the tiny unit-test scene (rasters only)."""
    root = Path(root)
    scene = build_scene(TINY_SCENE)
    paths = write_rasters(root, render(scene))
    paths.append(write_aoi(root / layout.AOI, scene))
    paths.append(write_manifest(root, scene, paths))
    return paths
