"""Benchmark: the released notebooks, run top to bottom with the reference answers pasted in.

For each phase: generate the release with nbgrader in a throw-away course, paste the worked
solution of every solution cell into the released notebook (matched by grade_id), execute it in
a folder holding the released data, and check every deliverable of the phase. Runs the grading
budget (1 epoch, what autograding uses) and the full budget (the notebooks' own 50 epochs with
early stopping) in one run and prints seconds and peak memory of each.

    .venv/bin/python bench/notebooks.py [--phase phase4a] [--profiles grading full]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.authoring.course import make_course, stage_data
from autograder.authoring.notebooks import PHASES, build_notebook
from autograder.authoring.solutions import execute
from geoai_ref.deliverables import check_deliverables

PROFILES = {"grading": 1, "full": None}  # epochs; None = the notebook's default (50)


def with_reference_answers(released: nbformat.NotebookNode, phase: str) -> nbformat.NotebookNode:
    """The released notebook with each solution cell replaced by the worked solution of the same grade_id."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in build_notebook(PHASES[phase].source).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in released.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answers[gid]
    return released


def children_peak_mib() -> float:
    """Peak resident memory of the finished child processes (the kernels), in MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", nargs="*", default=list(PHASES), choices=list(PHASES))
    parser.add_argument("--profiles", nargs="*", default=list(PROFILES), choices=list(PROFILES))
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-notebooks-"))
    course = make_course(root / "course")
    print(f"{'phase':8} {'profile':8} {'seconds':>8} {'kernel peak MiB':>16}  deliverables")
    failed = 0
    for phase in args.phase:
        release = course.generate(phase)
        for profile in args.profiles:
            folder = root / profile / phase
            folder.mkdir(parents=True)
            stage_data(phase, folder)
            nb = with_reference_answers(nbformat.read(release / f"{PHASES[phase].notebook}.ipynb", as_version=4),
                                        phase)
            start = time.perf_counter()
            execute(nb, folder, epochs=PROFILES[profile], timeout=1800)
            seconds = time.perf_counter() - start
            report = check_deliverables(folder, (phase,))
            status = "all valid" if report.ok else "; ".join(f"{c.path}: {c.message}" for c in report.failures)
            failed += not report.ok
            print(f"{phase:8} {profile:8} {seconds:8.1f} {children_peak_mib():16.0f}  {status}", flush=True)
    print(f"(work folder: {root}; kernel peak memory is the largest of the kernels so far)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
