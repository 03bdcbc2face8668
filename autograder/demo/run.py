"""`geoai-grade demo`: build the sample class, grade it in parallel, write every report, check the faults.

Layout under ``OUT``: ``submissions/`` (the sample class), ``course/`` (its own nbgrader course and
gradebook, so the repository's gradebook is untouched), the reports (``<student>/rubric.*``,
``summary.csv``, ``index.html``), ``grades.csv`` and ``feedback/``. Running it again resumes: students
already built and phases already graded with the same files are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.authoring.course import make_course
from autograder.demo.defaults import DEMO_CELL_TIMEOUT, DEMO_WORKERS, SAMPLE_EPOCHS
from autograder.demo.sample_class import SampleStudent, build_sample_class
from autograder.grading.config import GradingConfig
from autograder.grading.coordinator import grade_class
from autograder.grading.limits import Limits
from autograder.publish.class_reports import write_feedback_pages, write_reports
from autograder.publish.lms import write_grades_csv
from autograder.rubric.store import RubricStore
from geoai_ref.phase import Phase


@dataclass
class DemoResult:
    rubrics: list[dict]
    expectation_problems: list[str]


def expectation_problems(rubrics: list[dict], students: list[SampleStudent], phases: tuple[Phase, ...]) -> list[str]:
    """Where a sample student's rubric does not show their fault as :data:`STUDENTS` says it must.

    The correct student must earn every automatic point of the graded phases and raise no flag; each
    faulty student must score 0 on each of their lost checks, raise each of their flags and have the
    expected outcome in the faulty phase.
    """
    by_id = {r["student"]: r for r in rubrics}
    graded_phases = {Phase.parse(p).label for p in phases}
    problems = []
    for student in students:
        r = by_id.get(student.id)
        if r is None:
            problems.append(f"{student.id}: no rubric")
            continue
        checks = {c["id"]: c for cr in r["criteria"] for c in cr["checks"]}
        flags = {f["id"] for f in r["flags"]}
        if student.phase is None:
            for cr in r["criteria"]:
                for c in cr["checks"]:
                    if cr["phase"] in graded_phases and c["source"] == "nbgrader" and c["passed"] is not True:
                        problems.append(f"{student.id}: {c['id']} did not pass: {c['message']}")
            if flags:
                problems.append(f"{student.id}: unexpected flags {sorted(flags)}")
            continue
        outcome = r["phases"].get(student.phase, {}).get("outcome")
        if outcome != student.outcome:
            problems.append(f"{student.id}: {student.phase} outcome {outcome!r}, expected {student.outcome!r}")
        for cid in student.lost_checks:
            if checks[cid]["points"] != 0:
                problems.append(f"{student.id}: {cid} earned {checks[cid]['points']} points despite the fault "
                                f"({student.fault})")
        for flag in student.flags:
            if flag not in flags:
                problems.append(f"{student.id}: flag {flag!r} missing (have {sorted(flags)})")
    return problems


def run_demo(out: Path, workers: int = DEMO_WORKERS, phases: tuple[Phase, ...] = (), epochs: int = SAMPLE_EPOCHS,
             cell_timeout: int = DEMO_CELL_TIMEOUT, progress: Callable[[str], None] = lambda m: None,
             show_bar: bool = False, allow_unjailed: bool = False) -> DemoResult:
    """Build, grade and report the sample class under ``out`` (``allow_unjailed``: see GradingConfig).

    Raises:
        geoai_ref.errors.UsageError: if this machine cannot run the jail and ``allow_unjailed`` is False.
        autograder.authoring.solutions.SolutionRunError: if a worked solution fails to execute.
        autograder.authoring.course.NbgraderError: if nbgrader cannot generate the assignments.
    """
    phases = tuple(Phase.parse(p) for p in phases) or tuple(Phase)
    out.mkdir(parents=True, exist_ok=True)
    students = build_sample_class(out / "submissions", phases=phases, epochs=epochs, progress=progress,
                                  marker_dir=out / "sample_build")
    course_root = out / "course"
    if not (course_root / "assignments").exists():
        make_course(course_root)
    config = GradingConfig(course=course_root, phases=phases, workers=workers,
                           limits=Limits(seconds=1200, memory_mb=8192), cell_timeout=cell_timeout, epochs=1,
                           allow_unjailed=allow_unjailed)
    grade_class(config, out / "submissions", progress=progress, show_bar=show_bar)
    store = RubricStore(config.store_path)
    rubrics = write_reports(store, out, title="GeoAI Week 4: sample class")
    write_grades_csv(rubrics, out / "grades.csv")
    write_feedback_pages(store, course_root, out / "feedback", progress=progress)
    return DemoResult(rubrics, expectation_problems(rubrics, students, phases))

