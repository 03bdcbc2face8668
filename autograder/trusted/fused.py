"""Trusted ``4b_fused_trusted``: the submitted fused arrays judged against the reference fused patches.

The judge is :func:`geoai_ref.fused_check.check_fused_array` (shape, dtype, values, band order,
nearest-neighbour resampling); this module runs it on the snapshot and words its findings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.authoring.release_data import ReleaseData
from autograder.trusted.reference import grader_data, inside_snapshot
from autograder.trusted.result import TrustedResult
from geoai_ref import layout
from geoai_ref.fused_check import check_fused_array
from geoai_ref.phase import Phase


def fused_check(check_id: str, phase: Phase, snapshot: Path, release: ReleaseData) -> TrustedResult:
    """Both fused arrays of ``snapshot``; flags ``band-order``, ``nearest-resampling``, ``missing-deliverable``."""
    data = grader_data(release)
    references = {layout.X_TRAIN_FUSED: data.x_train_fused, layout.X_VAL_FUSED: data.x_val_fused}
    problems: list[str] = []
    flags: set[str] = set()
    evidence: dict[str, Any] = {"reference": str(release.fused), "files": {}}
    for rel, reference in references.items():  # as many patches as the release's split holds
        report = check_fused_array(inside_snapshot(snapshot, rel), rel, len(reference), reference)
        problems += report.messages()
        flags |= report.flags
        evidence["files"][str(rel)] = report.evidence
    message = "; ".join(problems) if problems else (
        "both fused arrays have the right shape, finite in-range values, the required band order and "
        "bilinear-resampled MODIS / DEM")
    return TrustedResult(check_id, phase, not problems, message, evidence, sorted(flags))
