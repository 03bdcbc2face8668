"""The sample class: every fault still applies to the current notebooks, and the expectations can fail."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from autograder.authoring.notebooks import PHASES
from autograder.authoring.solutions import SolutionRunError, solution_notebook
from autograder.demo import sample_class
from autograder.demo.run import expectation_problems
from autograder.demo.sample_class import FAULTS, STUDENTS, SampleClassError, build_sample_class, edit_cell
from autograder.rubric.definition import load_rubric
from autograder.trusted.result import FLAGS
from geoai_ref.phase import Phase

OUTCOMES = {"invalid-notebook", "missing-notebook", "timeout", "memory", "error"}


def test_students_name_real_checks_and_flags():
    rubric = load_rubric()
    checks = {c.id for c in rubric.checks()}
    known_flags = set(FLAGS) | {c.flag for c in rubric.checks() if c.flag} | OUTCOMES | {"cell-timeout"}
    assert {s.id for s in STUDENTS if s.phase} == set(FAULTS)
    for s in STUDENTS:
        assert set(s.lost_checks) <= checks, s.id
        assert set(s.flags) <= known_flags, s.id
        for check in s.lost_checks:
            assert rubric.phase_of(check) == s.phase


@pytest.mark.parametrize("student", sorted(FAULTS))
def test_each_fault_applies_to_the_current_solution(student, tmp_path, monkeypatch):
    """The edit matches the notebook exactly once (re-running is skipped here; the demo test does it)."""
    reruns = []
    monkeypatch.setattr(sample_class, "_rerun_fused", lambda folder, epochs: reruns.append("4b_fused_run"))
    monkeypatch.setattr(sample_class, "_rerun", lambda folder, phase, epochs, until=None: reruns.append(until))
    phase = next(s.phase for s in STUDENTS if s.id == student)
    folder = tmp_path / phase
    folder.mkdir()
    before = solution_notebook(phase)
    nbformat.write(before, folder / PHASES[phase].ipynb.name)
    (folder / "figures").mkdir()
    (folder / "figures" / "phase4a_confusion_matrix.png").write_bytes(b"png")
    (folder / "reports").mkdir()
    (folder / "reports" / "phase4a_metrics.json").write_text(json.dumps(
        {"result": {"accuracy": 0.8, "macro_f1": 0.8, "evaluation": {"accuracy": 0.8}}}))
    FAULTS[student](folder, 1)
    text = (folder / PHASES[phase].ipynb.name).read_text()
    if student == "ivy_invalid_json":
        with pytest.raises(nbformat.reader.NotJSONError):
            nbformat.reads(text, as_version=4)
        return
    after = nbformat.reads(text, as_version=4)
    changed = [a for a, b in zip(after.cells, before.cells, strict=True) if a.source != b.source]
    files_changed = (not (folder / "figures" / "phase4a_confusion_matrix.png").exists()
                     or json.loads((folder / "reports" / "phase4a_metrics.json").read_text())["result"]["accuracy"]
                     == 0.99)
    assert len(changed) == (2 if student == "eve_band_order" else 1) or (not changed and files_changed), student
    if student in ("dan_nearest", "eve_band_order"):
        assert reruns == ["4b_fused_run"]  # the fused arrays are rewritten by the edited code


def test_edit_cell_refuses_a_stale_edit():
    nb = solution_notebook("phase4a")
    with pytest.raises(SampleClassError, match="4a_train_run"):
        edit_cell(nb, "4a_train_run", "text that is not there", "x")
    with pytest.raises(SampleClassError, match="no_such_cell"):
        edit_cell(nb, "no_such_cell", "x", "y")


def _rubric(student, lost=(), flags=(), outcome="graded"):
    checks = [{"id": c.id, "source": c.source, "passed": c.id not in lost, "points": 0 if c.id in lost else c.points,
               "message": "m"} for c in load_rubric().checks() if c.id.startswith("4a")]
    return {"student": student, "criteria": [{"phase": "4A", "checks": checks}],
            "flags": [{"id": f, "phase": "phase4a", "message": "m"} for f in flags],
            "phases": {"phase4a": {"outcome": outcome}}}


def test_expectations_catch_a_fault_that_costs_nothing():
    students = [s for s in STUDENTS if s.id in ("ada_correct", "gus_inflated_metrics")]
    good = [_rubric("ada_correct"), _rubric("gus_inflated_metrics", lost=("4a_artifacts",),
                                            flags=("metrics-mismatch",))]
    assert expectation_problems(good, students, ("phase4a",)) == []
    unnoticed = [_rubric("ada_correct"), _rubric("gus_inflated_metrics")]
    problems = expectation_problems(unnoticed, students, ("phase4a",))
    assert any("4a_artifacts earned" in p for p in problems) and any("metrics-mismatch" in p for p in problems)
    flagged_correct = [_rubric("ada_correct", flags=("collapse",)), good[1]]
    assert expectation_problems(flagged_correct, students, ("phase4a",)) == [
        "ada_correct: unexpected flags ['collapse']"]


def test_two_processes_needing_the_same_correct_submission_run_the_solution_once(tmp_path, monkeypatch):
    """The second waits on the cache's lock and then takes what the first made (threads here: flock locks an open
    file, so two opens conflict within one process as between two)."""
    runs = []

    def run_solution(phase, folder, epochs):
        runs.append(phase)
        time.sleep(0.5)
        folder.mkdir(parents=True)

    monkeypatch.setattr(sample_class, "SAMPLE_CLASS_CACHE", tmp_path)
    monkeypatch.setattr(sample_class, "run_solution", run_solution)
    with ThreadPoolExecutor(2) as pool:
        made = list(pool.map(lambda _: sample_class.correct_submission(Phase.C, 3, lambda _: None), range(2)))
    assert runs == [Phase.C]
    assert made == [tmp_path / "epochs3" / Phase.C] * 2 and (made[0] / ".complete").is_file()


def _fake_solutions(tmp_path, monkeypatch, run):
    """``correct_submission`` replaced by ``run(phase)`` and a folder of one file; the faults only recorded."""
    def correct_submission(phase, epochs, progress):
        run(phase)
        folder = tmp_path / "cache" / phase
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "made_by.txt").write_text(phase)
        return folder

    faults = []
    monkeypatch.setattr(sample_class, "correct_submission", correct_submission)
    monkeypatch.setattr(sample_class, "FAULTS", {k: lambda folder, epochs, k=k: faults.append(k) for k in FAULTS})
    return faults


def test_the_two_longest_solutions_run_at_once_and_every_student_phase_is_built(tmp_path, monkeypatch):
    started, both_running = [], threading.Barrier(2, timeout=30)

    def run(phase):
        started.append(phase)
        if phase in (Phase.A, Phase.B):
            both_running.wait()  # broken (an error) if 4B and 4A did not run side by side

    faults = _fake_solutions(tmp_path, monkeypatch, run)
    built = build_sample_class(tmp_path / "out", marker_dir=tmp_path / "markers")
    assert set(started[:2]) == {Phase.A, Phase.B} and started[2:] == [Phase.C]
    assert sorted(faults) == sorted(FAULTS) and built == list(STUDENTS)
    for student in STUDENTS:
        for phase in Phase:
            assert (tmp_path / "out" / student.id / phase / "made_by.txt").read_text() == phase
    faults.clear()
    build_sample_class(tmp_path / "out", marker_dir=tmp_path / "markers")
    assert faults == []  # built before from the same solutions: kept


def test_a_failing_solution_stops_the_build_with_its_error(tmp_path, monkeypatch):
    def run(phase):
        if phase == Phase.A:
            raise SolutionRunError("4a_train_run: a cell failed")

    faults = _fake_solutions(tmp_path, monkeypatch, run)
    with pytest.raises(SolutionRunError, match="4a_train_run"):
        build_sample_class(tmp_path / "out", at_once=1)
    assert not any(f for f in faults if next(s.phase for s in STUDENTS if s.id == f) == Phase.A)
    assert not (tmp_path / "out" / "ada_correct" / Phase.A).exists()
