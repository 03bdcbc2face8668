"""Write a course-shaped data set: the synthetic scene under a course's polygons, its Week 3 folder and model.

``build_course_data(root, polygons_path)`` renders :func:`geoai_ref.synth.course_scene.build_course_scene`
over the course's whole AOI as each sensor delivers it, copies the polygon file unchanged, cuts the Week 3
patches as the course did (:mod:`geoai_ref.week3_dataset`: digital numbers, 300 / 75 at the patch level),
trains the course's Week 3 SimpleCNN on them (:mod:`geoai_ref.models.week3_cnn`) and writes a
``manifest.json`` (content hash of every file, as :mod:`geoai_ref.synth.build` does) and ``DATA_NOTES.md``
(what is real, what is synthetic, and the course's attribution).

The same polygons, course and seed give the same files (the trained model within the tolerance of
:mod:`geoai_ref.synth.verify`).
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from geoai_ref import layout
from geoai_ref.course import COURSE, CourseConfig
from geoai_ref.polygons import PolygonSet, load_polygons
from geoai_ref.qc import check_bands
from geoai_ref.rasterio_io import Raster
from geoai_ref.synth.build import render, write_aoi, write_manifest, write_rasters
from geoai_ref.synth.course_scene import DEFAULT_SEED, aoi_s2_grid, build_course_scene
from geoai_ref.week3_dataset import Week3Dataset, build_week3_dataset, write_week3_dataset

DATA_NOTES = "DATA_NOTES.md"
SCENE_NAME = "los_lagos_frutillar"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def stored_composite(s2: Raster, course: CourseConfig = COURSE) -> np.ndarray:
    """The Sentinel-2 raster as (height, width, course bands) float32 in the course's stored units.

    Raises:
        KeyError: if the raster lacks one of the course's bands.
    """
    factor = np.float32(s2.scale * course.s2_scale)  # 1e-4 x 1e4: digital numbers stay as they are stored
    bands = [s2.band(name).astype(np.float32) for name in course.s2_bands]
    return np.stack(bands, axis=-1) * factor if factor != 1 else np.stack(bands, axis=-1)


def train_and_save_week3_model(root: Path, dataset: Week3Dataset, course: CourseConfig, seed: int) -> list[Path]:
    """Train the course's Week 3 SimpleCNN on ``dataset`` and save it with its training record."""
    from geoai_ref.models import keras, tf
    from geoai_ref.models.week3_cnn import train_week3_cnn

    result = train_week3_cnn(dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val, seed=seed,
                             course=course)
    model_path = root / layout.WEEK3_MODEL
    model_path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result.model.save(model_path)
    record = {
        "model": "the course's Week 3 SimpleCNN (geoai_ref.models.week3_cnn.build_week3_cnn)",
        "input": f"{course.patch_size}x{course.patch_size} patches of {', '.join(course.s2_bands)}, divided by "
                 f"{course.s2_scale:g} outside the model (reflectance 0-1)",
        "val_accuracy": round(result.val_accuracy, 4),
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history["loss"]),
        "seed": seed,
        "recipe": "the course's: Adam lr 1e-3, batch 32, up to 50 epochs, EarlyStopping(val_loss, patience 10), "
                  "ReduceLROnPlateau(val_loss, x0.5, patience 5), the epoch of best val_accuracy kept",
        "history": {k: [round(v, 4) for v in vals] for k, vals in result.history.items()},
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }
    info = root / layout.WEEK3_MODEL_INFO
    info.write_text(json.dumps(record, indent=1) + "\n")
    return [model_path, info]


def write_data_notes(root: Path, course: CourseConfig, polygons: PolygonSet, dataset: Week3Dataset) -> Path:
    """``DATA_NOTES.md``: where each file comes from, the skipped polygons, the split's leak, the attribution."""
    leaked = len(dataset.leaked_polygons())
    lines = [
        f"# Data notes: {course.name}",
        "",
        "- **Real (from the course):** the training polygons (`data/labels/larger_polygons.geojson`, unchanged) "
        "and the area of interest.",
        "- **Synthetic:** the Sentinel-2, MODIS NDVI and SRTM rasters and the land-cover truth, generated under "
        "the polygons by the kit (`geoai-ref course-data`); the Week 3 patches cut from that Sentinel-2 "
        "composite as the course cut them, and the Week 3 SimpleCNN trained on them.",
        f"- **Week 3 patches:** {course.patches_per_polygon} per polygon ({course.patch_size} x "
        f"{course.patch_size} px), stored as float32 Sentinel-2 values x {course.s2_scale:g}; "
        f"{dataset.y_train.size} for training and {dataset.y_val.size} for validation, split at the patch level "
        f"(stratified by class): {leaked} polygons have patches on both sides.",
        "",
        "Polygons: " + polygons.summary(course).replace("\n", "\n\n"),
        "",
        course.attribution,
        "",
    ]
    path = root / DATA_NOTES
    path.write_text("\n".join(lines))
    return path


def build_course_data(root: Path, polygons_path: Path, course: CourseConfig = COURSE, seed: int = DEFAULT_SEED,
                      train_model: bool = True, progress: Progress = _quiet) -> list[Path]:
    """Generate the course-shaped data set into ``root``; return the paths written.

    Raises:
        geoai_ref.polygons.PolygonFileError: if the polygon file cannot be used.
        geoai_ref.qc.QualityError: if a Week 3 patch fails quality control.
        geoai_ref.patches.PatchOutOfBounds: if a polygon lies too close to the edge of the course's AOI.
    """
    root = Path(root)
    polygons = load_polygons(polygons_path, course)
    progress(polygons.summary(course))
    progress("generating the scene under the polygons, over the course's AOI")
    scene = build_course_scene(polygons, course, seed, grid=aoi_s2_grid(course), name=SCENE_NAME)
    progress("rendering Sentinel-2, MODIS and SRTM on their native grids")
    rasters = render(scene)
    paths = write_rasters(root, rasters)
    (root / layout.POLYGONS).parent.mkdir(parents=True, exist_ok=True)
    paths.append(Path(shutil.copyfile(polygons_path, root / layout.POLYGONS)))
    paths.append(write_aoi(root / layout.AOI, scene))
    progress(f"cutting the Week 3 patches ({course.patches_per_polygon} per polygon, split as the course did)")
    dataset = build_week3_dataset(stored_composite(rasters.s2, course), rasters.s2.grid, polygons, course)
    for x in (dataset.x_train, dataset.x_val):
        check_bands(x / np.float32(course.s2_scale), course.s2_bands).raise_if_failed()
    paths += write_week3_dataset(root, dataset)
    if train_model:
        progress("training the course's Week 3 SimpleCNN")
        paths += train_and_save_week3_model(root, dataset, course, seed % 2**31)
    paths.append(write_data_notes(root, course, polygons, dataset))
    paths.append(write_manifest(root, scene, paths))
    return paths
