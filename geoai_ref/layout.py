"""Where every file of a data set lives, relative to its root folder.

The fixture generator, the Earth Engine downloader and the pipeline all use these
names, so a folder written by one can be read by the others. Paths under ``data/`` and
``models/`` are the exercise's own (see the exercise's "Required Files").
"""

from __future__ import annotations

from pathlib import Path

from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.phase import Phase

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

#: The hidden evaluation scene's labelled 8-band patches (grader only).
X_HIDDEN_FUSED = Path("data/processed/X_hidden_fused.npy")
Y_HIDDEN = Path("data/processed/y_hidden.npy")

WEEK3_MODEL = Path("models/week3/best_model.h5")
WEEK3_MODEL_INFO = Path("models/week3/training_record.json")

MANIFEST = Path("manifest.json")
#: What is real and what is synthetic in a generated data set, with the course's attribution (released).
DATA_NOTES = Path("DATA_NOTES.md")

#: Files every source (fixtures or Earth Engine) must provide before alignment.
SOURCE_RASTERS: tuple[Path, ...] = (S2_COMPOSITE, MODIS_NDVI, SRTM_DEM)

# --- The exercise's deliverables, relative to a run folder (`geoai-ref run --out DIR`) ---

PHASE4A_MODEL = Path("models/week4/phase4a_transfer_model.h5")
PHASE4A_METRICS = Path("reports/phase4a_metrics.json")
PHASE4A_CURVES = Path("figures/phase4a_training_curves.png")
PHASE4A_CONFUSION = Path("figures/phase4a_confusion_matrix.png")
PHASE4A_COMPARISON = Path("reports/phase4a_comparison.md")

PHASE4B_MODEL = Path("models/week4/phase4b_fusion_model.h5")
PHASE4B_ABLATION = Path("reports/phase4b_ablation_study.json")
PHASE4B_SENSOR_FIGURE = Path("figures/phase4b_sensor_comparison.png")
CONFIG = Path("config.yaml")
BASELINE_REPORT = Path("reports/baseline_report.md")

PHASE4C_MODELS = Path("phase4c_outputs/models")
#: One SimpleCNN per band configuration: ``s2.h5``, ``s2_modis.h5``, ``s2_dem.h5``, ``full.h5``.
PHASE4C_MODEL_FILES: dict[str, Path] = {name: PHASE4C_MODELS / f"{name.lower().replace('+', '_')}.h5"
                                        for name in BAND_SUBSETS}
PHASE4C_RESULTS = Path("phase4c_outputs/evaluation_results.json")
PHASE4C_CONFUSION = Path("figures/phase4c_confusion_matrices.png")
PHASE4C_ACCURACY = Path("figures/phase4c_accuracy_comparison.png")
PHASE4C_REPORT = Path("reports/phase4c_report.md")

EXPERIMENT_LOG = Path("reports/experiment_log.md")

DELIVERABLES: dict[Phase, tuple[Path, ...]] = {
    Phase.A: (PHASE4A_MODEL, PHASE4A_METRICS, PHASE4A_CURVES, PHASE4A_CONFUSION, PHASE4A_COMPARISON),
    Phase.B: (X_TRAIN_FUSED, X_VAL_FUSED, PHASE4B_MODEL, PHASE4B_ABLATION, PHASE4B_SENSOR_FIGURE, CONFIG,
           BASELINE_REPORT),
    Phase.C: (PHASE4C_RESULTS, PHASE4C_CONFUSION, PHASE4C_ACCURACY, PHASE4C_REPORT, *PHASE4C_MODEL_FILES.values()),
}
