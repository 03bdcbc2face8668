"""Benchmark: building the aligned 8-band stack vs the rasterio reprojections alone, in one run.

    .venv/bin/python bench/align.py [--repeat N]

For the fixture AOI (the course's, 1454 x 1220 px) and a larger synthetic AOI (2000 x 2000 px, 20 km, with
random values on the same native grids) it times:

- ``fuse``        geoai_ref.align.fuse on loaded sources (scaling, NaN masking, two reprojections, stacking)
- ``load+fuse``   reading the three GeoTIFFs as well
- ``reproject``   the baseline: the two ``rasterio.warp.reproject`` calls alone on prepared float arrays

and prints the median and best time, the overhead of ``fuse`` over the baseline, and the
peak memory traced while fusing (tracemalloc sees NumPy's buffers).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from rasterio.enums import Resampling
from rasterio.warp import reproject
from rasterio.warp import transform as warp_transform

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.paths import FIXTURES  # noqa: E402
from geoai_ref.align import Sources, fuse, load_sources  # noqa: E402
from geoai_ref.bands import S2_BANDS  # noqa: E402
from geoai_ref.grids import S2_CRS, WGS84, modis_grid_covering, s2_grid, srtm_grid_covering  # noqa: E402
from geoai_ref.rasterio_io import Raster  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def synthetic_sources(size_px: int) -> Sources:
    """Random values on the real native grids of a ``size_px`` AOI (for scaling, not realism)."""
    rng = np.random.default_rng(0)
    xs, ys = warp_transform(WGS84, S2_CRS, [-72.54], [-41.21])
    s2 = s2_grid(xs[0], ys[0], size_px)
    modis, srtm = modis_grid_covering(s2), srtm_grid_covering(s2)
    return Sources(
        s2=Raster(rng.integers(1, 5000, (6, *s2.shape), dtype=np.uint16), s2, S2_BANDS, 0, 1e-4),
        modis=Raster(rng.integers(-2000, 10000, (1, *modis.shape), dtype=np.int16), modis, ("MODIS_NDVI",), -3000,
                     1e-4),
        dem=Raster(rng.integers(0, 3000, (1, *srtm.shape), dtype=np.int16), srtm, ("DEM",), -32768, 1.0),
    )


def reprojections_only(sources: Sources):
    target = sources.s2.grid
    prepared = [(sources.modis.physical("MODIS_NDVI"), sources.modis.grid),
                (sources.dem.physical("DEM"), sources.dem.grid)]

    def run() -> None:
        for values, grid in prepared:
            out = np.full(target.shape, np.nan, dtype=np.float32)
            reproject(values, out, src_transform=grid.transform, src_crs=grid.crs, src_nodata=np.nan,
                      dst_transform=target.transform, dst_crs=target.crs, dst_nodata=np.nan,
                      resampling=Resampling.bilinear)
    return run


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    cases = [("fixture AOI 1454x1220", load_sources(FIXTURES), True),
             ("synthetic AOI 2000x2000", synthetic_sources(2000), False)]
    print(f"{'case':26} {'step':10} {'median s':>9} {'best s':>9} {'vs reproject':>13} {'peak MiB':>9}")
    for name, sources, from_disk in cases:
        baseline = timed(reprojections_only(sources), args.repeat)
        rows = [("reproject", baseline, peak_mib(reprojections_only(sources)))]
        rows.append(("fuse", timed(lambda s=sources: fuse(s), args.repeat), peak_mib(lambda s=sources: fuse(s))))
        if from_disk:
            rows.append(("load+fuse", timed(lambda: fuse(load_sources(FIXTURES)), args.repeat),
                         peak_mib(lambda: fuse(load_sources(FIXTURES)))))
        base = statistics.median(baseline)
        for step, times, peak in rows:
            median = statistics.median(times)
            print(f"{name:26} {step:10} {median:9.4f} {min(times):9.4f} {median / base:12.2f}x {peak:9.1f}")


if __name__ == "__main__":
    main()
