"""A synthetic scene under the real course's training polygons, at their real coordinates.

:func:`build_course_scene` returns a :class:`~geoai_ref.synth.scene.Scene` that the renderers of
:mod:`geoai_ref.synth.sensors` draw unchanged (its truth raster holds the course's labels,
``course.label_of(name)``). Each sensor carries what it carries at its own scale, and no more:

- **Land cover** (10 m, on the world grid: the Sentinel-2 grid plus the margin that holds every MODIS
  footprint), by *kind* of land cover (:data:`KINDS`; a course names its classes as it likes and says
  which kind each is, ``CourseConfig.class_kinds``; the real course's class names are the kinds).
  Every polygon's interior is its class. Around them:

  * *Lake Llanquihue* lies east of a shoreline ``x = shore(y)``. At each northing the shore lies between
    the east edge of the land polygons and the west edge of the Water polygons nearby (with a 50 m
    clearance); it is smoothed along the shore and clipped back between those bounds, so every lake
    polygon is in the lake and no land polygon is. A Water polygon with land polygons east of it at the
    same northing (e.g. ponds north-west of Frutillar) is an inland pond, flat at its own level.
  * *Objects*: paddocks, forest stands and town or parcel areas are Voronoi cells of ~4 ha. Each cell's
    class is drawn from the classes of the polygons near it (Gaussian weights, 400 m scale) plus a
    rural background (mostly farmland, some forest and parcels); Urban appears only near Urban polygons.
    Parcels and Urban cells are cut into lots / blocks of ~0.7 ha (finer Voronoi cells). A third of the
    paddocks carry tree lines (Forest) along their edges. An Agriculture or Forest polygon is one paddock
    or stand of its own.

- **Sentinel-2** (10 m): each pixel is a mixture of five surfaces with the published ranges of
  :mod:`geoai_ref.synth.spectra` (``water``, ``forest`` = trees, ``pasture`` = grass / lawn / crops,
  ``urban`` = roofs and paving, ``bare`` = soil). Every object draws its own spectrum of each surface
  inside those ranges and its own surface shares (:func:`draw_shares`: the mixing assumptions, stated
  there). Each pixel's shares vary around its object's with a random pattern of 10-30 m grain (houses,
  garden trees, bare patches), so Parcels are a sub-parcel mix at the scale of a lot. Lake water varies
  smoothly (turbidity). Then, as in :func:`geoai_ref.synth.scene.build_scene`: illumination by the
  terrain, residual haze and 10 % / 0.004 sensor noise.
- **NDVI** (10 m, what MODIS averages over each 231.656 m cell) is (B8 - B4) / (B8 + B4) of the same
  noise-free surface mixture, so a cell that holds lake and shore is as mixed in MODIS as on the ground.
- **Terrain** depends on the land cover only through the lake: water is flat at the lake level (51 m),
  land stands a few metres above it and rises with distance from the lake to about 200 m ~10 km inland,
  with smooth random relief (hills over ~120 m to ~1.5 km, standard deviation ~13 m) drawn without
  looking at the land cover. Ponds are flat, 1 m below their lowest rim.

The same seed gives the same arrays (one :class:`numpy.random.SeedSequence` stream per purpose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.features import rasterize
from rasterio.warp import transform as warp_transform
from rasterio.warp import transform_bounds
from scipy.ndimage import (
    binary_dilation,
    distance_transform_edt,
    find_objects,
    gaussian_filter,
    gaussian_filter1d,
    label,
    map_coordinates,
    maximum_filter1d,
    minimum_filter1d,
    zoom,
)
from scipy.special import erf

from geoai_ref.course import COURSE, LAND_COVER_KINDS, CourseConfig
from geoai_ref.errors import UsageError
from geoai_ref.grids import S2_PIXEL_M, WGS84, Grid
from geoai_ref.polygons import PolygonSet
from geoai_ref.synth.scene import HAZE_MAX, LAKE_LEVEL_M, Scene, SceneSpec, hillshade, world_margin_px
from geoai_ref.synth.spectra import REFLECTANCE_RANGES, draw_spectrum

DEFAULT_SEED = 20190115  # austral summer 2018-2019
DEFAULT_MARGIN_M = 400.0

#: The kinds of land cover this scene knows (a course maps its classes to them: ``CourseConfig.class_kinds``).
KINDS = LAND_COVER_KINDS
#: The land surfaces mixed in each pixel, and the spectra.py range each one draws from.
SURFACES = ("forest", "pasture", "urban", "bare")  # trees, grass / lawn / crops, roofs / paving, soil

# Land cover layout.
CELL_DENSITY_PER_KM2 = 25.0  # paddocks, stands and town / parcel areas: ~4 ha each
LOT_DENSITY_PER_KM2 = 140.0  # parcel lots and town blocks: ~0.7 ha each (course README: lots of 0.5-1 ha)
NEIGHBOUR_SCALE_M = 400.0  # a polygon's weight on the class of a cell falls as exp(-d^2 / 2 s^2)
#: Weight of each kind far from every polygon (a polygon at distance 0 weighs 1): rural Los Lagos.
BACKGROUND_WEIGHTS = {"Agriculture": 0.3, "Forest": 0.15, "Parcels": 0.05, "Urban": 0.0, "Water": 0.0}
HEDGED_SHARE = 0.35  # paddocks with tree lines along their edges
SHORE_CLEARANCE_PX = 5  # the shore keeps 50 m from every polygon
SHORE_BAND_PX = 10  # ... over northings within 100 m of the polygon
SHORE_GAP_PX = 15  # the shore starts 150 m west of the lake polygons
SHORE_SMOOTHING_PX = 30.0  # the shoreline is smooth over ~300 m
SHORE_ITERATIONS = 200

# Surfaces inside each pixel.
GRAIN_SIGMA_PX = 2.0  # 10-30 m grain of houses, garden trees and bare patches
GRAIN_CONTRAST = 1.5  # a pixel's share of a surface varies by a factor of about e^(+-1.5) around its object's
WATER_GRAIN_PX = 30  # lake turbidity varies over ~300 m

# Terrain (REFERENCES.md: lake surface ~51 m, land rising to ~200 m inland; the course's patches reach ~204 m).
BANK_M = 3.0
INLAND_RISE_M = 140.0
INLAND_SCALE_M = 2500.0
#: Random relief: (coarse pixel in 10 m pixels, smoothing in coarse pixels, standard deviation in metres):
#: rolling hills over ~1.5 km, ~400 m and ~120 m.
RELIEF_FIELDS = ((10, 15.0, 12.0), (10, 4.0, 5.0), (4, 3.0, 1.5))
RELIEF_TAPER_M = 300.0  # relief fades towards the shore, so the land stays above the lake
POND_BELOW_RIM_M = 1.0

# Sensor effects, as in scene.build_scene.
NOISE_RELATIVE = 0.10
NOISE_ABSOLUTE = 0.004
WAVELENGTHS_UM = np.array([0.49, 0.56, 0.665, 0.842, 1.61, 2.19])

_PURPOSES = ("terrain", "cells", "spectra", "noise", "cloud", "modis", "srtm", "polygons", "split", "model",
             "shares", "grain", "water")


@dataclass
class GriddedTerrain:
    """Surface elevation (metres) on a 10 m grid, sampled bilinearly at any UTM coordinates."""

    grid: Grid
    dem: np.ndarray  # (H, W) float32

    def elevation(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Elevation in metres at map coordinates (x, y) of the grid's CRS (nearest edge value outside it)."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        rows, cols = self.grid.fractional_index(x.ravel(), y.ravel())
        z = map_coordinates(self.dem, [rows, cols], order=1, mode="nearest", output=np.float64)
        return z.reshape(x.shape)


def s2_grid_from_bounds(bounds: tuple[float, float, float, float], crs: CRS | str) -> Grid:
    """The 10 m grid whose edges lie on multiples of 10 m and cover ``bounds`` (left, bottom, right, top).

    Raises:
        ValueError: if the bounds are empty (left >= right or bottom >= top).
    """
    left, bottom, right, top = bounds
    if not (left < right and bottom < top):
        raise ValueError(f"empty bounds {bounds}: expected left < right and bottom < top")
    x0, x1 = np.floor(left / S2_PIXEL_M) * S2_PIXEL_M, np.ceil(right / S2_PIXEL_M) * S2_PIXEL_M
    y0, y1 = np.floor(bottom / S2_PIXEL_M) * S2_PIXEL_M, np.ceil(top / S2_PIXEL_M) * S2_PIXEL_M
    return Grid(CRS.from_user_input(crs), Affine(S2_PIXEL_M, 0.0, float(x0), 0.0, -S2_PIXEL_M, float(y1)),
                int(round((y1 - y0) / S2_PIXEL_M)), int(round((x1 - x0) / S2_PIXEL_M)))


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    return [ring for polygon in geometry["coordinates"] for ring in polygon]


def polygons_bounds(polygons: PolygonSet, crs: str) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of all polygons in ``crs``."""
    xy = np.concatenate([np.asarray(ring, dtype=float)[:, :2] for p in polygons.polygons
                         for ring in _rings(p.geometry_in(crs))])
    return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())


def course_s2_grid(polygons: PolygonSet, course: CourseConfig = COURSE, margin_m: float = DEFAULT_MARGIN_M) -> Grid:
    """The course's 10 m Sentinel-2 grid over the polygons' extent plus ``margin_m`` on every side."""
    left, bottom, right, top = polygons_bounds(polygons, course.crs)
    return s2_grid_from_bounds((left - margin_m, bottom - margin_m, right + margin_m, top + margin_m), course.crs)


def aoi_s2_grid(course: CourseConfig = COURSE) -> Grid:
    """The course's 10 m Sentinel-2 grid over its whole area of interest."""
    return s2_grid_from_bounds(transform_bounds("OGC:CRS84", course.crs, *course.aoi_lonlat, densify_pts=51),
                               course.crs)


def draw_shares(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Surface shares (n, 4) of ``n`` objects of a kind of land cover, columns in :data:`SURFACES` order, rows
    summing to 1.

    Modelling assumptions (not measurements; REFERENCES.md gives spectra of the surfaces, not these mixes):

    - Forest: trees cover 75-100 %, the rest is grass and understory in gaps.
    - Agriculture: pasture and crops; 35 % of the paddocks are ploughed or freshly cut in summer (40-90 %
      soil, as ``scene.build_scene`` assumes), the rest hold up to 10 % bare patches; up to 10 % trees.
    - Parcels (peri-urban parcelization, course README): former pasture cut into lots, each with 5-30 %
      roof, driveway and gravel, 5-35 % trees (hedges, tree lines, gardens), fresh earthworks (10-30 %
      soil) on one lot in four, the rest lawn and pasture.
    - Urban: 40-85 % roofs and paving, 2-10 % trees, up to 5 % soil, the rest gardens and lawns.
    - Water: no land surface (water pixels are drawn separately).

    Raises:
        KeyError: if the kind is not one of :data:`KINDS`.
    """
    u = lambda lo, hi: rng.uniform(lo, hi, size=n)  # noqa: E731
    trees, built, soil = np.zeros(n), np.zeros(n), np.zeros(n)
    if kind == "Forest":
        trees = u(0.75, 1.0)
    elif kind == "Agriculture":
        cut = rng.uniform(size=n) < 0.35
        soil = np.where(cut, u(0.4, 0.9), u(0.0, 0.1))
        trees = u(0.0, 0.1)
    elif kind == "Parcels":
        built, trees = u(0.05, 0.3), u(0.05, 0.35)
        soil = np.where(rng.uniform(size=n) < 0.25, u(0.1, 0.3), u(0.0, 0.05))
    elif kind == "Urban":
        built, trees, soil = u(0.4, 0.85), u(0.02, 0.1), u(0.0, 0.05)
    elif kind != "Water":
        raise KeyError(f"no surface shares for the kind {kind!r}; known: {', '.join(KINDS)}")
    grass = np.clip(1.0 - trees - built - soil, 0.0, None)
    shares = np.column_stack([trees, grass, built, soil])
    return shares / np.maximum(shares.sum(axis=1, keepdims=True), 1e-9)


def _check_course(course: CourseConfig) -> dict[str, int]:
    """The label of each kind of land cover the course has (the lake needs a class of kind Water)."""
    if "Water" not in course.class_kinds:
        raise UsageError(f"the synthetic scene puts a lake beside the land, but the course {course.name!r} has no "
                         "class of kind Water (class_kinds); add one")
    return {kind: course.label_of(name) for name, kind in zip(course.class_names, course.class_kinds, strict=True)}


def _voronoi(shape: tuple[int, int], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi cells of ``n`` random seed pixels: (cell id of every pixel, (n, 2) seed rows and columns)."""
    flat = rng.choice(shape[0] * shape[1], size=n, replace=False)
    ids = np.full(shape, -1, dtype=np.int32)
    ids.flat[flat] = np.arange(n, dtype=np.int32)
    nearest = distance_transform_edt(ids < 0, return_distances=False, return_indices=True)
    return ids[nearest[0], nearest[1]], np.column_stack(np.unravel_index(flat, shape))


def _smooth_field(shape: tuple[int, int], factor: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A zero-mean, unit-variance random field smooth over ``factor * sigma`` pixels (drawn coarse, then zoomed)."""
    coarse_shape = (-(-shape[0] // factor) + 1, -(-shape[1] // factor) + 1)
    coarse = gaussian_filter(rng.standard_normal(coarse_shape), sigma)
    fine = zoom(coarse / coarse.std(), factor, order=1)[: shape[0], : shape[1]]
    return (fine / fine.std()).astype(np.float32)


def _waves(world: Grid, waves: np.ndarray) -> np.ndarray:
    """Sum of plane waves amp * sin(kx x + ky y + phase) on the world grid (separable, so cheap)."""
    x, _ = world.pixel_centres(np.zeros(world.width), np.arange(world.width))
    _, y = world.pixel_centres(np.arange(world.height), np.zeros(world.height))
    total = np.zeros(world.shape, dtype=np.float64)
    for amp, kx, ky, phase in waves:
        # sin(a + b) = sin(a) cos(b) + cos(a) sin(b), with a along the columns and b along the rows
        total += amp * (np.outer(np.cos(ky * y), np.sin(kx * x + phase))
                        + np.outer(np.sin(ky * y), np.cos(kx * x + phase)))
    return total.astype(np.float32)


def _shoreline(land: np.ndarray, lake_water: np.ndarray) -> np.ndarray:
    """Column of the shore on every row (the lake lies east of it), between land and lake polygons."""
    h, w = land.shape
    none_east, none_west = -1, w
    east_land = np.where(land.any(axis=1), w - 1 - np.argmax(land[:, ::-1], axis=1), none_east)
    west_lake = np.where(lake_water.any(axis=1), np.argmax(lake_water, axis=1), none_west)
    size = 2 * SHORE_BAND_PX + 1
    east_land = maximum_filter1d(east_land, size, mode="nearest")
    west_lake = minimum_filter1d(west_lake, size, mode="nearest")
    lo = np.where(east_land > none_east, east_land + SHORE_CLEARANCE_PX, -np.inf)
    hi = np.where(west_lake < none_west, west_lake - SHORE_CLEARANCE_PX, np.inf)
    clash = lo > hi  # polygons too close to fit the clearance: split the difference
    lo[clash] = hi[clash] = 0.5 * (lo[clash] + hi[clash])
    # Start on the rows the lake polygons constrain, straight beyond them; then smooth the line and put it
    # back between the bounds, again and again: it becomes the smoothest line that keeps every polygon on
    # its side (straight where nothing constrains it).
    known, start = np.isfinite(hi), hi - SHORE_GAP_PX
    if not known.any():  # no lake polygon: the lake begins east of every land polygon
        known, start = np.isfinite(lo), lo + SHORE_GAP_PX
    rows = np.arange(h)
    shore = np.interp(rows, rows[known], start[known])
    for _ in range(SHORE_ITERATIONS):
        shore = np.clip(gaussian_filter1d(shore, SHORE_SMOOTHING_PX, mode="nearest"), lo, hi)
    return shore


def _terrain(world: Grid, lake: np.ndarray, ponds: np.ndarray, rng: np.random.Generator) -> GriddedTerrain:
    """Lake flat at LAKE_LEVEL_M; land rising inland with random relief; each pond flat below its rim."""
    relief = sum(std * _smooth_field(world.shape, factor, sigma, rng) for factor, sigma, std in RELIEF_FIELDS)
    distance = distance_transform_edt(~lake).astype(np.float32) * np.float32(S2_PIXEL_M)
    land = (LAKE_LEVEL_M + BANK_M + INLAND_RISE_M * (1.0 - np.exp(-distance / INLAND_SCALE_M))
            + relief * (1.0 - np.exp(-distance / RELIEF_TAPER_M)))
    dem = np.where(lake, np.float32(LAKE_LEVEL_M), np.maximum(land, LAKE_LEVEL_M + 1.0)).astype(np.float32)
    labels, _ = label(ponds)
    for i, box in enumerate(find_objects(labels), start=1):
        box = tuple(slice(max(s.start - 3, 0), s.stop + 3) for s in box)
        pond = labels[box] == i
        rim = binary_dilation(pond, iterations=2) & ~pond & ~lake[box]
        if rim.any():
            dem[box][pond] = dem[box][rim].min() - POND_BELOW_RIM_M
    return GriddedTerrain(world, dem)


def _lake_and_ponds(poly_id: np.ndarray, kinds: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(lake, ponds) masks: a Water polygon is in the lake unless land polygons lie east of it at its northings."""
    is_land = np.array([False] + [n != "Water" for n in kinds])
    land_polys = is_land[poly_id]
    width = poly_id.shape[1]
    east_land = np.where(land_polys.any(axis=1), width - 1 - np.argmax(land_polys[:, ::-1], axis=1), -1)
    in_lake = np.zeros(len(kinds) + 1, dtype=bool)
    for i, box in enumerate(find_objects(poly_id, max_label=len(kinds)), start=1):
        if kinds[i - 1] == "Water" and box is not None:
            rows = slice(max(box[0].start - SHORE_BAND_PX, 0), box[0].stop + SHORE_BAND_PX)
            in_lake[i] = box[1].start > east_land[rows].max()
    lake_polys = in_lake[poly_id]
    shore = _shoreline(land_polys, lake_polys)
    lake = (np.arange(width)[None, :] > shore[:, None]) | lake_polys
    lake &= ~land_polys  # already so unless two polygons crowd the shore (the shoreline splits their gap)
    return lake, (poly_id > 0) & ~is_land[poly_id] & ~lake


def _land_cover(world: Grid, poly_id: np.ndarray, kinds: list[str], centroids: np.ndarray, lake: np.ndarray,
                labels: dict[str, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """(land cover labels, object id of every pixel, number of objects) on the world grid."""
    shape = world.shape
    area_km2 = shape[0] * shape[1] * (S2_PIXEL_M / 1000.0) ** 2
    # Objects: ~4 ha cells, each drawing its class from the polygons around it.
    cell, seed_rc = _voronoi(shape, int(area_km2 * CELL_DENSITY_PER_KM2), rng)
    n_cells = len(seed_rc)
    cx, cy = world.pixel_centres(seed_rc[:, 0], seed_rc[:, 1])
    d2 = (cx[:, None] - centroids[None, :, 0]) ** 2 + (cy[:, None] - centroids[None, :, 1]) ** 2
    kernel = np.exp(-0.5 * d2 / NEIGHBOUR_SCALE_M**2)
    land_classes = [k for k in KINDS if k != "Water" and k in labels]
    weights = np.column_stack([BACKGROUND_WEIGHTS[n] + kernel[:, [m == n for m in kinds]].sum(axis=1)
                               for n in land_classes])
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    drawn = (rng.uniform(size=(n_cells, 1)) > cumulative).sum(axis=1).clip(0, len(land_classes) - 1)
    cell_label = np.array([labels[n] for n in land_classes], dtype=np.uint8)[drawn]
    landcover = cell_label[cell]

    # Lots and blocks inside Parcels and Urban cells; object ids: cells, then lots, then polygons.
    lot, _ = _voronoi(shape, int(area_km2 * LOT_DENSITY_PER_KM2), rng)
    n_lots = int(lot.max()) + 1
    obj = cell.copy()
    subdivided = np.isin(landcover, [labels[k] for k in ("Parcels", "Urban") if k in labels])
    obj[subdivided] = n_cells + lot[subdivided]

    # Tree lines along the edges of hedged paddocks (not along town streets).
    hedged = (rng.uniform(size=n_cells) < HEDGED_SHARE) & (cell_label == labels.get("Agriculture", -1))
    hedged &= "Forest" in labels  # tree lines are forest
    edge = np.zeros(shape, dtype=bool)
    no_urban = cell_label != labels.get("Urban", -1)
    for a, b in (((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
                 ((slice(None, -1), slice(None)), (slice(1, None), slice(None)))):
        ca, cb = cell[a], cell[b]
        edge[a] |= (ca != cb) & (hedged[ca] | hedged[cb]) & no_urban[ca] & no_urban[cb]
    if edge.any():
        landcover[edge] = labels["Forest"]
    landcover[lake] = labels["Water"]

    # The polygons overwrite their interiors; an Agriculture or Forest polygon is one object of its own.
    inside = poly_id > 0
    poly_label = np.array([0] + [labels[n] for n in kinds], dtype=np.uint8)
    landcover[inside] = poly_label[poly_id[inside]]
    whole = np.array([False] + [n in ("Agriculture", "Forest") for n in kinds])[poly_id]
    obj[whole] = n_cells + n_lots + poly_id[whole] - 1
    parts = inside & ~whole
    obj[parts] = n_cells + lot[parts]
    return landcover, obj, n_cells + n_lots + len(kinds)


def _surface_reflectance(landcover: np.ndarray, obj: np.ndarray, n_objects: int, labels: dict[str, int],
                         rngs: dict[str, np.random.Generator]) -> tuple[np.ndarray, np.ndarray]:
    """(reflectance (6, H, W), NDVI (H, W)) of the surfaces, before illumination, haze and noise."""
    shape = landcover.shape
    # Per object, a spectrum of each surface and the shares of each class; per pixel, grain.
    spectra = np.stack([draw_spectrum(s, rngs["spectra"], n_objects) for s in SURFACES]).astype(np.float32)
    shares = np.zeros((max(labels.values()) + 1, n_objects, len(SURFACES)), dtype=np.float32)
    for kind in KINDS:  # always every kind, so a course's draws do not depend on which kinds it has
        drawn = draw_shares(kind, rngs["shares"], n_objects)
        if kind in labels:
            shares[labels[kind]] = drawn
    fractions = np.empty((len(SURFACES), *shape), dtype=np.float32)
    for k in range(len(SURFACES)):
        grain = gaussian_filter(rngs["grain"].standard_normal(shape, dtype=np.float32), GRAIN_SIGMA_PX)
        np.exp(GRAIN_CONTRAST * grain / grain.std(), out=fractions[k])
        fractions[k] *= shares[landcover, obj, k]
    fractions /= np.maximum(fractions.sum(axis=0), 1e-9)
    # Water: one turbidity field brightens all bands together, inside the published water ranges.
    water = landcover == labels["Water"]
    turbidity = 0.5 * (1.0 + erf(_smooth_field(shape, WATER_GRAIN_PX, 2.0, rngs["water"]) / np.sqrt(2.0)))
    water_range = REFLECTANCE_RANGES["water"].astype(np.float32)

    reflectance = np.empty((6, *shape), dtype=np.float32)
    for band in range(6):
        layer = np.zeros(shape, dtype=np.float32)
        for k in range(len(SURFACES)):
            layer += fractions[k] * spectra[k, obj, band]
        lo, hi = water_range[band]
        layer[water] = lo + turbidity[water] * (hi - lo)
        reflectance[band] = layer
    red, nir = reflectance[2], reflectance[3]
    return reflectance, ((nir - red) / (nir + red)).astype(np.float32)


def _observe(reflectance: np.ndarray, land: np.ndarray, terrain: GriddedTerrain, rng: np.random.Generator) -> None:
    """Sentinel-2's view, in place: illumination by the terrain, residual haze and noise (as scene.build_scene)."""
    world, shape = terrain.grid, land.shape
    shade = hillshade(terrain.dem.astype(np.float64), S2_PIXEL_M).astype(np.float32)
    haze = np.zeros(shape, dtype=np.float32)
    for wavelength in (2500.0, 1200.0, 700.0):
        angle = rng.uniform(0, np.pi)
        k = 2 * np.pi / wavelength
        haze += _waves(world, np.array([[1.0, k * np.cos(angle), k * np.sin(angle), rng.uniform(0, 2 * np.pi)]]))
    haze = HAZE_MAX * np.clip(0.5 + haze / 3.0, 0.0, 1.0)
    for band in range(6):
        layer = reflectance[band]
        layer[land] *= shade[land]
        layer += haze * np.float32((0.49 / WAVELENGTHS_UM[band]) ** 2)
        layer *= 1.0 + NOISE_RELATIVE * rng.standard_normal(shape, dtype=np.float32)
        layer += NOISE_ABSOLUTE * rng.standard_normal(shape, dtype=np.float32)
        np.clip(layer, 1e-4, 1.0, out=layer)


def build_course_scene(polygons: PolygonSet, course: CourseConfig = COURSE, seed: int = DEFAULT_SEED,
                       margin_m: float = DEFAULT_MARGIN_M, cloud_hole: bool = False, grid: Grid | None = None,
                       name: str = "course_polygons") -> Scene:
    """A synthetic scene under ``polygons`` at their coordinates, on the course's 10 m grid (module docstring).

    The Sentinel-2 grid is ``grid`` if given (e.g. :func:`aoi_s2_grid`, the course's whole AOI), else the
    polygons' extent plus ``margin_m``. The scene's land-cover layer holds the course's labels
    (``course.label_of(name)``). All 125 polygons of
    the real course: about 20 s and 1.7 GB (the world grid is ~3,400 x 3,300 pixels, because the MODIS
    sinusoidal grid is strongly sheared at 73 W).

    Raises:
        UsageError: if the course has no class of kind Water (the lake).
    """
    labels = _check_course(course)
    seeds = dict(zip(_PURPOSES, np.random.SeedSequence(seed).spawn(len(_PURPOSES)), strict=True))
    rngs = {name: np.random.default_rng(s) for name, s in seeds.items()}
    s2 = grid if grid is not None else course_s2_grid(polygons, course, margin_m)
    world = s2.expand(world_margin_px(s2))
    kinds = [course.kind_of(p.class_name) for p in polygons.polygons]  # what each polygon is on the ground
    geometries = [p.geometry_in(course.crs) for p in polygons.polygons]
    # Polygons on the world grid: poly_id 0 is no polygon, i + 1 is polygons.polygons[i].
    poly_id = rasterize([(g, i + 1) for i, g in enumerate(geometries)], out_shape=world.shape,
                        transform=world.transform, fill=0, dtype="int32")
    centroids = np.array([np.concatenate([np.asarray(r)[:, :2] for r in _rings(g)]).mean(axis=0) for g in geometries])

    lake, ponds = _lake_and_ponds(poly_id, kinds)
    landcover, obj, n_objects = _land_cover(world, poly_id, kinds, centroids, lake, labels, rngs["cells"])
    reflectance, ndvi = _surface_reflectance(landcover, obj, n_objects, labels, rngs)
    terrain = _terrain(world, lake, ponds, rngs["terrain"])
    _observe(reflectance, landcover != labels["Water"], terrain, rngs["noise"])

    cloud = np.zeros(s2.shape, dtype=bool)
    if cloud_hole:  # as scene.build_scene: one persistent cloud, nodata in the composite
        cr = rngs["cloud"]
        r0, c0 = cr.uniform(0.05, 0.15) * s2.height, cr.uniform(0.8, 0.92) * s2.width
        rr, cc = np.mgrid[0 : s2.height, 0 : s2.width]
        cloud = ((rr - r0) / (0.05 * s2.height)) ** 2 + ((cc - c0) / (0.035 * s2.width)) ** 2 < 1.0

    (lon,), (lat,) = warp_transform(s2.crs, WGS84, [0.5 * (s2.bounds[0] + s2.bounds[2])],
                                    [0.5 * (s2.bounds[1] + s2.bounds[3])])
    spec = SceneSpec(name=name, seed=seed, centre_lon=float(lon), centre_lat=float(lat),
                     size_px=max(s2.shape), cloud_hole=cloud_hole,
                     description=f"synthetic scene under the {len(kinds)} polygons of {polygons.path} "
                     f"({course.name}); Sentinel-2 grid {s2.height} x {s2.width} px (size_px is the longer "
                     f"side)" + ("" if grid is not None else f", margin {margin_m:g} m"))
    return Scene(spec=spec, s2=s2, world=world, terrain=terrain, landcover=landcover, reflectance=reflectance,
                 ndvi=ndvi, cloud=cloud, seeds=seeds)
