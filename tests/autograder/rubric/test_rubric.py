"""rubric.yaml: 100 points in the exercise's criteria, and in step with the notebooks' grade cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.rubric.definition import RubricError, load_rubric, notebook_problems


def test_rubric_sums_to_100_with_the_exercise_criteria() -> None:
    rubric = load_rubric()
    assert rubric.total == 100
    maxima = {c.id: c.max for c in rubric.criteria}
    assert maxima == {"4A.implementation": 20, "4A.performance": 10, "4A.comparison": 10, "4A.documentation": 10,
                      "4B.data_fusion": 15, "4B.implementation": 15, "4B.ablation": 10, "4B.baseline_report": 10,
                      "4C.ablation": 0}


def test_every_grade_cell_is_in_the_rubric_with_its_points() -> None:
    assert notebook_problems(load_rubric()) == []


def test_rubric_names_hidden_checks_of_each_kind_the_issue_requires() -> None:
    ids = {c.id for c in load_rubric().checks("nbgrader")}
    for needed in ("4b_align", "4b_split", "4a_freeze", "4a_collapse", "4a_artifacts", "4b_fused_arrays"):
        assert needed in ids


def test_a_rubric_whose_checks_do_not_add_up_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rubric.yaml"
    path.write_text("total: 10\ncriteria:\n  - {id: A, phase: 4A, name: n, description: d, max: 10, checks: "
                    "[{id: a, source: nbgrader, points: 4, description: d}]}\n")
    with pytest.raises(RubricError, match="give 4 points but its max is 10"):
        load_rubric(path)
    path.write_text("total: 100\ncriteria:\n  - {id: A, phase: 4A, name: n, description: d, max: 4, checks: "
                    "[{id: a, source: nbgrader, points: 4, description: d}]}\n")
    with pytest.raises(RubricError, match="sum to 4, but total is 100"):
        load_rubric(path)
    path.write_text("total: 4\ncriteria:\n  - {id: A, phase: 4A, name: n, description: d, max: 4, checks: "
                    "[{id: a, source: robot, points: 4, description: d}]}\n")
    with pytest.raises(RubricError, match="not one of"):
        load_rubric(path)


@pytest.mark.parametrize("check,message", [
    ("{id: a, source: nbgrader, points: 4, description: d, confirmed_by: [4b_model_reeval]}",
     "not trusted checks of phase4a"),
    ("{id: a, source: manual, points: 4, description: d, confirmed_by: [4a_files]}", "only automatic"),
])
def test_confirmations_must_name_trusted_checks_of_the_same_phase(tmp_path: Path, check: str, message: str) -> None:
    path = tmp_path / "rubric.yaml"
    path.write_text("total: 4\ncriteria:\n  - {id: A, phase: 4A, name: n, description: d, max: 4, "
                    f"checks: [{check}]}}\n")
    with pytest.raises(RubricError, match=message):
        load_rubric(path)


def test_artifact_cells_are_confirmed_by_the_graders_own_checks() -> None:
    confirmed = {c.id: c.confirmed_by for c in load_rubric().checks() if c.confirmed_by}
    assert confirmed["4a_stability"] == ("4a_stability_trusted", "4a_model_reeval")
    assert set(confirmed["4a_artifacts"]) == {"4a_files", "4a_metrics_match"}
    assert confirmed["4b_fused_arrays"] == ("4b_fused_trusted",)
    assert set(confirmed["4b_fusion_model"]) == {"4b_fusion_model_trusted", "4b_model_reeval", "4b_metrics_match"}
