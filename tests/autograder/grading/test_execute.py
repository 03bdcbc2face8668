"""A kernel that dies under grading is the student's end (``kernel-died``), with the earlier cells' results kept.

The unit tests run :class:`ExecuteUntilKernelDies` on a three-cell notebook (no nbgrader course); the end-to-end
test grades a Phase 4C submission whose training cell calls ``os._exit(0)``, through the coordinator.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import ALLOW_UNJAILED, course_with_release

from autograder.grading.execute import KERNEL_DIED, NOT_RUN, ExecuteUntilKernelDies, kernel_death
from autograder.grading.nbgrader_run import failure_summary
from autograder.grading.results import Outcome, PhaseResult
from geoai_ref.phase import Phase


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {"grade_id": f"c{i}", "grade": True, "points": 1, "solution": False,
                                     "locked": False, "schema_version": 3}
        nb.cells.append(cell)
    return nb


def _execute(nb: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    ExecuteUntilKernelDies(timeout=60).preprocess(nb, {"metadata": {"path": str(folder)}})
    return nb


def _errors(cell: nbformat.NotebookNode) -> list[str]:
    return [o.ename for o in cell.outputs if o.output_type == "error"]


def test_the_cells_before_a_dead_kernel_keep_their_results_and_the_later_ones_are_not_run(tmp_path):
    nb = _execute(_notebook("print('before')", "import os\nprint('dying')\nos._exit(0)", "print('after')",
                            "x = 1"), tmp_path)
    first, dying, after, last = nb.cells
    assert _errors(first) == [] and first.outputs[0].text == "before\n"
    assert _errors(dying) == [KERNEL_DIED]
    assert _errors(after) == [NOT_RUN] and "after" not in str(after.outputs)
    assert _errors(last) == [NOT_RUN] and "kernel died in c1" in last.outputs[0].evalue
    death = kernel_death(nb)
    assert death is not None and (death.index, death.grade_id, death.cell) == (1, "c1", "c1")


def test_a_notebook_whose_kernel_lives_is_not_marked_even_if_it_claims_so(tmp_path):
    nb = _notebook("class KernelDied(Exception):\n    pass\nraise KernelDied('fake')", "y = 2")
    nb.metadata["geoai_kernel_died"] = {"index": 0, "grade_id": "c0"}  # forged in the submitted file
    nb = _execute(nb, tmp_path)
    assert kernel_death(nb) is None
    assert _errors(nb.cells[0]) == ["KernelDied"] and _errors(nb.cells[1]) == []


def test_kernel_death_reads_only_its_own_well_formed_record():
    nb = nbformat.v4.new_notebook()
    assert kernel_death(nb) is None
    nb.metadata["geoai_kernel_died"] = {"index": "3"}
    assert kernel_death(nb) is None
    nb.metadata["geoai_kernel_died"] = {"index": 4, "grade_id": None}
    assert kernel_death(nb).cell == "cell 5"


def test_a_failed_nbgrader_run_is_summed_up_in_one_line():
    log = ("[AutogradeApp | INFO] Autograding phase4a\nTraceback (most recent call last):\n  File \"x.py\", line 3\n"
           "    raise DeadKernelError('Kernel died')\nnbclient.exceptions.DeadKernelError: Kernel died\n")
    assert failure_summary(log) == "nbclient.exceptions.DeadKernelError: Kernel died"
    assert failure_summary("[AutogradeApp | ERROR] There was an error processing assignment\n") == \
        "[AutogradeApp | ERROR] There was an error processing assignment"
    assert failure_summary("all fine\n") == "no error line in nbgrader's log"


def test_kernel_died_is_the_students_outcome_and_keeps_cell_scores():
    assert not Outcome.KERNEL_DIED.is_grader_fault and Outcome.KERNEL_DIED.notebook_ran
    result = PhaseResult(Outcome.KERNEL_DIED, "the kernel died")
    assert result.graded
    assert PhaseResult.from_dict(result.to_dict()).outcome is Outcome.KERNEL_DIED


STUDENT = "kim_exit"


@pytest.fixture(scope="module")
def exiting_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(submissions, course): one 4C submission whose first task is solved and whose training cell exits."""
    from autograder.authoring.notebooks import PHASES
    from autograder.authoring.solutions import solution_notebook

    submissions, course = course_with_release(tmp_path_factory.mktemp("kernel_died"), Phase.C, STUDENT)
    path = submissions / STUDENT / "phase4c" / PHASES[Phase.C].ipynb.name
    nb = nbformat.read(path, as_version=4)
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution_notebook(Phase.C).cells
              if c.metadata.get("nbgrader", {}).get("grade_id")}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "4c_subsets_code":
            cell.source = solved[gid]
        elif gid == "4c_train_run":
            cell.source = "import os\nos._exit(0)\n" + cell.source
    nbformat.write(nb, path)
    return submissions, course


def test_a_submission_that_exits_its_kernel_is_graded_as_kernel_died(exiting_class):
    from autograder.grading.config import GradingConfig
    from autograder.grading.coordinator import grade_class
    from autograder.rubric.definition import load_rubric
    from autograder.rubric.scoring import score_student
    from autograder.rubric.store import RubricStore

    submissions, course = exiting_class
    config = GradingConfig(course=course, phases=("phase4c",), workers=1, cell_timeout=120,
                           allow_unjailed=ALLOW_UNJAILED)
    run = grade_class(config, submissions)
    assert run.graded == [(STUDENT, "phase4c", "kernel-died")]
    result = RubricStore(config.store_path).result(STUDENT, Phase.C).result
    assert result.outcome is Outcome.KERNEL_DIED and "4c_train_run" in result.message
    subsets = result.cells["4c_subsets"]
    assert subsets.passed and subsets.score == subsets.max > 0  # before the exit: kept
    for gid in ("4c_results", "4c_figures", "4c_report"):  # after it: never run, never full marks
        assert result.cells[gid].score == 0 and result.cells[gid].message.startswith(NOT_RUN), gid
    rubric = score_student(load_rubric(), STUDENT, {Phase.C: result}, [])
    flags = {f["id"]: f["message"] for f in rubric["flags"]}
    assert "4c_train_run" in flags["kernel-died"]
    assert "Traceback" not in str(rubric)
