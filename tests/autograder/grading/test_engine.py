"""The Dask engine under faults: a worker process killed while it grades, one killed on every try, an interrupt.

The class is cheap to grade: ``bea_blank`` submits the untouched Phase 4C release (nbgrader runs it; every cell
fails fast), ``ivy_invalid`` a truncated notebook (stopped at intake). The coordinator-kill resume test runs
through the same engine in test_grading.py.
"""

from __future__ import annotations

import _thread
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import ALLOW_UNJAILED, copy_course, course_with_release

from autograder.grading.config import GradingConfig
from autograder.grading.coordinator import grade_class
from autograder.grading.results import Outcome
from autograder.rubric.store import RubricStore
from geoai_ref.phase import Phase

BLANK, INVALID = "bea_blank", "ivy_invalid"
NOTEBOOK = "Week_4_Exercise_Phase4C.ipynb"


@pytest.fixture(scope="module")
def blank_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(submissions, a course with Phase 4C generated): the blank 4C release and a truncated notebook."""
    submissions, course = course_with_release(tmp_path_factory.mktemp("engine"), Phase.C, BLANK)
    invalid = submissions / INVALID / "phase4c"
    invalid.mkdir(parents=True)
    (invalid / NOTEBOOK).write_text('{"cells": [')
    return submissions, course


def _config(course: Path, **extra: object) -> GradingConfig:
    return GradingConfig(course=course, phases=("phase4c",),
                         **({"workers": 2, "cell_timeout": 120, "allow_unjailed": ALLOW_UNJAILED} | extra))


def _processes_of(course: Path) -> list[psutil.Process]:
    """The live processes whose command line names ``course`` (nbgrader runs and their kernels)."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        if str(course) in " ".join(p.info["cmdline"] or []) and p.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(p)
    return found


def _when_nbgrader_runs(pidfile: Path, act, timeout: float = 180) -> threading.Thread:
    """Start a thread that calls ``act(nbgrader process)`` once nbgrader is running for ``pidfile``'s job."""
    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pid, _ = pidfile.read_text().split()
                nbgrader = psutil.Process(int(pid))
            except (OSError, ValueError, psutil.NoSuchProcess):
                time.sleep(0.05)
                continue
            act(nbgrader)
            return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_a_worker_killed_while_grading_is_regraded_elsewhere_and_recorded_once(blank_class, tmp_path):
    submissions, template_course = blank_class
    config = _config(copy_course(template_course, tmp_path / "course"))
    killed: list[tuple[int, int]] = []

    def kill_its_worker(nbgrader: psutil.Process) -> None:
        worker = nbgrader.parent()
        assert worker is not None and worker.pid != os.getpid(), "nbgrader must run under a Dask worker process"
        killed.append((worker.pid, nbgrader.pid))
        worker.send_signal(signal.SIGKILL)

    watcher = _when_nbgrader_runs(config.gradebook / "work" / BLANK / "phase4c" / "autograde.pid", kill_its_worker)
    run = grade_class(config, submissions)
    watcher.join(timeout=1)
    assert len(killed) == 1, "the worker was never killed: the test proves nothing"
    assert sorted(run.graded) == [(BLANK, "phase4c", "graded"), (INVALID, "phase4c", "invalid-notebook")]
    store = RubricStore(config.store_path)
    assert [h["outcome"] for h in store.history(BLANK)] == ["graded"]  # recorded exactly once
    blank = store.result(BLANK, Phase.C).result
    assert blank.cells and sum(c.score or 0 for c in blank.cells.values()) == 0  # a real nbgrader run, scored
    worker_pid, orphan_pid = killed[0]
    assert not psutil.pid_exists(worker_pid) or psutil.Process(worker_pid).status() == psutil.STATUS_ZOMBIE
    # the killed worker's nbgrader ran on in its own session: the retry stopped it (pidfile) before regrading
    assert _processes_of(config.course) == []
    assert not psutil.pid_exists(orphan_pid) or psutil.Process(orphan_pid).status() == psutil.STATUS_ZOMBIE
    assert list((config.gradebook / "work").glob("*/*")) == []


KILLER = '''
"""Dask worker preload: the job of {student} kills its worker process every time it starts."""
import os
import signal

from autograder.grading import engine

_grade_job = engine.__dict__.setdefault("real_grade_job", engine.grade_job)  # (a preload may run twice)


def grade_job(job, config, template_db):
    if job.student == "{student}":
        os.kill(os.getpid(), signal.SIGKILL)
    return _grade_job(job, config, template_db)


engine.grade_job = grade_job  # the coordinator's task names engine.grade_job: this worker runs this one
'''


def test_a_job_that_kills_every_worker_ends_as_worker_killed_and_the_batch_finishes(blank_class, tmp_path):
    from autograder.grading.engine import ALLOWED_FAILURES, start_local_cluster

    submissions, template_course = blank_class
    only = tmp_path / "submissions"
    for student in (INVALID, "kim_kills_its_worker"):
        shutil.copytree(submissions / INVALID, only / student)
    # files of its own: a byte-identical copy of ivy's would take ivy's result without a job of its own
    (only / "kim_kills_its_worker" / "phase4c" / NOTEBOOK).write_text('{"cells": [{')
    preload = tmp_path / "kill_kim.py"
    preload.write_text(KILLER.format(student="kim_kills_its_worker"))
    cluster = start_local_cluster(2, preload=[str(preload)])
    try:
        config = _config(copy_course(template_course, tmp_path / "course"), scheduler=cluster.scheduler_address)
        run = grade_class(config, only)
    finally:
        cluster.close()
    assert sorted(run.graded) == [(INVALID, "phase4c", "invalid-notebook"),
                                  ("kim_kills_its_worker", "phase4c", "worker-killed")]
    store = RubricStore(config.store_path)
    kim = store.result("kim_kills_its_worker", Phase.C)
    assert kim.outcome is Outcome.KILLED and kim.outcome.is_grader_fault
    assert f"killed {ALLOWED_FAILURES + 1} times" in kim.result.message
    assert [h["outcome"] for h in store.history("kim_kills_its_worker")] == ["worker-killed"]


def test_identical_submissions_are_graded_once_and_recorded_for_each_student(blank_class, tmp_path):
    from nbgrader.api import Gradebook

    submissions, template_course = blank_class
    subs = tmp_path / "submissions"
    for student, like in ((BLANK, BLANK), ("bo_blank", BLANK), (INVALID, INVALID), ("iris_invalid", INVALID)):
        shutil.copytree(submissions / like, subs / student)
    config = _config(copy_course(template_course, tmp_path / "course"))
    started: list[int] = []  # an nbgrader run for bo's copy (there must be none)
    watcher = _when_nbgrader_runs(config.gradebook / "work" / "bo_blank" / "phase4c" / "autograde.pid",
                                  lambda nbgrader: started.append(nbgrader.pid), timeout=120)
    run = grade_class(config, subs)
    assert sorted(run.graded) == [(BLANK, "phase4c", "graded"), ("bo_blank", "phase4c", "graded"),
                                  ("iris_invalid", "phase4c", "invalid-notebook"),
                                  (INVALID, "phase4c", "invalid-notebook")]
    assert sorted(run.shared) == [("bo_blank", "phase4c", BLANK), (INVALID, "phase4c", "iris_invalid")]  # 1st by name
    assert started == [] and watcher.is_alive()  # bo's files were never run: bea's run is bo's grade
    store = RubricStore(config.store_path)
    bea, bo = store.result(BLANK, Phase.C), store.result("bo_blank", Phase.C)
    assert bea.result.cells and bo.result.cells == bea.result.cells and bo.fingerprint == bea.fingerprint
    assert bo.result.snapshot_dir == str(config.gradebook / "snapshots" / "bo_blank" / "phase4c")  # its own files
    assert [h["outcome"] for h in store.history("bo_blank")] == ["graded"]
    assert store.result("iris_invalid", Phase.C).outcome is Outcome.INVALID_NOTEBOOK
    # nbgrader's gradebook holds each student's own submission, scored as the one run scored it
    with Gradebook(f"sqlite:///{config.gradebook / 'gradebook.db'}") as gb:
        scores = {s: {g.name: g.auto_score for g in gb.find_submission("phase4c", s).notebooks[0].grades}
                  for s in (BLANK, "bo_blank")}
        ids = {s: gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), "phase4c", s).id
               for s in (BLANK, "bo_blank")}
    assert scores[BLANK] and scores["bo_blank"] == scores[BLANK]
    assert bo.result.formgrader_id == ids["bo_blank"] != ids[BLANK]
    for student in (BLANK, "bo_blank"):
        assert (config.gradebook / "autograded" / student / "phase4c" / NOTEBOOK).is_file()
        assert (config.gradebook / "logs" / student / "phase4c.log").is_file()
    assert list((config.gradebook / "work").glob("*/*")) == []


def test_identical_groups_share_only_equal_files_of_the_same_phase(tmp_path):
    from autograder.grading.coordinator import Job, identical_groups

    def job(student: str, phase: Phase, fp: str) -> Job:
        return Job(student, phase, tmp_path / student / phase, {}, fp)

    jobs = [job("cy", Phase.C, "x"), job("ann", Phase.C, "x"), job("bo", Phase.C, "y"), job("ann", Phase.A, "x"),
            job("bo", Phase.A, "x")]
    assert [((j.student, j.phase), [(o.student, o.phase) for o in rest]) for j, rest in identical_groups(jobs)] == [
        (("ann", Phase.A), [("bo", Phase.A)]), (("ann", Phase.C), [("cy", Phase.C)]), (("bo", Phase.C), [])]
    alone = identical_groups(jobs, share=False)
    assert len(alone) == len(jobs) and all(rest == [] for _, rest in alone)


def test_an_interrupted_run_leaves_no_nbgrader_or_worker_process(blank_class, tmp_path):
    submissions, template_course = blank_class
    config = _config(copy_course(template_course, tmp_path / "course"), workers=1)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    seen: list[psutil.Process] = []

    def interrupt(nbgrader: psutil.Process) -> None:  # as Ctrl-C does (the command line raises it on SIGTERM)
        ours = [p for p in psutil.Process().children(recursive=True)  # multiprocessing's tracker lives on
                if p.pid not in before and "resource_tracker" not in " ".join(p.cmdline())]
        seen.extend([*ours, nbgrader, *nbgrader.children(recursive=True)])
        _thread.interrupt_main()

    watcher = _when_nbgrader_runs(config.gradebook / "work" / BLANK / "phase4c" / "autograde.pid", interrupt)
    with pytest.raises(KeyboardInterrupt):
        grade_class(config, submissions)
        time.sleep(10)  # (grading ended before the interrupt: then the stored grade below fails the test)
    watcher.join(timeout=1)
    assert seen, "nbgrader never ran: the test proves nothing"
    _, alive = psutil.wait_procs(seen, timeout=10)
    assert alive == []  # the worker processes, nbgrader, its kernel
    assert _processes_of(config.course) == []
    assert RubricStore(config.store_path).result(BLANK, Phase.C) is None  # graded on the next run


def test_a_killed_job_keeps_a_stored_grade_and_is_graded_again_on_the_next_run(tmp_path):
    from autograder.grading.coordinator import GradeRun, _record, plan
    from autograder.grading.engine import killed_result
    from autograder.grading.results import CellScore, PhaseResult
    from autograder.rubric.definition import load_rubric

    config = GradingConfig(course=tmp_path / "course", phases=("phase4c",))
    store = RubricStore(config.store_path)
    (tmp_path / "subs" / "kim" / "phase4c").mkdir(parents=True)
    (tmp_path / "subs" / "kim" / "phase4c" / NOTEBOOK).write_text("{}")
    job, = plan(config, tmp_path / "subs", store, GradeRun())
    cells = {"4c_subsets": CellScore(1.0, 1.0, True, "passed")}
    store.save_result("kim", Phase.C, "fp-old", PhaseResult(Outcome.GRADED, cells=cells))
    assert _record(config, store, load_rubric(), job, killed_result(config, job, 3)) == \
        "worker-killed (previous grade kept)"
    assert store.result("kim", Phase.C).result.cells == cells
    store.save_result("kim", Phase.C, job.fingerprint, killed_result(config, job, 3))  # a first attempt killed
    again = plan(config, tmp_path / "subs", store, GradeRun())
    assert [(j.student, j.fingerprint) for j in again] == [("kim", job.fingerprint)]  # same files, graded again


class _Done:
    """A finished Dask future as task_result reads it."""

    def __init__(self, status: str, exception: BaseException | None = None) -> None:
        self.status, self._exception = status, exception

    def exception(self) -> BaseException | None:
        return self._exception


def test_what_a_failed_task_becomes(tmp_path):
    from distributed import KilledWorker

    from autograder.grading.coordinator import Job
    from autograder.grading.engine import grade_job, task_result
    from geoai_ref.errors import MissingInput, Unavailable

    config = GradingConfig(course=tmp_path, phases=("phase4c",))
    job = Job("kim", Phase.C, tmp_path / "not-shared" / "kim" / "phase4c", {}, "fp")
    with pytest.raises(MissingInput, match="same path as the coordinator") as info:
        grade_job(job, config, tmp_path / "template.db")  # a worker that does not share the course folder
    with pytest.raises(MissingInput):  # stops the whole run: every job would fail the same way
        task_result(_Done("error", info.value), job, config)
    from dataclasses import replace

    from autograder.authoring.release_data import COURSE_CONFIG
    from geoai_ref.course import REAL_COURSE

    shared = tmp_path / "shared" / "kim" / "phase4c"
    shared.mkdir(parents=True)
    (tmp_path / "template.db").touch()
    replace(REAL_COURSE, name="another course").to_json(tmp_path / COURSE_CONFIG)
    with pytest.raises(MissingInput, match="follows the course 'GeoAI and Earth Vision.*'another course'"):
        grade_job(replace(job, snapshot=shared), config, tmp_path / "template.db")  # a worker set up by hand
    with pytest.raises(Unavailable, match="dropped"):
        task_result(_Done("cancelled"), job, config)
    error = task_result(_Done("error", ValueError("unpicklable")), job, config)
    assert error.outcome is Outcome.ERROR and "ValueError: unpicklable" in error.message
    killed = task_result(_Done("error", KilledWorker("key", None, 5)), job, config)
    assert killed.outcome is Outcome.KILLED and "killed 6 times" in killed.message


class _RecordingClient:
    """Stands in for a Dask client: records what each submit asked for."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, str, int]] = []

    def submit(self, fn, job, *args, key: str, pure: bool, priority: int):  # noqa: ANN001, ANN202
        self.submitted.append((job.student, str(job.phase), priority))
        return object()


def test_jobs_start_longest_phase_first_and_students_keep_their_order(tmp_path):
    from autograder.grading.coordinator import Job
    from autograder.grading.engine import PHASES_LONGEST_FIRST, longest_first, submit_jobs

    jobs = [Job(student, phase, tmp_path, {}, "fp") for student in ("ada", "ben") for phase in Phase]
    assert [(j.student, j.phase) for j in longest_first(jobs)] == [
        (s, p) for p in PHASES_LONGEST_FIRST for s in ("ada", "ben")]
    assert set(PHASES_LONGEST_FIRST) == set(Phase)

    client = _RecordingClient()
    submit_jobs(client, jobs, GradingConfig(course=tmp_path), tmp_path / "template.db")
    priorities = [priority for _, _, priority in client.submitted]
    assert [(s, p) for s, p, _ in client.submitted] == [(j.student, str(j.phase)) for j in longest_first(jobs)]
    assert priorities == sorted(priorities, reverse=True) and len(set(priorities)) == len(jobs)  # Dask: highest first


def _waits(seconds: float) -> tuple[float, float]:
    """A task whose command only sleeps, leaving its slot when the watchdog sees it wait: (start, end)."""
    from autograder.grading.engine import slot_left_while_waiting
    from autograder.grading.limits import Limits, run_limited

    start = time.monotonic()
    with slot_left_while_waiting() as leave:
        run_limited(["sleep", str(seconds)], Limits(seconds=60, memory_mb=512), on_idle=leave)
    return start, time.monotonic()


def _quick() -> tuple[float, float]:
    now = time.monotonic()
    return now, now


def test_a_job_that_waits_lets_its_worker_grade_the_next_one_and_only_one_waits_at_a_time(monkeypatch):
    from distributed import Client

    from autograder.grading import limits
    from autograder.grading.engine import start_local_cluster

    monkeypatch.setattr(limits, "IDLE_SECONDS", 1.0)  # the worker runs in this process (threads), so it sees this
    cluster = start_local_cluster(1, processes=False)
    try:
        with Client(cluster) as client:
            first = client.submit(_waits, 6, key="first", priority=3)
            second = client.submit(_waits, 6, key="second", priority=2)
            third = client.submit(_quick, key="third", priority=1)
            (_, first_end), (second_start, second_end), (third_start, _) = client.gather([first, second, third])
    finally:
        cluster.close()
    # one worker, one slot: the second started while the first still slept (the first left its slot) ...
    assert second_start < first_end - 2
    # ... but the second kept its slot (one waiting job per worker), so the third waited for it
    assert third_start >= second_end - 0.5


def _notebook_with(folder: Path, *sources: str) -> Path:
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, folder / NOTEBOOK)
    return folder / NOTEBOOK


def test_a_notebook_that_may_not_finish_is_told_from_the_code(tmp_path):
    from autograder.grading.engine import may_not_finish

    def check(*sources: str) -> bool:
        return may_not_finish(_notebook_with(tmp_path / str(len(list(tmp_path.iterdir()))), *sources))

    assert check("import time\nwhile True:  # wait for the model\n    time.sleep(1)\n")
    assert check("%matplotlib inline\nwhile 1:\n    pass\n")  # a magic does not hide the rest
    assert check("name = input('your name: ')\n")
    assert not check("while True:\n    if done():\n        break\n")
    assert not check("def f():\n    while True:\n        return 1\n")
    assert not check("epoch = 0\nwhile epoch < 3:\n    epoch += 1\n", "x = [")  # a syntax error is skipped
    assert check("x = " + "-" * 100_000 + "1", "while True:\n    pass\n")  # too deep to parse (MemoryError): skipped
    assert not may_not_finish(tmp_path / "missing.ipynb")
    (tmp_path / "cut.ipynb").write_text('{"cells": [')
    assert not may_not_finish(tmp_path / "cut.ipynb")


def test_jobs_that_may_not_finish_start_before_every_other_phase(tmp_path):
    from autograder.grading.coordinator import Job
    from autograder.grading.engine import longest_first

    _notebook_with(tmp_path / "hal", "while True:\n    pass\n")
    _notebook_with(tmp_path / "ada", "x = 1\n")
    jobs = [Job("ada", Phase.B, tmp_path / "none", {}, "fp"), Job("ada", Phase.C, tmp_path / "ada", {}, "fp"),
            Job("hal", Phase.C, tmp_path / "hal", {}, "fp")]
    assert [(j.student, j.phase) for j in longest_first(jobs)] == [("hal", Phase.C), ("ada", Phase.B),
                                                                   ("ada", Phase.C)]
