"""One phase of one student through ``nbgrader autograde``, in a private course, under limits.

Each job gets its own course folder (a copy of the gradebook template, the course's assignments, the
snapshot as the submission), so parallel jobs never share nbgrader's database. nbgrader runs in a
subprocess with a wall-time and a memory limit (:mod:`autograder.grading.limits`); its scores and the
errors of its grade cells come back as :class:`~autograder.grading.results.CellScore` values. The
coordinator alone copies a finished job's scores into the course gradebook (:func:`merge_into_gradebook`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import nbformat

from autograder.authoring.course import Course, path_with_venv
from autograder.authoring.notebooks import PHASES
from autograder.grading.execute import kernel_death
from autograder.grading.limits import Limits, environment, kill_stale, run_limited
from autograder.grading.results import CellScore, Flag, Outcome, PhaseResult
from autograder.paths import REPO
from geoai_ref.phase import Phase

#: Characters of nbgrader's log kept with a result that failed (PhaseResult.log).
LOG_TAIL = 3000
#: A line of nbgrader's log that states an error: a Python exception ("Name: text") or nbgrader's own ERROR lines.
_ERROR_LINE = re.compile(r"^(?:[\w.]+(?:Error|Exception|Exit|Interrupt)\b.*|\[\w+ \| ERROR\].*)$")


def failure_summary(log: str) -> str:
    """The last line of nbgrader's log that states an error (no traceback), or a note that none did."""
    lines = [line.strip() for line in log.splitlines() if _ERROR_LINE.match(line.strip())]
    return lines[-1][:300] if lines else "no error line in nbgrader's log"


def cell_messages(notebook: Path) -> tuple[dict[str, str], list[str]]:
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


def answer_digests(notebook: Path) -> dict[str, str]:
    """grade_id -> a digest of the student's text, for every written-answer cell (nbgrader ``solution`` and
    ``grade``) of an autograded notebook. Whitespace at either end does not count as a change."""
    nb = nbformat.read(notebook, as_version=4)
    digests = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and meta.get("solution") and meta.get("grade_id"):
            digests[meta["grade_id"]] = hashlib.sha256(cell.source.strip().encode()).hexdigest()[:16]
    return digests


def worker_course(root: Path, course: Path, template_db: Path, student: str, phase: Phase, snapshot: Path,
                  python3_kernel: bool = False) -> Course:
    """A private nbgrader course at ``root`` for one job: ``course``'s assignments, a copy of the gradebook
    template, the snapshot as the submission (its kernelspec set to Python 3 when ``python3_kernel``)."""
    if root.exists():
        kill_stale(root / "autograde.pid")  # an nbgrader run orphaned by a killed coordinator
        shutil.rmtree(root)
    (root / "gradebook").mkdir(parents=True)
    (root / "assignments").symlink_to(course / "assignments", target_is_directory=True)
    shutil.copyfile(template_db, root / "gradebook" / "gradebook.db")
    submitted = root / "gradebook" / "submitted" / student / phase
    shutil.copytree(snapshot, submitted, copy_function=shutil.copyfile)
    if python3_kernel:
        path = submitted / PHASES[phase].ipynb.name
        nb = nbformat.read(path, as_version=4)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)
    return Course(root)


#: The kernel manager that starts the notebook's kernel in the jail (autograder/grading/jailed_kernel.py).
JAILED_KERNEL = "autograder.grading.jailed_kernel.JailedKernelManager"


def autograde(course: Course, student: str, phase: Phase, limits: Limits, cell_timeout: int, epochs: int,
              threads: int, jailed: bool = True, train_batches: int = 0,
              on_idle: Callable[[], object] | None = None) -> PhaseResult:
    """``nbgrader autograde`` of one submission in ``course`` (a worker course) under ``limits``.

    The kernel gets ``threads`` CPU threads and the training budget: ``epochs`` epochs of ``train_batches``
    batches each (0: every batch; the locked setup cell applies it to every ``model.fit``). It runs in the jail
    unless ``jailed`` is False (a machine without it, graded with --allow-unjailed). ``on_idle`` is called once if
    the run starts to wait (a cell that sleeps or blocks). Returns the outcome with the scores of every grade cell;
    the trusted checks are not run here.
    """
    cmd = [sys.executable, "-m", "nbgrader", "autograde", phase, "--student", student, "--force",
           f"--CourseDirectory.root={course.root}", f"--CourseDirectory.db_url=sqlite:///{course.db}",
           f"--Execute.timeout={cell_timeout}"]
    if jailed:
        cmd.append(f"--ExecuteUntilKernelDies.kernel_manager_class={JAILED_KERNEL}")
    env = environment(PATH=path_with_venv(), GEOAI_GRADING="1", GEOAI_EPOCHS=str(epochs),
                      GEOAI_TRAIN_BATCHES=str(train_batches), PYTHONWARNINGS="ignore",
                      TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS=str(threads))
    run = run_limited(cmd, limits, cwd=REPO, env=env, log=course.root / "autograde.log",
                      pidfile=course.root / "autograde.pid", on_idle=on_idle)
    timings = {"nbgrader_seconds": round(run.seconds, 1), "peak_mb": round(run.peak_mb)}
    if run.killed == "timeout":
        return PhaseResult(Outcome.TIMEOUT, f"grading ran past {limits.seconds:g} s and was stopped: look for a cell "
                           "that never finishes (an endless loop, input(), a huge epoch count)", **timings)
    if run.killed == "memory":
        return PhaseResult(Outcome.MEMORY, f"the notebook used more than {limits.memory_mb} MiB (all its processes "
                           "together) and was stopped: use smaller batches or fewer copies of the data, and start no "
                           "processes of your own", **timings)
    rerun = "a fault of the grader, not of the submission: it is graded again on the next run (the end of nbgrader's " \
            "log is kept with the result, `log` in rubric.json)"
    if run.returncode != 0:
        return PhaseResult(Outcome.ERROR, f"nbgrader autograde failed (exit {run.returncode}: "
                           f"{failure_summary(run.output)}); {rerun}", log=run.output[-LOG_TAIL:], **timings)
    notebook = course.autograded(student, phase) / PHASES[phase].ipynb.name
    if not notebook.exists():
        return PhaseResult(Outcome.ERROR, f"nbgrader wrote no autograded notebook ({failure_summary(run.output)}); "
                           f"{rerun}", log=run.output[-LOG_TAIL:], **timings)
    messages, timed_out = cell_messages(notebook)
    if timed_out:
        for gid, message in messages.items():
            if message.startswith("NameError"):
                messages[gid] = (f"{message} (cell {timed_out[0]} never finished, so what it defines was never "
                                 "defined: fix that cell first)")
    answers = answer_digests(notebook)
    cells = {}
    for gid, (score, max_score) in course.scores(phase, student).items():
        passed = None if score is None else score >= max_score
        cells[gid] = CellScore(score, max_score, passed, messages.get(gid, "passed" if passed else ""),
                               answers.get(gid))
    flags = [Flag("cell-timeout", phase,
                  f"cell {gid} did not finish within {cell_timeout} s and was stopped; the cells after it ran "
                  "without its results: look for an endless loop (or work too slow for the grading budget: raise "
                  "--cell-timeout on a busy machine)") for gid in timed_out]
    death = kernel_death(nbformat.read(notebook, as_version=4))
    if death is not None:
        return PhaseResult(Outcome.KERNEL_DIED, f"the kernel died while running {death.cell} (os._exit, a crash, or "
                           "killed from outside): the cells before it kept their results, it and the cells after it "
                           "scored 0. Remove what ends the process (os._exit, os.kill, code that crashes Python), run "
                           "the whole notebook top to bottom and submit again",
                           cells=cells, flags=flags, **timings)
    return PhaseResult(Outcome.GRADED, "", cells=cells, flags=flags, **timings)


def gradebook_template(course_root: Path, phases: tuple[Phase, ...], dest: Path,
                       progress: Callable[[str], None]) -> Path:
    """A copy at ``dest`` of the course gradebook holding every assignment of ``phases`` (generated if missing).

    Raises:
        autograder.authoring.course.NbgraderError: if nbgrader cannot generate an assignment.
    """
    from nbgrader.api import Gradebook, MissingEntry

    course = Course(course_root)
    with Gradebook(f"sqlite:///{course.db}") as gb:
        missing = []
        for phase in phases:
            try:
                gb.find_assignment(phase)
            except MissingEntry:
                missing.append(phase)
    for phase in missing:
        progress(f"nbgrader generate_assignment {phase} (first grading of this phase)")
        course.generate(phase)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(course.db, dest)
    return dest


def merge_into_gradebook(course_root: Path, student: str, phase: Phase, worker_root: Path,
                         review_again: frozenset[str] = frozenset(), graded_as: str | None = None) -> str:
    """Copy one autograded submission's scores into the course's nbgrader gradebook (coordinator only); returns
    nbgrader's id of the submitted notebook (formgrader's address of it). ``graded_as``: the student under whose
    name the worker graded the files (another student's identical submission); None: ``student``.

    Manual scores already entered in the course gradebook (formgrader) are kept; those of the cells in
    ``review_again`` (answers changed since a TA scored them) are marked as needing a manual grade again, so
    that formgrader lists them. The autograded notebook is copied to the course's ``autograded/`` folder
    (what nbgrader's feedback and formgrader need).
    """
    from nbgrader.api import Gradebook, MissingEntry

    course, worker = Course(course_root), Course(worker_root)
    graded_as = graded_as or student
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{worker.db}") as wgb, \
            Gradebook(f"sqlite:///{course.db}") as gb:
        # nbgrader's add_submission triggers SQLAlchemy "not in session" warnings; the rows are written regardless
        warnings.simplefilter("ignore")
        wsub = wgb.find_submission(phase, graded_as)
        gb.update_or_create_student(student)
        try:
            gb.find_submission(phase, student)
        except MissingEntry:
            gb.add_submission(phase, student)
        notebook_id = ""
        for wnb in wsub.notebooks:
            notebook_id = gb.find_submission_notebook(wnb.name, phase, student).id
            for g in wnb.grades:
                mg = gb.find_grade(g.name, wnb.name, phase, student)
                mg.auto_score = g.auto_score
                if mg.manual_score is None:
                    mg.needs_manual_grade = g.needs_manual_grade
                elif g.name in review_again:  # never cleared here: only a TA's save in formgrader clears it
                    mg.needs_manual_grade = True
            for c in wnb.comments:
                mc = gb.find_comment(c.name, wnb.name, phase, student)
                mc.auto_comment = c.auto_comment
        gb.db.commit()
    # models and arrays stay in the snapshot (gradebook/snapshots), so the course folder does not hold every
    # file three times
    dest = course_root / "gradebook" / "autograded" / student / phase
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for notebook in (worker_root / "gradebook" / "autograded" / graded_as / phase).glob("*.ipynb"):
        shutil.copyfile(notebook, dest / notebook.name)
    return notebook_id
