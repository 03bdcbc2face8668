"""Trusted checks: what the grader verifies itself on a submission's snapshot, without trusting student code.

Nothing that runs in the student's kernel can be trusted (student code runs there first, with the same rights),
so every hidden check is one of these. They run in the grader's process on the snapshot of the submitted files;
student functions only in a jailed probe process, submitted models only in the sandbox, once per phase. Per
phase, in :data:`TRUSTED_CHECKS` order:

- ``*_probe`` (:mod:`autograder.probes`): hidden checks of the student's functions, called in one jailed
  process per phase and judged here from the plain data they returned;
- ``*_trusted`` (:mod:`~autograder.trusted.submitted`): the hidden checks of the submitted files (reports,
  metrics, config, figures), run here;
- ``*_files`` (:mod:`~autograder.trusted.files`): the phase's deliverables, statically;
- ``4b_fused_trusted`` (:mod:`~autograder.trusted.fused`): the fused arrays' shape, values, band order
  (against the reference fused patches) and resampling;
- ``*_model_reeval`` (:mod:`~autograder.trusted.reeval`): the submitted model(s) predict the hidden
  patches (labels stay here) and the release's validation patches; trusted code scores them and
  looks for collapse;
- ``*_metrics_match`` (:mod:`~autograder.trusted.metrics_match`): the figures the student reported
  against the ones recomputed on the same validation patches.

Every finding of a student's file becomes a failed :class:`TrustedResult` whose message says what is
wrong and what to do.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from pathlib import Path

from autograder.authoring.notebooks import PHASES
from autograder.authoring.release_data import KIT_DATA, ReleaseData
from autograder.probes.catalog import PROBES
from autograder.probes.run import run_probes
from autograder.trusted.files import files_check
from autograder.trusted.fused import fused_check
from autograder.trusted.metrics_match import metrics_match
from autograder.trusted.reeval import PhaseModels, SubmittedModel
from autograder.trusted.reference import grader_data
from autograder.trusted.result import TrustedResult
from autograder.trusted.sandbox import SandboxLimits
from autograder.trusted.submitted import submitted_checks
from geoai_ref import layout
from geoai_ref.phase import Phase
from geoai_ref.schemas import AblationStudy, Phase4AMetrics

Checks = dict[str, Callable[[], TrustedResult]]

#: Phase 4B's deliverables in its two file checks (the fused arrays have a check of their own).
PHASE4B_ABLATION_FILES = (layout.PHASE4B_ABLATION, layout.PHASE4B_SENSOR_FIGURE, layout.PHASE4B_MODEL)
PHASE4B_REPORT_FILES = (layout.CONFIG, layout.BASELINE_REPORT)


class PhaseProbes:
    """The probes of one phase (:data:`autograder.probes.catalog.PROBES`), run in one process on first use."""

    def __init__(self, snapshot: Path, phase: Phase, jailed: bool) -> None:
        self.snapshot, self.phase, self.jailed = snapshot, phase, jailed
        self._results: dict[str, TrustedResult] | None = None

    def checks(self) -> Checks:
        return {probe.result_id: functools.partial(self.result, probe.result_id) for probe in PROBES[self.phase]}

    def result(self, result_id: str) -> TrustedResult:
        if self._results is None:
            notebook = self.snapshot / PHASES[self.phase].ipynb.name
            self._results = {r.id: r for r in run_probes(notebook, self.phase, PROBES[self.phase],
                                                         jailed=self.jailed)}
        return self._results[result_id]


def _phase4a(snapshot: Path, limits: SandboxLimits, release: ReleaseData) -> Checks:
    metrics = (layout.PHASE4A_METRICS, Phase4AMetrics)
    models = PhaseModels(snapshot, {"result": SubmittedModel(None, layout.PHASE4A_MODEL, week3_input=True)}, limits,
                         release)
    return {"4a_files": lambda: files_check("4a_files", Phase.A, snapshot, layout.DELIVERABLES[Phase.A]),
            "4a_model_reeval": lambda: models.reeval("4a_model_reeval", Phase.A),
            "4a_metrics_match": lambda: metrics_match("4a_metrics_match", Phase.A, snapshot, *metrics,
                                                      models.evaluated(), release)}


def _phase4b(snapshot: Path, limits: SandboxLimits, release: ReleaseData) -> Checks:
    metrics = (layout.PHASE4B_ABLATION, AblationStudy)
    models = PhaseModels(snapshot, {"Full": SubmittedModel(None, layout.PHASE4B_MODEL)}, limits, release)
    return {"4b_fused_trusted": lambda: fused_check("4b_fused_trusted", Phase.B, snapshot, release),
            "4b_ablation_files": lambda: files_check("4b_ablation_files", Phase.B, snapshot, PHASE4B_ABLATION_FILES),
            "4b_report_files": lambda: files_check("4b_report_files", Phase.B, snapshot, PHASE4B_REPORT_FILES),
            "4b_model_reeval": lambda: models.reeval("4b_model_reeval", Phase.B),
            "4b_metrics_match": lambda: metrics_match("4b_metrics_match", Phase.B, snapshot, *metrics,
                                                      models.evaluated(), release)}


def _phase4c(snapshot: Path, limits: SandboxLimits, release: ReleaseData) -> Checks:
    metrics = (layout.PHASE4C_RESULTS, AblationStudy)
    submitted = {name: SubmittedModel(name, rel) for name, rel in layout.PHASE4C_MODEL_FILES.items()}
    models = PhaseModels(snapshot, submitted, limits, release)
    return {"4c_files": lambda: files_check("4c_files", Phase.C, snapshot, layout.DELIVERABLES[Phase.C]),
            "4c_models_reeval": lambda: models.reeval("4c_models_reeval", Phase.C),
            "4c_metrics_match": lambda: metrics_match("4c_metrics_match", Phase.C, snapshot, *metrics,
                                                      models.evaluated(), release)}


_PHASES: dict[Phase, Callable[[Path, SandboxLimits, ReleaseData], Checks]] = {Phase.A: _phase4a, Phase.B: _phase4b,
                                                                 Phase.C: _phase4c}


def _checks(phase: Phase, snapshot: Path, limits: SandboxLimits, jailed: bool, release: ReleaseData) -> Checks:
    """The phase's probes (:data:`autograder.probes.catalog.PROBES`), then its checks of files and models."""
    return {**PhaseProbes(snapshot, phase, jailed).checks(), **submitted_checks(phase, snapshot, release),
            **_PHASES[phase](snapshot, limits, release)}


#: The trusted checks of each phase, in the order they run (rubric.yaml's ``confirmed_by`` names them).
TRUSTED_CHECKS: dict[Phase, tuple[str, ...]] = {phase: tuple(_checks(phase, Path(), SandboxLimits(), True, KIT_DATA))
                                                for phase in _PHASES}


def trusted_checks(phase: Phase | str, snapshot: Path, limits: SandboxLimits | None = None,
                   jailed: bool = True, release: ReleaseData = KIT_DATA) -> list[TrustedResult]:
    """Every trusted check of ``phase`` on a snapshot folder, in :data:`TRUSTED_CHECKS` order, against the data
    the course's release was built on (``release``: :func:`autograder.authoring.release_data.release_data`).

    Never raises for anything a student submitted (missing file, corrupt .h5, NaN arrays, pickled
    .npy, garbage JSON): each becomes a failed TrustedResult with a message. The models of the phase
    are run in one sandbox call, shared by the re-evaluation and metrics checks; the probes in one process, in
    the jail unless ``jailed`` is False (a machine without it, graded with --allow-unjailed).

    Raises:
        ValueError: for an unknown phase (the message lists the known ones).
        FileNotFoundError: if the GRADER's own data (the release's data, hidden data) is missing: run
            `make fixtures`.
    """
    phase = Phase.parse(phase)
    snapshot = Path(snapshot)
    grader_data(release)  # grader data first: its absence is the grader's problem, not the student's
    results = []
    for check_id, check in _checks(phase, snapshot, limits or SandboxLimits(), jailed, release).items():
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - never let one submission crash the grading run
            result = TrustedResult(check_id, phase, False,
                                   f"the grader could not run this check ({type(exc).__name__}: {exc}); "
                                   "ask the instructor to look at the evidence",
                                   {"error": traceback.format_exc(limit=5)})
        results.append(result)
    return results
