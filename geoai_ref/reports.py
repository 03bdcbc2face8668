"""Markdown reports written from measured numbers (Phase 4A comparison, baseline report, 4C report, log).

Nothing here states a result it did not receive: every figure in the text comes from the
metrics objects passed in, and the wording (improved / worse, collapsed / stable) is
decided from them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from geoai_ref.classes import CLASS_NAMES
from geoai_ref.schemas import AblationStudy, ModelResult, Phase4AMetrics


def _f1(value: object) -> str:
    """A macro F1 for a table: three decimals, or n/a when there is none."""
    return f"{value:.3f}" if isinstance(value, int | float) and value == value else "n/a"


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _write(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _recall_table(results: list[ModelResult]) -> str:
    head = "| configuration | " + " | ".join(CLASS_NAMES) + " |\n|---|" + "---|" * len(CLASS_NAMES) + "\n"
    rows = []
    for r in results:
        per_class = r.evaluation["per_class"]
        rows.append(f"| {r.name} | " + " | ".join(f"{per_class[c]['recall']:.2f}" for c in CLASS_NAMES) + " |")
    return head + "\n".join(rows) + "\n"


def _pretrained_note(pretrained: bool | None) -> str:
    if pretrained is False:
        return ("\n> **Backbone not pretrained.** ImageNet weights were not available on this machine, so the "
                "ResNet-50 started from random weights (`pretrained: false`). Frozen layers therefore hold random "
                "features: these numbers show the recipe's mechanics, not what ImageNet transfer would give. "
                "Provide the weights (see `geoai-ref run --help`) to measure transfer learning itself.\n")
    return ""


def phase4a_comparison(metrics: Phase4AMetrics, path: Path) -> Path:
    """``reports/phase4a_comparison.md``: the transfer model against the Week 3 SimpleCNN, same data and split."""
    r = metrics.result
    week3 = metrics.week3_baseline.get("val_accuracy")
    diff = None if week3 is None else r.accuracy - week3
    n_val = int(metrics.split.get("n_val") or 0)
    noise = 2 / n_val if n_val else 0.01  # two validation samples either way is noise on a set this small
    if diff is None:
        verdict = "The Week 3 baseline was not available, so no comparison could be made."
    elif diff > noise:
        verdict = f"Transfer learning **improved** on the Week 3 SimpleCNN by {100 * diff:.2f} percentage points."
    elif diff < -noise:
        verdict = (f"Transfer learning **underperformed** the Week 3 SimpleCNN by {-100 * diff:.2f} percentage "
                   "points: a negative result, and a valid one.")
    else:
        verdict = (f"Transfer learning performed **about the same** as the Week 3 SimpleCNN ({100 * diff:+.2f} "
                   f"points: within two of the {n_val} validation samples, which is noise).")
    collapse = r.collapse
    base = metrics.week3_baseline
    week3_row = (f"{_pct(week3) if week3 is not None else 'n/a'} | {_f1(base.get('macro_f1'))} | "
                 f"{base.get('collapse_verdict', 'n/a')}")
    text = f"""# Phase 4A: ResNet-50 transfer learning vs the Week 3 SimpleCNN

Same dataset (Week 3: {metrics.split.get('n_train', '?')} training / {metrics.split.get('n_val', '?')} validation
patches of 8x8x6), same split ({metrics.split.get('method', '')}).
{_pretrained_note(metrics.pretrained)}
| model | validation accuracy | macro F1 | collapse verdict |
|---|---|---|---|
| Week 3 SimpleCNN | {week3_row} |
| ResNet-50 ({metrics.recipe['name']} recipe) | {_pct(r.accuracy)} | {r.macro_f1:.3f} | {collapse['verdict']} |

{verdict}

## Setup
- Adapter: `{metrics.recipe['adapter']}`; input handling: `{metrics.recipe['input_handling']}`;
  BatchNorm in inference mode: {metrics.recipe['bn_inference']}; learning rate {metrics.recipe['learning_rate']:g}.
- Frozen: {metrics.freeze.get('summary', '')}.
- Trained {r.training['epochs_run']} epoch(s), best epoch {r.training['best_epoch']}.

## Collapse check
{chr(10).join('- ' + reason for reason in collapse['reasons']) or '- no collapse signal fired'}

## Per-class recall
{_recall_table([r])}
## Why (hypotheses to test next)
- Frozen fraction {100 * metrics.freeze.get('layer_fraction', 0):.1f} % of layers
  ({100 * metrics.freeze.get('param_fraction', 0):.1f} % of parameters): above ~80 % the head cannot adapt.
- 8x8 patches upsampled to 32x32 carry no detail ImageNet filters respond to.
- ImageNet features come from RGB photographs, not six-band surface reflectance.
"""
    return _write(path, text)


def baseline_report(ablation: AblationStudy, metrics4a: Phase4AMetrics | None, config_path: str, path: Path) -> Path:
    """``reports/baseline_report.md``: methods, results, failures and next steps of the baseline pipeline."""
    rows = "\n".join(f"| {r.name} | {len(r.bands)} | {_pct(r.accuracy)} | {r.macro_f1:.3f} | {r.collapse['verdict']} |"
                     for r in ablation.configurations)
    s2 = ablation.result("S2").accuracy
    gains = {r.name: r.accuracy - s2 for r in ablation.configurations if r.name != "S2"}
    best_gain = max(gains, key=gains.get)
    failures = [f"- {r.name}: {r.collapse['verdict']} ({'; '.join(r.collapse['reasons'][:2])})"
                for r in ablation.configurations if r.collapse["verdict"] != "healthy"]
    failures += [f"- {r.name}: never recognises {', '.join(r.collapse['zero_recall_classes'])} (recall 0)"
                 for r in ablation.configurations
                 if r.collapse["verdict"] == "healthy" and r.collapse.get("zero_recall_classes")]
    if metrics4a is not None and metrics4a.result.collapse["verdict"] != "healthy":
        failures.append(f"- Phase 4A ResNet-50: {metrics4a.result.collapse['verdict']}")
    text = f"""# Baseline pipeline report (Phases 4A-4B)

## Methods
- Data: Sentinel-2 L2A (B2 B3 B4 B8 B11 B12), MODIS MOD13Q1 NDVI and SRTM elevation, aligned onto the
  Sentinel-2 10 m grid (bilinear), stacked as [B2, B3, B4, B8, B11, B12, MODIS_NDVI, DEM].
- Quality control: NaN / nodata and per-band value ranges; alignment verified at sampled pixel centres.
- Samples: 8x8 patches at the Week 3 sample locations; split {ablation.split.get('method', '')}.
- Model: {ablation.model}; every configuration trained with the same split, seed and settings.
- Parameters: see `{config_path}` (enough to re-run).
{_pretrained_note(ablation.pretrained)}
## Results
| configuration | bands | validation accuracy | macro F1 | collapse verdict |
|---|---|---|---|---|
{rows}

Best configuration: **{ablation.best_configuration}**. Largest gain over Sentinel-2 alone: **{best_gain}**
({100 * gains[best_gain]:+.2f} points); S2+DEM {100 * gains.get('S2+DEM', 0):+.2f}, S2+MODIS
{100 * gains.get('S2+MODIS', 0):+.2f}, Full {100 * gains.get('Full', 0):+.2f}.

## Per-class recall
{_recall_table(ablation.configurations)}
## Failures
{chr(10).join(failures) if failures else '- No configuration collapsed or missed a class entirely.'}

## Next steps
- More labelled samples (500-1,000 for 8 bands) before judging fusion.
- Larger native patches (32x32) instead of upsampling 8x8.
- Late (decision-level) fusion of a DEM branch instead of stacking all bands at the input.
- Less freezing (50-70 %) or training from scratch when transfer underperforms.
"""
    return _write(path, text)


def phase4c_report(study: AblationStudy, resnet: AblationStudy | None, path: Path) -> Path:
    """``reports/phase4c_report.md``: the SimpleCNN ablation narrative with conclusions and next steps."""
    ordered = sorted(study.configurations, key=lambda r: r.accuracy, reverse=True)
    rows = "\n".join(f"| {r.name} | {len(r.bands)} | {_pct(r.accuracy)} | {r.macro_f1:.3f} | {r.collapse['verdict']} |"
                     for r in study.configurations)
    s2 = study.result("S2").accuracy
    dem, modis, full = (study.result(n).accuracy - s2 for n in ("S2+DEM", "S2+MODIS", "Full"))
    dem_vs_modis = ("DEM helped more than MODIS" if dem > modis else
                    "MODIS helped at least as much as DEM" if modis > dem else "DEM and MODIS helped equally")
    comparison = ""
    if resnet is not None:
        comparison = ("\n## SimpleCNN vs ResNet-50 (same configurations)\n"
                      "| configuration | SimpleCNN | ResNet-50 |\n|---|---|---|\n")
        comparison += "\n".join(f"| {r.name} | {_pct(r.accuracy)} | {_pct(resnet.result(r.name).accuracy)} |"
                                for r in study.configurations) + "\n"
    text = f"""# Phase 4C: SimpleCNN + multi-sensor fusion (ablation)

SimpleCNN trained from scratch (Adam, lr 1e-3, batch 32, early stopping) on each band configuration,
same split and seed ({study.split.get('method', '')}).

| configuration | bands | validation accuracy | macro F1 | collapse verdict |
|---|---|---|---|---|
{rows}

Ranking: {' > '.join(f'{r.name} ({_pct(r.accuracy)})' for r in ordered)}.

## Conclusions
- Against Sentinel-2 alone: S2+DEM {100 * dem:+.2f} points, S2+MODIS {100 * modis:+.2f}, Full {100 * full:+.2f}.
- {dem_vs_modis}: the exercise expected DEM > MODIS, because 250 m MODIS upsampled to 10 m holds at most one
  or four values per 8x8 patch, while 30 m SRTM holds about nine posts.
- Full fusion {'beat' if full > max(dem, modis) else 'did not beat'} the best single added sensor.
{comparison}
## Per-class recall
{_recall_table(study.configurations)}
## Next steps
- Repeat with several seeds and report the spread before trusting differences of a few points.
- Collect more samples per class; try late fusion of the DEM.
"""
    return _write(path, text)


def log_experiment(path: Path, phase: str, decision: str, hypothesis: str, result: str, next_step: str) -> Path:
    """Append one entry to the experiment log (Markdown)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a") as f:
        if new:
            f.write("# Experiment log\n\n")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        f.write(f"## {stamp} - Phase {phase}\n- Decision: {decision}\n- Hypothesis: {hypothesis}\n"
                f"- Result: {result}\n- Next step: {next_step}\n\n")
    return path
