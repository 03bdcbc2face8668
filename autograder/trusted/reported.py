"""What a student reported: their metrics JSON read from the snapshot, and how close it must be to the truth."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from autograder.trusted.reference import inside_snapshot
from geoai_ref.schemas import AblationStudy, ModelResult, Phase4AMetrics, read_json

#: |reported - recomputed| above max(MIN_METRIC_TOLERANCE, METRIC_TOLERANCE_SAMPLES / n) is a mismatch:
#: 0.02, or one and a half patches of the n validation patches when that is more.
MIN_METRIC_TOLERANCE = 0.02
METRIC_TOLERANCE_SAMPLES = 1.5

ReportedMetrics = Phase4AMetrics | AblationStudy


def metric_tolerance(n: int) -> float:
    """How far a reported accuracy or macro F1 may be from the grader's figure on ``n`` patches."""
    return max(MIN_METRIC_TOLERANCE, METRIC_TOLERANCE_SAMPLES / n)


def read_reported(snapshot: Path, rel: Path, cls: type) -> tuple[ReportedMetrics | None, str | None]:
    """(the metrics file ``rel`` of ``snapshot`` read as ``cls``, None) or (None, what is wrong with it)."""
    path = inside_snapshot(snapshot, rel)
    if path is None:
        return None, f"{rel} is missing: write the metrics there"
    try:
        return read_json(path, cls), None
    except Exception as exc:  # noqa: BLE001 - garbage JSON of any shape is the student's
        return None, f"{rel} could not be read ({exc}); write it with the layout the notebook shows"


def reported_result(data: ReportedMetrics | None, configuration: str) -> ModelResult | None:
    """The reported result of one configuration (4A's file holds one result, whatever it is called)."""
    if isinstance(data, Phase4AMetrics):
        return data.result
    if isinstance(data, AblationStudy):
        return next((r for r in data.configurations if r.name == configuration), None)
    return None


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None for anything else (strings, booleans, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(float(value)) else None
