"""Trusted ``*_trusted`` checks: the hidden checks of the submitted files, run by the grader on the snapshot.

The checks of :mod:`autograder.checks` that judge files (reports, metrics JSON, config.yaml, figures, models
read statically with h5py) need no student code: the grader runs them itself, in its own process, on the
snapshot of the submission (symbolic links were left out of it at intake). Nothing the student's kernel did
while the notebook ran can change them. :data:`SUBMITTED_CHECKS` says which check of the rubric each one
confirms (``<check id>_trusted``).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path

from autograder.authoring.release_data import ReleaseData
from autograder.checks import phase4a, phase4b, phase4c
from autograder.checks.common import CheckFailed
from autograder.trusted.result import TrustedResult
from geoai_ref.phase import Phase

#: The ids of these results end with this (``4a_stability_trusted``); rubric.yaml names them in ``confirmed_by``.
TRUSTED_SUFFIX = "_trusted"

FileCheck = Callable[[Path, ReleaseData], None]


def _files_only(check: Callable[[Path], None]) -> FileCheck:
    """A check that judges the submitted files alone, whatever data the release was built on."""
    return lambda snapshot, _release: check(snapshot)


#: Per phase: rubric check id -> the check of the submitted files that confirms it (called with the snapshot and
#: the data the release was built on).
SUBMITTED_CHECKS: dict[Phase, dict[str, FileCheck]] = {
    Phase.A: {"4a_week3_baseline": lambda snapshot, release: phase4a.check_week3_reported(snapshot,
                                                                                          release.week3_record),
              "4a_stability": _files_only(phase4a.check_stability),
              "4a_comparison_report": _files_only(phase4a.check_comparison_report)},
    Phase.B: {"4b_fusion_model": _files_only(phase4b.check_fusion_model),
              "4b_ablation_artifacts": _files_only(phase4b.check_ablation_artifacts),
              "4b_config": _files_only(phase4b.check_config),
              "4b_baseline_report": _files_only(phase4b.check_baseline_report)},
    Phase.C: {"4c_results": _files_only(phase4c.check_results),
              "4c_figures": _files_only(phase4c.check_figures),
              "4c_report": _files_only(phase4c.check_report)},
}


def submitted_check(check_id: str, phase: Phase, snapshot: Path, check: FileCheck,
                    release: ReleaseData) -> TrustedResult:
    """``check`` run on ``snapshot``; its :class:`CheckFailed` message (what is wrong, what to do) is the result's.

    Never raises: a file the check cannot even read (bad encoding, a YAML syntax error) fails the check with the
    reason and the traceback kept as evidence.
    """
    result_id = f"{check_id}{TRUSTED_SUFFIX}"
    try:
        check(snapshot, release)
    except CheckFailed as exc:
        return TrustedResult(result_id, phase, False, str(exc), {"judged": "the submitted files, by the grader"})
    except Exception as exc:  # noqa: BLE001 - a malformed student file must never crash the grading run
        return TrustedResult(result_id, phase, False,
                             f"a submitted file could not be read ({type(exc).__name__}: {exc}): re-create it by "
                             "running the notebook top to bottom, then submit again",
                             {"judged": "the submitted files, by the grader", "error": traceback.format_exc(limit=3)})
    return TrustedResult(result_id, phase, True, "passed", {"judged": "the submitted files, by the grader"})


def submitted_checks(phase: Phase, snapshot: Path, release: ReleaseData) -> dict[str, Callable[[], TrustedResult]]:
    """The phase's checks of submitted files, by result id, ready to run."""
    return {f"{check_id}{TRUSTED_SUFFIX}": (lambda c=check_id, f=check: submitted_check(c, phase, snapshot, f,
                                                                                         release))
            for check_id, check in SUBMITTED_CHECKS[phase].items()}
