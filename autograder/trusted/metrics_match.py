"""Trusted ``*_metrics_match``: what the student reported against the grader's re-evaluation of their model.

Accuracy and macro F1 of each configuration in the metrics JSON are compared with the figures the
grader recomputed on the same validation patches (:mod:`autograder.trusted.reeval`); a difference
above :func:`autograder.trusted.reported.metric_tolerance` raises ``metrics-mismatch``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.authoring.release_data import ReleaseData
from autograder.trusted.reeval import SubmittedModel
from autograder.trusted.reference import grader_data, inside_snapshot
from autograder.trusted.reported import metric_tolerance, number, read_reported, reported_result
from autograder.trusted.result import TrustedResult
from geoai_ref.phase import Phase
from geoai_ref.schemas import AblationStudy


def metrics_match(check_id: str, phase: Phase, snapshot: Path, rel: Path, cls: type,
                  pairs: list[tuple[str, SubmittedModel]], release: ReleaseData) -> TrustedResult:
    """Compare the reported figures of each (configuration name, re-evaluated model) pair with the recomputed ones.

    With one model (4A, 4B) the evidence holds its figures directly; with several (4C) one entry per configuration.
    """
    nested = len(pairs) > 1
    data, error = read_reported(snapshot, rel, cls)
    if data is None:
        flags = ["missing-deliverable"] if inside_snapshot(snapshot, rel) is None else []
        return TrustedResult(check_id, phase, False, error or "", {"file": str(rel)}, flags)
    n = len(grader_data(release).validation(pairs[0][1].week3_input)[1])
    tol = metric_tolerance(n)
    reported: dict[str, Any] = {}
    recomputed: dict[str, Any] = {}
    problems: list[str] = []
    mismatch = False
    for name, m in pairs:
        result = reported_result(data, name)
        if result is None:
            problems.append(f"{rel} has no configuration named {name!r}: report every configuration")
            continue
        rep = {"accuracy": number(result.accuracy), "macro_f1": number(result.macro_f1)}
        reported[name] = rep
        if not m.ok or m.validation is None:
            problems.append(f"{name}: cannot recompute the figures, {m.rel} could not be evaluated (see the "
                            "re-evaluation check)")
            continue
        rec = {"accuracy": m.validation.accuracy, "macro_f1": m.validation.macro_f1}
        recomputed[name] = rec
        for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro F1")):
            if rep[key] is None:
                problems.append(f"{rel} reports {label} {getattr(result, key)!r} for {name}, not a number "
                                "between 0 and 1")
                mismatch = True
            elif abs(rep[key] - rec[key]) > tol + 1e-9:
                what = f" for {name}" if nested else ""
                problems.append(f"{rel} claims {label} {rep[key]:.3f}{what} but the submitted model ({m.rel}) "
                                f"scores {rec[key]:.3f} on the same {n} raw validation patches (re-evaluated by "
                                "the grader): submit a model that takes the patches as released, with its "
                                "preprocessing inside, and report that model's own figures")
                mismatch = True
    if not nested:
        name = pairs[0][0]
        reported, recomputed = reported.get(name, {}), recomputed.get(name, {})
    evidence = {"file": str(rel), "reported": reported, "recomputed": recomputed, "n": n, "tolerance": tol}
    if not nested and isinstance(data, AblationStudy):
        evidence["configuration"] = pairs[0][0]
    message = "; ".join(problems) if problems else (
        f"reported accuracy and macro F1 match the grader's re-evaluation on the {n} validation patches "
        f"(within {tol:.3f})")
    return TrustedResult(check_id, phase, not problems, message, evidence, ["metrics-mismatch"] if mismatch else [])
