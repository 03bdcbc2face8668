"""Benchmark: grading the sample class with plain sequential nbgrader vs `geoai-grade grade --workers N`.

Both grade the same submissions (the sample class of `geoai-grade demo`, built once) in fresh course
folders, in one run:

- baseline: `nbgrader autograde PHASE --student S`, one student after another, as an instructor would
  without the kit (the notebooks' visible tests only: no snapshot, no probes, no trusted checks, no rubric);
- kit: `geoai-grade grade --workers N` (snapshot, nbgrader in limited subprocesses, trusted checks with
  sandboxed model re-evaluation, rubric store, reports).

Prints seconds per student, total wall time, the ratio and the peak resident memory of each process
tree (sampled every 0.1 s by autograder.grading.limits), and, per phase, the kit's seconds inside a worker
with and without its probe process (the hidden checks' one jailed process per phase, timed by the kit).

    .venv/bin/python bench/grading.py [--phase 4a] [--workers 2] [--students ada_correct ben_collapsed ...]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from autograder.authoring.course import make_course, path_with_venv
from autograder.demo.sample_class import build_sample_class
from autograder.grading.limits import Limits, environment, run_limited
from autograder.paths import REPO
from autograder.rubric.store import RubricStore
from geoai_ref.phase import PHASE_HELP, Phase, phase_argument

LIMITS = Limits(seconds=7200, memory_mb=60_000)  # measuring, not limiting


def baseline(root: Path, submissions: Path, phases: tuple[Phase, ...], students: list[str],
             cell_timeout: int) -> tuple[dict[str, float], float, float]:
    """Plain nbgrader, sequential: seconds per student, total seconds, peak MiB of any one command."""
    course = make_course(root / "baseline")
    for phase in phases:
        course.generate(phase)
    per_student: dict[str, float] = {}
    peak = 0.0
    env = environment(PATH=path_with_venv(), GEOAI_GRADING="1", GEOAI_EPOCHS="1")
    for student in students:
        per_student[student] = 0.0
        for phase in phases:
            dest = course.submitted(student, phase)
            shutil.copytree(submissions / student / phase, dest)
            cmd = [sys.executable, "-m", "nbgrader", "autograde", phase, "--student", student, "--force",
                   f"--CourseDirectory.root={course.root}", f"--CourseDirectory.db_url=sqlite:///{course.db}",
                   f"--Execute.timeout={cell_timeout}"]
            run = run_limited(cmd, LIMITS, cwd=REPO, env=env)
            per_student[student] += run.seconds
            peak = max(peak, run.peak_mb)
            status = "ok" if run.returncode == 0 else f"exit {run.returncode}"
            print(f"  nbgrader   {student:22} {phase}  {run.seconds:6.1f} s  {status}", flush=True)
    return per_student, sum(per_student.values()), peak


def kit(root: Path, submissions: Path, phases: tuple[Phase, ...], workers: int,
        cell_timeout: int, allow_unjailed: bool = False) -> tuple[dict[str, float], float, float, dict[str, list]]:
    """`geoai-grade grade`: seconds per student (sum of its phases), wall seconds, peak MiB of the whole tree, and
    per phase the (seconds inside the worker, seconds of its probe process) of every submission."""
    course = make_course(root / "kit")
    phase_arg = ",".join(p.short for p in phases)
    cmd = [sys.executable, "-m", "autograder.cli", "grade", "--submissions", str(submissions),
           "--out", str(root / "reports"), "--course", str(course.root), "--workers", str(workers),
           "--phase", phase_arg, "--cell-timeout", str(cell_timeout), *(["--allow-unjailed"] if allow_unjailed else [])]
    run = run_limited(cmd, LIMITS, cwd=REPO)
    if run.returncode not in (0, 1):
        raise SystemExit(f"geoai-grade grade failed (exit {run.returncode}):\n{run.output[-3000:]}")
    per_student: dict[str, float] = {}
    per_phase: dict[str, list[tuple[float, float]]] = {}
    for r in RubricStore(course.root / "gradebook" / "rubric_store.sqlite").results():
        seconds = float(r.result.seconds or 0.0)
        per_student[r.student] = per_student.get(r.student, 0.0) + seconds
        probe = next((float(t.evidence.get("process_seconds") or 0.0) for t in r.result.trusted
                      if t.id.endswith("_probe")), 0.0)
        per_phase.setdefault(str(r.phase), []).append((seconds, probe))
    return per_student, run.seconds, run.peak_mb, per_phase


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", type=phase_argument, default="4a", help=PHASE_HELP)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--students", nargs="*", default=None, help="sample students (default: all)")
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--build-epochs", type=int, default=5)
    parser.add_argument("--allow-unjailed", action="store_true", help="grade without the jail where it cannot run")
    args = parser.parse_args(argv)
    phases = args.phase
    root = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    built = build_sample_class(root / "submissions", phases=phases, epochs=args.build_epochs,
                               students=tuple(args.students) if args.students else None,
                               progress=lambda m: print(m, flush=True))
    students = [s.id for s in built]
    print(f"sample class: {len(students)} students x {len(phases)} phase(s) in {root}")
    base_per, base_total, base_peak = baseline(root, root / "submissions", phases, students, args.cell_timeout)
    kit_per, kit_wall, kit_peak, kit_phases = kit(root, root / "submissions", phases, args.workers,
                                                  args.cell_timeout, args.allow_unjailed)
    print()
    print(f"{'student':24} {'nbgrader (s)':>13} {'geoai-grade (s)':>16}")
    for s in students:
        print(f"{s:24} {base_per[s]:13.1f} {kit_per.get(s, 0.0):16.1f}")
    print()
    print(f"{'':24} {'wall (s)':>9} {'per student (s)':>16} {'peak MiB':>9}")
    print(f"{'nbgrader, sequential':24} {base_total:9.1f} {base_total / len(students):16.1f} {base_peak:9.0f}")
    print(f"{f'geoai-grade, {args.workers} workers':24} {kit_wall:9.1f} {kit_wall / len(students):16.1f} "
          f"{kit_peak:9.0f}")
    print(f"wall-time ratio nbgrader / geoai-grade: {base_total / kit_wall:.2f}")
    print()
    print(f"{'phase':8} {'with probes, median s':>22} {'without probes, median s':>25} {'probe process, median s':>24}")
    for phase, rows in sorted(kit_phases.items()):
        with_probes = statistics.median(w for w, _ in rows)
        without = statistics.median(w - p for w, p in rows)
        print(f"{phase:8} {with_probes:22.1f} {without:25.1f} {statistics.median(p for _, p in rows):24.1f}")
    print("(geoai-grade also snapshots, re-evaluates every model in a sandbox and writes the reports; the "
          "per-student column of geoai-grade is the time each student's phases took inside their worker)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

