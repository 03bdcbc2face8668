"""The whole sample class of `geoai-grade demo`, every phase, graded in parallel (make test-all: ~20 minutes).

`test_grading.py` grades three of these students end to end in `make test`.
"""

import json

import pytest
from conftest import ALLOW_UNJAILED
from expected_grades import EXPECTED, summarise

from autograder.demo.run import run_demo
from autograder.demo.sample_class import STUDENTS


@pytest.fixture(scope="module")
def demo(request, tmp_path_factory):
    if not request.config.getoption("--full-e2e"):
        pytest.skip("the whole sample class is graded by `make test-all` (--full-e2e) and `make demo`")
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out, workers=2, allow_unjailed=ALLOW_UNJAILED)


def test_every_fault_is_reflected_in_its_criterion(demo):
    out, result = demo
    assert result.expectation_problems == []
    assert sorted(r["student"] for r in result.rubrics) == sorted(s.id for s in STUDENTS)
    for s in STUDENTS:
        saved = json.loads((out / s.id / "rubric.json").read_text())
        assert saved["total"] == next(r["total"] for r in result.rubrics if r["student"] == s.id)
        assert (out / s.id / "rubric.html").exists() and (out / "feedback" / s.id / "feedback.html").exists()
    correct = next(r for r in result.rubrics if r["student"] == "ada_correct")
    assert correct["total"] == max(r["total"] for r in result.rubrics)
    assert (out / "index.html").exists() and (out / "grades.csv").exists()


def test_the_sample_class_grades_to_the_recorded_points_flags_and_outcomes(demo):
    """Every check's points, every flag and every phase outcome as recorded (see expected_grades.py)."""
    _, result = demo
    expected = json.loads(EXPECTED.read_text())
    got = summarise(result.rubrics)
    assert sorted(got) == sorted(expected)
    for student, want in expected.items():
        have = got[student]
        changed = {cid: (p, have["points"].get(cid)) for cid, p in want["points"].items()
                   if have["points"].get(cid) != p}
        assert not changed, f"{student}: checks whose points changed (recorded, now): {changed}"
        assert (have["flags"], have["outcomes"], have["total"]) == (want["flags"], want["outcomes"], want["total"]), \
            student


def test_regrading_the_same_submissions_gives_the_same_scores(demo):
    from autograder.grading.config import GradingConfig
    from autograder.grading.coordinator import grade_class
    from autograder.rubric.scoring import class_rubrics
    from autograder.rubric.store import RubricStore

    out, result = demo
    config = GradingConfig(course=out / "course", phases=("phase4a",), regrade=True, cell_timeout=240,
                           allow_unjailed=ALLOW_UNJAILED)
    run = grade_class(config, out / "submissions")
    assert len(run.graded) == len(STUDENTS) and not run.skipped
    again = class_rubrics(RubricStore(config.store_path))

    def points(rubrics):
        return {(r["student"], c["id"]): c["points"] for r in rubrics for cr in r["criteria"] for c in cr["checks"]}

    assert points(again) == points(result.rubrics)
    history = RubricStore(config.store_path).history()
    assert sum(h["phase"] == "phase4a" for h in history) == 2 * len(STUDENTS)  # regraded, logged, not duplicated
