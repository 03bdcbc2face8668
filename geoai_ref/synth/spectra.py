"""Surface-reflectance and NDVI ranges per class for the synthetic scene.

Ranges are Sentinel-2 L2A surface reflectance (0-1) for B2, B3, B4, B8, B11, B12 and
MODIS NDVI, as assembled in ../shared/REFERENCES.md from the earthlib Sentinel-2
spectral library (canopy, built surfaces, soil medians) and the water test of
Xiao et al. 2005 (NDVI < 0.1, 2.1 um reflectance < 0.04). Each object (field, forest
stand, town block) draws its own spectrum uniformly inside its class range, so the
classes overlap the way real ones do.
"""

from __future__ import annotations

import numpy as np

# (low, high) per band in the order B2, B3, B4, B8, B11, B12.
REFLECTANCE_RANGES: dict[str, np.ndarray] = {
    "water": np.array([(0.02, 0.06), (0.02, 0.06), (0.01, 0.04), (0.005, 0.03), (0.002, 0.02), (0.001, 0.015)]),
    "forest": np.array([(0.01, 0.03), (0.03, 0.05), (0.01, 0.03), (0.25, 0.40), (0.10, 0.18), (0.04, 0.08)]),
    "pasture": np.array([(0.02, 0.05), (0.05, 0.08), (0.02, 0.06), (0.30, 0.45), (0.18, 0.28), (0.08, 0.15)]),
    "urban": np.array([(0.06, 0.12), (0.07, 0.13), (0.07, 0.15), (0.12, 0.25), (0.15, 0.25), (0.12, 0.22)]),
    "bare": np.array([(0.06, 0.12), (0.08, 0.15), (0.10, 0.20), (0.18, 0.30), (0.25, 0.40), (0.18, 0.32)]),
}

# MODIS NDVI (low, high) per surface, same sources.
NDVI_RANGES: dict[str, tuple[float, float]] = {
    "water": (-0.2, 0.05),
    "forest": (0.80, 0.90),
    "pasture": (0.65, 0.85),
    "urban": (0.2, 0.5),
    "bare": (0.15, 0.35),
}


def draw_spectrum(surface: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` spectra (n, 6) drawn uniformly inside the ranges of ``surface``."""
    r = REFLECTANCE_RANGES[surface]
    return rng.uniform(r[:, 0], r[:, 1], size=(n, 6))


def draw_ndvi(surface: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` NDVI values drawn uniformly inside the range of ``surface``."""
    lo, hi = NDVI_RANGES[surface]
    return rng.uniform(lo, hi, size=n)
