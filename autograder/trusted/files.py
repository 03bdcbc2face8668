"""Trusted ``*_files`` checks: a phase's deliverables in the snapshot, checked statically.

Each file is judged by :func:`geoai_ref.deliverables.check_file` (models read from their stored
config with h5py, never loaded); anything a malformed file makes a check raise becomes a failed entry.
"""

from __future__ import annotations

from pathlib import Path

from autograder.trusted.result import TrustedResult
from geoai_ref.deliverables import DeliverablesReport, check_file
from geoai_ref.phase import Phase


def files_check(check_id: str, phase: Phase, snapshot: Path, rels: tuple[Path, ...] | list[Path]) -> TrustedResult:
    """Every file of ``rels`` in ``snapshot``: present and valid. A missing one raises ``missing-deliverable``."""
    report = DeliverablesReport()
    for rel in rels:
        try:
            check_file(report, snapshot, rel)
        except Exception as exc:  # noqa: BLE001 - a student's file must never crash the grader
            report.add(rel, False, f"could not be read ({type(exc).__name__}: {exc}); re-save it from the notebook")
    missing = sorted({c.path for c in report.checks if not (snapshot / c.path).exists()} & {str(r) for r in rels})
    local = f"{snapshot}/"  # messages name files relative to the submission, not the grader's disk
    failures = report.failures
    if failures:
        texts = [(c.path, c.message.replace(local, "")) for c in failures]
        message = "; ".join(t if t.startswith(path) else f"{path}: {t}" for path, t in texts)
    else:
        message = f"all {len(report.checks)} deliverable(s) present and valid"
    return TrustedResult(check_id, phase, not failures, message,
                         evidence={"files": {c.path: {"passed": c.passed, "message": c.message.replace(local, "")}
                                             for c in report.checks},
                                   "missing": missing},
                         flags=["missing-deliverable"] if missing else [])
