"""What every synthetic scene is made of: its specification, its layers on a 10 m world grid, and the sensor
effects shared by the generators (the sun, residual haze, the lake's level).

A :class:`Scene` holds land cover, surface reflectance and NDVI on a 10 m "world" grid (the Sentinel-2 grid
plus a margin wide enough to hold every MODIS footprint that touches it, :func:`world_margin_px`) and a
terrain every sensor samples at its own pixel centres. :func:`geoai_ref.synth.course_scene.build_course_scene`
makes one under a course's polygons; :mod:`geoai_ref.synth.sensors` renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from rasterio.warp import transform_bounds

from geoai_ref.grids import Grid, modis_grid_covering

LAKE_LEVEL_M = 51.0  # Lago Llanquihue surface elevation
SUN_ELEVATION_DEG = 60.0  # local noon, January, 41 S
SUN_AZIMUTH_DEG = 0.0  # the sun stands in the north in the southern hemisphere
HAZE_MAX = 0.015  # residual haze left by L2A correction, B2 reflectance


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
class Scene:
    """A generated scene: its grids, terrain and 10 m layers on the world grid."""

    spec: SceneSpec
    s2: Grid
    world: Grid
    terrain: ElevationModel  # course_scene.GriddedTerrain under a course's polygons
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


def hillshade(elevation: np.ndarray, pixel_m: float) -> np.ndarray:
    """Relative illumination cos(i) / sin(sun elevation), for a north-facing sun (southern hemisphere)."""
    dz_dy_rows, dz_dx = np.gradient(elevation, pixel_m)
    dz_dy = -dz_dy_rows  # rows run south, y runs north
    sun_el, sun_az = np.deg2rad(SUN_ELEVATION_DEG), np.deg2rad(SUN_AZIMUTH_DEG)
    sun = np.array([np.cos(sun_el) * np.sin(sun_az), np.cos(sun_el) * np.cos(sun_az), np.sin(sun_el)])
    norm = np.sqrt(dz_dx**2 + dz_dy**2 + 1.0)
    cos_i = (-dz_dx * sun[0] - dz_dy * sun[1] + sun[2]) / norm
    return np.clip(cos_i / np.sin(sun_el), 0.35, 1.3)


def world_margin_px(s2: Grid) -> int:
    """Margin that holds every MODIS footprint touching the S2 grid (the sinusoidal grid is sheared here)."""
    modis = modis_grid_covering(s2, margin=1)
    west, south, east, north = transform_bounds(modis.crs, s2.crs, *modis.bounds, densify_pts=51)
    left, bottom, right, top = s2.bounds
    beyond = max(left - west, bottom - south, east - right, north - top, 0.0)
    return int(np.ceil(beyond / s2.transform.a)) + 4
