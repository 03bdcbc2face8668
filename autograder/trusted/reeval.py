"""Trusted ``*_model_reeval``: the submitted models re-evaluated by the grader on data they never saw.

The models of one phase run in ONE sandbox call (:func:`autograder.trusted.sandbox.predict_in_sandbox`):
the sandbox receives the hidden patches and the release's validation patches but never their labels;
the grader scores the predictions here (:mod:`geoai_ref.evaluation`, :mod:`geoai_ref.collapse`).

Input convention (the 4A notebook's contract), :class:`Convention`: a model whose layers include a
Keras ``Normalization`` layer receives raw patches (physical units); any other model receives patches
standardised per band with the TRAINING set's statistics (fixtures ``X_train`` for the six Sentinel-2
bands, the reference ``X_train_fused`` for fused bands). Students who followed the exercise's recipe
used ImageNet ``preprocess_input`` instead: both are evaluated, and the student is judged by the one
that reproduces the accuracy they reported (the contract when neither or both do).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

import numpy as np

from autograder.trusted.reference import grader_data, inside_snapshot
from autograder.trusted.reported import metric_tolerance, number, read_reported, reported_result
from autograder.trusted.result import TrustedResult
from autograder.trusted.sandbox import ModelOutcome, SandboxError, SandboxLimits, isolation, predict_in_sandbox
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.bands import FUSED_BANDS, S2_BANDS, band_indices
from geoai_ref.classes import NUM_CLASSES
from geoai_ref.collapse import detect_collapse
from geoai_ref.deliverables import inspect_h5_model
from geoai_ref.evaluation import EvaluationMetrics, evaluate
from geoai_ref.phase import Phase

#: Keras' ImageNet "caffe" preprocessing (keras.applications.resnet.preprocess_input): channels reversed,
#: then these BGR means subtracted from the first three channels. Restated in NumPy so that the grader's
#: own process never imports TensorFlow; tests/autograder/trusted/test_trusted_conventions.py checks it
#: against Keras.
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)


class Convention(StrEnum):
    """How a model expects its input patches."""

    RAW = "raw"  # physical units: the model normalises inside (a Normalization layer)
    PER_BAND = "per_band"  # standardised per band with the training statistics: the notebooks' contract
    IMAGENET = "imagenet"  # keras.applications.resnet.preprocess_input on the raw patches: the exercise's recipe

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Convention.RAW: "raw patches (the model has a Normalization layer)",
    Convention.PER_BAND: "standardised per band with the training set's statistics (the notebook's contract)",
    Convention.IMAGENET: "ImageNet preprocess_input on the raw patches (the exercise's recipe), because the "
                         "student's reported figures match it",
}


class Split(StrEnum):
    """The patch sets every model is judged on: the hidden scene, and the release's validation patches."""

    HIDDEN = "hidden"
    VALIDATION = "validation"


class InputSet(NamedTuple):
    """One array sent to the sandbox: a split prepared by a convention."""

    split: Split
    convention: Convention

    def __str__(self) -> str:
        return f"{self.split} patches ({self.convention})"


@dataclass
class SubmittedModel:
    """One submitted model to re-evaluate, and what came of it."""

    configuration: str | None  # a name of geoai_ref.ablation.BAND_SUBSETS; None: from the band count
    rel: Path
    error: str | None = None
    flags: set[str] = field(default_factory=set)
    evidence: dict = field(default_factory=dict)
    hidden: EvaluationMetrics | None = None
    validation: EvaluationMetrics | None = None
    collapsed: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.validation is not None

    def fail(self, message: str, flag: str = "model-unloadable") -> None:
        self.error = message
        self.flags.add(flag)


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """``others`` standardised per band with ``train``'s mean and std (the 4A notebook's normalise_per_band)."""
    axes = tuple(range(train.ndim - 1))
    mean = train.mean(axis=axes, dtype=np.float64)
    std = train.std(axis=axes, dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    return [((x - mean) / std).astype(np.float32) for x in others]


def imagenet_preprocess(x: np.ndarray) -> np.ndarray:
    """``keras.applications.resnet.preprocess_input(x)`` (mode "caffe") for any number of channels."""
    out = np.asarray(x, dtype=np.float32)[..., ::-1].copy()
    for channel, mean in enumerate(IMAGENET_BGR_MEAN[: out.shape[-1]]):
        out[..., channel] -= mean
    return out


def _inputs(model: SubmittedModel, path: Path) -> dict[InputSet, np.ndarray] | None:
    """The hidden and validation inputs for ``model`` in each convention it may expect, or None (with the
    model failed) if it cannot run on the grader's patches."""
    try:
        summary = inspect_h5_model(path)
    except Exception as exc:  # noqa: BLE001 - malformed files fail this model only
        text = str(exc).replace(str(path), str(model.rel))
        model.fail(text if str(model.rel) in text else f"{model.rel}: {text}")
        return None
    shape = tuple(summary.input_shape)
    if len(shape) != 4 or tuple(shape[1:3]) != (8, 8) or not isinstance(shape[3], int):
        model.fail(f"{model.rel} takes inputs of shape {shape}; it must take (None, 8, 8, bands) patches")
        return None
    n_bands = shape[3]
    if model.configuration is None:
        model.configuration = {len(S2_BANDS): "S2", len(FUSED_BANDS): "Full"}.get(n_bands)
        if model.configuration is None:
            model.fail(f"{model.rel} takes {n_bands} bands; it must take the {len(S2_BANDS)} Sentinel-2 bands or "
                       f"all {len(FUSED_BANDS)} fused bands")
            return None
    bands = BAND_SUBSETS[model.configuration]
    if n_bands != len(bands):
        model.fail(f"{model.rel} takes {n_bands} bands, but the {model.configuration} configuration has "
                   f"{len(bands)} ({', '.join(bands)})")
        return None
    data = grader_data()
    idx = band_indices(bands)
    hidden = data.x_hidden[..., idx]
    s2_only = tuple(bands) == S2_BANDS
    val = data.x_val_s2 if s2_only else data.x_val_fused[..., idx]
    normalization_layer = "Normalization" in summary.layer_classes
    model.evidence.update(configuration=model.configuration, bands=list(bands), normalization_layer=normalization_layer)
    if normalization_layer:
        model.evidence["input"] = Convention.RAW.description
        return {InputSet(Split.HIDDEN, Convention.RAW): np.asarray(hidden, dtype=np.float32),
                InputSet(Split.VALIDATION, Convention.RAW): np.asarray(val, dtype=np.float32)}
    train = data.x_train_s2 if s2_only else data.x_train_fused[..., idx]
    std_hidden, std_val = standardise(train, hidden, val)
    return {InputSet(Split.HIDDEN, Convention.PER_BAND): std_hidden,
            InputSet(Split.VALIDATION, Convention.PER_BAND): std_val,
            InputSet(Split.HIDDEN, Convention.IMAGENET): imagenet_preprocess(hidden),
            InputSet(Split.VALIDATION, Convention.IMAGENET): imagenet_preprocess(val)}


def _choose_convention(model: SubmittedModel, by_convention: dict[Convention, dict[Split, np.ndarray]],
                       reported_accuracy: float | None) -> Convention:
    """The convention to judge ``model`` by: the contract, unless only the ImageNet one reproduces the
    accuracy the student reported (then the student is judged by what they actually did)."""
    if len(by_convention) == 1:
        return next(iter(by_convention))
    y_val = grader_data().y_val
    accuracy = {convention: float(np.mean(np.argmax(p[Split.VALIDATION], axis=1) == y_val))
                for convention, p in by_convention.items()}
    model.evidence["validation_accuracy_by_input"] = {str(c): a for c, a in accuracy.items()}
    tol = metric_tolerance(len(y_val))
    if reported_accuracy is not None and abs(accuracy[Convention.PER_BAND] - reported_accuracy) > tol + 1e-9 \
            and abs(accuracy[Convention.IMAGENET] - reported_accuracy) <= tol + 1e-9:
        return Convention.IMAGENET
    return Convention.PER_BAND


def _score(model: SubmittedModel, predictions: dict[InputSet, np.ndarray], reported_accuracy: float | None) -> None:
    """Metrics and the collapse verdict of ``model`` on both splits, in the convention it is judged by."""
    data = grader_data()
    by_convention: dict[Convention, dict[Split, np.ndarray]] = {}
    for key, p in predictions.items():
        by_convention.setdefault(key.convention, {})[key.split] = p
    for p in predictions.values():
        if p.shape[1] != NUM_CLASSES:
            model.fail(f"{model.rel} outputs {p.shape[1]} values per patch; it must output {NUM_CLASSES} classes")
            return
    chosen = _choose_convention(model, by_convention, reported_accuracy)
    if not model.evidence.get("normalization_layer"):
        model.evidence["input"] = chosen.description
        model.evidence["input_convention"] = str(chosen)
    for split, y in ((Split.HIDDEN, data.y_hidden), (Split.VALIDATION, data.y_val)):
        p = by_convention[chosen][split]
        metrics = evaluate(y, p)
        collapse = detect_collapse(y, p)
        setattr(model, split.value, metrics)
        model.evidence[split.value] = {
            **metrics.to_dict(),
            "collapse": {"verdict": collapse.verdict, "collapsed": collapse.collapsed,
                         "majority_class": collapse.majority_class_name, "majority_share": collapse.majority_share,
                         "reasons": collapse.reasons},
        }
        if collapse.collapsed:
            model.collapsed = True
            model.flags.add("collapse")


def reevaluate(snapshot: Path, models: list[SubmittedModel], limits: SandboxLimits,
               reported: dict[Path, float | None]) -> float | None:
    """Run every model of ``models`` in ONE sandbox call and score it; fills in each SubmittedModel.

    ``reported`` maps a model's path to the validation accuracy its student reported (it decides the input
    convention, see the module docs). Returns the seconds the sandbox call took, or None when no model could
    be sent to it.
    """
    paths: dict[str, Path] = {}
    inputs: dict[str, dict[InputSet, np.ndarray]] = {}
    for m in models:
        path = inside_snapshot(snapshot, m.rel)
        if path is None:
            m.fail(f"{m.rel} is missing: save the trained model there with model.save('{m.rel}')",
                   "missing-deliverable")
            continue
        prepared = _inputs(m, path)
        if prepared is not None:
            paths[str(m.rel)] = path
            inputs[str(m.rel)] = prepared
    if not paths:
        return None
    start = time.monotonic()
    try:
        outcomes = predict_in_sandbox(paths, inputs, limits)
    except SandboxError as exc:
        outcomes = {key: ModelOutcome(failure=exc.failure) for key in paths}
    seconds = time.monotonic() - start
    for m in models:
        outcome = outcomes.get(str(m.rel))
        if outcome is None:
            continue
        if outcome.failure is not None:
            m.fail(f"{m.rel}: {outcome.failure}")
            m.evidence["sandbox_error"] = outcome.failure.kind
        else:
            _score(m, outcome.predictions, reported.get(m.rel))
    return seconds


def _line(m: SubmittedModel) -> str:
    """One model's re-evaluation for the report: its scores, and what collapse means for it."""
    if m.error:
        return m.error
    if m.hidden is None or m.validation is None:
        return ""
    h, v = m.evidence["hidden"]["collapse"], m.evidence["validation"]["collapse"]
    line = (f"{m.rel}: accuracy {m.hidden.accuracy:.3f} / macro F1 {m.hidden.macro_f1:.3f} on "
            f"{m.hidden.n_samples} hidden patches, accuracy {m.validation.accuracy:.3f} on the "
            f"{m.validation.n_samples} validation patches")
    if m.collapsed:
        worst, where = (h, "hidden") if h["collapsed"] else (v, "validation")
        line += (f"; COLLAPSED on the {where} patches: {100 * worst['majority_share']:.0f} % predicted "
                 f"{worst['majority_class']} ({'; '.join(worst['reasons'][:1])}). Check the input "
                 "normalisation, the learning rate and the freeze ratio, then retrain")
    elif "partial collapse" in (h["verdict"], v["verdict"]):
        line += "; partial collapse (some classes never predicted): look at the per-class recall"
    return line


def reeval_result(check_id: str, phase: Phase, models: list[SubmittedModel], seconds: float | None) -> TrustedResult:
    """The re-evaluation check: passed when every model ran and none collapsed."""
    flags = set().union(*(m.flags for m in models)) if models else set()
    passed = all(m.ok and not m.collapsed for m in models)
    evidence = {"models": {str(m.rel): m.evidence | ({"error": m.error} if m.error else {}) for m in models},
                "sandbox_seconds": None if seconds is None else round(seconds, 2), "sandbox_isolation": isolation()}
    message = "; ".join(line for line in map(_line, models) if line)
    return TrustedResult(check_id, phase, passed, message, evidence, sorted(flags))


class PhaseModels:
    """The models of one phase, run in the sandbox once, on first use by either check that needs them."""

    def __init__(self, snapshot: Path, models: dict[str, SubmittedModel], limits: SandboxLimits,
                 metrics: tuple[Path, type]) -> None:
        self.snapshot, self.models, self.limits, self.metrics = snapshot, models, limits, metrics
        self._done = False
        self.seconds: float | None = None

    def run(self) -> list[SubmittedModel]:
        if not self._done:
            self._done = True
            self.seconds = reevaluate(self.snapshot, list(self.models.values()), self.limits,
                                      self._reported_accuracy())
        return list(self.models.values())

    def _reported_accuracy(self) -> dict[Path, float | None]:
        """model path -> the validation accuracy the student reported for it (None if unreadable)."""
        data, _ = read_reported(self.snapshot, *self.metrics)
        reported: dict[Path, float | None] = {}
        for name, m in self.models.items():
            result = reported_result(data, name)
            reported[m.rel] = number(result.accuracy) if result is not None else None
        return reported

    def evaluated(self) -> list[tuple[str, SubmittedModel]]:
        """(configuration name, model) pairs, each model re-evaluated."""
        self.run()
        return list(self.models.items())

    def reeval(self, check_id: str, phase: Phase) -> TrustedResult:
        return reeval_result(check_id, phase, self.run(), self.seconds)
