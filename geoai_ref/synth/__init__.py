"""The synthetic Los Lagos scene behind the offline fixtures.

- :mod:`~geoai_ref.synth.spectra`   class spectra and NDVI ranges (with their sources)
- :mod:`~geoai_ref.synth.scene`     terrain, land cover and the 10 m truth, from a seed
- :mod:`~geoai_ref.synth.sensors`   Sentinel-2, MODIS and SRTM rasters on their native grids
- :mod:`~geoai_ref.synth.samples`   training polygons, sample locations and the Week 3 split
- :mod:`~geoai_ref.synth.build`     writes a whole fixture folder (the `geoai-ref fixtures` command)

Under the real course's polygons (the data set replacing the fixtures above):

- :mod:`~geoai_ref.synth.course_scene`        the scene rendered under a course's polygons at their coordinates
- :mod:`~geoai_ref.synth.generated_polygons`  polygons digitised, as students would, in another region (hidden data)
- :mod:`~geoai_ref.synth.course_build`        the course-shaped data set and the hidden region (`geoai-ref course-data`)
"""
