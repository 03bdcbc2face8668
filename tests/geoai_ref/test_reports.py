"""Reports are written from the numbers they receive, and their wording follows those numbers."""

from geoai_ref.classes import CLASS_NAMES
from geoai_ref.reports import baseline_report, log_experiment, phase4a_comparison, phase4c_report
from geoai_ref.schemas import AblationStudy, ModelResult, Phase4AMetrics


def result(name: str, accuracy: float, verdict: str = "healthy") -> ModelResult:
    per_class = {c: {"precision": 0.5, "recall": 0.25 * (i % 4), "f1": 0.5, "support": 10}
                 for i, c in enumerate(CLASS_NAMES)}
    return ModelResult(name=name, bands=["B2"] * {"S2": 6, "S2+MODIS": 7, "S2+DEM": 7}.get(name, 8),
                       accuracy=accuracy, macro_f1=accuracy - 0.05,
                       evaluation={"per_class": per_class, "confusion_matrix": [[0]]},
                       collapse={"verdict": verdict, "reasons": ["96.0 % of predictions are Agriculture"]
                                 if verdict != "healthy" else [],
                                 "zero_recall_classes": ["Agriculture"] if name == "S2+MODIS" else []},
                       training={"epochs_run": 7, "best_epoch": 4})


def metrics4a(accuracy: float, pretrained: bool = True, verdict: str = "healthy") -> Phase4AMetrics:
    return Phase4AMetrics(
        phase="4A", model="ResNet-50", pretrained=pretrained, weights_source=None,
        recipe={"name": "exercise", "adapter": "conv1_inflation", "input_handling": "imagenet_preprocess",
                "bn_inference": False, "learning_rate": 1e-4},
        freeze={"summary": "150/175 layers (85.7 %)", "layer_fraction": 0.857, "param_fraction": 0.576},
        result=result("phase4a_transfer_model", accuracy, verdict),
        week3_baseline={"val_accuracy": 0.8667, "macro_f1": 0.86, "collapse_verdict": "healthy"},
        split={"method": "grouped", "n_train": 300, "n_val": 75})


def test_phase4a_comparison_follows_the_numbers(tmp_path):
    worse = phase4a_comparison(metrics4a(0.1333, verdict="collapsed"), tmp_path / "a.md").read_text()
    assert "13.33 %" in worse and "86.67 %" in worse and "**underperformed**" in worse
    assert "73.34 percentage points" in worse and "96.0 % of predictions are Agriculture" in worse
    assert "Backbone not pretrained" not in worse
    better = phase4a_comparison(metrics4a(0.92, pretrained=False), tmp_path / "b.md").read_text()
    assert "**improved**" in better and "5.33 percentage points" in better
    assert "Backbone not pretrained" in better and "pretrained: false" in better
    same = phase4a_comparison(metrics4a(0.88), tmp_path / "c.md").read_text()  # one sample of 75 better
    assert "**about the same**" in same and "+1.33 points" in same and "75 validation samples" in same


def ablation(accuracies: dict[str, float], phase: str = "4B") -> AblationStudy:
    results = [result(n, a) for n, a in accuracies.items()]
    best = max(results, key=lambda r: r.accuracy)
    return AblationStudy(phase=phase, model="m", configurations=results, best_configuration=best.name,
                         split={"method": "grouped"}, pretrained=False)


def test_baseline_report_has_the_required_sections_and_numbers(tmp_path):
    study = ablation({"S2": 0.48, "S2+MODIS": 0.53, "S2+DEM": 0.69, "Full": 0.44})
    text = baseline_report(study, metrics4a(0.1333, verdict="collapsed"), "config.yaml", tmp_path / "r.md").read_text()
    for section in ("## Methods", "## Results", "## Failures", "## Next steps"):
        assert section in text
    assert "Best configuration: **S2+DEM**" in text and "+21.00 points" in text
    assert "Phase 4A ResNet-50: collapsed" in text
    assert "- S2+MODIS: never recognises Agriculture (recall 0)" in text
    assert "| Full | 8 | 44.00 % |" in text


def test_phase4c_report_states_which_sensor_helped(tmp_path):
    dem = phase4c_report(ablation({"S2": 0.48, "S2+MODIS": 0.53, "S2+DEM": 0.69, "Full": 0.44}, "4C"), None,
                         tmp_path / "c.md").read_text()
    assert "DEM helped more than MODIS" in dem and "Full fusion did not beat" in dem
    modis = phase4c_report(ablation({"S2": 0.5, "S2+MODIS": 0.7, "S2+DEM": 0.6, "Full": 0.8}, "4C"),
                           ablation({"S2": 0.2, "S2+MODIS": 0.2, "S2+DEM": 0.2, "Full": 0.2}), tmp_path / "d.md")
    text = modis.read_text()
    assert "MODIS helped at least as much as DEM" in text and "Full fusion beat" in text
    assert "| S2 | 50.00 % | 20.00 % |" in text


def test_experiment_log_appends(tmp_path):
    path = tmp_path / "log.md"
    log_experiment(path, "4A", "d1", "h1", "r1", "n1")
    log_experiment(path, "4B", "d2", "h2", "r2", "n2")
    text = path.read_text()
    assert text.count("# Experiment log") == 1 and "Phase 4A" in text and "- Result: r2" in text
