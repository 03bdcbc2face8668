"""The per-sensor 1-NN probe scores what each sensor carries, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from geoai_ref.sensor_probe import FEATURE_SETS, per_patch_means, probe_grouped, probe_sensors


def _patches(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """8-band patches in which only the Sentinel-2 bands depend on the class; MODIS and DEM are noise."""
    x = rng.normal(size=(y.size, 8, 8, 8)).astype(np.float32)
    x[..., :6] += 3.0 * y[:, None, None, None]
    return x


def test_only_the_informative_sensor_scores_above_chance() -> None:
    rng = np.random.default_rng(0)
    y_train, y_val = np.repeat(np.arange(5), 40), np.repeat(np.arange(5), 20)
    result = probe_sensors(_patches(rng, y_train), y_train, _patches(rng, y_val), y_val)
    assert set(result.accuracy) == set(FEATURE_SETS)
    assert result.accuracy["S2"] == 1.0
    assert result.accuracy["MODIS+DEM"] < 0.4 and result.accuracy["DEM"] < 0.4  # chance is 0.2
    assert result.majority_share == 0.2 and (result.n_train, result.n_val) == (200, 100)


def test_means_and_refusals() -> None:
    x = np.arange(2 * 2 * 2 * 3, dtype=float).reshape(2, 2, 2, 3)
    np.testing.assert_allclose(per_patch_means(x)[0], [4.5, 5.5, 6.5])
    with pytest.raises(ValueError, match="NaN"):
        per_patch_means(np.full((1, 2, 2, 8), np.nan))
    with pytest.raises(ValueError, match="expected 8"):
        probe_sensors(np.zeros((4, 8, 8, 6)), np.zeros(4, int), np.zeros((2, 8, 8, 6)), np.zeros(2, int))


def test_holding_out_whole_polygons_removes_what_near_copies_leak() -> None:
    """Polygons of random class whose patches are near-copies of each other: a patch-level split scores by
    recognising the polygon; holding whole polygons out leaves chance."""
    rng = np.random.default_rng(1)
    n_polygons, per_polygon = 100, 3
    polygon_class = rng.integers(0, 5, n_polygons)
    centres = rng.normal(size=(n_polygons, 8))
    groups = np.repeat(np.arange(n_polygons), per_polygon)
    y = polygon_class[groups]
    x = (centres[groups] + 0.01 * rng.normal(size=(groups.size, 8)))[:, None, None, :] * np.ones((1, 8, 8, 1))
    val = np.arange(groups.size) % 5 == 0  # one patch in five, whatever its polygon
    leaky = probe_sensors(x[~val], y[~val], x[val], y[val])
    grouped = probe_grouped(x, y, groups)
    assert leaky.accuracy["S2+MODIS+DEM"] > 0.9
    assert grouped.accuracy["S2+MODIS+DEM"] < 0.4 and grouped.n_val == groups.size
