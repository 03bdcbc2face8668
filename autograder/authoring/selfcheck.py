"""Autograde the worked solution and the untouched release of a phase in a throw-away course.

``python -m autograder.authoring.selfcheck phase4a [--epochs 1] [--keep DIR]`` prints each grade cell's
score for both: the solution must earn every automatic point, the blank release none of the
points that need the student's work. Tests use :func:`selfcheck` the same way.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.authoring.course import Course, make_course, stage_data
from autograder.authoring.notebooks import PHASES
from autograder.authoring.release_data import release_data
from autograder.authoring.solutions import run_solution
from geoai_ref.phase import Phase, one_phase_argument

SOLUTION_STUDENT = "solution"
BLANK_STUDENT = "blank"


@dataclass
class SelfCheck:
    course: Course
    solution: dict[str, tuple[float, float]]
    blank: dict[str, tuple[float, float]]
    solution_seconds: float


def submit(course: Course, phase: Phase, student: str, folder: Path) -> Path:
    """Copy a student's working folder into the course's submitted/ tree."""
    dest = course.submitted(student, phase)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(folder, dest, ignore=shutil.ignore_patterns("_autograder_outputs", ".ipynb_checkpoints"))
    return dest


def autograded_notebook(course: Course, phase: Phase, student: str) -> nbformat.NotebookNode:
    return nbformat.read(course.autograded(student, phase) / f"{PHASES[phase].notebook}.ipynb", as_version=4)


def selfcheck(phase: Phase, root: Path, epochs: int = 1) -> SelfCheck:
    """Generate ``phase`` in a course at ``root``, then autograde its solution and its blank release, both on the
    course's release data (:func:`~autograder.authoring.release_data.release_data`)."""
    course = make_course(root)
    data = release_data(course.root)
    release = course.generate(phase)
    work = root / "work"
    solved = run_solution(phase, work / SOLUTION_STUDENT / phase, epochs=epochs, data=data)
    submit(course, phase, SOLUTION_STUDENT, solved.folder)
    blank = work / BLANK_STUDENT / phase
    shutil.copytree(release, blank)
    stage_data(phase, blank, data)
    submit(course, phase, BLANK_STUDENT, blank)
    return SelfCheck(course, course.autograde(phase, SOLUTION_STUDENT), course.autograde(phase, BLANK_STUDENT),
                     solved.seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", type=one_phase_argument, help="the phase: 4a, 4b or 4c (or phase4a, ...)")
    parser.add_argument("--epochs", type=int, default=1, help="epoch budget of the solution run (default 1)")
    parser.add_argument("--keep", help="course folder to keep for inspection (default: a temporary one)")
    args = parser.parse_args(argv)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="selfcheck-"))
    result = selfcheck(args.phase, root, epochs=args.epochs)
    print(f"solution executed in {result.solution_seconds:.0f} s; course at {root}")
    print(f"{'grade_id':32} {'solution':>10} {'blank':>10}")
    def shown(score: float | None) -> str:
        return "manual" if score is None else f"{score:g}"

    for gid, (score, top) in result.solution.items():
        blank = result.blank.get(gid, (None, top))[0]
        print(f"{gid:32} {shown(score):>6}/{top:<4g} {shown(blank):>6}/{top:<4g}")
    for student in ("solution", "blank"):
        nb = autograded_notebook(result.course, args.phase, student)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and cell.cell_type == "code":
                for out in cell.get("outputs", []):
                    if out.output_type == "error":
                        print(f"[{student}] {meta['grade_id']}: {out.ename}: {out.evalue[:300]}")
                    elif out.output_type == "stream" and out.name == "stderr":
                        print(f"[{student}] {meta['grade_id']}: STDERR {out.text[:300]}")
    auto_lost = [g for g, (s, m) in result.solution.items() if s is not None and s < m]
    return 1 if auto_lost else 0


if __name__ == "__main__":
    sys.exit(main())
