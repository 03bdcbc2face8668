"""Grading a class: intake, snapshot, nbgrader in limited subprocesses, trusted checks, one writer.

Per submitted phase, in order:

1. **snapshot** the submitted files (copy + SHA-256) before anything runs; every later step reads the copy;
2. **intake** decides whether the notebook can run (missing / invalid notebook -> a recorded outcome);
3. **nbgrader autograde** runs in a private course folder (its own copy of the gradebook template), in a
   subprocess with a wall-time and a memory limit, so parallel workers never share a database;
4. the **trusted checks** (autograder/trusted/checks.py) read the snapshot and re-evaluate models in a sandbox.

Workers are threads that wait on subprocesses; the coordinating thread alone writes the rubric store and
nbgrader's gradebook, one whole phase result per transaction. A phase whose fingerprint (files + grading
configuration) is already in the store is not graded again, so a killed batch resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.authoring.course import Course, fused_reference, path_with_venv, use_venv_tools
from autograder.authoring.notebooks import PHASES
from autograder.grading.intake import PhaseCheck, check_phase, discover, fingerprint, snapshot, unpack
from autograder.grading.limits import Limits, environment, kill_stale, run_limited, stop_all
from autograder.paths import REPO
from autograder.rubric.store import RubricStore
from autograder.trusted.sandbox import SandboxLimits

#: Bump when grading logic changes in a way that should regrade stored results.
GRADER_VERSION = "1"
LOG_TAIL = 3000


@dataclass(frozen=True)
class GradingConfig:
    """How a class is graded. ``limits`` apply to each phase's nbgrader run (kernel included)."""

    course: Path
    phases: tuple[str, ...] = tuple(PHASES)
    workers: int = 2
    limits: Limits = Limits(seconds=1800, memory_mb=8192)
    cell_timeout: int = 300
    epochs: int = 1
    regrade: bool = False
    trusted_limits: SandboxLimits | None = None  # the sandbox's limits; None = its defaults

    def __post_init__(self) -> None:
        # nbgrader runs with the repository as working folder: a relative course path would point elsewhere
        object.__setattr__(self, "course", Path(self.course).resolve())

    @property
    def threads_per_worker(self) -> int:
        """CPU threads each worker's TensorFlow may use: the cores shared out, so that parallel kernels do
        not oversubscribe the machine (each would otherwise start one thread per core)."""
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))

    @property
    def gradebook(self) -> Path:
        return self.course / "gradebook"

    @property
    def store_path(self) -> Path:
        return self.gradebook / "rubric_store.sqlite"

    def salt(self, phase: str) -> tuple[str, ...]:
        """What besides the files decides a phase's grade (changing any of it regrades)."""
        source = self.course / "assignments" / phase / PHASES[phase].ipynb.name
        digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.exists() else "no-source"
        return (GRADER_VERSION, phase, digest, str(self.epochs), str(self.cell_timeout))


@dataclass(frozen=True)
class Job:
    student: str
    phase: str
    snapshot: Path
    manifest: dict[str, str]
    fingerprint: str


@dataclass
class GradeRun:
    """What a ``grade`` call did."""

    graded: list[tuple[str, str, str]] = field(default_factory=list)  # (student, phase, outcome)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # already graded with the same fingerprint
    warnings: list[str] = field(default_factory=list)


# --- one phase of one student (runs in a worker thread) -------------------------------------------------

def _cell_messages(notebook: Path) -> tuple[dict[str, str], list[str]]:
    """From an autograded notebook: grade_id -> the error its grade cell raised (``Name: message``), and the
    ids of the cells nbgrader stopped at the cell timeout."""
    messages: dict[str, str] = {}
    timed_out: list[str] = []
    nb = nbformat.read(notebook, as_version=4)
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if any(e.get("ename") == "CellTimeoutError" for e in errors):
            timed_out.append(meta.get("grade_id", f"cell {i + 1}"))
        if errors and meta.get("grade"):
            err = errors[-1]
            value = str(err.get("evalue", "")).strip() or "".join(err.get("traceback", [])[-1:])[:300]
            messages[meta["grade_id"]] = f"{err.get('ename', 'Error')}: {value}"
    return messages, timed_out


def _worker_course(job: Job, config: GradingConfig, template_db: Path, intake: PhaseCheck) -> Course:
    """A private nbgrader course for one job: the course's notebooks, a copy of the gradebook, the snapshot."""
    root = config.gradebook / "work" / job.student / job.phase
    if root.exists():
        kill_stale(root / "autograde.pid")  # an nbgrader run orphaned by a killed coordinator
        shutil.rmtree(root)
    (root / "gradebook").mkdir(parents=True)
    (root / "assignments").symlink_to(config.course / "assignments", target_is_directory=True)
    shutil.copyfile(template_db, root / "gradebook" / "gradebook.db")
    submitted = root / "gradebook" / "submitted" / job.student / job.phase
    shutil.copytree(job.snapshot, submitted, copy_function=shutil.copyfile)
    if any(flag == "wrong-kernel" for flag, _ in intake.flags):
        path = submitted / PHASES[job.phase].ipynb.name
        nb = nbformat.read(path, as_version=4)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)
    return Course(root)


def _autograde(job: Job, config: GradingConfig, course: Course) -> dict:
    """nbgrader autograde in a limited subprocess -> outcome, cells, timings."""
    cmd = [sys.executable, "-m", "nbgrader", "autograde", job.phase, "--student", job.student, "--force",
           f"--CourseDirectory.root={course.root}", f"--CourseDirectory.db_url=sqlite:///{course.db}",
           f"--Execute.timeout={config.cell_timeout}"]
    threads = str(config.threads_per_worker)
    env = environment(PATH=path_with_venv(), GEOAI_GRADING="1", GEOAI_EPOCHS=str(config.epochs),
                      PYTHONWARNINGS="ignore", TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS="1",
                      OMP_NUM_THREADS=threads)
    run = run_limited(cmd, config.limits, cwd=REPO, env=env, log=course.root / "autograde.log",
                      pidfile=course.root / "autograde.pid")
    base = {"nbgrader_seconds": round(run.seconds, 1), "peak_mb": round(run.peak_mb)}
    if run.killed == "timeout":
        return {**base, "outcome": "timeout",
                "message": f"grading ran past {config.limits.seconds:g} s and was stopped: look for a cell that "
                           "never finishes (an endless loop, input(), a huge epoch count)"}
    if run.killed == "memory":
        return {**base, "outcome": "memory",
                "message": f"the notebook used more than {config.limits.memory_mb} MiB and was stopped: use smaller "
                           "batches or fewer copies of the data"}
    if run.returncode != 0:
        return {**base, "outcome": "error", "message": f"nbgrader autograde failed (exit {run.returncode}): "
                f"{run.output[-LOG_TAIL:]}"}
    notebook = course.autograded(job.student, job.phase) / PHASES[job.phase].ipynb.name
    if not notebook.exists():
        return {**base, "outcome": "error",
                "message": f"nbgrader wrote no autograded notebook: {run.output[-LOG_TAIL:]}"}
    messages, timed_out = _cell_messages(notebook)
    if timed_out:
        for gid, message in messages.items():
            if message.startswith("NameError"):
                messages[gid] = (f"{message} (cell {timed_out[0]} never finished, so what it defines was never "
                                 "defined: fix that cell first)")
    cells = {}
    for gid, (score, max_score) in course.scores(job.phase, job.student).items():
        passed = None if score is None else score >= max_score
        cells[gid] = {"score": score, "max": max_score, "passed": passed,
                      "message": messages.get(gid, "passed" if passed else "")}
    flags = [{"id": "cell-timeout", "phase": job.phase,
              "message": f"cell {gid} did not finish within {config.cell_timeout} s and was stopped; the cells after "
                         "it ran without its results: look for an endless loop (or work too slow for the grading "
                         "budget: raise --cell-timeout on a busy machine)"} for gid in timed_out]
    return {**base, "outcome": "graded", "message": "", "cells": cells, "flags": flags}


def grade_phase(job: Job, config: GradingConfig, template_db: Path) -> dict:
    """Grade one phase of one student; never raises (an internal failure becomes outcome ``error``)."""
    from autograder.trusted.checks import trusted_checks

    result: dict = {"snapshot": job.manifest, "snapshot_dir": str(job.snapshot), "flags": [], "cells": {}}
    start = time.monotonic()
    try:
        intake = check_phase(job.snapshot, job.phase)
        intake_flags = [{"id": f, "phase": job.phase, "message": m} for f, m in intake.flags]
        if intake.outcome is not None:
            result.update(outcome=intake.outcome, message=intake.message)
        else:
            course = _worker_course(job, config, template_db, intake)
            result.update(_autograde(job, config, course))
            result["worker_course"] = str(course.root)
        result["flags"] = intake_flags + result.get("flags", [])
        kwargs = {"limits": config.trusted_limits} if config.trusted_limits is not None else {}
        result["trusted"] = [t.to_dict() for t in trusted_checks(job.phase, job.snapshot, **kwargs)]
    except Exception as exc:  # noqa: BLE001 - one broken submission must never stop the class
        result.update(outcome="error", message=f"internal grading error ({type(exc).__name__}: {exc}); "
                      f"report it with this trace: {traceback.format_exc()[-LOG_TAIL:]}")
        result.setdefault("trusted", [])
    result["seconds"] = round(time.monotonic() - start, 1)  # nbgrader and the trusted checks
    return result


# --- the coordinator (the only writer) -----------------------------------------------------------------

def _template_db(config: GradingConfig, progress: Callable[[str], None]) -> Path:
    """A copy of the course gradebook holding every assignment to grade (generated if missing)."""
    from nbgrader.api import Gradebook, MissingEntry

    course = Course(config.course)
    with Gradebook(f"sqlite:///{course.db}") as gb:
        missing = []
        for phase in config.phases:
            try:
                gb.find_assignment(phase)
            except MissingEntry:
                missing.append(phase)
    for phase in missing:
        progress(f"nbgrader generate_assignment {phase} (first grading of this phase)")
        course.generate(phase)
    template = config.gradebook / "work" / "template.db"
    template.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(course.db, template)
    return template


def merge_into_gradebook(config: GradingConfig, student: str, phase: str, worker_root: Path) -> None:
    """Copy one autograded submission's scores into the course's nbgrader gradebook (coordinator only).

    Manual scores already entered in the course gradebook (formgrader) are kept.
    """
    from nbgrader.api import Gradebook, MissingEntry

    course, worker = Course(config.course), Course(worker_root)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{worker.db}") as wgb, \
            Gradebook(f"sqlite:///{course.db}") as gb:
        # nbgrader's add_submission triggers SQLAlchemy "not in session" warnings; the rows are written regardless
        warnings.simplefilter("ignore")
        wsub = wgb.find_submission(phase, student)
        gb.update_or_create_student(student)
        try:
            gb.find_submission(phase, student)
        except MissingEntry:
            gb.add_submission(phase, student)
        for wnb in wsub.notebooks:
            for g in wnb.grades:
                mg = gb.find_grade(g.name, wnb.name, phase, student)
                mg.auto_score = g.auto_score
                if mg.manual_score is None:
                    mg.needs_manual_grade = g.needs_manual_grade
            for c in wnb.comments:
                mc = gb.find_comment(c.name, wnb.name, phase, student)
                mc.auto_comment = c.auto_comment
        gb.db.commit()
    # the autograded notebook is what nbgrader's feedback and formgrader need; models and arrays stay in the
    # snapshot (gradebook/snapshots), so the course folder does not hold every file three times
    dest = config.gradebook / "autograded" / student / phase
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for notebook in (worker_root / "gradebook" / "autograded" / student / phase).glob("*.ipynb"):
        shutil.copyfile(notebook, dest / notebook.name)


def _retire_worker(config: GradingConfig, job: Job, worker_root: Path) -> None:
    """Keep the worker's nbgrader log under ``gradebook/logs`` and delete its private course folder."""
    logs = config.gradebook / "logs" / job.student
    logs.mkdir(parents=True, exist_ok=True)
    log = worker_root / "autograde.log"
    if log.exists():
        shutil.copyfile(log, logs / f"{job.phase}.log")
    shutil.rmtree(worker_root, ignore_errors=True)


def _record(config: GradingConfig, store: RubricStore, job: Job, result: dict) -> str:
    """Write one finished phase: nbgrader's gradebook first, then the rubric store (idempotent if killed between).

    A grader-side failure (outcome ``error``) never replaces a stored grade: the old result stays and the
    attempt goes to the history. Returns the outcome as recorded.
    """
    previous = store.result(job.student, job.phase)
    if result["outcome"] == "error" and previous is not None and previous.outcome == "graded":
        store.log_attempt(job.student, job.phase, job.fingerprint, "error")
        if result.get("worker_course"):
            _retire_worker(config, job, Path(result["worker_course"]))
        return "error (previous grade kept)"
    if result["outcome"] == "graded" and result.get("worker_course"):
        try:
            merge_into_gradebook(config, job.student, job.phase, Path(result["worker_course"]))
        except Exception as exc:  # noqa: BLE001 - the rubric store still gets the result
            result["flags"].append({"id": "gradebook-merge", "phase": job.phase,
                                    "message": f"nbgrader's gradebook was not updated: {exc}"})
    store.save_result(job.student, job.phase, job.fingerprint, result["outcome"], result)
    if result.get("worker_course"):
        _retire_worker(config, job, Path(result["worker_course"]))
    return result["outcome"]


def plan(config: GradingConfig, root: Path, store: RubricStore, run: GradeRun) -> list[Job]:
    """Snapshot every submitted phase under ``root`` (``<student>/<phase>/``) and decide which need grading
    (the rest are already in the store)."""
    subs, run.warnings = discover(root)
    jobs = []
    for sub in subs:
        for phase in config.phases:
            if phase not in sub.phases:
                if store.result(sub.student, phase) is None:  # a result from an earlier submission is kept
                    store.save_result(sub.student, phase, "none", "not-submitted",
                                      {"outcome": "not-submitted", "message": f"no {phase} folder was submitted",
                                       "cells": {}, "trusted": [], "flags": [], "snapshot": {}})
                continue
            snap = config.gradebook / "snapshots" / sub.student / phase
            manifest = snapshot(sub.phases[phase], snap)
            fp = fingerprint(manifest, *config.salt(phase))
            stored = store.result(sub.student, phase)
            # an internal error is retried; every other outcome is the submission's own and is kept
            if stored is not None and stored.fingerprint == fp and stored.outcome != "error" and not config.regrade:
                run.skipped.append((sub.student, phase))
                continue
            jobs.append(Job(sub.student, phase, snap, manifest, fp))
    return jobs


def grade_class(config: GradingConfig, submissions: Path, progress: Callable[[str], None] = lambda m: None,
                show_bar: bool = False) -> GradeRun:
    """Grade every submitted phase not yet graded with the same files and configuration.

    Raises:
        autograder.intake.IntakeError: if ``submissions`` cannot be read at all.
        autograder.course.NbgraderError: if the course's assignments cannot be generated.
    """
    from tqdm import tqdm

    use_venv_tools()  # nbgrader's Gradebook runs `alembic` from PATH; set before the worker threads start
    root = unpack(Path(submissions).resolve(), config.gradebook / "intake")  # unreadable: nothing is written
    store = RubricStore(config.store_path)
    run = GradeRun()
    jobs = plan(config, root, store, run)
    for w in run.warnings:
        progress(w)
    if run.skipped:
        progress(f"{len(run.skipped)} phase submission(s) already graded with the same files: kept")
    if not jobs:
        return run
    template = _template_db(config, progress)
    if "phase4b" in {j.phase for j in jobs} or "phase4c" in {j.phase for j in jobs}:
        fused_reference()  # built once here, never by two kernels at once
    progress(f"grading {len(jobs)} phase submission(s) with {config.workers} worker(s)")
    pool = ThreadPoolExecutor(max_workers=max(1, config.workers))
    bar = tqdm(total=len(jobs), unit="phase", desc="grading", disable=not show_bar, file=sys.stderr)
    try:
        futures = {pool.submit(grade_phase, job, config, template): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            result = future.result()
            outcome = _record(config, store, job, result)
            run.graded.append((job.student, job.phase, outcome))
            bar.update(1)
            bar.set_postfix_str(f"{job.student}/{job.phase}: {outcome}")
            if not show_bar:
                progress(f"{job.student}/{job.phase}: {outcome} ({result.get('seconds', 0):.0f} s)")
            if outcome != result["outcome"]:
                progress(f"{job.student}/{job.phase}: {result.get('message', '')[-LOG_TAIL:]}")
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM): stop the running nbgrader processes instead of waiting for them;
        # every result recorded so far is complete, the others are graded on the next run
        stop_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        bar.close()
    pool.shutdown()
    return run
