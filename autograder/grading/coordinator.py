"""Grading a class: intake, snapshot, nbgrader in limited subprocesses, trusted checks, one writer.

Per submitted phase, in order:

1. **snapshot** the submitted files (copy + SHA-256) before anything runs; every later step reads the copy;
2. **intake** decides whether the notebook can run (missing / invalid notebook -> a recorded outcome);
3. **nbgrader autograde** runs in a private course folder (its own copy of the gradebook template), in a
   subprocess with a wall-time and a memory limit, so parallel workers never share a database;
4. the **trusted checks** (autograder/trusted/checks.py) read the snapshot and re-evaluate models in a sandbox;
5. the coordinator copies the TAs' formgrader saves into the rubric store (autograder/review), then merges the
   scores into nbgrader's gradebook, marking written answers that changed since a TA scored them for review.

Each job is one task on a Dask cluster (:mod:`autograder.grading.engine`): its worker process waits on the
nbgrader and sandbox subprocesses; the coordinator alone writes the rubric store and nbgrader's gradebook, one
whole phase result per transaction, as each result arrives. A phase whose fingerprint (files + grading
configuration) is already in the store is not graded again, so a killed batch resumes where it stopped; phases
of different students with the same fingerprint (byte-identical files: an untouched release notebook, a copy) are
graded once and the result is recorded for each of them (``GradingConfig.share_identical``).
"""

from __future__ import annotations

import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder.authoring.course import use_venv_tools
from autograder.authoring.release_data import fused_reference, hidden_data, release_data
from autograder.grading import engine
from autograder.grading.config import GradingConfig
from autograder.grading.intake import check_phase, discover, fingerprint, snapshot, unpack
from autograder.grading.limits import kill_stale
from autograder.grading.nbgrader_run import LOG_TAIL, autograde, gradebook_template, merge_into_gradebook, worker_course
from autograder.grading.results import Flag, Outcome, PhaseResult
from autograder.jail import jail_available
from autograder.review.sync import copy_formgrader_saves
from autograder.rubric.definition import Rubric, load_rubric
from autograder.rubric.scoring import answers_to_review
from autograder.rubric.store import RubricStore
from geoai_ref.errors import UsageError
from geoai_ref.phase import Phase


@dataclass(frozen=True)
class Job:
    """One phase of one student to grade, from its snapshot."""

    student: str
    phase: Phase
    snapshot: Path
    manifest: dict[str, str]
    fingerprint: str


@dataclass
class GradeRun:
    """What a ``grade`` call did."""

    graded: list[tuple[str, Phase, str]] = field(default_factory=list)  # (student, phase, outcome as recorded)
    skipped: list[tuple[str, Phase]] = field(default_factory=list)  # already graded with the same fingerprint
    # (student, phase, the student whose identical files were graded for it): recorded without a grading of its own
    shared: list[tuple[str, Phase, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- one phase of one student (runs in a Dask worker process) -------------------------------------------------

def grade_phase(job: Job, config: GradingConfig, template_db: Path,
                on_idle: Callable[[], object] | None = None) -> PhaseResult:
    """Grade one phase of one student; never raises (an internal failure becomes outcome ``error``). ``on_idle``:
    called once if the notebook starts to wait (:func:`~autograder.grading.limits.run_limited`).
    """
    from autograder.trusted.checks import trusted_checks

    start = time.monotonic()
    intake_flags: list[Flag] = []
    result: PhaseResult | None = None
    missing = jail_available()  # None where the jail runs; else only reached with config.allow_unjailed
    try:
        intake = check_phase(job.snapshot, job.phase)
        intake_flags = list(intake.flags)
        if intake.outcome is not None:
            result = PhaseResult(intake.outcome, intake.message)
        else:
            python3 = any(flag.id == "wrong-kernel" for flag in intake.flags)
            course = worker_course(config.gradebook / "work" / job.student / job.phase, config.course, template_db,
                                   job.student, job.phase, job.snapshot, python3_kernel=python3)
            result = autograde(course, job.student, job.phase, config.limits, config.cell_timeout, config.epochs,
                               config.threads_per_worker, jailed=missing is None,
                               train_batches=config.train_batches, on_idle=on_idle)
            result.worker_course = str(course.root)
        result.flags = intake_flags + result.flags
        kwargs = {"limits": config.trusted_limits} if config.trusted_limits is not None else {}
        if missing is not None:
            result.flags.append(Flag("unjailed", job.phase, f"graded WITHOUT the jail ({missing}): the notebook's "
                                     "kernel, the hidden checks' probes and the model sandbox could read the grader's "
                                     "files"))
        result.trusted = trusted_checks(job.phase, job.snapshot, jailed=missing is None,
                                        release=release_data(config.course), **kwargs)
    except Exception as exc:  # noqa: BLE001 - one broken submission must never stop the class
        # what was found so far stays (flags, the worker folder to retire); the outcome is the grader's fault
        result = PhaseResult(Outcome.ERROR, f"internal grading error ({type(exc).__name__}: {exc}); report it with "
                             f"this trace: {traceback.format_exc()[-LOG_TAIL:]}",
                             flags=result.flags if result is not None else intake_flags,
                             worker_course=result.worker_course if result is not None else None)
    result.snapshot, result.snapshot_dir = dict(job.manifest), str(job.snapshot)
    result.seconds = round(time.monotonic() - start, 1)  # nbgrader and the trusted checks
    return result


# --- the coordinator (the only writer) -----------------------------------------------------------------

def _retire_worker(config: GradingConfig, jobs: Iterable[Job], worker_root: Path) -> None:
    """Keep the worker's nbgrader log under ``gradebook/logs`` for each of ``jobs`` (the one graded there and those
    that shared its result) and delete its private course folder."""
    log = worker_root / "autograde.log"
    for job in jobs:
        logs = config.gradebook / "logs" / job.student
        logs.mkdir(parents=True, exist_ok=True)
        if log.exists():
            shutil.copyfile(log, logs / f"{job.phase}.log")
    shutil.rmtree(worker_root, ignore_errors=True)


def _clear_stale_workers(config: GradingConfig) -> list[str]:
    """Stop and delete the worker folders a killed run left behind (``gradebook/work/<student>/<phase>``; those of
    results it stored before it died are never graded again, so nothing else would delete them). Returns them."""
    cleared = []
    for folder in sorted((config.gradebook / "work").glob("*/*")):
        if folder.is_dir():
            kill_stale(folder / "autograde.pid")
            shutil.rmtree(folder, ignore_errors=True)
            cleared.append(f"{folder.parent.name}/{folder.name}")
    return cleared


def _record(config: GradingConfig, store: RubricStore, rubric: Rubric, job: Job, result: PhaseResult,
            graded_as: str | None = None) -> str:
    """Write one finished phase: nbgrader's gradebook first, then the rubric store (idempotent if killed between).

    A grader-side failure (outcome ``error``) never replaces a stored grade: the old result stays and the
    attempt goes to the history. TA saves made in formgrader are copied first, against the answers they were
    given to. ``graded_as``: the student under whose name the worker graded these files (another student's
    identical submission); None: ``job``'s own. The worker folder is left for the caller to retire. Returns the
    outcome as recorded.
    """
    previous = store.result(job.student, job.phase)
    worker = Path(result.worker_course) if result.worker_course else None
    if result.outcome.is_grader_fault and previous is not None and previous.outcome.notebook_ran:
        store.log_attempt(job.student, job.phase, job.fingerprint, result.outcome)
        return f"{result.outcome} (previous grade kept)"
    if result.graded and worker is not None:
        try:
            copy_formgrader_saves(config.course, store, rubric)
            review = answers_to_review(store.ta_scores(job.student), result)
            result.formgrader_id = merge_into_gradebook(config.course, job.student, job.phase, worker, review,
                                                        graded_as=graded_as)
        except Exception as exc:  # noqa: BLE001 - the rubric store still gets the result
            result.flags.append(Flag("gradebook-merge", job.phase, f"nbgrader's gradebook was not updated: {exc}"))
    store.save_result(job.student, job.phase, job.fingerprint, result)
    return result.outcome.value


def record_result(config: GradingConfig, store: RubricStore, rubric: Rubric, graded: Job, result: PhaseResult,
                  same_files: Sequence[Job] = ()) -> list[tuple[Job, PhaseResult, str]]:
    """Record a finished job's result for it and for ``same_files`` (other students' identical submissions,
    :func:`identical_groups`), then retire the worker folder. Returns (job, its result, outcome as recorded) each."""
    sharing = [(job, _as_shared(result, job)) for job in same_files]  # copied before recording changes ``result``
    done = [(job, its, _record(config, store, rubric, job, its, None if job is graded else graded.student))
            for job, its in [(graded, result), *sharing]]
    if result.worker_course:
        _retire_worker(config, [graded, *same_files], Path(result.worker_course))
    return done


def identical_groups(jobs: Iterable[Job], share: bool = True) -> list[tuple[Job, list[Job]]]:
    """Each job to grade, with the jobs that take its result: those of other students whose files and grading
    configuration are the same (equal fingerprints, so the same phase). The first student in name order is graded.
    With ``share`` False every job is graded on its own."""
    groups: dict[tuple[Phase, str], list[Job]] = {}
    for job in sorted(jobs, key=lambda j: (j.phase, j.student)):
        groups.setdefault((job.phase, job.fingerprint) if share else (job.phase, job.student), []).append(job)
    return [(first, rest) for first, *rest in groups.values()]


def _as_shared(result: PhaseResult, job: Job) -> PhaseResult:
    """``result`` (of another student's identical files) as ``job``'s own: its snapshot, no gradebook id yet."""
    return replace(result, cells=dict(result.cells), flags=list(result.flags), trusted=list(result.trusted),
                   snapshot=dict(job.manifest), snapshot_dir=str(job.snapshot), formgrader_id=None)


def plan(config: GradingConfig, root: Path, store: RubricStore, run: GradeRun) -> list[Job]:
    """Snapshot every submitted phase under ``root`` (``<student>/<phase>/``) and decide which need grading
    (the rest are already in the store)."""
    subs, run.warnings = discover(root)
    jobs = []
    for sub in subs:
        for phase in config.phases:
            if phase not in sub.phases:
                if store.result(sub.student, phase) is None:  # a result from an earlier submission is kept
                    store.save_result(sub.student, phase, "none",
                                      PhaseResult(Outcome.NOT_SUBMITTED, f"no {phase} folder was submitted"))
                continue
            snap = config.gradebook / "snapshots" / sub.student / phase
            manifest = snapshot(sub.phases[phase], snap)
            fp = fingerprint(manifest, *config.salt(phase))
            stored = store.result(sub.student, phase)
            # a failure of the grading (error, worker-killed) is retried; every other outcome is the submission's own
            unchanged = stored is not None and stored.fingerprint == fp and not stored.outcome.is_grader_fault
            if unchanged and not config.regrade:
                run.skipped.append((sub.student, phase))
                continue
            jobs.append(Job(sub.student, phase, snap, manifest, fp))
    return jobs


def grade_class(config: GradingConfig, submissions: Path, progress: Callable[[str], None] = lambda m: None,
                show_bar: bool = False) -> GradeRun:
    """Grade every submitted phase not yet graded with the same files and configuration.

    Each job is one task on a Dask cluster (:mod:`autograder.grading.engine`: a local one started for the run, or
    the running one at ``config.scheduler``); each result is recorded here as it arrives. On an interrupt
    (KeyboardInterrupt, which the command line raises on SIGTERM too) the unfinished tasks are cancelled, their
    nbgrader runs killed and a local cluster closed before the interrupt goes on.

    Raises:
        autograder.grading.intake.IntakeError: if ``submissions`` cannot be read at all.
        autograder.authoring.course.NbgraderError: if the course's assignments cannot be generated.
        geoai_ref.errors.Unavailable: if the Dask scheduler at ``config.scheduler`` cannot be reached, or the
            cluster drops a task.
        geoai_ref.errors.MissingInput: if a Dask worker does not see the course folder at the same path, or the
            course's own release data is recorded but unreadable (`geoai-grade release --week3 FOLDER`).
        geoai_ref.errors.UsageError: if this machine cannot run the jail and ``config.allow_unjailed`` is False.
    """
    from distributed import as_completed
    from tqdm import tqdm

    missing = jail_available()
    if missing is not None and not config.allow_unjailed:
        raise UsageError(f"grading needs the jail and {missing}. Install it (`make jail`), or pass "
                         "--allow-unjailed to grade without it: every report then says which protections were missing")
    release = release_data(config.course)  # an unreadable record of the course's own data stops the run here
    hidden_data(progress)  # another course's hidden region is generated before any job needs it
    use_venv_tools()  # nbgrader's Gradebook runs `alembic` from PATH; set before the worker processes start
    root = unpack(Path(submissions).resolve(), config.gradebook / "intake")  # unreadable: nothing is written
    store = RubricStore(config.store_path)
    rubric = load_rubric()
    copy_formgrader_saves(config.course, store, rubric)  # what TAs saved since the last run, before any regrade
    cleared = _clear_stale_workers(config)
    if cleared:
        progress(f"removed {len(cleared)} worker folder(s) an interrupted run left: {', '.join(cleared)}")
    run = GradeRun()
    jobs = plan(config, root, store, run)
    for w in run.warnings:
        progress(w)
    if run.skipped:
        progress(f"{len(run.skipped)} phase submission(s) already graded with the same files: kept")
    if not jobs:
        return run
    template = gradebook_template(config.course, config.phases, config.gradebook / "work" / "template.db", progress)
    if {Phase.B, Phase.C} & {j.phase for j in jobs}:
        fused_reference(release)  # built once here, never by two kernels at once
    groups = identical_groups(jobs, config.share_identical)
    sharing_with = {(graded.student, graded.phase): rest for graded, rest in groups}
    progress(f"grading {len(jobs)} phase submission(s) against the release's data: {release.origin}")
    if len(groups) < len(jobs):
        progress(f"{len(jobs) - len(groups)} of them have the same files as another student's: each set of identical "
                 "files is graded once and its result recorded for every student who submitted it")
    recorded: set[tuple[str, Phase]] = set()
    bar = tqdm(total=len(jobs), unit="phase", desc="grading", disable=not show_bar, file=sys.stderr)
    try:
        with engine.grading_client(config, progress) as client:
            futures = engine.submit_jobs(client, [graded for graded, _ in groups], config, template)
            try:
                for future in as_completed(futures):
                    graded = futures[future]
                    result = engine.task_result(future, graded, config)
                    for job, its_result, outcome in record_result(config, store, rubric, graded, result,
                                                                  sharing_with[(graded.student, graded.phase)]):
                        recorded.add((job.student, job.phase))
                        run.graded.append((job.student, job.phase, outcome))
                        same = ""
                        if job is not graded:
                            run.shared.append((job.student, job.phase, graded.student))
                            same = f"the same files as {graded.student}'s, graded once: "
                        bar.update(1)
                        bar.set_postfix_str(f"{job.student}/{job.phase}: {outcome}")
                        if not show_bar:
                            progress(f"{job.student}/{job.phase}: {outcome} ({same}{result.seconds or 0:.0f} s)")
                        if outcome != its_result.outcome:
                            progress(f"{job.student}/{job.phase}: {its_result.message[-LOG_TAIL:]}")
            except BaseException:
                # interrupted (Ctrl-C, SIGTERM) or the cluster failed: stop the running nbgrader processes instead
                # of waiting for them; every result recorded so far is complete, the others are graded next run
                engine.stop_running(client, futures)
                raise
    except BaseException:
        # the cluster is closed now: what a dead worker left running is found from its pidfile
        engine.stop_leftovers(config, [job for job in jobs if (job.student, job.phase) not in recorded])
        raise
    finally:
        bar.close()
    return run
