"""`geoai-grade`: the autograder's command line (a thin layer over the library; no grading logic here).

Defaults come from the library's configuration objects. Library errors (:mod:`geoai_ref.errors`) become
exit codes here, and only here: 0 success, 1 a check found problems (or some submissions could not be
graded: they are recorded with their outcome), 2 bad usage or missing input, 4 nbgrader failed, 70 a bug
of the kit, 130 interrupted (finished grades are kept).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from autograder.demo.defaults import DEMO_CELL_TIMEOUT, DEMO_WORKERS, SAMPLE_EPOCHS
from autograder.grading.config import GradingConfig
from autograder.grading.limits import Limits, stop_all
from autograder.grading.results import Outcome
from autograder.paths import HIDDEN_DATA, REPO, SOLUTIONS
from autograder.publish.lms import GRADE_FORMATS
from autograder.review.server import FORMGRADER_PORT, FORMGRADER_URL
from autograder.rubric.store import RubricStore
from geoai_ref.course import COURSE, COURSE_ENV, REAL_COURSE, CourseConfig, load_course_config
from geoai_ref.errors import EXIT_INTERRUPTED, EXIT_OK, ProblemsFound, ToolFailed, UsageError, run_command
from geoai_ref.phase import PHASE_HELP, phase_argument

RELEASE_HELP = """\
Run nbgrader generate_assignment for each phase, add the data each phase needs and a
requirements.txt, then audit the release: no solutions, hidden tests, geoai_ref, hidden data or
text sources may leave. Exit 1 if the audit finds a leak or the Week 3 folder cannot be used
(every problem is listed).

By default every phase ships the kit's fixtures. With --week3 FOLDER, a course's own Week 3
folder (data/processed/{X,y}_{train,val}.npy, data/labels/larger_polygons.geojson,
models/week3/best_model.h5), the release is built on that course:
  - Phase 4A ships the folder's real patches and model; the model's accuracy on its validation
    patches is measured for the 4A baseline check;
  - Phases 4B and 4C ship synthetic sensors rendered under the folder's polygons (real patches
    cannot be cut from synthetic rasters).
That data is kept in COURSE/course_data: later releases and `geoai-grade grade` of the course use
it (delete that folder to go back to the fixtures). The hidden evaluation data stays the kit's
for the real course.

With --config course.json (with --week3), the course has another class scheme, AOI, bands or
scale than the real course (the fields of geoai_ref.course.CourseConfig; write one to start from
with `geoai-ref course-config --out course.json`). It is kept as COURSE/course_data/course.json and
every geoai-grade command on that course folder follows it: the notebooks' setup cell states its
classes, the synthetic sensors and a hidden evaluation region are generated for them, and every
check grades against them. Give the release its own course folder (--course DIR); run the worked
solutions on it with `geoai-grade solutions --course DIR`.
"""


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _hidden_data(args: argparse.Namespace) -> int:
    from geoai_ref.synth.course_build import build_course_hidden
    from geoai_ref.synth.verify import reproduction_lines, reproduction_problems

    out = Path(args.out)
    if args.check:
        problems = reproduction_problems(out, lambda folder: build_course_hidden(folder, progress=_say), progress=_say)
        print("\n".join(reproduction_lines(problems, "hidden data")))
        return ProblemsFound.exit_code if problems else EXIT_OK
    for p in build_course_hidden(out, progress=_say):
        print(p)
    return EXIT_OK


def _notebooks(args: argparse.Namespace) -> int:
    from autograder.authoring.notebooks import build_all

    changed = build_all(check=args.check)
    if args.check:
        for phase in changed:
            print(f"OUT OF DATE: {phase} (its .ipynb differs from its .src.py source)")
        print("notebooks match their sources" if not changed else "run `geoai-grade notebooks` to rebuild")
        return 1 if changed else 0
    print(f"rebuilt {changed}" if changed else "notebooks already match their sources")
    return 0


def _release(args: argparse.Namespace) -> int:
    from autograder.authoring.course import Course, make_course
    from autograder.authoring.release import build_release
    from autograder.authoring.release_data import build_release_data

    course = Course(_course(args))
    if args.week3:
        if COURSE != REAL_COURSE and course.root == REPO:
            raise UsageError(f"the course {COURSE.name!r} is not the kit's: give its release its own course folder "
                             "(--course DIR)")
        build_release_data(course.root, Path(args.week3), seed=args.seed, cloud_hole=not args.no_cloud,
                           progress=_say)
    elif args.seed is not None or args.no_cloud or args.config:
        raise UsageError("--seed, --no-cloud and --config shape the data built from --week3: give them with "
                         "--week3 FOLDER")
    if course.root != REPO and (args.config or not (course.root / "assignments").is_dir()):
        _say(f"building the course's source notebooks in {course.root / 'assignments'}")
        make_course(course.root)
    release = build_release(course, list(args.phase), progress=_say)
    for folder in sorted(p for p in release.iterdir() if p.is_dir()):
        print(folder)
    return 0


def _solutions(args: argparse.Namespace) -> int:
    from autograder.authoring.release_data import release_data
    from autograder.authoring.solutions import build_solutions

    seconds = build_solutions(Path(args.out), epochs=args.epochs, phases=list(args.phase),
                              data=release_data(_course(args)), progress=_say)
    for phase, s in seconds.items():
        print(f"{phase}\t{s:.0f} s\t{Path(args.out) / phase}")
    return 0


def _course(args: argparse.Namespace) -> Path:
    return Path(args.course).resolve()


def _store(args: argparse.Namespace) -> RubricStore:
    """The course's rubric store, with what TAs saved in formgrader copied in."""
    from autograder.review.sync import copy_formgrader_saves

    store = RubricStore.of_course(_course(args))
    sync = copy_formgrader_saves(_course(args), store)
    if sync.copied:
        _say(f"{sync.copied} new save(s) from formgrader copied into the rubric store")
    for line in sync.skipped:
        _say(f"formgrader save not used: {line}")
    return store


def _grading_config(args: argparse.Namespace, course: Path) -> GradingConfig:
    return GradingConfig(course=course, phases=args.phase, workers=args.workers,
                         limits=Limits(seconds=args.timeout, memory_mb=args.memory_mb),
                         cell_timeout=args.cell_timeout, epochs=args.epochs, train_batches=args.train_batches,
                         regrade=args.regrade, share_identical=args.share_identical,
                         scheduler=args.scheduler, threads=args.threads, allow_unjailed=args.allow_unjailed)


def _print_table(rubrics: list[dict]) -> None:
    print(f"{'student':24} {'total':>6}  status          flags")
    for r in rubrics:
        flags = ", ".join(sorted({f["id"] for f in r["flags"]})) or "-"
        print(f"{r['student']:24} {r['total']:6.1f}  {r['status']:15} {flags}")


def _grade(args: argparse.Namespace) -> int:
    from autograder.grading.coordinator import grade_class
    from autograder.publish.class_reports import write_reports

    config = _grading_config(args, _course(args))
    run = grade_class(config, Path(args.submissions), progress=_say, show_bar=sys.stderr.isatty())
    rubrics = write_reports(_store(args), Path(args.out))
    _print_table(rubrics)
    print(f"reports: {Path(args.out) / 'index.html'}")
    failed = [(s, p, o) for s, p, o in run.graded if o != Outcome.GRADED]
    for s, p, o in failed:
        _say(f"{s}/{p}: {o} (see {Path(args.out) / s / 'rubric.html'})")
    return 1 if failed else 0


def _report(args: argparse.Namespace) -> int:
    from autograder.publish.class_reports import write_reports

    rubrics = write_reports(_store(args), Path(args.out), formgrader=args.formgrader_url)
    _print_table(rubrics)
    print(f"reports: {Path(args.out) / 'index.html'}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from autograder.publish.lms import write_grades_csv
    from autograder.rubric.scoring import Status, class_rubrics

    rubrics = class_rubrics(_store(args))
    path = write_grades_csv(rubrics, Path(args.out), fmt=args.format)
    pending = [r["student"] for r in rubrics if r["status"] == Status.PENDING]
    if pending:
        _say(f"{len(pending)} student(s) still wait for manual points (their grade is the points so far): "
             f"{', '.join(pending)}")
    print(path)
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from autograder.publish.class_reports import write_feedback_pages

    pages = write_feedback_pages(_store(args), _course(args), Path(args.out), progress=_say)
    for student, page in pages.items():
        print(f"{student}\t{page}")
    return 0


def _override(args: argparse.Namespace) -> int:
    from autograder.rubric.definition import load_rubric
    from autograder.rubric.scoring import class_rubrics

    store = _store(args)
    if args.history:
        for o in store.ta_scores(args.student):
            points = "(emptied)" if o.points is None else f"{o.points:g}"
            print(f"{o.at}\t{o.student}\t{o.check}\t{points}\t{o.grader}\t{o.origin}\t{o.reason}")
        return 0
    if args.check is None or args.points is None:
        raise UsageError("give STUDENT CHECK POINTS (or --history)")
    rubric = load_rubric()
    store.add_override(rubric, args.student, args.check, args.points, args.grader, args.reason)
    r = class_rubrics(store, rubric, [args.student])[0]
    print(f"{args.student}: {args.check} = {args.points:g} ({args.grader}); total now {r['total']:g} / "
          f"{r['possible']:g}, status {r['status']}. Run `geoai-grade report` to refresh the reports.")
    return 0


def _grade_ui(args: argparse.Namespace) -> int:
    from autograder.review.server import start_formgrader
    from autograder.review.sync import copy_formgrader_saves

    course = _course(args)
    store = RubricStore.of_course(course)
    server = start_formgrader(course, args.grader, port=args.port)
    stopped_by_user = False
    try:
        print(f"formgrader for {args.grader} on {course}:\n  {server.login_url}")
        print("Open it in a browser (Manual Grading > phase > notebook > submission). Each score and comment is saved "
              "as you enter it and credited to you. Stop with Ctrl-C.", flush=True)
        while server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        stopped_by_user = True
    finally:
        server.stop()
        sync = copy_formgrader_saves(course, store)
        print(f"formgrader stopped; {sync.copied} new save(s) copied into the rubric store. Run `geoai-grade report "
              "--out REPORTS` to refresh the reports.", flush=True)
    if not stopped_by_user:
        raise ToolFailed(f"the Jupyter server stopped by itself (exit {server.process.returncode}); its log: "
                         f"{server.log}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from autograder.demo.run import run_demo

    out = Path(args.out).resolve()
    result = run_demo(out, workers=args.workers, phases=args.phase, epochs=args.build_epochs,
                      cell_timeout=args.cell_timeout, progress=_say, show_bar=sys.stderr.isatty(),
                      allow_unjailed=args.allow_unjailed)
    _print_table(result.rubrics)
    for line in result.expectation_problems:
        print(f"UNEXPECTED: {line}")
    print(f"dashboard: {out / 'index.html'}")
    print(f"grades: {out / 'grades.csv'}   feedback: {out / 'feedback'}")
    print("every sample fault shows in its rubric check" if not result.expectation_problems
          else f"{len(result.expectation_problems)} expectation(s) not met")
    return 1 if result.expectation_problems else 0


UNJAILED_HELP = ("grade even if this machine cannot run the jail (bubblewrap and user namespaces; `make jail` "
                 "installs bubblewrap): the notebook's kernel, the hidden checks' probes and the model sandbox then "
                 "run unjailed, and every phase carries the `unjailed` flag in the reports")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geoai-grade",
        description="Autograder of the GeoAI Week 4 exercise: builds the assignment notebooks, the student "
        "release and the worked solutions; grades a class in parallel onto the 100-point rubric with evidence for "
        "every point (grade, report, export, feedback, override); `demo` does it all on a sample class.",
        epilog="Exit codes: 0 ok, 1 a check found problems, 2 bad usage or missing input, 4 nbgrader failed, "
        "70 a bug of the kit (please report it), 130 interrupted.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("hidden-data", help="generate (or --check) the hidden evaluation scene",
                       description="Generate the hidden evaluation scene (another seed and AOI than the student "
                       "fixtures): rasters, polygons and 8-band labelled patches. Never release this folder.")
    p.add_argument("--out", default=str(HIDDEN_DATA), help="folder to write (default: %(default)s)")
    p.add_argument("--check", action="store_true", help="regenerate in a temporary folder and compare with --out")
    p.set_defaults(func=_hidden_data)

    p = sub.add_parser("notebooks", help="rebuild the assignment notebooks from their .src.py sources",
                       description="Rebuild assignments/<phase>/*.ipynb from the jupytext sources beside them "
                       "(see assignments/AUTHORING.md). --check only reports notebooks that differ (exit 1).")
    p.add_argument("--check", action="store_true", help="report out-of-date notebooks instead of rewriting them")
    p.set_defaults(func=_notebooks)

    p = sub.add_parser("release", help="generate the student release with nbgrader and audit it",
                       description=RELEASE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--phase", type=phase_argument, default="all", help=PHASE_HELP)
    p.add_argument("--week3", metavar="FOLDER", help="build the release on this course's own Week 3 folder (checked "
                   "first; about a minute to render its synthetic sensors)")
    p.add_argument("--seed", type=int, help="seed of the synthetic sensors of --week3 (default: the fixtures')")
    p.add_argument("--no-cloud", action="store_true", help="render the sensors of --week3 without the persistent "
                   "cloud that Phase 4B's quality control finds (needed when the cloud would cover a patch)")
    p.add_argument("--config", metavar="COURSE_JSON", help="with --week3: the course configuration of that folder "
                   "(its classes in label order, AOI, bands, scale; default: the real course)")
    p.add_argument("--course", default=str(REPO), help="nbgrader course folder (default: %(default)s; the "
                   "release goes to COURSE/release and the gradebook to COURSE/gradebook)")
    p.set_defaults(func=_release)

    p = sub.add_parser("solutions", help="execute the worked solutions into solutions/",
                       description="Execute each phase's instructor notebook (the worked solution) in a folder "
                       "holding the phase's data; the executed notebook and the deliverables it wrote stay there. "
                       "Exit 1 if a cell fails or writes to stderr.")
    p.add_argument("--out", default=str(SOLUTIONS), help="folder to write (default: %(default)s)")
    p.add_argument("--phase", type=phase_argument, default="all", help=PHASE_HELP)
    p.add_argument("--course", default=str(REPO), help="run them on this course folder's release data and for its "
                   "course (default: %(default)s, the kit's fixtures; a course released with --week3 has its own)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epoch budget (default: the notebooks' own, 50 with early stopping)")
    p.set_defaults(func=_solutions)

    course_help = "nbgrader course folder holding gradebook/ (default: %(default)s)"

    p = sub.add_parser("grade", help="grade a class in parallel onto the 100-point rubric",
                       description="Grade every submission: snapshot the files (SHA-256), run nbgrader autograde in "
                       "a private course folder with a wall-time and memory limit, run the trusted checks (models "
                       "re-evaluated in a sandbox on hidden data), score the rubric and write the reports. Each "
                       "submission is one task on a Dask cluster (a local one, or --scheduler). Results "
                       "go to COURSE/gradebook/rubric_store.sqlite one at a time, so a killed run resumes where it "
                       "stopped: phases already graded with the same files are not graded again.",
                       epilog="Exit 0: every submitted phase was graded; 1: some could not be (invalid notebook, "
                       "timeout, worker-killed, ...; recorded in the reports); 2: bad usage or unreadable submissions; "
                       "3: the Dask scheduler cannot be reached.")
    p.add_argument("--submissions", required=True, help="folder of <student>/<phase>/ (nbgrader's submitted/ "
                   "layout) or a .zip of it (or of one <student>.zip per student)")
    p.add_argument("--out", required=True, help="report folder: <student>/rubric.{json,md,html}, summary.csv, "
                   "index.html")
    p.add_argument("--course", default=str(REPO), help=course_help)
    p.add_argument("--workers", type=int, default=GradingConfig.workers,
                   help="submissions graded at once: the worker processes of the local Dask cluster (default: "
                   "%(default)s; with --scheduler the cluster's own workers count)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="grade on the running Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) instead "
                   "of a local one; its workers must see COURSE and the submissions at the same paths (a shared "
                   "filesystem), see README 'Grading a class'")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads each submission's kernel may use (default: this machine's cores / --workers; "
                   "give the cores of one cluster worker with --scheduler)")
    p.add_argument("--phase", type=phase_argument, default="all", help=PHASE_HELP)
    p.add_argument("--epochs", type=int, default=GradingConfig.epochs,
                   help="epoch budget of the notebooks under grading "
                   "(default: %(default)s)")
    p.add_argument("--train-batches", type=int, default=GradingConfig.train_batches,
                   help="batches per epoch of every model.fit in the grading run, run eagerly (default: %(default)s; 0 "
                   "trains on every batch, compiled). The run proves the training code runs; the model graded is the "
                   "one submitted")
    p.add_argument("--cell-timeout", type=int, default=GradingConfig.cell_timeout,
                   help="seconds before nbgrader stops a cell "
                   "(default: %(default)s)")
    p.add_argument("--timeout", type=float, default=GradingConfig.limits.seconds,
                   help="seconds one phase submission may take in all "
                   "(default: %(default)s)")
    p.add_argument("--memory-mb", type=int, default=GradingConfig.limits.memory_mb,
                   help="resident memory one phase submission may use, "
                   "kernel included (default: %(default)s)")
    p.add_argument("--regrade", action="store_true", help="grade again even when the files did not change")
    p.add_argument("--grade-identical-separately", dest="share_identical", action="store_false",
                   help="grade each student's submission on its own even when its files are byte-identical to "
                   "another student's (default: such submissions, e.g. an untouched release notebook or a copy, are "
                   "graded once and the result is recorded for each of them)")
    p.add_argument("--allow-unjailed", action="store_true", help=UNJAILED_HELP)
    p.set_defaults(func=_grade)

    p = sub.add_parser("report", help="rewrite the reports and dashboard from the rubric store",
                       description="Render every student's rubric.json / rubric.md / rubric.html, summary.csv and "
                       "the class dashboard index.html from the rubric store, after copying in what TAs saved in "
                       "formgrader (run it after grading in formgrader or entering overrides).")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--course", default=str(REPO), help=course_help)
    p.add_argument("--formgrader-url", default=FORMGRADER_URL,
                   help="where `grade-ui` serves formgrader; each written answer in the reports links to its score "
                   "box there (default: %(default)s)")
    p.set_defaults(func=_report)

    p = sub.add_parser("export", help="write an LMS-ready grades CSV",
                       description="Write the class's rubric totals as a CSV an LMS imports. Students still waiting "
                       "for manual points get the points so far, with status manual-pending.")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--format", default="generic", choices=GRADE_FORMATS,
                   help="CSV layout (default: %(default)s)")
    p.add_argument("--course", default=str(REPO), help=course_help)
    p.set_defaults(func=_export)

    p = sub.add_parser("feedback", help="write student feedback (no grader source)",
                       description="Per student: nbgrader's feedback for each autograded phase, with tracebacks cut "
                       "to their last line, plus the student-facing rubric report (the hidden checks' messages).")
    p.add_argument("--out", required=True, help="feedback folder: <student>/feedback.html")
    p.add_argument("--course", default=str(REPO), help=course_help)
    p.set_defaults(func=_feedback)

    p = sub.add_parser("override", help="enter a TA's points for a check (kept as history)",
                       description="Give STUDENT's rubric CHECK some POINTS, saying who and why. Earlier entries are "
                       "kept: the latest counts. Use it for manual criteria (status manual-pending until then) and "
                       "for regrade requests. --history lists every override.")
    p.add_argument("student", help="student id")
    p.add_argument("check", nargs="?", help="rubric check id, e.g. 4b_report_quality (see autograder/rubric.yaml)")
    p.add_argument("points", nargs="?", type=float, help="points for the check (0 to its maximum)")
    p.add_argument("--grader", default="", help="who enters the points")
    p.add_argument("--reason", default="", help="why (shown to the student)")
    p.add_argument("--history", action="store_true", help="list the student's overrides instead")
    p.add_argument("--course", default=str(REPO), help=course_help)
    p.set_defaults(func=_override)

    p = sub.add_parser("grade-ui", help="open nbgrader's formgrader on the graded course, for a TA",
                       description="Start a Jupyter server with nbgrader's formgrader on COURSE's gradebook and the "
                       "autograded notebooks of the last grading run, on localhost behind a fresh token (the URL is "
                       "printed). Scores and comments a TA enters there are credited to --grader with the time, and "
                       "flow into the rubric: `report`, `export` and `feedback` use them, and the latest entry for a "
                       "check wins, whether made here or with `override`. A regrade keeps them unless the answer "
                       "changed; then the check waits for the TA again (re-review). Stop with Ctrl-C.")
    p.add_argument("--course", default=str(REPO), help=course_help)
    p.add_argument("--grader", default=getpass.getuser(), help="the TA credited with the scores (default: %(default)s)")
    p.add_argument("--port", type=int, default=FORMGRADER_PORT, help="port on 127.0.0.1 (default: %(default)s)")
    p.set_defaults(func=_grade_ui)

    p = sub.add_parser("demo", help="build the sample class, grade it in parallel and write the reports",
                       description="Build a sample class from the worked solutions (one correct student and one "
                       "per typical fault: collapse, unstratified split, nearest-neighbour MODIS, band order, missing "
                       "deliverable, inflated metrics, a never-ending cell, an invalid notebook), grade it in its own "
                       "course folder OUT/course and write the reports, grades.csv and feedback under OUT. Exit 1 if "
                       "a fault is not reflected in the rubric check it should cost.")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--workers", type=int, default=DEMO_WORKERS,
                   help="submissions graded at once (default: %(default)s)")
    p.add_argument("--phase", type=phase_argument, default="all", help=PHASE_HELP)
    p.add_argument("--build-epochs", type=int, default=SAMPLE_EPOCHS,
                   help="epoch budget of the solutions the sample class "
                   "is built from (default: %(default)s)")
    p.add_argument("--cell-timeout", type=int, default=DEMO_CELL_TIMEOUT, help="seconds before nbgrader stops a cell "
                   "(default: %(default)s; the never-ending cell costs this much)")
    p.add_argument("--allow-unjailed", action="store_true", help=UNJAILED_HELP)
    p.set_defaults(func=_demo)
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _course_wanted(args: argparse.Namespace) -> CourseConfig:
    """The course the command works for: ``--config`` (release), else the one its course folder's data was built
    for (``COURSE/course_data/course.json``), else the one this process follows.

    Raises:
        geoai_ref.course.CourseConfigError: if that configuration is malformed.
        geoai_ref.errors.MissingInput: if ``--config`` names no file.
    """
    from autograder.authoring.release_data import COURSE_CONFIG

    if getattr(args, "config", None):
        return load_course_config(Path(args.config))
    recorded = Path(getattr(args, "course", REPO)) / COURSE_CONFIG
    return load_course_config(recorded) if recorded.is_file() else COURSE


def _follow(course: CourseConfig, argv: list[str] | None) -> int:
    """Run this command again in a process that follows ``course`` (module constants are read at import)."""
    if os.environ.get(_FOLLOWING):
        raise RuntimeError(f"${COURSE_ENV} was set to {course.name!r} and the command still follows {COURSE.name!r}")
    env = {**os.environ, COURSE_ENV: json.dumps(course.to_dict()), _FOLLOWING: "1"}
    cmd = [sys.executable, "-m", "autograder.cli", *(sys.argv[1:] if argv is None else argv)]
    if argv is None:  # the command line itself: become that process (signals and exit status stay the user's)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, cmd, env)
    return subprocess.run(cmd, env=env).returncode


_FOLLOWING = "GEOAI_COURSE_FOLLOWED"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    wanted: list[CourseConfig] = []

    def read_course() -> int:
        wanted.append(_course_wanted(args))
        return EXIT_OK

    code = run_command("geoai-grade", read_course)
    if code != EXIT_OK:
        return code
    if wanted[0] != COURSE:
        return _follow(wanted[0], [str(a) for a in argv] if argv is not None else None)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run_command("geoai-grade", lambda: args.func(args))
    except KeyboardInterrupt:
        stop_all()
        _say("geoai-grade: interrupted; every grade finished so far is kept (run the command again to go on)")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(EXIT_INTERRUPTED)  # worker threads may still wait on killed processes: do not join them
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
