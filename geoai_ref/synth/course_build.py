"""Write a course-shaped data set (the kit's fixtures), the hidden evaluation region and the tiny test scene.

``build_course_data(root, polygons_path)`` renders :func:`geoai_ref.synth.course_scene.build_course_scene`
over the course's whole AOI as each sensor delivers it, copies the polygon file unchanged, cuts the Week 3
patches as the course did (:mod:`geoai_ref.week3_dataset`: digital numbers, 300 / 75 at the patch level),
trains the course's Week 3 SimpleCNN on them (:mod:`geoai_ref.models.week3_cnn`) and writes a
``manifest.json`` (the course, the scene and a content hash of every file) and ``DATA_NOTES.md`` (what is real,
what is synthetic, and the course's attribution). Under the real course's polygons it is the kit's fixtures
(``geoai-ref fixtures``); :func:`ensure_rasters` generates a raster the folder lacks (the fixtures' Sentinel-2
composite is not committed) from its manifest.

``build_course_hidden(root)`` does the same for another region of Los Lagos under generated polygons
(:mod:`geoai_ref.synth.generated_polygons`, never the released ones) and keeps the patches as the grader uses
them: 8 fused bands in physical units (the reference alignment of the hidden rasters), labelled.
``build_tiny(root)`` writes the small scene of the unit tests.

The same polygons, course and seed give the same files (the trained model within the tolerance of
:mod:`geoai_ref.synth.verify`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from geoai_ref import layout
from geoai_ref.course import COURSE, CourseConfig, to_reflectance
from geoai_ref.errors import MissingInput, ProblemsFound, UsageError
from geoai_ref.polygons import PolygonSet, load_polygons
from geoai_ref.qc import check_bands
from geoai_ref.rasterio_io import Raster, write_raster
from geoai_ref.synth.build import (
    RENDERERS,
    content_hash,
    render,
    save_week3_model,
    write_aoi,
    write_manifest,
    write_rasters,
)
from geoai_ref.synth.course_scene import DEFAULT_SEED, aoi_s2_grid, build_course_scene
from geoai_ref.synth.scene import Scene
from geoai_ref.week3_dataset import (
    Week3Dataset,
    build_week3_dataset,
    patch_sites,
    write_sample_index,
    write_week3_dataset,
)

SCENE_NAME = "los_lagos_frutillar"
#: The hidden region: around the town of Llanquihue, west shore of the lake ~17 km south of the course's AOI.
HIDDEN_SCENE_NAME = "los_lagos_llanquihue_hidden"
HIDDEN_CENTRE_LONLAT = (-73.01, -41.26)
#: Polygons per kind of land cover (the real course's classes; another course's classes take their kind's count).
HIDDEN_COUNTS = {"Agriculture": 20, "Forest": 14, "Parcels": 16, "Urban": 14, "Water": 12}
HIDDEN_EXTENT_M = 5000.0  # small enough for the committed rasters to stay small
HIDDEN_POLYGON_SEED = 20260305
HIDDEN_SCENE_SEED = 20190315

#: The rasters of a data set (:func:`ensure_rasters` generates those missing).
SCENE_RASTERS = (layout.S2_COMPOSITE, layout.MODIS_NDVI, layout.SRTM_DEM, layout.LANDCOVER_TRUTH)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def stored_composite(s2: Raster, course: CourseConfig = COURSE) -> np.ndarray:
    """The Sentinel-2 raster as (height, width, course bands) float32 in the course's stored units, NaN where the
    composite has no data.

    Raises:
        KeyError: if the raster lacks one of the course's bands.
    """
    factor = np.float32(s2.scale * course.s2_scale)  # 1e-4 x 1e4: digital numbers stay as they are stored
    stored = np.stack([s2.band(name) for name in course.s2_bands], axis=-1)
    stack = stored.astype(np.float32) if factor == 1 else stored.astype(np.float32) * factor
    if s2.nodata is not None:
        stack[(stored == s2.nodata).any(axis=-1)] = np.nan  # under the cloud: quality control refuses such patches
    return stack


def train_and_save_week3_model(root: Path, dataset: Week3Dataset, course: CourseConfig, seed: int) -> list[Path]:
    """Train the course's Week 3 SimpleCNN on ``dataset`` and save it with its training record."""
    from geoai_ref.models.week3_cnn import train_week3_cnn

    result = train_week3_cnn(dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val, seed=seed,
                             course=course)
    return save_week3_model(
        root, result, seed, model="the course's Week 3 SimpleCNN (geoai_ref.models.week3_cnn.build_week3_cnn)",
        input_=f"{course.patch_size}x{course.patch_size} patches of {', '.join(course.s2_bands)}, divided by "
               f"{course.s2_scale:g} outside the model (reflectance 0-1)",
        recipe="the course's: Adam lr 1e-3, batch 32, up to 50 epochs, EarlyStopping(val_loss, patience 10), "
               "ReduceLROnPlateau(val_loss, x0.5, patience 5), the epoch of best val_accuracy kept")


def write_data_notes(root: Path, course: CourseConfig, polygons: PolygonSet, dataset: Week3Dataset,
                     more: str = "") -> Path:
    """``DATA_NOTES.md``: where each file comes from, the skipped polygons, the split's leak, ``more`` (a paragraph
    the data set's user adds), the attribution."""
    leaked = len(dataset.leaked_polygons())
    lines = [
        f"# Data notes: {course.name}",
        "",
        "- **Real (from the course):** the training polygons (`data/labels/larger_polygons.geojson`, unchanged) "
        "and the area of interest (`data/external/aoi.geojson`, snapped to the 10 m grid).",
        "- **Synthetic:** the Sentinel-2, MODIS NDVI and SRTM rasters and the land-cover truth, generated under "
        "the polygons by the kit (`geoai-ref course-data`); the Week 3 patches cut from that Sentinel-2 "
        "composite as the course cut them, and (unless built with `--no-model`) the course's Week 3 SimpleCNN "
        "trained on them.",
        f"- **Week 3 patches:** {course.patches_per_polygon} per polygon ({course.patch_size} x "
        f"{course.patch_size} px), stored as float32 Sentinel-2 values x {course.s2_scale:g}; "
        f"{dataset.y_train.size} for training and {dataset.y_val.size} for validation, split at the patch level "
        f"(stratified by class): {leaked} polygons have patches on both sides.",
        "",
        "Polygons: " + polygons.summary(course).replace("\n", "\n\n"),
        "",
        *([more, ""] if more else []),
        course.attribution,
        "",
    ]
    path = root / layout.DATA_NOTES
    path.write_text("\n".join(lines))
    return path


def _as_copied(polygons: PolygonSet) -> PolygonSet:
    """``polygons`` named by the data set's own copy (``layout.POLYGONS``), so that what the data set says about
    them (data notes, scene description) does not depend on where the source file was."""
    return replace(polygons, path=layout.POLYGONS.as_posix())


def course_data_scene(polygons: PolygonSet, course: CourseConfig, seed: int, cloud_hole: bool) -> Scene:
    """The scene of a course data set: under ``polygons``, over the course's whole AOI."""
    return build_course_scene(polygons, course, seed, cloud_hole=cloud_hole, grid=aoi_s2_grid(course),
                              name=SCENE_NAME)


def build_course_data(root: Path, polygons_path: Path, course: CourseConfig = COURSE, seed: int = DEFAULT_SEED,
                      train_model: bool = True, cloud_hole: bool = True, notes: str = "",
                      progress: Progress = _quiet) -> list[Path]:
    """Generate the course-shaped data set into ``root``; return the paths written. ``notes``: a paragraph added
    to its data notes.

    With ``cloud_hole`` one persistent cloud leaves nodata in the Sentinel-2 composite (as a real Los Lagos
    summer composite has), for quality control to find; no Week 3 patch may lie under it.

    Raises:
        geoai_ref.polygons.PolygonFileError: if the polygon file cannot be used.
        geoai_ref.errors.UsageError: if the synthetic cloud covers a Week 3 patch (build without it, or another seed).
        geoai_ref.qc.QualityError: if a Week 3 patch fails quality control.
        geoai_ref.patches.PatchOutOfBounds: if a polygon lies too close to the edge of the course's AOI.
    """
    root = Path(root)
    polygons = _as_copied(load_polygons(polygons_path, course))
    progress(polygons.summary(course))
    progress("generating the scene under the polygons, over the course's AOI")
    scene = course_data_scene(polygons, course, seed, cloud_hole)
    progress("rendering Sentinel-2, MODIS and SRTM on their native grids")
    rasters = render(scene)
    paths = write_rasters(root, rasters)
    (root / layout.POLYGONS).parent.mkdir(parents=True, exist_ok=True)
    paths.append(Path(shutil.copyfile(polygons_path, root / layout.POLYGONS)))
    paths.append(write_aoi(root / layout.AOI, scene))
    progress(f"cutting the Week 3 patches ({course.patches_per_polygon} per polygon, split as the course did)")
    dataset = build_week3_dataset(stored_composite(rasters.s2, course), rasters.s2.grid, polygons, course)
    clouded = sorted({dataset.sites[i].polygon_id
                      for positions, x in ((dataset.train, dataset.x_train), (dataset.val, dataset.x_val))
                      for i, patch in zip(positions, x, strict=True) if np.isnan(patch).any()})
    if clouded:
        raise UsageError(f"the synthetic cloud covers Week 3 patches of polygon(s) {clouded}: build without it "
                         "(`--no-cloud`, cloud_hole=False) or with another --seed")
    for x in (dataset.x_train, dataset.x_val):
        check_bands(to_reflectance(x, course), course.s2_bands).raise_if_failed()
    paths += write_week3_dataset(root, dataset)
    if train_model:
        progress("training the course's Week 3 SimpleCNN")
        paths += train_and_save_week3_model(root, dataset, course, seed % 2**31)
    paths.append(write_data_notes(root, course, polygons, dataset, notes))
    paths.append(write_manifest(root, scene, paths, course))
    return paths


def ensure_rasters(root: Path, progress: Progress = _quiet) -> list[Path]:
    """Generate the rasters a course data set's manifest lists but the folder lacks; return the paths written.

    The Sentinel-2 composite over the course's whole AOI (about 15 MB) is not committed: it is generated on
    first use from the folder's own polygons and the manifest's course and seed (about 30 s), checked against
    the manifest's content hashes, and only then moved into place.

    Raises:
        MissingInput: if ``root`` has no manifest, or its manifest records no course (not made by
            ``geoai-ref fixtures`` / ``course-data``).
        ProblemsFound: if a regenerated raster differs from the manifest (the generator changed since the data
            set was made: regenerate it with the command its manifest names).
    """
    root = Path(root)
    manifest_path = root / layout.MANIFEST
    if not manifest_path.is_file():
        raise MissingInput(f"{manifest_path} not found: is {root} a data set made by `geoai-ref fixtures`?")
    manifest = json.loads(manifest_path.read_text())
    missing = [rel for rel in SCENE_RASTERS if rel.as_posix() in manifest["files"] and not (root / rel).exists()]
    if not missing:
        return []
    if "course" not in manifest:
        raise MissingInput(f"{root} lacks {', '.join(map(str, missing))} and its manifest records no course to "
                           f"generate them from: rerun what made the folder ({manifest.get('generator', 'unknown')})")
    course = CourseConfig(**manifest["course"])
    spec = manifest["scene"]
    progress(f"generating {', '.join(map(str, missing))} into {root} (first use; about 30 s)")
    scene = course_data_scene(_as_copied(load_polygons(root / layout.POLYGONS, course)), course, spec["seed"],
                              spec["cloud_hole"])
    with tempfile.TemporaryDirectory(dir=root, prefix=".generating-") as tmp:
        for rel in missing:  # only those (the MODIS pixels alone take seconds to render)
            write_raster(Path(tmp) / rel, RENDERERS[rel](scene))
        differ = [rel for rel in missing if content_hash(Path(tmp) / rel) != manifest["files"][rel.as_posix()]]
        if differ:
            raise ProblemsFound(f"{root}: the regenerated {', '.join(map(str, differ))} differ from its manifest "
                                "(the generator changed since the folder was made); regenerate the whole folder "
                                "with `geoai-ref fixtures --out DIR` (or `geoai-ref course-data`)")
        for rel in missing:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(Path(tmp) / rel, root / rel)
    return [root / rel for rel in missing]


def build_course_hidden(root: Path, course: CourseConfig = COURSE, progress: Progress = _quiet) -> list[Path]:
    """Generate the hidden evaluation region into ``root``: rasters, generated polygons, 8-band labelled patches.

    Raises:
        ValueError: if the hidden design's polygons cannot be placed (see ``generate_polygons``).
        geoai_ref.qc.QualityError: if a hidden patch fails quality control.
    """
    from geoai_ref.align import fuse, load_sources
    from geoai_ref.bands import FUSED_BANDS
    from geoai_ref.patches import extract_patches
    from geoai_ref.synth.generated_polygons import generate_polygons, write_polygons_geojson

    root = Path(root)
    counts = {name: HIDDEN_COUNTS[kind] for name, kind in zip(course.class_names, course.class_kinds, strict=True)}
    progress(f"generating {sum(counts.values())} polygons around {HIDDEN_CENTRE_LONLAT}")
    polygons = generate_polygons(HIDDEN_CENTRE_LONLAT, counts, course, seed=HIDDEN_POLYGON_SEED,
                                 extent_m=HIDDEN_EXTENT_M)
    paths = [write_polygons_geojson(root / layout.POLYGONS, polygons)]
    progress("generating and rendering the hidden scene")
    scene = build_course_scene(polygons, course, HIDDEN_SCENE_SEED, name=HIDDEN_SCENE_NAME)
    paths += write_rasters(root, render(scene))
    paths.append(write_aoi(root / layout.AOI, scene))
    progress("aligning the hidden rasters and cutting 8-band patches")
    stack = fuse(load_sources(root))
    sites = patch_sites(polygons, stack.grid, course)
    rows, cols = np.array([s.row for s in sites]), np.array([s.col for s in sites])
    x = extract_patches(stack.data, rows, cols, size=course.patch_size,
                        sample_ids=np.array([s.sample_id for s in sites])).astype(np.float32)
    check_bands(x, FUSED_BANDS).raise_if_failed()
    for rel, arr in ((layout.X_HIDDEN_FUSED, x), (layout.Y_HIDDEN, np.array([s.label for s in sites], np.int64))):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        np.save(root / rel, arr)
        paths.append(root / rel)
    paths.append(write_sample_index(root / layout.SAMPLE_INDEX, sites, {s.sample_id: ("hidden", s.sample_id)
                                                                           for s in sites}))
    paths.append(write_manifest(root, scene, paths))
    return paths


#: The tiny unit-test scene: one generated polygon of each class on a small grid, south of the hidden region.
TINY_SCENE_NAME = "tiny"
TINY_CENTRE_LONLAT = (-73.00, -41.33)
TINY_EXTENT_M = 2000.0
TINY_SEED = 7


def build_tiny(root: Path, course: CourseConfig = COURSE) -> list[Path]:
    """Generate the tiny unit-test scene into ``root``: rasters, AOI and manifest (no patches, no model).

    Raises:
        ValueError: if the polygons cannot be placed (see ``generate_polygons``).
    """
    from geoai_ref.synth.generated_polygons import generate_polygons

    root = Path(root)
    polygons = generate_polygons(TINY_CENTRE_LONLAT, dict.fromkeys(course.class_names, 1), course, seed=TINY_SEED,
                                 extent_m=TINY_EXTENT_M)
    scene = build_course_scene(polygons, course, TINY_SEED, margin_m=20.0, cloud_hole=True, name=TINY_SCENE_NAME)
    paths = write_rasters(root, render(scene))
    paths.append(write_aoi(root / layout.AOI, scene))
    paths.append(write_manifest(root, scene, paths))
    return paths
