"""Terrain, land cover and 10 m truth of a synthetic Los Lagos scene, from a seed.

The scene is a lake shore below a volcano, as around Lago Llanquihue east of Puerto
Montt: a lake (surface 51 m), a river coming down the slope, a town on the shore,
a patchwork of pasture and fields with forest remnants on the low ground, temperate
rainforest on the slopes and bare volcanic ground / high grassland above ~1,000 m
(REFERENCES.md: water and urban 0-200 m, pasture 0-300 m, forest up to ~1,200 m,
bare mostly above ~1,000 m).

Terrain is an analytic function of UTM coordinates, so every sensor samples the same
surface at its own pixel centres. Land cover is laid out on a 10 m "world" grid: the
Sentinel-2 grid plus a margin wide enough to hold every MODIS footprint that touches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from rasterio.warp import transform as warp_transform
from rasterio.warp import transform_bounds
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from geoai_ref.classes import class_id
from geoai_ref.grids import S2_CRS, WGS84, Grid, modis_grid_covering, s2_grid
from geoai_ref.synth.spectra import NDVI_RANGES, REFLECTANCE_RANGES, draw_ndvi, draw_spectrum

LAKE_LEVEL_M = 51.0  # Lago Llanquihue surface elevation
TERRAIN_HALF_EXTENT_M = 2000.0  # length scale of the terrain, independent of the AOI size
SUN_ELEVATION_DEG = 60.0  # local noon, January, 41 S
SUN_AZIMUTH_DEG = 0.0  # the sun stands in the north in the southern hemisphere
HAZE_MAX = 0.015  # residual haze left by L2A correction, B2 reflectance

WATER, FOREST, AGRICULTURE, URBAN, BARE = (
    class_id("Water"), class_id("Forest"), class_id("Agriculture"), class_id("Urban"), class_id("Bare/Grassland"),
)


@dataclass(frozen=True)
class SceneSpec:
    """What to generate: a named scene with its seed, centre (WGS84) and size in 10 m pixels."""

    name: str
    seed: int
    centre_lon: float
    centre_lat: float
    size_px: int
    cloud_hole: bool = True
    description: str = ""


class ElevationModel(Protocol):
    """What the sensors need of a terrain: surface elevation in metres at map coordinates of the scene's CRS."""

    def elevation(self, x: np.ndarray, y: np.ndarray) -> np.ndarray: ...


@dataclass
class Terrain:
    """Analytic elevation (metres) over UTM coordinates, plus the river and the town."""

    centre: tuple[float, float]
    axis: tuple[float, float]  # unit vector from the lake towards the volcano
    waves: np.ndarray  # (k, 4): amplitude, kx, ky, phase
    river_offset: float
    river_phase: float
    town_centre: tuple[float, float]  # (s, t) in local units
    town_radius: float

    def local(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(s, t): along the lake-volcano axis and across it, in units of TERRAIN_HALF_EXTENT_M."""
        u = (np.asarray(x) - self.centre[0]) / TERRAIN_HALF_EXTENT_M
        v = (np.asarray(y) - self.centre[1]) / TERRAIN_HALF_EXTENT_M
        dx, dy = self.axis
        return u * dx + v * dy, -u * dy + v * dx

    def raw_elevation(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Ground elevation before the lake is filled, in metres."""
        s, _ = self.local(x, y)
        ramp = np.clip((s + 0.6) / 1.3, 0.0, None)
        ground = 48.0 + 950.0 * ramp**2.5 - 150.0 * np.clip(-0.6 - s, 0.0, None)
        w = self.waves
        noise = np.zeros_like(ground)
        for amp, kx, ky, phase in w:
            noise += amp * np.sin(kx * np.asarray(x) + ky * np.asarray(y) + phase)
        carve = 8.0 * np.exp(-((self.river_distance(x, y) / 30.0) ** 2))
        return ground + noise * np.clip(0.3 + ramp, 0.3, 1.0) - carve

    def elevation(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Surface elevation in metres: the ground, or the lake surface where the ground is below it."""
        return np.maximum(self.raw_elevation(x, y), LAKE_LEVEL_M)

    def river_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Approximate distance in metres to the river's centre line."""
        s, t = self.local(x, y)
        centre = self.river_offset + 0.12 * np.sin(3.1 * s + self.river_phase)
        slope = 0.12 * 3.1 * np.cos(3.1 * s + self.river_phase)
        return np.abs(t - centre) * TERRAIN_HALF_EXTENT_M / np.sqrt(1.0 + slope**2)

    def in_town(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        s, t = self.local(x, y)
        ds, dt = s - self.town_centre[0], t - self.town_centre[1]
        angle = np.arctan2(dt, ds)
        return np.hypot(ds, dt) < self.town_radius * (1.0 + 0.12 * np.sin(5 * angle))


@dataclass
class Scene:
    """A generated scene: its grids, terrain and 10 m layers on the world grid."""

    spec: SceneSpec
    s2: Grid
    world: Grid
    terrain: ElevationModel  # Terrain here; course_scene.GriddedTerrain under the course's polygons
    landcover: np.ndarray  # (H, W) uint8 class ids on the world grid
    reflectance: np.ndarray  # (6, H, W) float32 surface reflectance on the world grid
    ndvi: np.ndarray  # (H, W) float32 NDVI of each 10 m pixel (what MODIS averages)
    cloud: np.ndarray  # (h, w) bool, persistent cloud on the S2 grid (nodata in the composite)
    seeds: dict[str, np.random.SeedSequence] = field(repr=False, default_factory=dict)

    def rng(self, purpose: str) -> np.random.Generator:
        """A fresh generator for ``purpose``: the same draws however often, and in whatever order, it is asked."""
        return np.random.default_rng(self.seeds[purpose])

    @property
    def margin_px(self) -> int:
        return (self.world.width - self.s2.width) // 2

    def crop(self, layer: np.ndarray) -> np.ndarray:
        """The part of a world-grid layer that lies on the Sentinel-2 grid."""
        m = self.margin_px
        return layer[..., m : m + self.s2.height, m : m + self.s2.width]


def _seeds(seed: int) -> dict[str, np.random.SeedSequence]:
    names = ("terrain", "cells", "spectra", "noise", "cloud", "modis", "srtm", "polygons", "split", "model")
    return dict(zip(names, np.random.SeedSequence(seed).spawn(len(names)), strict=True))


def _terrain(centre: tuple[float, float], rng: np.random.Generator) -> Terrain:
    angle = np.deg2rad(-45.0 + rng.uniform(-20, 20))  # lake to the north-west, volcano to the south-east
    wavelengths = np.array([1500.0, 900.0, 600.0, 350.0, 200.0, 120.0])
    amplitudes = np.array([30.0, 20.0, 14.0, 8.0, 5.0, 3.0])
    directions = rng.uniform(0, 2 * np.pi, size=wavelengths.size)
    k = 2 * np.pi / wavelengths
    waves = np.column_stack([amplitudes, k * np.cos(directions), k * np.sin(directions),
                             rng.uniform(0, 2 * np.pi, size=wavelengths.size)])
    return Terrain(
        centre=centre,
        axis=(float(np.cos(angle)), float(np.sin(angle))),
        waves=waves,
        river_offset=float(rng.uniform(0.25, 0.45)),
        river_phase=float(rng.uniform(0, 2 * np.pi)),
        town_centre=(-0.36, float(rng.uniform(-0.55, -0.35))),
        town_radius=0.38,
    )


def _hillshade(elevation: np.ndarray, pixel_m: float) -> np.ndarray:
    """Relative illumination cos(i) / sin(sun elevation), for a north-facing sun (southern hemisphere)."""
    dz_dy_rows, dz_dx = np.gradient(elevation, pixel_m)
    dz_dy = -dz_dy_rows  # rows run south, y runs north
    sun_el, sun_az = np.deg2rad(SUN_ELEVATION_DEG), np.deg2rad(SUN_AZIMUTH_DEG)
    sun = np.array([np.cos(sun_el) * np.sin(sun_az), np.cos(sun_el) * np.cos(sun_az), np.sin(sun_el)])
    norm = np.sqrt(dz_dx**2 + dz_dy**2 + 1.0)
    cos_i = (-dz_dx * sun[0] - dz_dy * sun[1] + sun[2]) / norm
    return np.clip(cos_i / np.sin(sun_el), 0.35, 1.3)


def _world_margin_px(s2: Grid) -> int:
    """Margin that holds every MODIS footprint touching the S2 grid (the sinusoidal grid is sheared here)."""
    modis = modis_grid_covering(s2, margin=1)
    west, south, east, north = transform_bounds(modis.crs, s2.crs, *modis.bounds, densify_pts=51)
    left, bottom, right, top = s2.bounds
    beyond = max(left - west, bottom - south, east - right, north - top, 0.0)
    return int(np.ceil(beyond / s2.transform.a)) + 4


def build_scene(spec: SceneSpec) -> Scene:
    """Generate the scene described by ``spec`` (deterministic for a given spec)."""
    seeds = _seeds(spec.seed)
    rngs = {name: np.random.default_rng(s) for name, s in seeds.items()}
    xs, ys = warp_transform(WGS84, S2_CRS, [spec.centre_lon], [spec.centre_lat])
    s2 = s2_grid(xs[0], ys[0], spec.size_px)
    world = s2.expand(_world_margin_px(s2))
    terrain = _terrain((xs[0], ys[0]), rngs["terrain"])

    rows, cols = np.mgrid[0 : world.height, 0 : world.width]
    x, y = world.pixel_centres(rows, cols)
    raw = terrain.raw_elevation(x, y)
    elevation = np.maximum(raw, LAKE_LEVEL_M)

    # Objects: fields, forest stands, town blocks and high-ground patches are Voronoi cells.
    cell_rng = rngs["cells"]
    area_km2 = world.height * world.width * 1e-4
    n_cells = int(area_km2 * 30)  # ~180 m between cell centres
    centres = np.column_stack([cell_rng.uniform(x.min(), x.max(), n_cells),
                               cell_rng.uniform(y.min(), y.max(), n_cells)])
    _, cell = cKDTree(centres).query(np.column_stack([x.ravel(), y.ravel()]))
    cell = cell.reshape(x.shape)
    cell_u = cell_rng.uniform(size=(n_cells, 4))  # per-cell draws: kind, state, mixing fraction, threshold jitter

    landcover = np.full(x.shape, FOREST, dtype=np.uint8)
    bare_line = 1000.0 + 120.0 * (cell_u[cell, 3] - 0.5)
    low_line = 260.0 + 80.0 * (cell_u[cell, 3] - 0.5)
    low = elevation < low_line
    landcover[low & (cell_u[cell, 0] < 0.72)] = AGRICULTURE
    landcover[elevation > bare_line] = BARE
    landcover[terrain.in_town(x, y) & (elevation < 150.0)] = URBAN
    water = (raw <= LAKE_LEVEL_M) | ((terrain.river_distance(x, y) < 17.5) & (elevation < 900.0))
    landcover[water] = WATER

    # Spectra and NDVI: one draw per object, mixed where the surface is mixed.
    spec_rng = rngs["spectra"]
    surfaces = ("water", "forest", "pasture", "urban", "bare")
    cell_spectra = {s: draw_spectrum(s, spec_rng, n_cells) for s in surfaces}
    cell_ndvi = {s: draw_ndvi(s, spec_rng, n_cells) for s in surfaces}
    state, mix = cell_u[:, 1], cell_u[:, 2]
    reflectance = np.zeros((6, *x.shape), dtype=np.float64)
    ndvi = np.zeros(x.shape, dtype=np.float64)

    def paint(mask: np.ndarray, spectrum: np.ndarray, ndvi_values: np.ndarray) -> None:
        reflectance[:, mask] = spectrum[cell[mask]].T
        ndvi[mask] = ndvi_values[cell[mask]]

    def mixed(a: str, b: str, fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = fraction[:, None]
        return ((1 - f) * cell_spectra[a] + f * cell_spectra[b],
                (1 - fraction) * cell_ndvi[a] + fraction * cell_ndvi[b])

    none = np.zeros(n_cells)
    # Forest: one stand in four is a clear-cut or regrowth, part pasture-like.
    paint(landcover == FOREST, *mixed("forest", "pasture", np.where(state < 0.25, 0.4 + 0.5 * mix, none)))
    # Agriculture: 35 % of the fields are ploughed or freshly cut in summer (soil with some
    # stubble, spectrally like the high grassland), and 20 % are invaded by shrubs (part forest-like).
    ag_spec, ag_ndvi = mixed("pasture", "forest", np.where(state > 0.8, 0.3 + 0.5 * mix, none))
    soil_spec, soil_ndvi = mixed("bare", "pasture", 0.85 * mix**1.5)
    ploughed = state < 0.35
    paint(landcover == AGRICULTURE, np.where(ploughed[:, None], soil_spec, ag_spec),
          np.where(ploughed, soil_ndvi, ag_ndvi))
    # Town blocks hold gardens and parks: up to 80 % vegetation.
    paint(landcover == URBAN, *mixed("urban", "pasture", 0.8 * mix))
    # High ground is bare volcanic rock and ash with a variable cover of grass.
    paint(landcover == BARE, *mixed("bare", "pasture", 0.85 * mix**1.5))
    # Water varies per pixel (no objects); the river carries sediment.
    wmask = landcover == WATER
    reflectance[:, wmask] = draw_spectrum("water", spec_rng, int(wmask.sum())).T
    ndvi[wmask] = draw_ndvi("water", spec_rng, int(wmask.sum()))

    land = ~wmask
    # Inside every object the cover is patchy (grazing, wet hollows, gaps in the canopy):
    # a smooth field with ~50 m grain mixes bare soil into each pixel, up to a share per class.
    grain = gaussian_filter(spec_rng.normal(size=x.shape), sigma=5.0)
    max_soil = np.array([0.0, 0.3, 0.4, 0.3, 0.4])[landcover]  # Water, Forest, Agriculture, Urban, Bare
    soil_share = max_soil * np.clip(0.5 + grain / (4 * grain.std()), 0.0, 1.0)
    soil = REFLECTANCE_RANGES["bare"].mean(axis=1)[:, None]
    reflectance[:, land] = (1 - soil_share[land]) * reflectance[:, land] + soil_share[land] * soil
    ndvi[land] = (1 - soil_share[land]) * ndvi[land] + soil_share[land] * np.mean(NDVI_RANGES["bare"])
    reflectance[:, land] *= _hillshade(elevation, world.transform.a)[land]
    noise_rng = rngs["noise"]
    # Los Lagos is among the cloudiest places on Earth: a summer median composite keeps thin
    # haze that varies over the scene, strongest in the blue (path radiance ~ wavelength^-2).
    haze = np.zeros(x.shape)
    for wavelength in (2500.0, 1200.0, 700.0):
        kx, ky = 2 * np.pi / wavelength * np.array([np.cos(a := noise_rng.uniform(0, np.pi)), np.sin(a)])
        haze += np.sin(kx * x + ky * y + noise_rng.uniform(0, 2 * np.pi))
    haze = HAZE_MAX * np.clip(0.5 + haze / 3.0, 0.0, 1.0)
    wavelengths_um = np.array([0.49, 0.56, 0.665, 0.842, 1.61, 2.19])
    reflectance += haze[None] * (0.49 / wavelengths_um[:, None, None]) ** 2
    reflectance *= noise_rng.normal(1.0, 0.10, size=reflectance.shape)
    reflectance += noise_rng.normal(0.0, 0.004, size=reflectance.shape)
    reflectance = np.clip(reflectance, 1e-4, 1.0)

    cloud = np.zeros(s2.shape, dtype=bool)
    if spec.cloud_hole:
        cr = rngs["cloud"]
        r0, c0 = cr.uniform(0.05, 0.15) * s2.height, cr.uniform(0.8, 0.92) * s2.width
        rr, cc = np.mgrid[0 : s2.height, 0 : s2.width]
        cloud = ((rr - r0) / (0.05 * s2.height)) ** 2 + ((cc - c0) / (0.035 * s2.width)) ** 2 < 1.0

    return Scene(spec=spec, s2=s2, world=world, terrain=terrain, landcover=landcover,
                 reflectance=reflectance.astype(np.float32), ndvi=ndvi.astype(np.float32), cloud=cloud, seeds=seeds)
