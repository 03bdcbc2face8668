"""From the rubric store to a class's files: every student's reports, the summary and the dashboard."""

import csv
import json

import pytest

from autograder.grading.results import CellScore, Outcome, PhaseResult
from autograder.publish.class_reports import write_reports
from autograder.rubric.definition import load_rubric
from autograder.rubric.scoring import class_rubrics
from autograder.rubric.store import RubricStore
from autograder.trusted.result import TrustedResult
from geoai_ref.errors import UsageError
from geoai_ref.phase import Phase

RUBRIC = load_rubric()


@pytest.fixture
def store(tmp_path) -> RubricStore:
    store = RubricStore(tmp_path / "gradebook" / "rubric_store.sqlite")
    checks = [c for c in RUBRIC.checks("nbgrader") if RUBRIC.phase_of(c.id) is Phase.A]
    cells = {c.id: CellScore(1.0, 1.0, True, "passed") for c in checks}
    confirmed = [TrustedResult(tid, "phase4a", True, "passed") for tid in sorted({t for c in checks
                                                                                 for t in c.confirmed_by})]
    store.save_result("ada", Phase.A, "fp", PhaseResult(Outcome.GRADED, cells=cells, trusted=confirmed))
    store.save_result("ivy", Phase.A, "fp", PhaseResult(Outcome.INVALID_NOTEBOOK, "truncated JSON"))
    return store


def test_every_student_gets_reports_and_a_row(store, tmp_path):
    out = tmp_path / "reports"
    rubrics = write_reports(store, out, title="test class")
    assert [r["student"] for r in rubrics] == ["ada", "ivy"]
    for student in ("ada", "ivy"):
        saved = json.loads((out / student / "rubric.json").read_text())
        assert saved == next(r for r in rubrics if r["student"] == student)
        assert (out / student / "rubric.md").stat().st_size and (out / student / "rubric.html").stat().st_size
    with open(out / "summary.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"ada", "ivy"} and "invalid-notebook" in rows["ivy"]["flags"]
    assert float(rows["ada"]["total"]) > float(rows["ivy"]["total"]) == 0
    assert "test class" in (out / "index.html").read_text()


def test_class_rubrics_of_named_students_and_unknown_ones(store):
    assert [r["student"] for r in class_rubrics(store, RUBRIC, ["ivy"])] == ["ivy"]
    with pytest.raises(UsageError, match="no graded submission of 'zed'.*students: ada, ivy"):
        class_rubrics(store, RUBRIC, ["zed"])
