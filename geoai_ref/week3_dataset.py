"""The Week 3 dataset as the course made it: patches at polygon centroids, split at the patch level.

The course's Week 3 (Phase 2 of its notebooks) cuts ``patches_per_polygon`` patches per polygon: the first
centred on the polygon's centroid, the others jittered by a uniform offset of up to one pixel (10 m) in x
and y; each patch is the ``patch_size`` x ``patch_size`` window of the Sentinel-2 composite around that point,
stored as float32 in the composite's units (digital numbers, reflectance x 10000). It then splits the
patches with ``train_test_split(test_size=0.2, stratify=class_name, random_state=42)``.

That split is at the patch level: a polygon's three patches (which overlap by most of their pixels) land on
both sides of it, so validation is not independent of training. Students hold this split when Week 4
starts; the kit keeps it, and the split checker (:func:`geoai_ref.splits.check_split`, given the polygons)
names every polygon on both sides. The sample index records each patch's polygon so the leak can be
measured and a grouped split made.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from geoai_ref import layout
from geoai_ref.course import COURSE, CourseConfig
from geoai_ref.grids import Grid
from geoai_ref.patches import extract_patches
from geoai_ref.polygons import PolygonSet

#: The course's seed (np.random.seed and train_test_split's random_state in its Week 3 notebooks).
COURSE_SEED = 42
#: Largest jitter of the extra patches, metres (the course: uniform -10..10 m in x and in y).
JITTER_M = 10.0

SAMPLE_INDEX_COLUMNS = ("sample_id", "polygon_id", "class_id", "class_name", "jitter", "row", "col", "x", "y",
                        "split", "array_index")


@dataclass(frozen=True)
class PatchSite:
    """Where one Week 3 patch was cut: its polygon (feature number in the file), label and centre."""

    sample_id: int
    polygon_id: int
    label: int
    class_name: str
    jitter: int  # 0: the centroid; 1, 2, ...: jittered copies
    x: float
    y: float
    row: int  # the patch covers rows row - size//2 .. row + size//2 - 1 (geoai_ref.patches)
    col: int


@dataclass(frozen=True, eq=False)
class Week3Dataset:
    """The Week 3 arrays and where each patch came from (``train`` / ``val`` hold positions in ``sites``)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    sites: tuple[PatchSite, ...]
    train: np.ndarray
    val: np.ndarray

    def leaked_polygons(self) -> set[int]:
        """Polygons with patches on both sides of the split."""
        return {self.sites[i].polygon_id for i in self.train} & {self.sites[i].polygon_id for i in self.val}


def _ring_centroid(ring: np.ndarray) -> tuple[float, float, float]:
    """Signed area and area centroid (x, y) of a closed ring (shoelace formula)."""
    x, y = ring[:-1, 0], ring[:-1, 1]
    x1, y1 = ring[1:, 0], ring[1:, 1]
    cross = x * y1 - x1 * y
    area = cross.sum() / 2.0
    if area == 0:
        return 0.0, float(x.mean()), float(y.mean())
    return area, float(((x + x1) * cross).sum() / (6 * area)), float(((y + y1) * cross).sum() / (6 * area))


def polygon_centroid(geometry: dict) -> tuple[float, float]:
    """Area centroid of a GeoJSON Polygon or MultiPolygon (holes subtract), in its own coordinates.

    Like any centroid (and the course's geopandas one), it can fall outside a strongly concave polygon.
    """
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    total = sx = sy = 0.0
    for rings in polygons:
        for k, ring in enumerate(rings):
            area, cx, cy = _ring_centroid(np.asarray(ring, dtype=float))
            area = abs(area) if k == 0 else -abs(area)  # exterior adds, holes subtract, whatever their winding
            total, sx, sy = total + area, sx + area * cx, sy + area * cy
    if total == 0:
        ring = np.asarray(polygons[0][0], dtype=float)
        return float(ring[:, 0].mean()), float(ring[:, 1].mean())
    return sx / total, sy / total


def patch_sites(polygons: PolygonSet, grid: Grid, course: CourseConfig = COURSE,
                seed: int = COURSE_SEED) -> list[PatchSite]:
    """The course's patch centres: per polygon (file order), the centroid, then jittered copies.

    Centres are computed in ``grid.crs`` (the course's UTM zone); each patch is the window of whole pixels
    nearest to its centre.
    """
    rng = np.random.default_rng(seed)
    sites: list[PatchSite] = []
    for polygon in polygons.polygons:
        cx, cy = polygon_centroid(polygon.geometry_in(grid.crs.to_string()))
        for jitter in range(course.patches_per_polygon):
            dx, dy = (0.0, 0.0) if jitter == 0 else rng.uniform(-JITTER_M, JITTER_M, size=2)
            x, y = cx + dx, cy + dy
            r, c = grid.fractional_index(np.array([x]), np.array([y]))  # pixel centres at whole numbers
            # the even-sized window centred nearest to (x, y) has its centre on the pixel edge nearest to it
            row, col = int(np.floor(r[0] + 1.0)), int(np.floor(c[0] + 1.0))
            sites.append(PatchSite(len(sites), polygon.feature, polygon.label, polygon.class_name, jitter,
                                   float(x), float(y), row, col))
    return sites


def course_split(sites: list[PatchSite], course: CourseConfig = COURSE,
                 seed: int = COURSE_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the training and validation patches, in ``train_test_split``'s order (as the course
    stored them): stratified by class at the patch level, ``course.val_fraction`` in validation."""
    positions = np.arange(len(sites))
    train, val = train_test_split(positions, test_size=course.val_fraction,
                                  stratify=[s.class_name for s in sites], random_state=seed)
    return np.asarray(train), np.asarray(val)


def build_week3_dataset(s2_stored: np.ndarray, grid: Grid, polygons: PolygonSet, course: CourseConfig = COURSE,
                        seed: int = COURSE_SEED) -> Week3Dataset:
    """Cut, label and split the Week 3 patches from a Sentinel-2 composite of the course's bands.

    Args:
        s2_stored: (H, W, bands) composite in the course's stored units (``course.s2_scale``), on ``grid``.

    Raises:
        ValueError: if the composite does not have one channel per course band.
        geoai_ref.patches.PatchOutOfBounds: if a polygon lies too close to the composite's edge.
    """
    if s2_stored.ndim != 3 or s2_stored.shape[-1] != len(course.s2_bands):
        raise ValueError(f"the composite must be (height, width, {len(course.s2_bands)}) for the bands "
                         f"{', '.join(course.s2_bands)}; got {s2_stored.shape}")
    sites = patch_sites(polygons, grid, course, seed)
    train, val = course_split(sites, course, seed)
    rows, cols = np.array([s.row for s in sites]), np.array([s.col for s in sites])
    patches = extract_patches(s2_stored, rows, cols, size=course.patch_size,
                              sample_ids=np.array([s.sample_id for s in sites])).astype(np.float32)
    labels = np.array([s.label for s in sites], dtype=np.int64)
    return Week3Dataset(patches[train], labels[train], patches[val], labels[val], tuple(sites), train, val)


def write_sample_index(path: Path, sites: tuple[PatchSite, ...] | list[PatchSite],
                       placement: dict[int, tuple[str, int]]) -> Path:
    """One CSV row per patch: ids, class, jitter, location (S2 row / col and map x / y), and ``placement``
    (sample id -> (split name, position in that split's arrays))."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SAMPLE_INDEX_COLUMNS)
    for s in sites:
        name, position = placement[s.sample_id]
        writer.writerow([s.sample_id, s.polygon_id, s.label, s.class_name, s.jitter, s.row, s.col, f"{s.x:.1f}",
                         f"{s.y:.1f}", name, position])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue())
    return path


def write_week3_dataset(root: Path, dataset: Week3Dataset) -> list[Path]:
    """Write X/y train/val (``geoai_ref.layout`` paths) and the sample index CSV; return the paths written."""
    root = Path(root)
    paths = []
    for rel, arr in ((layout.X_TRAIN, dataset.x_train), (layout.Y_TRAIN, dataset.y_train),
                     (layout.X_VAL, dataset.x_val), (layout.Y_VAL, dataset.y_val)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        np.save(root / rel, arr)
        paths.append(root / rel)
    placement = {int(i): ("train", k) for k, i in enumerate(dataset.train)}
    placement.update({int(i): ("val", k) for k, i in enumerate(dataset.val)})
    return [*paths, write_sample_index(root / layout.SAMPLE_INDEX, dataset.sites, placement)]
