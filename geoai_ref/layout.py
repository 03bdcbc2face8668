"""Where every file of a data set lives, relative to its root folder.

The fixture generator, the Earth Engine downloader and the pipeline all use these
names, so a folder written by one can be read by the others. Paths under ``data/`` and
``models/`` are the exercise's own (see the exercise's "Required Files").
"""

from __future__ import annotations

from pathlib import Path

S2_COMPOSITE = Path("rasters/s2_l2a_composite.tif")
MODIS_NDVI = Path("rasters/modis_ndvi.tif")
SRTM_DEM = Path("rasters/srtm_dem.tif")
LANDCOVER_TRUTH = Path("rasters/landcover_truth.tif")

POLYGONS = Path("data/labels/larger_polygons.geojson")
AOI = Path("data/external/aoi.geojson")

X_TRAIN = Path("data/processed/X_train.npy")
Y_TRAIN = Path("data/processed/y_train.npy")
X_VAL = Path("data/processed/X_val.npy")
Y_VAL = Path("data/processed/y_val.npy")
SAMPLE_INDEX = Path("data/processed/sample_index.csv")

X_TRAIN_FUSED = Path("data/processed/X_train_fused.npy")
X_VAL_FUSED = Path("data/processed/X_val_fused.npy")

WEEK3_MODEL = Path("models/week3/best_model.h5")
WEEK3_MODEL_INFO = Path("models/week3/training_record.json")

MANIFEST = Path("manifest.json")

#: Files every source (fixtures or Earth Engine) must provide before alignment.
SOURCE_RASTERS: tuple[Path, ...] = (S2_COMPOSITE, MODIS_NDVI, SRTM_DEM)
