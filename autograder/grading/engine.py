"""The grading engine: each (student, phase) job is one task on a Dask distributed cluster.

The coordinator (:func:`autograder.grading.coordinator.grade_class`) submits one task per job and records each
result as it arrives; the tasks never write the gradebook or the rubric store. A task is a thin launcher
(:func:`grade_job`) that calls ``grade_phase`` in the worker process; nbgrader and the trusted checks' sandbox
run as subprocesses of that worker, under the kit's own time and memory limits. Tasks receive paths, never file
contents: every worker must see the course folder at the same path (on one machine it does; on a cluster, a
shared filesystem).

The cluster is a :class:`distributed.LocalCluster` started for the run (one worker process per job slot, one
thread each), or a running cluster named by ``GradingConfig.scheduler`` (see :mod:`autograder.grading.clusters`
for Slurm and Kubernetes). A worker process that dies while it grades (SIGKILL, the machine's out-of-memory
killer, a lost node) has its task run again on another worker, up to ``allowed-failures`` times; after that the
job is recorded as :attr:`~autograder.grading.results.Outcome.KILLED` and the batch goes on.

A job whose notebook **waits** (a cell that sleeps in a loop, blocks on ``input()`` or a lock: its processes use
almost no CPU, :class:`~autograder.grading.limits.IdleWatch`) leaves its worker's slot (Dask's ``secede``) until
it ends, so that the worker grades its next job meanwhile instead of idling until the cell timeout; one such job
per worker process at a time (:data:`WAITING_PER_WORKER`), so stuck notebooks cannot pile up in memory. Jobs whose
code may not finish by itself (:func:`may_not_finish`) start first, so that their wait runs beside the other jobs
rather than alone at the end of the run.
"""

from __future__ import annotations

import ast
import contextlib
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from autograder.grading.integrity import parse_code
from autograder.grading.limits import accept_new, kill_stale, stop_all
from autograder.grading.results import Outcome, PhaseResult
from geoai_ref.errors import KitError, MissingInput, Unavailable
from geoai_ref.phase import Phase

if TYPE_CHECKING:
    from distributed import Client, Future

    from autograder.grading.config import GradingConfig
    from autograder.grading.coordinator import Job

#: Times a job is run again after its worker process died while running it (Dask's
#: ``distributed.scheduler.allowed-failures``, set for the local cluster; a running cluster keeps its own).
ALLOWED_FAILURES = 2
#: The phases in the order of their usual grading cost, longest first (BENCHMARKS.md, the sample class on 2 cores:
#: 4B's four ResNet-50s about 50 s a submission, 4A's one about 42 s, 4C's SimpleCNNs about 24 s).
PHASES_LONGEST_FIRST = (Phase.B, Phase.A, Phase.C)
#: Jobs of one worker process that may wait outside its slot at once (each holds its kernel's memory meanwhile).
WAITING_PER_WORKER = 1
_WAITING = threading.BoundedSemaphore(WAITING_PER_WORKER)
#: Notebooks larger than this are not read for :func:`may_not_finish` (it runs in the coordinator, for every job).
SCANNED_NOTEBOOK_BYTES = 20 * 2**20
#: Seconds to wait for a running cluster's scheduler, and for the workers to stop their commands on interrupt.
CONNECT_TIMEOUT_S = 30
STOP_TIMEOUT_S = 20


# --- the task (runs in a worker process) -----------------------------------------------------------------

def grade_job(job: Job, config: GradingConfig, template_db: Path) -> PhaseResult:
    """Grade one job in this worker process: the task the coordinator submits (module level, so it pickles).

    Raises:
        geoai_ref.errors.MissingInput: if this worker does not see the course folder or the job's snapshot at
            the coordinator's paths (workers on other machines need the course folder on a shared filesystem).
    """
    from autograder.authoring.course import use_venv_tools
    from autograder.authoring.release_data import COURSE_CONFIG, course_of
    from autograder.grading.coordinator import grade_phase
    from geoai_ref.course import COURSE, COURSE_ENV

    for needed in (config.course, job.snapshot, template_db):
        if not needed.exists():
            raise MissingInput(f"Dask worker on {socket.gethostname()} cannot see {needed}: every worker must see "
                               "the course folder at the same path as the coordinator (a shared filesystem)")
    followed = course_of(config.course)
    if followed != COURSE:  # a worker started outside geoai-grade, on another machine, follows its own environment
        raise MissingInput(f"Dask worker on {socket.gethostname()} follows the course {COURSE.name!r}, but the course "
                           f"folder is {followed.name!r}'s: start the workers with ${COURSE_ENV} set to the JSON of "
                           f"{config.course / COURSE_CONFIG}")
    use_venv_tools()  # nbgrader's Gradebook runs `alembic` from PATH
    accept_new()  # an interrupted earlier run on this worker stopped its commands (stop_commands)
    with slot_left_while_waiting() as leave:
        return grade_phase(job, config, template_db, on_idle=leave)


@contextlib.contextmanager
def slot_left_while_waiting() -> Iterator[Callable[[], None]]:
    """A callback for a Dask task's thread whose commands wait: called, it lets the worker start its next task
    (``distributed.secede``) unless :data:`WAITING_PER_WORKER` tasks of this worker process wait already; the
    task then ends outside the worker's slots."""
    from distributed import secede

    left: list[bool] = []

    def leave() -> None:
        if not left and _WAITING.acquire(blocking=False):
            left.append(True)
            secede()

    try:
        yield leave
    finally:
        if left:
            _WAITING.release()


def stop_commands() -> int:
    """Kill the nbgrader and sandbox commands this worker process runs, and start no new one until its next job
    (sent to the workers on interrupt: the cancelled job's thread would go on to the trusted checks); returns how
    many were running."""
    return stop_all(refuse_new=True)


# --- the cluster -----------------------------------------------------------------------------------------

def start_local_cluster(workers: int, **extra: Any) -> Any:
    """A :class:`distributed.LocalCluster` of ``workers`` worker processes with one thread each (one job at a
    time per process), re-running a task whose worker died up to :data:`ALLOWED_FAILURES` times.

    Dask's own memory management is off (``memory_limit=0``): a worker process only waits on its subprocesses,
    whose memory the kit limits itself (:mod:`autograder.grading.limits`). ``extra`` goes to LocalCluster.
    The dashboard, when Bokeh is installed, takes a free port.
    """
    import dask
    from distributed import LocalCluster

    options = {"n_workers": max(1, workers), "processes": True, "threads_per_worker": 1, "memory_limit": 0,
               "dashboard_address": ":0"} | extra
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
        return LocalCluster(**options)


@contextlib.contextmanager
def grading_client(config: GradingConfig, progress: Callable[[str], None]) -> Iterator[Client]:
    """A Dask client for a grading run: on a local cluster started here (closed on exit, its worker processes
    with it, whose end-of-run heartbeat error is silenced: :mod:`~autograder.grading.worker_logging`), or on the
    running cluster at ``config.scheduler`` (left running, its logging as its owner set it).

    Raises:
        geoai_ref.errors.Unavailable: if the scheduler at ``config.scheduler`` cannot be reached.
    """
    from distributed import Client

    if config.scheduler is None:
        from autograder.grading.worker_logging import QuietHeartbeatAtClose

        cluster = start_local_cluster(config.workers)
        try:
            client = Client(cluster)
            client.register_plugin(QuietHeartbeatAtClose())
        except BaseException:
            cluster.close()
            raise
        where = f"a local Dask cluster ({config.workers} worker process(es), scheduler {cluster.scheduler_address}"
        where += f", dashboard {cluster.dashboard_link})" if cluster.dashboard_link else ")"
    else:
        cluster = None
        try:
            client = Client(config.scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            raise Unavailable(f"cannot reach the Dask scheduler at {config.scheduler} ({exc}); start the cluster "
                              "first, or leave out --scheduler to grade on this machine") from exc
        workers = len(client.scheduler_info().get("workers", {}))
        where = f"the Dask cluster at {config.scheduler} ({workers} worker(s) now"
        where += f", dashboard {client.dashboard_link})" if client.dashboard_link else ")"
    progress(f"grading on {where}")
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def job_key(job: Job) -> str:
    """A Dask key of its own for each submitted job (readable on the dashboard, never shared with another run:
    Dask must not take one job's result for another's)."""
    return f"grade-{job.student}-{job.phase}-{uuid.uuid4().hex}"


def may_not_finish(notebook: Path) -> bool:
    """Whether the notebook's code may run until the cell timeout, the longest a job can take: a ``while`` loop on
    a constant true condition with no ``break``, ``return`` or ``raise`` in it, or a call of ``input()``. Read
    statically, for the order of the jobs only; False for a notebook that cannot be read."""
    try:
        if notebook.stat().st_size > SCANNED_NOTEBOOK_BYTES:
            return False
        cells = [str(c.source) for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    except Exception:  # noqa: BLE001 - an unreadable notebook is graded as such; here it only sorts
        return False
    for tree in filter(None, map(parse_code, cells)):
        for node in ast.walk(tree):
            if isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value and \
                    not any(isinstance(n, (ast.Break, ast.Return, ast.Raise)) for n in ast.walk(node)):
                return True
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "input":
                return True
    return False


def longest_first(jobs: Iterable[Job]) -> list[Job]:
    """The jobs in the order they should start: those whose notebook may not finish by itself
    (:func:`may_not_finish`: it may take the whole cell timeout) first, then the phases that usually take longest
    (:data:`PHASES_LONGEST_FIRST`), students in their order within a phase, so that the end of a run holds short
    jobs and the workers finish together instead of one worker grading a long job alone."""
    from autograder.authoring.notebooks import PHASES

    return sorted(jobs, key=lambda job: (not may_not_finish(job.snapshot / PHASES[job.phase].ipynb.name),
                                         PHASES_LONGEST_FIRST.index(job.phase)))


def submit_jobs(client: Client, jobs: Iterable[Job], config: GradingConfig, template_db: Path) -> dict[Future, Job]:
    """One task per job, running :func:`grade_job`, started longest first (:func:`longest_first`); returns the
    futures with their jobs."""
    ordered = longest_first(jobs)
    return {client.submit(grade_job, job, config, template_db, key=job_key(job), pure=False,
                          priority=len(ordered) - i): job  # Dask starts the highest priority first
            for i, job in enumerate(ordered)}


# --- results ----------------------------------------------------------------------------------------------

def worker_folder(config: GradingConfig, job: Job) -> Path:
    """The private nbgrader course a job is graded in (``gradebook/work/<student>/<phase>``)."""
    return config.gradebook / "work" / job.student / job.phase


def killed_result(config: GradingConfig, job: Job, tries: int) -> PhaseResult:
    """The result of a job whose worker process died on every try: the nbgrader run the last worker left
    behind is stopped, and its folder is handed to the coordinator to retire."""
    folder = worker_folder(config, job)
    kill_stale(folder / "autograde.pid")
    return PhaseResult(
        Outcome.KILLED,
        f"the grading process was killed {tries} times while it ran this submission, each time on another worker "
        "(by the system, not by the grader's own time or memory limits: the machine ran out of memory, or a "
        "cluster worker was lost). The submission is graded again on the next run; if it happens again, check "
        f"that the notebook never needs much more memory at once than the {config.limits.memory_mb} MiB it is "
        "allowed.",
        snapshot=dict(job.manifest), snapshot_dir=str(job.snapshot),
        worker_course=str(folder) if folder.is_dir() else None)


def task_result(future: Future, job: Job, config: GradingConfig) -> PhaseResult:
    """What a finished task gives the coordinator to record: its result; ``killed`` after its workers died
    on every try; ``error`` (the grader's fault, retried on the next run) for any other exception it raised.

    Raises:
        geoai_ref.errors.KitError: what the task raised, if it is one (e.g. a worker that does not share the
            course folder: every job would fail the same way).
        geoai_ref.errors.Unavailable: if the cluster dropped the task (scheduler lost or restarted).
    """
    from distributed import KilledWorker

    if future.status == "finished":
        return future.result()
    if future.status == "cancelled":
        raise Unavailable(f"the Dask cluster dropped the grading of {job.student}/{job.phase} (scheduler lost or "
                          "restarted); every grade recorded so far is kept: run the command again to go on")
    exc = future.exception()
    if isinstance(exc, KilledWorker):
        return killed_result(config, job, exc.allowed_failures + 1)
    if isinstance(exc, KitError):
        raise exc
    return PhaseResult(Outcome.ERROR, f"internal grading error on a Dask worker ({type(exc).__name__}: {exc}); "
                       "report it", snapshot=dict(job.manifest), snapshot_dir=str(job.snapshot))


def stop_running(client: Client, futures: Iterable[Future]) -> None:
    """On interrupt: cancel the tasks not finished, and have the workers running them kill their nbgrader and
    sandbox commands (those run in sessions of their own, so closing a worker alone would leave them running).

    Workers that died meanwhile (Ctrl-C reaches a local cluster's workers too) cannot answer; the nbgrader runs
    they leave are stopped from their pidfiles (:func:`stop_leftovers`).
    """
    pending = [f for f in futures if not f.done()]
    keys = {f.key for f in pending}
    busy = [worker for worker, running in client.processing().items() if keys & set(running)]
    client.cancel(pending, force=True)
    if busy:  # a worker that died meanwhile answers with an exception (on_error="return"): nothing to do there
        client.run(stop_commands, workers=busy, on_error="return")


def stop_leftovers(config: GradingConfig, jobs: Iterable[Job]) -> list[str]:
    """Kill the nbgrader runs of ``jobs`` still recorded in their worker folders' pidfiles (after the cluster
    is closed); returns ``student/phase`` of those killed."""
    return [f"{job.student}/{job.phase}" for job in jobs if kill_stale(worker_folder(config, job) / "autograde.pid")]
