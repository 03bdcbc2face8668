"""Generated training polygons for another lake-shore region of Los Lagos, as students would digitise them.

The hidden evaluation data must come from a region the students never saw, with polygons that are not the
released ones (nor transformed copies of them). :func:`generate_polygons` draws a plausible QGIS
"digitisation" of a stretch of the west shore of Lake Llanquihue around any centre, with the course's class
scheme; :func:`write_polygons_geojson` writes it as QGIS does, so :func:`geoai_ref.polygons.load_polygons`
reads it back. :func:`geoai_ref.synth.course_scene.build_course_scene` renders a scene under it.

**Layout** (in the course's UTM zone, inside a square of side ``extent_m`` around the centre):

- *Lake Llanquihue* lies east of a gently curving shoreline ``x = shore(y)`` that runs north-south through
  the region, :data:`SHORE_OFFSET_M` east of the centre: two sine waves of random phase (amplitude up to
  350 m over 8-16 km, up to 100 m over 3-6 km; slope under 0.5). No land polygon comes within
  :data:`SHORE_CLEARANCE_M` of it from the west, no Water polygon from the east.
- *Water*: near-shore lake water (students digitise the water they see next to the town), east of the
  shore, density falling as exp(-d / 500 m) with the distance d from the shore, up to 2 km out. Every Water
  polygon also keeps east of every land polygon at its northings (within :data:`LAKE_RULE_BAND_M`), the rule
  ``course_scene._lake_and_ponds`` uses, so the scene puts it in the lake and never makes it a pond.
- *Urban*: the town, on the shore at the centre's northing: a Gaussian 450 m across the shore (peaking
  350 m inland) and 900 m along it.
- *Parcels* (peri-urban parcelization): a ring around the town (about two town widths out) and strips
  150 m either side of the roads out of it (a coastal road 200 m inland, and two roads heading west within
  35 degrees), thinning over 3 km from the town.
- *Agriculture* (paddocks) everywhere inland, fewer near the shore and in the town; *Forest* (remnant
  stands) in four clumps ~800 m across, more than 1.5 km inland, plus a thin scatter.

Candidate centres are drawn from those densities; a candidate is kept if it lies inside the region, on
its side of the shore, and at least :data:`MIN_GAP_M` from every polygon already placed (checked on a 5 m
occupancy raster made with :func:`rasterio.features.rasterize`, conservatively: a candidate's touched
pixels may not come within 30 m + one pixel diagonal of a placed polygon's). Classes are placed town
first (Urban, Water, Parcels, Forest, Agriculture), the largest polygons of each class first.

**Shapes**: star-shaped around their centre (vertices at evenly spaced angles, jittered by up to 0.3 of a
step, radii varying by a factor exp(N(0, 0.18))), so always simple; stretched to an aspect ratio drawn
from lognormal(median 1.5, sigma 0.3), clipped to 1-4 (the course's bounding boxes: median aspect
1.3-1.6, up to 7.8), then rotated and scaled to the drawn area. Paddocks, parcels and town blocks follow
one cadastral direction of the region (plus or minus 90 degrees, 6 degrees of scatter); forest and water
are oriented at random. Vertices: 5-8 (Forest 8-12); the course's students drew 4-5 vertices (median) on
every class but Forest (10).

**Areas** (:data:`AREA_MODELS`): lognormal in m2 with the median and the log-spread (standard deviation of
ln m2) of the course's own polygons of the class (``fixtures/course/larger_polygons.geojson``, 125 usable;
areas in EPSG:32718), truncated to the course's range for the class. (A maximum-likelihood lognormal would
put Agriculture's median 19 % low: its log-areas are skewed to the left.)

=============  ===  ==========  =============  ==============  ==============================
class          n    median m2   sigma (ln m2)  range m2        vertices: median (min-max)
=============  ===  ==========  =============  ==============  ==============================
Agriculture    35   54,818      0.626          5,760-108,199   5 (4-10)
Forest         16   88,980      0.672          27,624-320,257  10 (5-24)
Parcels        32   80,825      0.650          31,137-372,716  4 (4-11)
Urban          29   21,363      0.530          6,532-65,149    5 (4-12)
Water          13   33,860      1.062          1,659-102,401   4 (4-11)
=============  ===  ==========  =============  ==============  ==============================

With the course's spread, the median of a dozen draws varies: over 40 seeds of the hidden design (12-20
polygons per class) the generated medians were 0.44-1.77 x the course's (Water the widest, from its
sigma of 1.06), centred on 0.85-1.08 x.

The course's polygons lie close together (edge-to-edge nearest neighbour: median 34 m, a quarter within
6 m, some sharing an edge); generated ones keep :data:`MIN_GAP_M` apart, so no pixel has two classes.

The same seed gives the same polygons (one :class:`numpy.random.SeedSequence` stream per purpose).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.features import rasterize
from rasterio.warp import transform as warp_transform
from rasterio.warp import transform_geom
from scipy.ndimage import distance_transform_edt

from geoai_ref.course import COURSE, CourseConfig
from geoai_ref.grids import S2_PIXEL_M
from geoai_ref.polygons import LabelledPolygon, PolygonSet
from geoai_ref.synth.course_scene import SHORE_BAND_PX

DEFAULT_SEED = 20260305
DEFAULT_EXTENT_M = 10000.0  # the course's polygons span about 10.0 km x 10.9 km
MIN_EXTENT_M = 2000.0


@dataclass(frozen=True)
class AreaModel:
    """Lognormal polygon areas (of ln m2: mean ``mu``, standard deviation ``sigma``), truncated to min-max m2."""

    mu: float
    sigma: float
    min_m2: float
    max_m2: float


#: Areas per kind of land cover (``geoai_ref.course.LAND_COVER_KINDS``: the real course's classes): mu = ln(the
#: course's median area), sigma = the spread of its ln areas (module docstring).
AREA_MODELS = {
    "Agriculture": AreaModel(10.912, 0.626, 5760.0, 108199.0),
    "Forest": AreaModel(11.396, 0.672, 27624.0, 320257.0),
    "Parcels": AreaModel(11.300, 0.650, 31137.0, 372716.0),
    "Urban": AreaModel(9.969, 0.530, 6532.0, 65149.0),
    "Water": AreaModel(10.430, 1.062, 1659.0, 102401.0),
}
#: Vertices per polygon (inclusive range).
VERTICES = {"Agriculture": (5, 8), "Forest": (8, 12), "Parcels": (5, 8), "Urban": (5, 8), "Water": (5, 8)}
#: Kinds oriented along the region's cadastral direction (the others at random).
CADASTRAL = ("Agriculture", "Parcels", "Urban")
#: Placement order: the town first, then the lake shore, the parcels around the town, then the countryside.
PLACEMENT_ORDER = ("Urban", "Water", "Parcels", "Forest", "Agriculture")
#: The kinds the layout knows (any label order): every kind a course can give its classes.
KINDS = tuple(sorted(AREA_MODELS))

# Shapes.
ANGLE_JITTER = 0.3  # of the angular step between vertices
RADIUS_SIGMA = 0.18
ASPECT_MEDIAN, ASPECT_SIGMA, ASPECT_MAX = 1.5, 0.3, 4.0
CADASTRAL_SCATTER_DEG = 6.0

# Layout (metres).
MIN_GAP_M = 30.0
SHORE_OFFSET_M = 250.0  # the shore passes this far east of the centre at the centre's northing
SHORE_WAVES = ((350.0, 8000.0, 16000.0), (100.0, 3000.0, 6000.0))  # (largest amplitude, shortest, longest wavelength)
SHORE_CLEARANCE_M = 60.0
#: Northings within which a Water polygon must lie east of every land polygon (course_scene's band, plus 2 pixels).
LAKE_RULE_BAND_M = (SHORE_BAND_PX + 2) * S2_PIXEL_M
LAKE_RULE_GAP_M = 2 * S2_PIXEL_M
TOWN_INLAND_M, TOWN_ACROSS_M, TOWN_ALONG_M = 350.0, 450.0, 900.0
PARCEL_RING = 2.2  # ring radius in town widths (Gaussian distance 1 = one sigma across and along)
PARCEL_RING_WIDTH = 0.6
COAST_ROAD_INLAND_M = 200.0
INLAND_ROADS, INLAND_ROAD_SPREAD_DEG = 2, 35.0
ROAD_STEP_M, ROAD_TURN_DEG = 500.0, 12.0
ROAD_BUFFER_M, ROAD_REACH_M = 150.0, 3000.0
WATER_SCALE_M, WATER_MAX_M = 500.0, 2000.0
AGRICULTURE_INLAND_M = 1000.0
FOREST_CLUMPS, FOREST_CLUMP_M, FOREST_INLAND_M, FOREST_SCATTER = 4, 800.0, 1500.0, 0.15

# Rasters.
DENSITY_PIXEL_M = 20.0
OCCUPANCY_PIXEL_M = 5.0
MAX_TRIES = 400  # candidate positions per polygon before giving up

_PURPOSES = ("shore", "layout", "areas", "shapes", "places")
LONLAT_CRS_URN = "urn:ogc:def:crs:OGC:1.3:CRS84"


def region_bounds(centre_lonlat: tuple[float, float], extent_m: float = DEFAULT_EXTENT_M,
                  course: CourseConfig = COURSE) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) in ``course.crs`` of the square of side ``extent_m`` around the centre."""
    (x,), (y,) = warp_transform("OGC:CRS84", course.crs, [centre_lonlat[0]], [centre_lonlat[1]])
    half = 0.5 * extent_m
    return x - half, y - half, x + half, y + half


@dataclass(frozen=True)
class _Layout:
    """Where things are: the region, the shoreline, the town and the class densities on a coarse grid."""

    bounds: tuple[float, float, float, float]
    centre: tuple[float, float]
    waves: np.ndarray  # (k, 3): amplitude, wavenumber, phase
    cadastral: float  # radians
    density_transform: Affine
    densities: dict[str, np.ndarray]  # per class, normalised to sum 1 (or all zero)

    def shore(self, y: np.ndarray) -> np.ndarray:
        """Easting of the shoreline at northings ``y`` (the lake is east of it)."""
        dy = np.asarray(y, dtype=float)[..., None] - self.centre[1]
        a, k, phase = self.waves[:, 0], self.waves[:, 1], self.waves[:, 2]
        return self.centre[0] + SHORE_OFFSET_M + (a * (np.sin(k * dy + phase) - np.sin(phase))).sum(axis=-1)


def _polyline_distance(lines: list[np.ndarray], shape: tuple[int, int], transform: Affine) -> np.ndarray:
    """Distance in metres from every pixel centre of the grid to the nearest of the polylines ((n, 2) arrays)."""
    on_line = rasterize([({"type": "LineString", "coordinates": line.tolist()}, 1) for line in lines],
                        out_shape=shape, transform=transform, fill=0, all_touched=True, dtype="uint8")
    if not on_line.any():
        return np.full(shape, np.inf)
    return distance_transform_edt(on_line == 0) * transform.a


def _layout(bounds: tuple[float, float, float, float], centre: tuple[float, float],
            rngs: dict[str, np.random.Generator]) -> _Layout:
    left, bottom, right, top = bounds
    waves = []
    for amplitude, shortest, longest in SHORE_WAVES:
        wavelength = rngs["shore"].uniform(shortest, longest)
        waves.append((rngs["shore"].uniform(0.5, 1.0) * amplitude, 2 * np.pi / wavelength,
                      rngs["shore"].uniform(0, 2 * np.pi)))
    rng = rngs["layout"]
    partial = _Layout(bounds, centre, np.array(waves), float(rng.uniform(0, np.pi / 2)), Affine.identity(), {})

    # Density grid: pixel centres, distance inland from the shore (negative in the lake), distance along it.
    px = DENSITY_PIXEL_M
    width, height = int(np.ceil((right - left) / px)), int(np.ceil((top - bottom) / px))
    transform = Affine(px, 0.0, left, 0.0, -px, top)
    x = left + (np.arange(width) + 0.5) * px
    y = top - (np.arange(height) + 0.5) * px
    inland = partial.shore(y)[:, None] - x[None, :]
    along = (y - centre[1])[:, None]
    land, lake = inland >= SHORE_CLEARANCE_M, inland <= -SHORE_CLEARANCE_M

    town_r = np.hypot((inland - TOWN_INLAND_M) / TOWN_ACROSS_M, along / TOWN_ALONG_M)
    town = np.exp(-0.5 * town_r**2)
    # Roads: along the coast, and inland ones heading west (within INLAND_ROAD_SPREAD_DEG) from the town.
    ys = np.linspace(bottom, top, 200)
    roads = [np.column_stack([partial.shore(ys) - COAST_ROAD_INLAND_M, ys])]
    start = np.array([float(partial.shore(np.array([centre[1]]))[0]) - TOWN_INLAND_M, centre[1]])
    for _ in range(INLAND_ROADS):
        heading = np.pi + np.deg2rad(rng.uniform(-INLAND_ROAD_SPREAD_DEG, INLAND_ROAD_SPREAD_DEG))
        points = [start]
        for _ in range(int(np.hypot(right - left, top - bottom) / ROAD_STEP_M)):
            heading += np.deg2rad(rng.normal(0.0, ROAD_TURN_DEG))
            points.append(points[-1] + ROAD_STEP_M * np.array([np.cos(heading), np.sin(heading)]))
        roads.append(np.array(points))
    road_d = _polyline_distance(roads, (height, width), transform)
    town_d = np.hypot(inland - TOWN_INLAND_M, along)
    ring = np.exp(-0.5 * ((town_r - PARCEL_RING) / PARCEL_RING_WIDTH) ** 2)
    along_roads = np.exp(-0.5 * (road_d / ROAD_BUFFER_M) ** 2) * np.exp(-town_d / ROAD_REACH_M) * (town_r > 1.5)
    # Forest: clumps centred inland, more than FOREST_INLAND_M from the shore.
    deep = np.flatnonzero((inland >= FOREST_INLAND_M).ravel())
    clumps = np.zeros((height, width))
    if deep.size:
        for flat in rng.choice(deep, size=min(FOREST_CLUMPS, deep.size), replace=False):
            r, c = divmod(int(flat), width)
            clumps += np.exp(-0.5 * ((x[None, :] - x[c]) ** 2 + (y[:, None] - y[r]) ** 2) / FOREST_CLUMP_M**2)
    lake_distance = -inland
    densities = {
        "Urban": land * town,
        "Parcels": land * (ring + along_roads),
        "Water": lake * (lake_distance <= WATER_MAX_M) * np.exp(-lake_distance / WATER_SCALE_M),
        "Agriculture": land * (1 - np.exp(-inland / AGRICULTURE_INLAND_M)) * (1 - town),
        "Forest": land * (1 - np.exp(-inland / FOREST_INLAND_M)) * (1 - town) * (clumps + FOREST_SCATTER),
    }
    for name, d in densities.items():
        d = np.where(np.isfinite(d) & (d > 0), d, 0.0)
        densities[name] = d / d.sum() if d.sum() > 0 else d
    return _Layout(bounds, centre, partial.waves, partial.cadastral, transform, densities)


def _shape(kind: str, area_m2: float, cadastral: float, rng: np.random.Generator) -> np.ndarray:
    """An open ring (n, 2) of a simple polygon of ``area_m2`` around the origin, counter-clockwise."""
    lo, hi = VERTICES[kind]
    n = int(rng.integers(lo, hi + 1))
    angles = (np.arange(n) + rng.uniform(-ANGLE_JITTER, ANGLE_JITTER, n)) * (2 * np.pi / n)
    radii = np.exp(rng.normal(0.0, RADIUS_SIGMA, n))
    aspect = float(np.clip(np.exp(rng.normal(np.log(ASPECT_MEDIAN), ASPECT_SIGMA)), 1.0, ASPECT_MAX))
    xy = np.column_stack([radii * np.cos(angles) * np.sqrt(aspect), radii * np.sin(angles) / np.sqrt(aspect)])
    if kind in CADASTRAL:
        theta = cadastral + rng.integers(0, 2) * np.pi / 2 + np.deg2rad(rng.normal(0.0, CADASTRAL_SCATTER_DEG))
    else:
        theta = rng.uniform(0, np.pi)
    c, s = np.cos(theta), np.sin(theta)
    xy = xy @ np.array([[c, s], [-s, c]])
    return xy * np.sqrt(area_m2 / _area(xy))


def _area(ring: np.ndarray) -> float:
    """Area of an open ring (n, 2) by the shoelace formula (positive if counter-clockwise)."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _draw_areas(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    model = AREA_MODELS[kind]
    areas = np.empty(0)
    while areas.size < n:
        drawn = np.exp(rng.normal(model.mu, model.sigma, size=2 * n))
        areas = np.concatenate([areas, drawn[(drawn >= model.min_m2) & (drawn <= model.max_m2)]])
    return areas[:n]


class _Placer:
    """Keeps the placed polygons and decides whether a candidate fits (region, shore side, gap, lake rule)."""

    def __init__(self, layout: _Layout) -> None:
        self.layout = layout
        left, bottom, right, top = layout.bounds
        px = OCCUPANCY_PIXEL_M
        self.shape = (int(np.floor((top - bottom) / px)), int(np.floor((right - left) / px)))
        self.blocked = np.zeros(self.shape, dtype=bool)
        self.reach_px = (MIN_GAP_M + px * np.sqrt(2.0)) / px  # conservative: pixels hold their polygon
        self.land_boxes: list[tuple[float, float, float, float]] = []
        self.water_boxes: list[tuple[float, float, float, float]] = []

    def _window(self, ring: np.ndarray, pad: int = 0) -> tuple[int, int, int, int] | None:
        left, _, _, top = self.layout.bounds
        px = OCCUPANCY_PIXEL_M
        c0 = int(np.floor((ring[:, 0].min() - left) / px)) - pad
        c1 = int(np.ceil((ring[:, 0].max() - left) / px)) + pad
        r0 = int(np.floor((top - ring[:, 1].max()) / px)) - pad
        r1 = int(np.ceil((top - ring[:, 1].min()) / px)) + pad
        if pad:
            return max(r0, 0), min(r1, self.shape[0]), max(c0, 0), min(c1, self.shape[1])
        if r0 < 0 or c0 < 0 or r1 > self.shape[0] or c1 > self.shape[1]:
            return None
        return r0, r1, c0, c1

    def _mask(self, ring: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
        left, _, _, top = self.layout.bounds
        r0, r1, c0, c1 = window
        px = OCCUPANCY_PIXEL_M
        transform = Affine(px, 0.0, left + c0 * px, 0.0, -px, top - r0 * px)
        geometry = {"type": "Polygon", "coordinates": [np.vstack([ring, ring[:1]]).tolist()]}
        return rasterize([(geometry, 1)], out_shape=(r1 - r0, c1 - c0), transform=transform, fill=0,
                         all_touched=True, dtype="uint8") > 0

    def fits(self, ring: np.ndarray, is_water: bool) -> bool:
        window = self._window(ring)
        if window is None:
            return False
        r0, r1, c0, c1 = window
        if not self._lake_rule_ok(ring, is_water):
            return False
        mask = self._mask(ring, window)
        if (self.blocked[r0:r1, c0:c1] & mask).any():
            return False
        left, _, _, top = self.layout.bounds
        px = OCCUPANCY_PIXEL_M
        x = left + (np.arange(c0, c1) + 0.5) * px
        y = top - (np.arange(r0, r1) + 0.5) * px
        inland = (self.layout.shore(y)[:, None] - x[None, :])[mask]
        return bool((inland <= -SHORE_CLEARANCE_M).all() if is_water else (inland >= SHORE_CLEARANCE_M).all())

    def _lake_rule_ok(self, ring: np.ndarray, is_water: bool) -> bool:
        """A Water polygon lies east of every land polygon at its northings (course_scene's lake rule)."""
        x0, y0, x1, y1 = ring[:, 0].min(), ring[:, 1].min(), ring[:, 0].max(), ring[:, 1].max()
        others = self.land_boxes if is_water else self.water_boxes
        for ox0, oy0, ox1, oy1 in others:
            if oy0 < y1 + LAKE_RULE_BAND_M and oy1 > y0 - LAKE_RULE_BAND_M:
                west_edge, east_edge = (x0, ox1) if is_water else (ox0, x1)
                if west_edge < east_edge + LAKE_RULE_GAP_M:
                    return False
        return True

    def place(self, ring: np.ndarray, is_water: bool) -> None:
        pad = int(np.ceil(self.reach_px)) + 1
        window = self._window(ring, pad)
        r0, r1, c0, c1 = window
        near = distance_transform_edt(~self._mask(ring, window)) <= self.reach_px
        self.blocked[r0:r1, c0:c1] |= near
        box = (ring[:, 0].min(), ring[:, 1].min(), ring[:, 0].max(), ring[:, 1].max())
        (self.water_boxes if is_water else self.land_boxes).append(box)


def _check_counts(counts: dict[str, int], course: CourseConfig) -> None:
    unknown = [name for name in counts if name not in course.class_names]
    if unknown:
        raise ValueError(f"counts name classes the course {course.name!r} does not have: "
                         f"{', '.join(map(str, unknown))}; its classes are {', '.join(course.class_names)}")
    bad = {name: n for name, n in counts.items() if isinstance(n, bool) or not isinstance(n, (int, np.integer))
           or n < 0}
    if bad:
        raise ValueError(f"counts must be whole numbers of polygons, 0 or more (got {bad})")
    if sum(counts.values()) == 0:
        raise ValueError("counts ask for no polygon; give at least one class a positive count")


def generate_polygons(centre_lonlat: tuple[float, float], counts: dict[str, int], course: CourseConfig = COURSE,
                      seed: int = DEFAULT_SEED, extent_m: float = DEFAULT_EXTENT_M) -> PolygonSet:
    """Training polygons for a lake-shore region around ``centre_lonlat`` (lon, lat), ``counts`` per class.

    The region is the square of side ``extent_m`` around the centre in ``course.crs``; the town lies at its
    centre on the shore, the lake to the east (module docstring). Polygons are numbered 1..n in the course's
    class order and carry lon/lat (CRS84) geometries and the properties ``class_name`` (the course's class
    property), ``polygon_id`` (= feature number) and ``generated: true``.

    Raises:
        ValueError: if ``counts`` names a class the course does not have, a count is negative or not a whole
            number, no polygon is asked for, ``extent_m`` is below :data:`MIN_EXTENT_M`, or a polygon cannot be
            placed within the extent (the message says which, and to enlarge ``extent_m`` or ask for fewer
            polygons of that class).
    """
    _check_counts(counts, course)
    # The layout is by kind of land cover (the module docstring's Urban, Parcels, ...); the course names them.
    class_of = {course.kind_of(name): name for name in course.class_names}
    kind_counts = {course.kind_of(name): int(n) for name, n in counts.items()}
    if not extent_m >= MIN_EXTENT_M:
        raise ValueError(f"extent_m is {extent_m:g}; give at least {MIN_EXTENT_M:g} m (the course's polygons "
                         f"span about {DEFAULT_EXTENT_M:g} m)")
    seeds = np.random.SeedSequence(seed).spawn(len(_PURPOSES))
    rngs = {name: np.random.default_rng(s) for name, s in zip(_PURPOSES, seeds, strict=True)}
    bounds = region_bounds(centre_lonlat, extent_m, course)
    centre = (0.5 * (bounds[0] + bounds[2]), 0.5 * (bounds[1] + bounds[3]))
    layout = _layout(bounds, centre, rngs)
    placer = _Placer(layout)
    density_shape = next(iter(layout.densities.values())).shape

    rings: dict[str, list[np.ndarray]] = {kind: [] for kind in course.class_kinds}
    for kind in PLACEMENT_ORDER:
        n = kind_counts.get(kind, 0)
        if n == 0:
            continue
        name = class_of[kind]
        cumulative = np.cumsum(layout.densities[kind].ravel())
        if cumulative[-1] <= 0:
            raise ValueError(f"the {extent_m:g} m region around {centre_lonlat} has no room for {name} "
                             "polygons: enlarge extent_m")
        areas = np.sort(_draw_areas(kind, n, rngs["areas"]))[::-1]
        for k, area in enumerate(areas):
            for _ in range(MAX_TRIES):
                flat = min(int(np.searchsorted(cumulative, rngs["places"].uniform(0, cumulative[-1]), side="right")),
                           cumulative.size - 1)
                r, c = divmod(flat, density_shape[1])
                t = layout.density_transform
                x = t.c + (c + rngs["places"].uniform()) * t.a
                y = t.f + (r + rngs["places"].uniform()) * t.e
                ring = _shape(kind, float(area), layout.cadastral, rngs["shapes"]) + np.array([x, y])
                if placer.fits(ring, kind == "Water"):
                    placer.place(ring, kind == "Water")
                    rings[kind].append(ring)
                    break
            else:
                raise ValueError(
                    f"could not place {name} polygon {k + 1} of {n} ({area / 1e4:.1f} ha) within the {extent_m:g} m "
                    f"region around {centre_lonlat} after {MAX_TRIES} tries (seed {seed}): enlarge extent_m or ask "
                    f"for fewer {name} polygons (or fewer polygons in all)")

    polygons: list[LabelledPolygon] = []
    key = course.polygon_class_property
    for name in course.class_names:
        for ring in rings[course.kind_of(name)]:
            number = len(polygons) + 1
            utm = {"type": "Polygon", "coordinates": [np.vstack([ring, ring[:1]]).tolist()]}
            lonlat = transform_geom(course.crs, "OGC:CRS84", utm)
            geometry = {"type": "Polygon", "coordinates": [[[float(v) for v in point[:2]] for point in ring_]
                                                           for ring_ in lonlat["coordinates"]]}
            geometry["coordinates"][0][-1] = list(geometry["coordinates"][0][0])  # closed exactly
            properties = {key: name, "polygon_id": number, "generated": True}
            polygons.append(LabelledPolygon(number, course.label_of(name), name, geometry, properties))
    description = (f"generated polygons around ({centre_lonlat[0]:.4f}, {centre_lonlat[1]:.4f}), "
                   f"{extent_m:g} m region, seed {seed}")
    return PolygonSet(description, len(polygons), tuple(polygons), ())


def write_polygons_geojson(path: Path, polygon_set: PolygonSet) -> Path:
    """Write the polygons as a GeoJSON FeatureCollection in lon/lat with the CRS84 ``crs`` member, as QGIS
    exports it (one feature per line); :func:`geoai_ref.polygons.load_polygons` reads it back."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    features: list[dict[str, Any]] = [{"type": "Feature", "properties": dict(p.properties), "geometry": p.geometry}
                                      for p in polygon_set.polygons]
    lines = ["{", '"type": "FeatureCollection",', f'"name": {json.dumps(path.stem)},',
             '"crs": { "type": "name", "properties": { "name": "' + LONLAT_CRS_URN + '" } },', '"features": [',
             ",\n".join(json.dumps(f) for f in features), "]", "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


__all__ = ["AREA_MODELS", "KINDS", "DEFAULT_EXTENT_M", "DEFAULT_SEED", "MIN_GAP_M", "AreaModel",
           "generate_polygons", "region_bounds", "write_polygons_geojson"]
