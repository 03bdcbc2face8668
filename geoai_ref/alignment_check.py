"""Proof that a resampled raster is aligned with the Sentinel-2 grid and true to its source.

Two checks:

1. :func:`grid_problems` - the two rasters share CRS, transform and shape.
2. :func:`check_resampled` - at randomly sampled pixel centres of the aligned raster, the
   value equals the source *interpolated at that exact point* (bilinear for continuous
   bands, as the band registry says). The error at each sample is divided by the local
   range of the 2x2 source pixels around it, so it reads in "fractions of a source step".

Tolerance (stated once, here): the 95th percentile of that normalised error must be at
most ``TOLERANCE`` = 0.1. A correct bilinear resampling with rasterio / GDAL stays far
below (GDAL's approximate transformer errs by at most ~0.05 source pixels, measured
here at ~0.001); a half-pixel shift or nearest-neighbour blockiness gives errors up to
0.5 and a 95th percentile of about 0.3-0.45. When the check fails it also tests those
two usual mistakes and says which one the data look like.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rasterio.enums import Resampling
from rasterio.warp import transform as warp_transform
from scipy.ndimage import map_coordinates

from geoai_ref.grids import Grid

TOLERANCE = 0.1
PERCENTILE = 95.0
MIN_LOCAL_RANGE_FRACTION = 0.01  # ignore samples where the source is locally flat (relative to its spread)

_HYPOTHESES: dict[str, tuple[int, float, float]] = {
    # name: (spline order, row shift, col shift) applied to the *expected* sampling position
    "nearest-neighbour resampling": (0, 0.0, 0.0),
    "a half-pixel shift (down-right)": (1, 0.5, 0.5),
    "a half-pixel shift (up-left)": (1, -0.5, -0.5),
    "a half-pixel shift in rows": (1, 0.5, 0.0),
    "a half-pixel shift in columns": (1, 0.0, 0.5),
}


def grid_problems(actual: Grid, expected: Grid, atol_px: float = 1e-6) -> list[str]:
    """What differs between two grids (CRS, shape, transform); empty when they are the same grid."""
    problems = []
    if actual.crs != expected.crs:
        problems.append(f"CRS differs: {actual.crs.to_string()[:80]} instead of {expected.crs.to_string()[:80]}")
    if actual.shape != expected.shape:
        problems.append(f"shape differs: {actual.shape} instead of {expected.shape}")
    a, e = actual.transform, expected.transform
    if any(abs(x - y) > 1e-9 * max(1.0, abs(y)) for x, y in ((a.a, e.a), (a.e, e.e), (a.b, e.b), (a.d, e.d))):
        problems.append(f"pixel size differs: {a.a:g} x {-a.e:g} instead of {e.a:g} x {-e.e:g}")
    dx, dy = (a.c - e.c) / e.a, (a.f - e.f) / -e.e
    if abs(dx) > atol_px or abs(dy) > atol_px:
        problems.append(f"origin shifted by ({dx:+.3f}, {dy:+.3f}) pixels (x, y)"
                        + (": a half-pixel shift, pixel corner taken for pixel centre" if
                           np.isclose(abs(dx), 0.5, atol=0.01) or np.isclose(abs(dy), 0.5, atol=0.01) else ""))
    return problems


@dataclass
class AlignmentReport:
    """The outcome of :func:`check_resampled` for one band."""

    band: str
    passed: bool
    n_samples: int
    error_p95: float
    error_max: float
    tolerance: float
    grid_problems: list[str] = field(default_factory=list)
    diagnosis: str = ""

    @property
    def message(self) -> str:
        if self.grid_problems:
            return f"{self.band}: not on the Sentinel-2 grid: " + "; ".join(self.grid_problems)
        verdict = "aligned" if self.passed else "NOT aligned with its source"
        text = (f"{self.band}: {verdict}: at {self.n_samples} sampled pixel centres the 95th-percentile error is "
                f"{self.error_p95:.3f} of the local source step "
                f"(tolerance {self.tolerance:g}, max {self.error_max:.3f})")
        return text + (f"; the values look like {self.diagnosis}" if self.diagnosis else "")


def _expected(source: np.ndarray, rows: np.ndarray, cols: np.ndarray, order: int) -> np.ndarray:
    if order == 0:
        return map_coordinates(source, [np.floor(rows + 0.5), np.floor(cols + 0.5)], order=0, mode="constant",
                               cval=np.nan)
    return map_coordinates(source, [rows, cols], order=1, mode="constant", cval=np.nan)


def check_resampled(aligned: np.ndarray, aligned_grid: Grid, target_grid: Grid, source: np.ndarray,
                    source_grid: Grid, band_name: str, n_samples: int = 4000, seed: int = 0,
                    tolerance: float = TOLERANCE,
                    resampling: Resampling = Resampling.bilinear) -> AlignmentReport:
    """Check ``aligned`` (on ``aligned_grid``) against ``source`` (physical units, NaN = nodata).

    ``target_grid`` is the grid the band should be on (the Sentinel-2 grid).

    Raises:
        ValueError: if ``aligned`` does not have ``aligned_grid``'s shape, or no sample can be checked.
    """
    if aligned.shape != aligned_grid.shape:
        raise ValueError(f"array shape {aligned.shape} does not match its grid {aligned_grid.shape}")
    problems = grid_problems(aligned_grid, target_grid)
    if problems:
        return AlignmentReport(band_name, False, 0, float("nan"), float("nan"), tolerance, problems)

    rng = np.random.default_rng(seed)
    rows = rng.integers(0, aligned_grid.height, n_samples)
    cols = rng.integers(0, aligned_grid.width, n_samples)
    xs, ys = aligned_grid.pixel_centres(rows, cols)
    sx, sy = warp_transform(aligned_grid.crs, source_grid.crs, xs, ys)
    fr, fc = source_grid.fractional_index(np.asarray(sx), np.asarray(sy))
    source = source.astype(np.float64)

    r0, c0 = np.floor(fr).astype(int), np.floor(fc).astype(int)
    inside = (r0 >= 0) & (c0 >= 0) & (r0 + 1 < source_grid.height) & (c0 + 1 < source_grid.width)
    r0, c0 = np.where(inside, r0, 0), np.where(inside, c0, 0)
    corners = np.stack([source[r0, c0], source[r0 + 1, c0], source[r0, c0 + 1], source[r0 + 1, c0 + 1]])
    local_range = corners.max(axis=0) - corners.min(axis=0)
    spread = np.nanpercentile(source, 95) - np.nanpercentile(source, 5)
    value = aligned[rows, cols].astype(np.float64)
    usable = inside & np.isfinite(corners).all(axis=0) & np.isfinite(value) & \
        (local_range > MIN_LOCAL_RANGE_FRACTION * max(spread, 1e-12))
    if not usable.any():
        raise ValueError(f"{band_name}: no sampled pixel centre has valid, non-flat source values to compare with")

    def errors(order: int, dr: float, dc: float) -> np.ndarray:
        expected = _expected(source, fr[usable] + dr, fc[usable] + dc, order)
        return np.abs(value[usable] - expected) / local_range[usable]

    order = 0 if resampling == Resampling.nearest else 1
    err = errors(order, 0.0, 0.0)
    p95 = float(np.nanpercentile(err, PERCENTILE))
    passed = p95 <= tolerance
    diagnosis = ""
    if not passed:
        scores = {name: float(np.nanpercentile(errors(*h), PERCENTILE)) for name, h in _HYPOTHESES.items()}
        best = min(scores, key=scores.get)
        if scores[best] <= tolerance:
            diagnosis = best
    return AlignmentReport(band_name, passed, int(usable.sum()), p95, float(np.nanmax(err)), tolerance,
                           diagnosis=diagnosis)
