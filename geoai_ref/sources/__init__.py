"""Where the source rasters come from: local GeoTIFFs (the fixtures) or Earth Engine."""
