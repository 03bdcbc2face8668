"""End to end: a small class graded by `geoai-grade grade`, killed half-way, resumed; then the TA commands.

The class (``graded_class`` in tests/autograder/conftest.py): the correct 4A submission, one whose metrics JSON
claims more than its model gives, and one whose notebook file is truncated. The full sample class (every fault,
every phase) is graded by `test_sample_class_demo.py` under `make test-all`.
"""

import csv
import json

import psutil
import pytest
from conftest import KILLED_RUN_PROCESSES, STUDENTS, cli

from autograder.demo.run import expectation_problems
from autograder.rubric.definition import load_rubric
from autograder.rubric.store import RubricStore


def _still_runs(pid: int, started: float) -> psutil.Process | None:
    """The process ``pid`` if it is the one started at ``started`` and still runs (not a zombie)."""
    try:
        p = psutil.Process(pid)
        alive = abs(p.create_time() - started) < 1e-3 and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return None
    return p if alive else None


def test_killed_run_resumes_without_lost_or_duplicated_grades(graded_class):
    root, course, students, killed_with, second = graded_class
    assert len(killed_with) == 1, killed_with  # killed while the second submission was being graded
    assert second.returncode == 1, second.stdout + second.stderr  # exit 1: ivy's notebook could not be graded
    assert "1 phase submission(s) already graded with the same files: kept" in second.stderr
    store = RubricStore(course.root / "gradebook" / "rubric_store.sqlite")
    assert sorted(r.student for r in store.results()) == sorted(STUDENTS)
    history = store.history()
    assert sorted(h["student"] for h in history) == sorted(STUDENTS)  # each graded exactly once
    first_student, _, first_stamp = killed_with[0]
    assert store.result(first_student, "phase4a").graded_at == first_stamp  # not regraded
    orphans = [p for p in psutil.process_iter(["cmdline"])
               if str(course.root) in " ".join(p.info["cmdline"] or []) and "autograde" in (p.info["cmdline"] or [])]
    assert orphans == []  # the killed run's nbgrader was stopped on resume
    started = [line.split() for line in (root / KILLED_RUN_PROCESSES).read_text().splitlines()]
    assert started, "the killed run had started no process: it was killed before grading anything"
    survivors = [p for pid, at in started if (p := _still_runs(int(pid), float(at))) is not None]
    assert survivors == []  # its Dask workers ended with it; its nbgrader was stopped on resume
    assert list((course.root / "gradebook" / "work").glob("*/*")) == []  # and its worker folders removed


def test_every_fault_shows_in_its_criterion(graded_class):
    root, course, students, _, second = graded_class
    rubrics = [json.loads((root / "reports" / s / "rubric.json").read_text()) for s in STUDENTS]
    assert expectation_problems(rubrics, students, ("phase4a",)) == []
    ada, gus, ivy = rubrics
    assert ada["total"] == 37 and ada["status"] == "manual-pending"  # every automatic 4A point; answers wait
    mismatch = next(t for t in gus["trusted"] if t["id"] == "4a_metrics_match")
    assert mismatch["evidence"]["reported"]["accuracy"] == 0.99
    assert mismatch["evidence"]["recomputed"]["accuracy"] < 0.95
    assert ivy["phases"]["phase4a"]["outcome"] == "invalid-notebook" and ivy["total"] == 0
    for name in ("index.html", "summary.csv"):
        assert (root / "reports" / name).stat().st_size > 0
    assert "metrics-mismatch" in (root / "reports" / "index.html").read_text()
    with open(root / "reports" / "summary.csv") as f:
        assert [row["student"] for row in csv.DictReader(f)] == list(STUDENTS)
    assert (course.root / "gradebook" / "autograded" / "ada_correct" / "phase4a").is_dir()


def test_override_history_export_and_feedback(graded_class):
    root, course, _, _, _ = graded_class
    base = ("--course", course.root)
    bad = cli("override", "ada_correct", "4a_code_documented", 9, "--grader", "ta1", "--reason", "x", *base)
    assert bad.returncode == 2 and "0 to 3" in bad.stderr
    nobody = cli("override", "zed", "4a_code_documented", 1, "--grader", "ta1", "--reason", "x", *base)
    assert nobody.returncode == 2 and "zed" in nobody.stderr
    for points, grader in ((1, "ta1"), (3, "ta2")):
        ok = cli("override", "ada_correct", "4a_code_documented", points, "--grader", grader, "--reason",
                 "commented code", *base)
        assert ok.returncode == 0, ok.stderr
    assert "total now 40" in ok.stdout
    history = cli("override", "ada_correct", "--history", *base)
    assert [line.split("\t")[3:5] for line in history.stdout.splitlines()] == [["1", "ta1"], ["3", "ta2"]]

    report = cli("report", "--out", root / "reports2", *base)
    assert report.returncode == 0, report.stderr
    ada = json.loads((root / "reports2" / "ada_correct" / "rubric.json").read_text())
    assert ada["total"] == 40 and len(ada["overrides"]) == 2

    export = cli("export", "--out", root / "grades.csv", *base)
    assert export.returncode == 0 and "still wait for manual points" in export.stderr
    with open(root / "grades.csv") as f:
        grades = {row["student_id"]: float(row["grade"]) for row in csv.DictReader(f)}
    assert grades == {"ada_correct": 40, "gus_inflated_metrics": ada["total"] - 3 - 10, "ivy_invalid_json": 0}

    feedback = cli("feedback", "--out", root / "feedback", *base)
    assert feedback.returncode == 0, feedback.stderr
    pages = list((root / "feedback").rglob("*.html"))
    assert any(p.parent.name == "nbgrader" for p in pages)  # nbgrader's own feedback was generated
    for page in pages:
        text = page.read_text()
        assert "HIDDEN TESTS" not in text and "autograder.checks" not in text and "check_normalise" not in text


def test_grading_config_resolves_a_relative_course(tmp_path, monkeypatch):
    from autograder.grading.config import GradingConfig

    monkeypatch.chdir(tmp_path)
    config = GradingConfig(course="course")
    assert config.course == tmp_path / "course" and config.store_path.is_absolute()


def test_the_release_data_a_course_is_graded_against_is_part_of_its_fingerprint(tmp_path):
    from autograder.authoring.release_data import SOURCES
    from autograder.grading.config import GradingConfig
    from geoai_ref.phase import Phase

    config = GradingConfig(course=tmp_path)
    kit = config.salt(Phase.A)
    (tmp_path / SOURCES).parent.mkdir()
    (tmp_path / SOURCES).write_text('{"week3_folder": "/courses/a", "built": "2026-11-30T07:00:00+00:00"}')
    own = config.salt(Phase.A)
    (tmp_path / SOURCES).write_text('{"week3_folder": "/courses/a", "built": "2026-12-01T07:00:00+00:00"}')
    assert len({kit, own, config.salt(Phase.A)}) == 3  # the kit's data, the course's, the course's rebuilt


def test_a_grader_error_never_replaces_a_stored_grade(tmp_path):
    from autograder.grading.config import GradingConfig
    from autograder.grading.coordinator import Job, _record
    from autograder.grading.results import CellScore, Outcome, PhaseResult
    from geoai_ref.phase import Phase

    config = GradingConfig(course=tmp_path)
    store = RubricStore(config.store_path)
    job = Job("ada", Phase.A, tmp_path / "snap", {}, "fp-new")
    cells = {"4a_metrics": CellScore(2.0, 2.0, True, "passed")}
    store.save_result("ada", Phase.A, "fp-old", PhaseResult(Outcome.GRADED, cells=cells))
    outcome = _record(config, store, load_rubric(), job, PhaseResult(Outcome.ERROR, "unable to open database file"))
    assert outcome == "error (previous grade kept)"
    kept = store.result("ada", Phase.A)
    assert (kept.fingerprint, kept.outcome, kept.result.cells) == ("fp-old", Outcome.GRADED, cells)
    assert [h["outcome"] for h in store.history("ada")] == ["graded", "error (not stored)"]
    # a first attempt that fails is recorded (and retried on the next run)
    first = _record(config, store, load_rubric(), Job("ben", Phase.A, tmp_path, {}, "fp"), PhaseResult(Outcome.ERROR))
    assert first == "error"
    assert store.result("ben", Phase.A).outcome is Outcome.ERROR
    # a kernel that died is a grade too (its cells were scored): a later grader error keeps it
    store.save_result("cy", Phase.A, "fp-old", PhaseResult(Outcome.KERNEL_DIED, "died", cells=cells))
    assert _record(config, store, load_rubric(), Job("cy", Phase.A, tmp_path, {}, "fp-new"),
                   PhaseResult(Outcome.ERROR)) == "error (previous grade kept)"
    assert store.result("cy", Phase.A).outcome is Outcome.KERNEL_DIED


def test_grading_refuses_to_start_without_the_jail_unless_allowed(tmp_path, monkeypatch):
    from autograder.grading import coordinator
    from autograder.grading.config import GradingConfig
    from autograder.grading.intake import IntakeError
    from geoai_ref.errors import UsageError

    monkeypatch.setattr(coordinator, "jail_available", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(UsageError, match="bubblewrap .* --allow-unjailed"):
        coordinator.grade_class(GradingConfig(course=tmp_path), tmp_path / "no-submissions")
    assert not (tmp_path / "gradebook").exists()  # refused before writing anything
    with pytest.raises(IntakeError):  # allowed: it goes on, to the (missing) submissions
        coordinator.grade_class(GradingConfig(course=tmp_path, allow_unjailed=True), tmp_path / "no-submissions")


def test_a_phase_graded_without_the_jail_says_so_and_runs_its_probes_unjailed(tmp_path, monkeypatch):
    from autograder.grading import coordinator
    from autograder.grading.config import GradingConfig
    from autograder.grading.coordinator import Job, grade_phase
    from geoai_ref.phase import Phase

    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "Week_4_Exercise_Phase4A.ipynb").write_text('{"cells": [')  # stopped at intake: no nbgrader run
    monkeypatch.setattr(coordinator, "jail_available", lambda: "bubblewrap (bwrap) is not installed")
    config = GradingConfig(course=tmp_path / "course", allow_unjailed=True)
    result = grade_phase(Job("ivy", Phase.A, snap, {}, "fp"), config, tmp_path / "template.db")
    assert result.outcome == "invalid-notebook"
    (flag,) = [f for f in result.flags if f.id == "unjailed"]
    assert "WITHOUT the jail (bubblewrap (bwrap) is not installed)" in flag.message
    probes = [t for t in result.trusted if t.id.endswith("_probe")]
    assert probes and all(not t.passed and "could not be judged" in t.message for t in probes)


def test_a_phase_hands_its_idle_callback_to_the_nbgrader_run(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from autograder.grading import coordinator
    from autograder.grading.config import GradingConfig
    from autograder.grading.coordinator import Job, grade_phase
    from autograder.grading.intake import PhaseCheck
    from autograder.grading.results import Outcome, PhaseResult
    from autograder.trusted import checks
    from geoai_ref.phase import Phase

    handed: list[object] = []
    monkeypatch.setattr(coordinator, "jail_available", lambda: None)
    monkeypatch.setattr(coordinator, "check_phase", lambda snapshot, phase: PhaseCheck(None, "", ()))
    monkeypatch.setattr(coordinator, "worker_course", lambda *a, **k: SimpleNamespace(root=tmp_path / "worker"))
    monkeypatch.setattr(coordinator, "release_data", lambda course: None)
    monkeypatch.setattr(coordinator, "autograde", lambda *a, on_idle=None, **k: (handed.append(on_idle),
                                                                                 PhaseResult(Outcome.GRADED))[1])
    monkeypatch.setattr(checks, "trusted_checks", lambda *a, **k: [])
    leave = object()
    config = GradingConfig(course=tmp_path / "course", phases=("phase4c",))
    result = grade_phase(Job("cy", Phase.C, tmp_path / "snap", {}, "fp"), config, tmp_path / "t.db", on_idle=leave)
    assert result.outcome is Outcome.GRADED and handed == [leave]
