"""The synthetic Los Lagos scene under a course's polygons: the offline fixtures, the hidden region, the tiny scene.

- :mod:`~geoai_ref.synth.spectra`             class spectra and NDVI ranges (with their sources)
- :mod:`~geoai_ref.synth.scene`               what a scene is made of (layers on a 10 m world grid, sun, haze)
- :mod:`~geoai_ref.synth.course_scene`        the scene rendered under a course's polygons at their coordinates
- :mod:`~geoai_ref.synth.generated_polygons`  polygons digitised, as students would, in another region (hidden data)
- :mod:`~geoai_ref.synth.sensors`             Sentinel-2, MODIS and SRTM rasters on their native grids
- :mod:`~geoai_ref.synth.build`               writing a data set: rasters, AOI, Week 3 model, manifest
- :mod:`~geoai_ref.synth.course_build`        the fixtures (`geoai-ref fixtures`, `course-data`), the hidden region
  (`geoai-grade hidden-data`), the tiny scene, and the rasters generated on first use
- :mod:`~geoai_ref.synth.verify`              comparing a data set with its manifest or a regeneration
"""
