"""geoai_ref: the reference implementation of the GeoAI Week 4 exercise.

Instructor-side only: it holds the answers the hidden checks compare against and is
never shipped to students. One job per module:

- :mod:`geoai_ref.phase`      the exercise's phases 4A, 4B, 4C (every spelling parsed here)
- :mod:`geoai_ref.errors`     the kit's error types and the exit codes the command lines end with
- :mod:`geoai_ref.course`     the course: class names in label order, AOI, bands and their scale, Week 3 sampling
- :mod:`geoai_ref.classes`    the five land-cover classes of today's fixtures (to be derived from the course)
- :mod:`geoai_ref.bands`      the band registry (sensor, resolution, range, resampling)
- :mod:`geoai_ref.grids`      raster grids and the native grids of each sensor
- :mod:`geoai_ref.rasterio_io` reading and writing single GeoTIFFs
- :mod:`geoai_ref.sources`    where rasters come from (local fixtures or Earth Engine)
- :mod:`geoai_ref.align`      alignment of every source onto the Sentinel-2 10 m grid
- :mod:`geoai_ref.alignment_check` proof that an aligned raster matches its source
- :mod:`geoai_ref.qc`         NaN / nodata and per-band value-range checks
- :mod:`geoai_ref.patches`    8x8 patch extraction at sample locations
- :mod:`geoai_ref.splits`     stratified, polygon-grouped splits and the split checker
- :mod:`geoai_ref.sample_index` the per-sample index of the Week 3 dataset
- :mod:`geoai_ref.polygons`   a course's training polygons, labelled by class name (null geometries reported)
- :mod:`geoai_ref.week3_dataset` the Week 3 patches and split as the course made them
- :mod:`geoai_ref.week3_folder` checks a course's own Week 3 folder (`geoai-ref check-week3`)
- :mod:`geoai_ref.sensor_probe` what each sensor alone separates: 1-NN on per-patch means (`geoai-ref sensor-probe`)
- :mod:`geoai_ref.pipeline`   the data pipeline end to end (`geoai-ref pipeline`)
- :mod:`geoai_ref.plots`      every figure
- :mod:`geoai_ref.synth`      the synthetic Los Lagos scene behind the offline fixtures
- :mod:`geoai_ref.models`     the Week 3 SimpleCNNs (the kit's, the course's) and ResNet-50 for N bands
- :mod:`geoai_ref.recipes`    every hyperparameter: the exercise's recipe, the recommended one, profiles
- :mod:`geoai_ref.training`   fitting with the exercise's callbacks, seeded and deterministic
- :mod:`geoai_ref.evaluation` accuracy, per-class and macro scores, confusion matrix (scikit-learn)
- :mod:`geoai_ref.collapse`   model-collapse detection and its thresholds
- :mod:`geoai_ref.ablation`   band subsets by name
- :mod:`geoai_ref.experiment` train + evaluate + collapse check, shared by the phases
- :mod:`geoai_ref.phase4a`, :mod:`~geoai_ref.phase4b`, :mod:`~geoai_ref.phase4c` the phases' deliverables
- :mod:`geoai_ref.schemas`    the JSON layouts of the metric files
- :mod:`geoai_ref.reports`    Markdown reports and the experiment log
- :mod:`geoai_ref.run`        `geoai-ref run` and config.yaml
- :mod:`geoai_ref.lessons`    the exercise's documented failures, measured
- :mod:`geoai_ref.layout`     every file's path in a data set or run folder, the deliverables by phase
- :mod:`geoai_ref.fused_check` the one judge of a fused array (shape, values, band order, resampling)
- :mod:`geoai_ref.deliverables` checks that a folder holds every deliverable, each valid
"""

__version__ = "0.1.0"
