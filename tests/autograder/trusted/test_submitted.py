"""The hidden checks of the submitted files, run by the grader on the snapshot (``*_trusted`` results)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES

from autograder.authoring.notebooks import HIDDEN_BEGIN, PHASES, build_notebook
from autograder.authoring.release_data import KIT_DATA
from autograder.checks.common import CheckFailed
from autograder.rubric.definition import load_rubric
from autograder.trusted.submitted import SUBMITTED_CHECKS, TRUSTED_SUFFIX, submitted_check, submitted_checks
from geoai_ref import layout
from geoai_ref.phase import Phase
from geoai_ref.schemas import ModelResult, Phase4AMetrics, write_json


def test_every_file_check_confirms_its_rubric_check_and_left_the_notebook() -> None:
    rubric = load_rubric()
    confirmed = {tid: c.id for crit in rubric.criteria for c in crit.checks for tid in c.confirmed_by}
    for phase, checks in SUBMITTED_CHECKS.items():
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
                 for c in build_notebook(PHASES[phase].source).cells}
        for check_id in checks:
            assert confirmed.get(f"{check_id}{TRUSTED_SUFFIX}") == check_id
            assert HIDDEN_BEGIN not in cells[check_id], f"{check_id} still runs a hidden test in the kernel"


def _metrics(root: Path, accuracy: float, week3: float) -> None:
    matrix = [[15 if i == j else 0 for j in range(5)] for i in range(5)]
    matrix[0][0], matrix[0][1] = 15 - round(75 * (1 - accuracy)), round(75 * (1 - accuracy))
    result = ModelResult("ResNet-50", [], accuracy, accuracy, {"confusion_matrix": matrix}, {}, {})
    write_json(root / layout.PHASE4A_METRICS, Phase4AMetrics(
        phase="4A", model="ResNet-50", recipe={}, pretrained=False, weights_source=None, freeze={},
        result=result, week3_baseline={"val_accuracy": week3, "source": "models/week3/best_model.h5"}, split={}))


def test_comparison_report_and_week3_accuracy_are_judged_from_the_files(tmp_path: Path) -> None:
    week3 = float(json.loads((FIXTURES / layout.WEEK3_MODEL_INFO).read_text())["val_accuracy"])
    _metrics(tmp_path, 70 / 75, week3)
    report = tmp_path / layout.PHASE4A_COMPARISON
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("# Comparison\n" + "The ResNet-50 and the Week 3 SimpleCNN were compared. " * 8
                      + f"\n\nResNet-50: {100 * 70 / 75:.1f} %\n")
    results = {cid: f() for cid, f in submitted_checks(Phase.A, tmp_path, KIT_DATA).items()}

    assert results["4a_week3_baseline_trusted"].passed, results["4a_week3_baseline_trusted"].message
    assert results["4a_stability_trusted"].passed, results["4a_stability_trusted"].message
    compared = results["4a_comparison_report_trusted"]
    assert not compared.passed and "does not state the Week 3 accuracy" in compared.message

    _metrics(tmp_path, 70 / 75, week3 + 0.1)  # a Week 3 accuracy the Week 3 model does not have
    wrong = submitted_check("4a_week3_baseline", Phase.A, tmp_path, SUBMITTED_CHECKS[Phase.A]["4a_week3_baseline"],
                            KIT_DATA)
    assert not wrong.passed and f"{week3:.4f}" in wrong.message


def test_a_file_the_check_cannot_read_fails_the_check_with_the_reason(tmp_path: Path) -> None:
    def unreadable(root: Path, _release: object) -> None:
        (root / "config.yaml").read_bytes().decode("utf-8")

    (tmp_path / "config.yaml").write_bytes(b"\xff\xfe bad")
    result = submitted_check("4b_config", Phase.B, tmp_path, unreadable, KIT_DATA)
    assert not result.passed and "UnicodeDecodeError" in result.message and "submit again" in result.message
    assert result.id == "4b_config_trusted" and "error" in result.evidence

    def refuses(root: Path, _release: object) -> None:
        raise CheckFailed("config.yaml has no key for ['seed']")

    result = submitted_check("4b_config", Phase.B, tmp_path, refuses, KIT_DATA)
    assert not result.passed and result.message == "config.yaml has no key for ['seed']"


def test_missing_files_fail_every_check_of_a_phase_with_what_to_do(tmp_path: Path) -> None:
    for phase in SUBMITTED_CHECKS:
        results = [f() for f in submitted_checks(phase, tmp_path, KIT_DATA).values()]
        assert results and not any(r.passed for r in results)
        assert all("missing" in r.message for r in results), [r.message for r in results]
