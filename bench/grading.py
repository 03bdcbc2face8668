"""Benchmark: grading the sample class with plain sequential nbgrader vs `geoai-grade grade --workers N`.

Both grade the same submissions (the sample class of `geoai-grade demo`, built once) in fresh course
folders, in one run:

- baseline: `nbgrader autograde PHASE --student S`, one student after another, as an instructor would
  without the kit (the notebooks' visible tests only: no snapshot, no probes, no trusted checks, no rubric);
- kit: `geoai-grade grade --workers N` (snapshot, nbgrader in limited subprocesses, trusted checks with
  sandboxed model re-evaluation, rubric store, reports), each submission graded on its own as nbgrader does
  (`--grade-identical-separately`: the sample class's copies of the worked solution are not graded once).

Prints seconds per student, total wall time, the ratio, the CPU seconds of each arm (user + system time of
every process of its commands) and the peak resident memory of each process tree, both sampled every 0.1 s
by autograder.grading.limits, the peak of the largest nbgrader run (kernel included), and, per phase, the
kit's seconds inside a worker with and without its probe process (the hidden checks' one jailed process per
phase, timed by the kit). With ``--scaling`` the kit also
grades the class with one worker, for the throughput ratio of 1 and N workers.

The kit trains every model.fit of the grading run on ``--train-batches`` batches per epoch (its default);
plain nbgrader runs the same notebooks with the same 1-epoch budget on every batch, as an instructor
without the kit would.

    .venv/bin/python bench/grading.py [--phase 4a] [--workers 2] [--scaling] [--students ada_correct ...]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.authoring.course import make_course, path_with_venv
from autograder.demo.sample_class import build_sample_class
from autograder.grading.config import GradingConfig
from autograder.grading.limits import Limits, environment, run_limited
from autograder.paths import REPO
from autograder.rubric.store import RubricStore
from geoai_ref.phase import PHASE_HELP, Phase, phase_argument

LIMITS = Limits(seconds=7200, memory_mb=60_000)  # measuring, not limiting


def baseline(root: Path, submissions: Path, phases: tuple[Phase, ...], students: list[str],
             cell_timeout: int) -> tuple[dict[str, float], float, float, float]:
    """Plain nbgrader, sequential: seconds per student, total seconds, peak MiB of any one command, CPU seconds."""
    course = make_course(root / "baseline")
    for phase in phases:
        course.generate(phase)
    per_student: dict[str, float] = {}
    peak = cpu = 0.0
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
            cpu += run.cpu_seconds
            status = "ok" if run.returncode == 0 else f"exit {run.returncode}"
            print(f"  nbgrader   {student:22} {phase}  {run.seconds:6.1f} s  {status}", flush=True)
    return per_student, sum(per_student.values()), peak, cpu


@dataclass(frozen=True)
class KitRun:
    """One `geoai-grade grade` of the class: seconds per student (sum of its phases inside their workers), wall and
    CPU seconds, peak MiB of the whole tree and of the largest nbgrader run, and per phase the (seconds inside
    the worker, seconds of its probe process) of every submission."""

    per_student: dict[str, float]
    wall: float
    cpu: float
    peak_mb: float
    largest_nbgrader_mb: float
    per_phase: dict[str, list[tuple[float, float]]]


def kit(root: Path, submissions: Path, phases: tuple[Phase, ...], workers: int, cell_timeout: int,
        train_batches: int, allow_unjailed: bool = False) -> KitRun:
    """Grade the class with `geoai-grade grade --workers N` in a fresh course folder under ``root``."""
    course = make_course(root / f"kit{workers}")
    for phase in phases:  # as for the baseline, the assignments exist before grading starts
        course.generate(phase)
    phase_arg = ",".join(p.short for p in phases)
    cmd = [sys.executable, "-m", "autograder.cli", "grade", "--submissions", str(submissions),
           "--out", str(root / "reports"), "--course", str(course.root), "--workers", str(workers),
           "--phase", phase_arg, "--cell-timeout", str(cell_timeout),
           "--train-batches", str(train_batches), *(["--allow-unjailed"] if allow_unjailed else []),
           # like for like: plain nbgrader grades each copy of the worked solution in the sample class, so does the kit
           "--grade-identical-separately"]
    run = run_limited(cmd, LIMITS, cwd=REPO)
    if run.returncode not in (0, 1):
        raise SystemExit(f"geoai-grade grade failed (exit {run.returncode}):\n{run.output[-3000:]}")
    per_student: dict[str, float] = {}
    per_phase: dict[str, list[tuple[float, float]]] = {}
    largest = 0.0
    for r in RubricStore(course.root / "gradebook" / "rubric_store.sqlite").results():
        seconds = float(r.result.seconds or 0.0)
        per_student[r.student] = per_student.get(r.student, 0.0) + seconds
        probe = next((float(t.evidence.get("process_seconds") or 0.0) for t in r.result.trusted
                      if t.id.endswith("_probe")), 0.0)
        per_phase.setdefault(str(r.phase), []).append((seconds, probe))
        largest = max(largest, float(r.result.peak_mb or 0.0))
    return KitRun(per_student, run.seconds, run.cpu_seconds, run.peak_mb, largest, per_phase)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", type=phase_argument, default="4a", help=PHASE_HELP)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scaling", action="store_true", help="also grade with one worker (throughput ratio)")
    parser.add_argument("--students", nargs="*", default=None, help="sample students (default: all)")
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--train-batches", type=int, default=GradingConfig.train_batches,
                        help="the kit's training budget: batches per epoch of each model.fit (default: %(default)s)")
    parser.add_argument("--build-epochs", type=int, default=5)
    parser.add_argument("--allow-unjailed", action="store_true", help="grade without the jail where it cannot run")
    args = parser.parse_args(argv)
    phases = args.phase
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    built = build_sample_class(root / "submissions", phases=phases, epochs=args.build_epochs,
                               students=tuple(args.students) if args.students else None,
                               progress=lambda m: print(m, flush=True))
    students = [s.id for s in built]
    n = len(students)
    print(f"sample class: {n} students x {len(phases)} phase(s) in {root}")
    base_per, base_total, base_peak, base_cpu = baseline(root, root / "submissions", phases, students,
                                                         args.cell_timeout)
    runs = {args.workers: kit(root, root / "submissions", phases, args.workers, args.cell_timeout,
                              args.train_batches, args.allow_unjailed)}
    if args.scaling and args.workers != 1:
        runs[1] = kit(root, root / "submissions", phases, 1, args.cell_timeout, args.train_batches,
                      args.allow_unjailed)
    main_run = runs[args.workers]
    print()
    print(f"{'student':24} {'nbgrader (s)':>13} {'geoai-grade (s, inside its workers)':>36}")
    for s in students:
        print(f"{s:24} {base_per[s]:13.1f} {main_run.per_student.get(s, 0.0):36.1f}")
    print()
    print(f"{'':28} {'wall (s)':>9} {'CPU s':>8} {'CPU s / student':>16} {'peak MiB':>9} {'largest run MiB':>16}")
    print(f"{'nbgrader, sequential':28} {base_total:9.1f} {base_cpu:8.1f} {base_cpu / n:16.1f} {base_peak:9.0f} "
          f"{base_peak:16.0f}")
    for workers, run in sorted(runs.items(), reverse=True):
        print(f"{f'geoai-grade, {workers} worker(s)':28} {run.wall:9.1f} {run.cpu:8.1f} {run.cpu / n:16.1f} "
              f"{run.peak_mb:9.0f} {run.largest_nbgrader_mb:16.0f}")
    print(f"wall-time ratio nbgrader / geoai-grade ({args.workers} workers): {base_total / main_run.wall:.2f}")
    print(f"CPU ratio geoai-grade / nbgrader: {main_run.cpu / base_cpu:.2f}")
    if 1 in runs and args.workers != 1:
        print(f"throughput ratio {args.workers} workers / 1 worker: {runs[1].wall / main_run.wall:.2f}")
    print()
    print(f"{'phase':8} {'with probes, median s':>22} {'without probes, median s':>25} {'probe process, median s':>24}")
    for phase, rows in sorted(main_run.per_phase.items()):
        with_probes = statistics.median(w for w, _ in rows)
        without = statistics.median(w - p for w, p in rows)
        print(f"{phase:8} {with_probes:22.1f} {without:25.1f} {statistics.median(p for _, p in rows):24.1f}")
    print("(geoai-grade also snapshots, re-evaluates every model in a sandbox and writes the reports; its "
          "per-student column is the time each student's phases took inside their worker)")
    print(f"the whole benchmark took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
