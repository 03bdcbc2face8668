"""geoai_ref: the reference implementation of the GeoAI Week 4 exercise.

Instructor-side only: it holds the answers the hidden tests compare against and is
never shipped to students. One job per module:

- :mod:`geoai_ref.classes`    the five land-cover classes (named once, here)
- :mod:`geoai_ref.bands`      the band registry (sensor, resolution, range, resampling)
- :mod:`geoai_ref.grids`      raster grids and the native grids of each sensor
- :mod:`geoai_ref.rasterio_io` reading and writing single GeoTIFFs
- :mod:`geoai_ref.sources`    where rasters come from (local fixtures or Earth Engine)
- :mod:`geoai_ref.align`      alignment of every source onto the Sentinel-2 10 m grid
- :mod:`geoai_ref.alignment_check` proof that an aligned raster matches its source
- :mod:`geoai_ref.qc`         NaN / nodata and per-band value-range checks
- :mod:`geoai_ref.patches`    8x8 patch extraction at sample locations
- :mod:`geoai_ref.splits`     stratified, polygon-grouped splits and the split checker
- :mod:`geoai_ref.synth`      the synthetic Los Lagos scene behind the offline fixtures
- :mod:`geoai_ref.models`     the Week 3 SimpleCNN
"""

__version__ = "0.1.0"
