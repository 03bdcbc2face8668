"""Phase 4C: SimpleCNN trained from scratch on each band configuration (ablation)."""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from geoai_ref import layout, plots, reports
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.experiment import fit_and_evaluate
from geoai_ref.models.simple_cnn import build_simple_cnn, set_deterministic
from geoai_ref.phase import Phase
from geoai_ref.phase4b import load_fused, subset
from geoai_ref.recipes import SIMPLE_CNN_LEARNING_RATE, Profile
from geoai_ref.schemas import AblationStudy, write_json
from geoai_ref.training import TrainConfig


def run_phase4c(data_root: Path, out: Path, profile: Profile, seed: int = 42,
                resnet: AblationStudy | None = None) -> AblationStudy:
    """Train the four SimpleCNN variants and write the phase's deliverables.

    Raises:
        FileNotFoundError: if the sources are missing.
    """
    out = Path(out)
    fused = load_fused(data_root, out)
    config = TrainConfig.from_profile(profile, SIMPLE_CNN_LEARNING_RATE, seed)
    results = []
    for name in tqdm(BAND_SUBSETS, desc="Phase 4C ablation", unit="model", disable=None):
        data = subset(fused, name)
        set_deterministic(seed)
        model = build_simple_cnn(len(data.bands), data.x_train)
        results.append(fit_and_evaluate(name, model, data, config, checkpoint=out / layout.PHASE4C_MODEL_FILES[name]))
    best = max(results, key=lambda r: (r.accuracy, r.macro_f1))
    study = AblationStudy(phase=Phase.C.label, model="SimpleCNN (Week 3 architecture, trained from scratch)",
                          configurations=results, best_configuration=best.name, split=fused.split_info())
    write_json(out / layout.PHASE4C_RESULTS, study)
    plots.confusion_matrices_figure({r.name: r.evaluation["confusion_matrix"] for r in results},
                                    "Phase 4C: SimpleCNN confusion matrices (validation)",
                                    out / layout.PHASE4C_CONFUSION)
    plots.accuracy_bars({r.name: r.accuracy for r in results}, "Phase 4C: SimpleCNN accuracy by band configuration",
                        out / layout.PHASE4C_ACCURACY, secondary={r.name: r.macro_f1 for r in results})
    reports.phase4c_report(study, resnet, out / layout.PHASE4C_REPORT)
    reports.log_experiment(
        out / layout.EXPERIMENT_LOG, Phase.C.label, "SimpleCNN from scratch on the four band configurations",
        "a small CNN trained from scratch beats a frozen ImageNet backbone on 300 samples",
        "; ".join(f"{r.name} {100 * r.accuracy:.2f} %" for r in results) + f"; best {best.name}",
        "repeat with several seeds; more samples")
    return study
