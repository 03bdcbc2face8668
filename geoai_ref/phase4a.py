"""Phase 4A: ResNet-50 transfer learning on the six Sentinel-2 bands, compared with Week 3.

Writes the phase's deliverables under ``out`` (paths in :mod:`geoai_ref.layout`).
"""

from __future__ import annotations

from pathlib import Path

from geoai_ref import layout, plots, reports
from geoai_ref.collapse import detect_collapse
from geoai_ref.course import to_reflectance
from geoai_ref.evaluation import evaluate
from geoai_ref.experiment import Dataset, fit_and_evaluate, load_week3
from geoai_ref.models import keras
from geoai_ref.models.resnet import FreezeReport, ResNetBuild, build_resnet50
from geoai_ref.phase import Phase
from geoai_ref.recipes import RECOMMENDED_RECIPE, Profile, ResNetRecipe
from geoai_ref.schemas import ModelResult, Phase4AMetrics, write_json
from geoai_ref.training import TrainConfig, predict_labels


def check_input_handling(recipe: ResNetRecipe) -> None:
    """The model takes the raw patches either way; the recipe says what it does with them first.

    ``imagenet_preprocess`` reproduces the exercise's mistake inside the model as the course's code made it:
    the stored values scaled to reflectance (digital numbers / 10000), then Keras' caffe-style
    ``preprocess_input``, which reverses the channel order and subtracts ImageNet means (~100-124) from three of
    the reflectance channels (values 0-1), leaving the others untouched.

    Raises:
        ValueError: for an input handling other than "per_band" and "imagenet_preprocess".
    """
    if recipe.input_handling not in ("per_band", "imagenet_preprocess"):
        raise ValueError(f"unknown input handling {recipe.input_handling!r}; use 'per_band' or 'imagenet_preprocess'")


def week3_baseline(data_root: Path, data: Dataset) -> dict:
    """The Week 3 SimpleCNN re-evaluated on the same validation set (the apples-to-apples baseline), its input
    scaled as the course scaled it: stored values / ``COURSE.s2_scale`` (reflectance), outside the model."""
    path = Path(data_root) / layout.WEEK3_MODEL
    if not path.exists():
        return {"val_accuracy": None, "source": f"{path} not found"}
    model = keras.models.load_model(path, compile=False)
    y_pred = predict_labels(model, to_reflectance(data.x_val))
    metrics = evaluate(data.y_val, y_pred)
    return {"val_accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1,
            "collapse_verdict": detect_collapse(data.y_val, y_pred).verdict, "source": str(path)}


def train_resnet(name: str, data: Dataset, recipe: ResNetRecipe, profile: Profile, weights: str | Path | None,
                 allow_random_init: bool, seed: int,
                 checkpoint: Path | None = None) -> tuple[ModelResult, ResNetBuild, FreezeReport]:
    """Build, freeze, train and evaluate a ResNet-50 on ``data``.

    Raises:
        PretrainedWeightsUnavailable: if ImageNet weights are missing and ``allow_random_init`` is False.
        ValueError: if the data do not fit the model (shapes, NaN, labels).
    """
    check_input_handling(recipe)
    build = build_resnet50(len(data.bands), data.x_train, adapter=recipe.adapter, weights=weights,
                           allow_random_init=allow_random_init, normalize=recipe.input_handling == "per_band",
                           imagenet_preprocess=recipe.input_handling == "imagenet_preprocess",
                           input_scale=1.0 / data.stored_scale,
                           bn_inference=recipe.bn_inference, dropout=recipe.dropout, seed=seed)
    freeze = build.freeze(n_layers=recipe.freeze_layers, ratio=recipe.freeze_ratio)  # BN kept frozen if bn_inference
    config = TrainConfig.from_profile(profile, recipe.learning_rate, seed)
    result = fit_and_evaluate(name, build.model, data, config, checkpoint)
    return result, build, freeze


def run_phase4a(data_root: Path, out: Path, profile: Profile, recipe: ResNetRecipe = RECOMMENDED_RECIPE,
                weights: str | Path | None = "imagenet", allow_random_init: bool = False,
                seed: int = 42) -> Phase4AMetrics:
    """Train the Phase 4A transfer model and write its five deliverables.

    Raises:
        FileNotFoundError: if the Week 3 data are missing.
        PretrainedWeightsUnavailable: if ImageNet weights are missing and ``allow_random_init`` is False.
    """
    out = Path(out)
    data = load_week3(data_root)
    result, build, freeze = train_resnet("phase4a_transfer_model", data, recipe, profile, weights,
                                         allow_random_init, seed, checkpoint=out / layout.PHASE4A_MODEL)
    metrics = Phase4AMetrics(
        phase=Phase.A.label, model=f"ResNet-50 ({recipe.adapter}), 8x8 upsampled to 32x32", recipe=recipe.to_dict(),
        pretrained=build.pretrained, weights_source=build.weights_source, freeze=freeze.to_dict() | {
            "summary": freeze.summary}, result=result, week3_baseline=week3_baseline(data_root, data),
        split=data.split_info())
    write_json(out / layout.PHASE4A_METRICS, metrics)
    plots.training_curves(result.training["history"], f"Phase 4A: ResNet-50 ({recipe.name} recipe), S2 6 bands",
                          out / layout.PHASE4A_CURVES)
    plots.confusion_matrix_figure(result.evaluation["confusion_matrix"],
                                  f"Phase 4A: ResNet-50, accuracy {100 * result.accuracy:.1f} %",
                                  out / layout.PHASE4A_CONFUSION)
    reports.phase4a_comparison(metrics, out / layout.PHASE4A_COMPARISON)
    week3 = metrics.week3_baseline.get("val_accuracy")
    reports.log_experiment(
        out / layout.EXPERIMENT_LOG, Phase.A.label,
        f"ResNet-50 with the {recipe.name} recipe ({freeze.summary}), pretrained={build.pretrained}",
        "ImageNet features transfer to 6-band reflectance if the head can adapt",
        f"accuracy {100 * result.accuracy:.2f} % vs Week 3 {'n/a' if week3 is None else f'{100 * week3:.2f} %'}; "
        f"collapse verdict: {result.collapse['verdict']}",
        "freeze less / train from scratch if transfer underperforms")
    return metrics

