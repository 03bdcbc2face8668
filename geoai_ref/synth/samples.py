"""Training polygons, sample locations and the Week 3 split of a synthetic scene.

Polygons are drawn the way a student digitises them in QGIS: inside areas of one
class, away from cloud, not touching each other. Each sample is an 8x8 patch that
lies wholly inside its polygon; its location is the patch's top-left pixel plus 4,
i.e. the patch covers rows ``row-4 .. row+3`` and columns ``col-4 .. col+3``.

The Week 3 split is stratified by class and grouped by polygon, with exactly 20 % of
each class in validation (the exercise's 300 / 75), and the samples are stored
class-sorted, as extracting them class by class leaves them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from rasterio.features import rasterize
from scipy.ndimage import uniform_filter

from geoai_ref.classes import CLASS_NAMES, NUM_CLASSES
from geoai_ref.grids import Grid

PATCH = 8
POLYGON_WINDOW = 14  # side of the pure-class square a polygon is drawn in, pixels


@dataclass(frozen=True)
class Design:
    """How many polygons and samples per class (class order as in geoai_ref.classes)."""

    polygons: tuple[int, ...]
    samples: tuple[int, ...]
    val_fraction: float = 0.2


#: The exercise's Week 3 data: 126 polygons, 375 samples. The class mix is chosen so that
#: Agriculture is 10 of the 75 validation samples: a model that predicts only Agriculture
#: scores 13.33 %, the exercise's Phase 4A result.
WEEK3_DESIGN = Design(polygons=(20, 34, 17, 22, 33), samples=(60, 100, 50, 65, 100))


@dataclass(frozen=True)
class Sample:
    sample_id: int
    polygon_id: int
    class_id: int
    row: int
    col: int
    split: str = ""


@dataclass(frozen=True)
class TrainingPolygon:
    polygon_id: int
    class_id: int
    ring: list[tuple[float, float]]  # closed ring in the S2 grid's CRS


def _polygon_ring(grid: Grid, r0: int, c0: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """An irregular octagon inside the POLYGON_WINDOW square at (r0, c0), in map coordinates."""
    half = POLYGON_WINDOW / 2
    cr, cc = r0 + half, c0 + half
    angles = np.deg2rad(np.arange(8) * 45.0 + 22.5) + rng.uniform(-0.15, 0.15, size=8)
    radius = half * rng.uniform(0.92, 1.0, size=8) / np.cos(np.deg2rad(22.5))
    rows = np.clip(cr + radius * np.sin(angles), r0, r0 + POLYGON_WINDOW)
    cols = np.clip(cc + radius * np.cos(angles), c0, c0 + POLYGON_WINDOW)
    xs, ys = grid.transform @ (cols, rows)
    ring = [(round(float(x), 2), round(float(y), 2)) for x, y in zip(xs, ys, strict=True)]
    return ring + ring[:1]


def _samples_per_polygon(n_samples: int, n_polygons: int, rng: np.random.Generator) -> list[int]:
    """Split ``n_samples`` over ``n_polygons`` unevenly (2-4 each where possible), as digitising does.

    Raises:
        ValueError: if samples are asked of a class without polygons.
    """
    if n_polygons == 0:
        if n_samples:
            raise ValueError(f"{n_samples} samples cannot come from 0 polygons")
        return []
    base, extra = divmod(n_samples, n_polygons)
    counts = np.array([base + 1] * extra + [base] * (n_polygons - extra))
    for _ in range(n_polygons // 2):  # move single samples between polygons
        give, take = rng.integers(n_polygons, size=2)
        if give != take and counts[give] > max(1, base - 1) and counts[take] < base + 2:
            counts[give] -= 1
            counts[take] += 1
    return [int(n) for n in counts]


def place_polygons(truth: np.ndarray, valid: np.ndarray, grid: Grid, design: Design,
                   rng: np.random.Generator) -> tuple[list[TrainingPolygon], list[Sample]]:
    """Place ``design.polygons`` polygons per class and ``design.samples`` samples in them.

    Raises:
        RuntimeError: if a class has too little pure area for its polygons or samples.
    """
    h, w = truth.shape
    taken = np.zeros_like(valid)
    polygons: list[TrainingPolygon] = []
    samples: list[Sample] = []
    order = np.argsort([design.polygons[c] / max(1, (truth == c).sum()) for c in range(NUM_CLASSES)])[::-1]
    per_polygon = {}
    for c in range(NUM_CLASSES):
        per_polygon[c] = _samples_per_polygon(design.samples[c], design.polygons[c], rng)
    next_polygon = 0
    for c in order:  # scarcest class first
        pure = uniform_filter(((truth == c) & valid).astype(float), POLYGON_WINDOW, mode="constant") > 0.999
        for _ in range(design.polygons[c]):
            free = pure & ~(uniform_filter(taken.astype(float), POLYGON_WINDOW + 4, mode="constant") > 0)
            centres = np.argwhere(free)
            if len(centres) == 0:
                raise RuntimeError(f"no room for another {CLASS_NAMES[c]} polygon: the scene has too little pure area")
            rc, cc = centres[rng.integers(len(centres))]
            r0, c0 = rc - POLYGON_WINDOW // 2, cc - POLYGON_WINDOW // 2
            ring = _polygon_ring(grid, r0, c0, rng)
            inside = rasterize([({"type": "Polygon", "coordinates": [ring]}, 1)], out_shape=(h, w),
                               transform=grid.transform, all_touched=False, dtype="uint8").astype(bool)
            taken |= inside
            # Patches wholly inside the polygon: windows where all 64 pixels are inside.
            tops = np.argwhere(sliding_window_view(inside, (PATCH, PATCH)).all(axis=(2, 3)))
            n = per_polygon[c].pop()
            if len(tops) < n:
                raise RuntimeError(f"{CLASS_NAMES[c]} polygon {next_polygon} holds fewer than {n} 8x8 patches")
            chosen = tops[rng.choice(len(tops), size=n, replace=False)]
            polygon_id = next_polygon
            next_polygon += 1
            polygons.append(TrainingPolygon(polygon_id, int(c), ring))
            for top, left in sorted(map(tuple, chosen)):
                samples.append(Sample(0, polygon_id, int(c), int(top + PATCH // 2), int(left + PATCH // 2)))
    # Class-sorted order, as a class-by-class extraction leaves them; ids follow that order.
    samples.sort(key=lambda s: (s.class_id, s.polygon_id, s.row, s.col))
    samples = [Sample(i, s.polygon_id, s.class_id, s.row, s.col) for i, s in enumerate(samples)]
    polygons.sort(key=lambda p: p.polygon_id)
    return polygons, samples


def _subset_with_sum(counts: list[int], target: int, order: np.ndarray) -> list[int]:
    """Indices (in ``order``'s preference) of items whose counts sum to ``target`` exactly."""
    reachable: dict[int, list[int]] = {0: []}
    for i in order:
        for total, chosen in list(reachable.items()):
            new = total + counts[i]
            if new <= target and new not in reachable:
                reachable[new] = [*chosen, int(i)]
        if target in reachable:
            return reachable[target]
    raise RuntimeError(f"no set of polygons holds exactly {target} samples")


def week3_split(samples: list[Sample], val_fraction: float, rng: np.random.Generator) -> list[Sample]:
    """Assign "train" / "val": per class, whole polygons holding exactly round(val_fraction * n) samples.

    Raises:
        RuntimeError: if no set of polygons of a class holds exactly that many samples.
    """
    val_polygons: set[int] = set()
    for c in range(NUM_CLASSES):
        own = [s for s in samples if s.class_id == c]
        polygon_ids = sorted({s.polygon_id for s in own})
        counts = [sum(s.polygon_id == p for s in own) for p in polygon_ids]
        chosen = _subset_with_sum(counts, round(val_fraction * len(own)), rng.permutation(len(polygon_ids)))
        val_polygons.update(polygon_ids[i] for i in chosen)
    return [Sample(s.sample_id, s.polygon_id, s.class_id, s.row, s.col,
                   "val" if s.polygon_id in val_polygons else "train") for s in samples]
