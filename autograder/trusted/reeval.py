"""Trusted ``*_model_reeval``: the submitted models re-evaluated by the grader on data they never saw.

The models of one phase run in ONE sandbox call (:func:`autograder.trusted.sandbox.predict_in_sandbox`):
the sandbox receives the hidden patches and the release's validation patches but never their labels;
the grader scores the predictions here (:mod:`geoai_ref.evaluation`, :mod:`geoai_ref.collapse`).

Every model receives the patches exactly as the release ships them: the Phase 4A model the Week 3 patches in
the course's stored units (Sentinel-2 digital numbers; the hidden patches converted to them), the fused models
physical units (reflectance, NDVI, metres). A submitted model is self-contained and carries its own
preprocessing (the notebooks say so, and a visible test checks it). The grader never guesses an input
convention, so a model that expects patches prepared outside it fails here as it would for any user of the
file, and the metrics check then shows that the student's own file disagrees with the student's own report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from autograder.authoring.release_data import ReleaseData
from autograder.trusted.reference import grader_data, inside_snapshot
from autograder.trusted.result import TrustedResult
from autograder.trusted.sandbox import ModelOutcome, SandboxError, SandboxLimits, isolation, predict_in_sandbox
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.bands import FUSED_BANDS, S2_BANDS, band_indices
from geoai_ref.classes import NUM_CLASSES
from geoai_ref.collapse import detect_collapse
from geoai_ref.course import to_stored
from geoai_ref.deliverables import inspect_h5_model
from geoai_ref.evaluation import EvaluationMetrics, evaluate
from geoai_ref.phase import Phase

#: What every model is fed, as the re-evaluation's evidence says.
RAW_INPUT = "raw patches, as the release ships them (the model carries its own preprocessing)"


class Split(StrEnum):
    """The patch sets every model is judged on: the hidden scene, and the release's validation patches."""

    HIDDEN = "hidden"
    VALIDATION = "validation"


@dataclass
class SubmittedModel:
    """One submitted model to re-evaluate, and what came of it."""

    configuration: str | None  # a name of geoai_ref.ablation.BAND_SUBSETS; None: from the band count
    rel: Path
    week3_input: bool = False  # takes the Week 3 patches as stored (Phase 4A), not the fused ones
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


def _inputs(model: SubmittedModel, path: Path, release: ReleaseData) -> dict[Split, np.ndarray] | None:
    """The raw hidden and validation patches of ``model``'s bands, or None (with the model failed) if it cannot
    run on the grader's patches."""
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
    data = grader_data(release)
    idx = band_indices(bands)
    model.evidence.update(configuration=model.configuration, bands=list(bands), input=RAW_INPUT,
                          normalization_layer="Normalization" in summary.layer_classes)
    x_val, _ = data.validation(model.week3_input)
    if model.week3_input:  # the Week 3 patches' units: stored Sentinel-2 values (COURSE.s2_scale x reflectance)
        return {Split.HIDDEN: to_stored(data.x_hidden[..., idx]), Split.VALIDATION: np.asarray(x_val, np.float32)}
    return {Split.HIDDEN: np.asarray(data.x_hidden[..., idx], dtype=np.float32),
            Split.VALIDATION: np.asarray(x_val[..., idx], dtype=np.float32)}


def _score(model: SubmittedModel, predictions: dict[Split, np.ndarray], release: ReleaseData) -> None:
    """Metrics and the collapse verdict of ``model`` on both splits."""
    data = grader_data(release)
    for p in predictions.values():
        if p.shape[1] != NUM_CLASSES:
            model.fail(f"{model.rel} outputs {p.shape[1]} values per patch; it must output {NUM_CLASSES} classes")
            return
    for split, y in ((Split.HIDDEN, data.y_hidden), (Split.VALIDATION, data.validation(model.week3_input)[1])):
        p = predictions[split]
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
               release: ReleaseData) -> float | None:
    """Run every model of ``models`` in ONE sandbox call on ``release``'s validation patches and the hidden ones,
    and score it; fills in each SubmittedModel.

    Returns the seconds the sandbox call took, or None when no model could be sent to it.
    """
    paths: dict[str, Path] = {}
    inputs: dict[str, dict[Split, np.ndarray]] = {}
    for m in models:
        path = inside_snapshot(snapshot, m.rel)
        if path is None:
            m.fail(f"{m.rel} is missing: save the trained model there with model.save('{m.rel}')",
                   "missing-deliverable")
            continue
        prepared = _inputs(m, path, release)
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
            _score(m, outcome.predictions, release)
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
                 f"{worst['majority_class']} ({'; '.join(worst['reasons'][:1])}). The model is fed the raw "
                 "patches: check that its normalisation is inside it, then the learning rate and the freeze ratio")
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
                 release: ReleaseData) -> None:
        self.snapshot, self.models, self.limits, self.release = snapshot, models, limits, release
        self._done = False
        self.seconds: float | None = None

    def run(self) -> list[SubmittedModel]:
        if not self._done:
            self._done = True
            self.seconds = reevaluate(self.snapshot, list(self.models.values()), self.limits, self.release)
        return list(self.models.values())

    def evaluated(self) -> list[tuple[str, SubmittedModel]]:
        """(configuration name, model) pairs, each model re-evaluated."""
        self.run()
        return list(self.models.items())

    def reeval(self, check_id: str, phase: Phase) -> TrustedResult:
        return reeval_result(check_id, phase, self.run(), self.seconds)
