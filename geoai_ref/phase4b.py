"""Phase 4B: multi-sensor fusion with ResNet-50, the sensor ablation, config.yaml and the baseline report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from geoai_ref import layout, plots, reports
from geoai_ref.ablation import BAND_SUBSETS, select_bands, subset_bands
from geoai_ref.experiment import WEEK3_SPLIT, Dataset
from geoai_ref.phase import Phase
from geoai_ref.phase4a import train_resnet
from geoai_ref.pipeline import run_data_pipeline
from geoai_ref.recipes import RECOMMENDED_RECIPE, Profile, ResNetRecipe
from geoai_ref.schemas import AblationStudy, Phase4AMetrics, write_json


def load_fused(data_root: Path, out: Path, show_progress: bool = False) -> Dataset:
    """The fused 8-band dataset under ``out``, made by the data pipeline if it is not there yet.

    Raises:
        FileNotFoundError: if the sources or the sample index are missing.
    """
    from geoai_ref.bands import FUSED_BANDS

    out = Path(out)
    if not ((out / layout.X_TRAIN_FUSED).exists() and (out / layout.X_VAL_FUSED).exists()):
        run_data_pipeline(data_root, out, show_progress=show_progress)
    y_train = np.load(Path(data_root) / layout.Y_TRAIN)
    y_val = np.load(Path(data_root) / layout.Y_VAL)
    return Dataset(np.load(out / layout.X_TRAIN_FUSED), y_train, np.load(out / layout.X_VAL_FUSED), y_val,
                   FUSED_BANDS, WEEK3_SPLIT)


def subset(data: Dataset, name: str) -> Dataset:
    """The same samples and split with only the bands of configuration ``name``."""
    bands = subset_bands(name)
    return Dataset(select_bands(data.x_train, bands, data.bands), data.y_train,
                   select_bands(data.x_val, bands, data.bands), data.y_val, bands, data.split_method)


def run_phase4b(data_root: Path, out: Path, profile: Profile, recipe: ResNetRecipe = RECOMMENDED_RECIPE,
                weights: str | Path | None = "imagenet", allow_random_init: bool = False, seed: int = 42,
                metrics4a: Phase4AMetrics | None = None) -> AblationStudy:
    """Fuse, train the 8-band fusion model, run the ResNet-50 ablation and write the phase's deliverables.

    The Full configuration of the ablation *is* the fusion model (trained once, saved as
    ``phase4b_fusion_model.h5``); the other three are trained with the same recipe, split and seed.

    Raises:
        FileNotFoundError: if the sources are missing.
        PretrainedWeightsUnavailable: if ImageNet weights are missing and ``allow_random_init`` is False.
    """
    out = Path(out)
    fused = load_fused(data_root, out)
    results = []
    pretrained = None
    for name in tqdm(BAND_SUBSETS, desc="Phase 4B ablation", unit="model", disable=None):
        checkpoint = out / layout.PHASE4B_MODEL if name == "Full" else None
        result, build, _ = train_resnet(name, subset(fused, name), recipe, profile, weights, allow_random_init,
                                        seed, checkpoint)
        pretrained = build.pretrained
        results.append(result)
    best = max(results, key=lambda r: (r.accuracy, r.macro_f1))
    study = AblationStudy(phase=Phase.B.label, model=f"ResNet-50 ({recipe.adapter}, {recipe.name} recipe)",
                          configurations=results, best_configuration=best.name, split=fused.split_info(),
                          pretrained=pretrained,
                          notes=[f"Full is the fusion model saved as {layout.PHASE4B_MODEL.as_posix()}"])
    write_json(out / layout.PHASE4B_ABLATION, study)
    plots.accuracy_bars({r.name: r.accuracy for r in results}, "Phase 4B: ResNet-50 sensor ablation",
                        out / layout.PHASE4B_SENSOR_FIGURE, secondary={r.name: r.macro_f1 for r in results})
    reports.baseline_report(study, metrics4a, layout.CONFIG.as_posix(), out / layout.BASELINE_REPORT)
    reports.log_experiment(
        out / layout.EXPERIMENT_LOG, Phase.B.label,
        "ResNet-50 on S2, S2+MODIS, S2+DEM and the 8-band fusion, same split",
        "DEM (30 m) adds more than MODIS (250 m upsampled to 10 m)",
        "; ".join(f"{r.name} {100 * r.accuracy:.2f} %" for r in results) + f"; best {best.name}",
        "more samples before judging fusion; try late fusion")
    return study
