"""Shared paths, helpers and fixtures for the test-suite.

``graded_class``: a small class graded once per session by `geoai-grade grade` (killed half-way and resumed),
shared by the grading tests and the TA-review tests; tests that change its gradebook work on a copy
(:func:`copy_course`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import psutil
import pytest

os.environ.pop("GEOAI_COURSE", None)  # the suite is about the real course; another course runs in subprocesses

from autograder.jail import jail_available
from autograder.paths import FIXTURES, HIDDEN_DATA, REPO

TINY = FIXTURES / "tiny"
HIDDEN = HIDDEN_DATA
#: The graded class: the correct 4A submission, one whose metrics JSON claims more than its model gives, and one
#: whose notebook file is truncated.
STUDENTS = ("ada_correct", "gus_inflated_metrics", "ivy_invalid_json")
BUILD_EPOCHS = 3
#: The test modules that use ``graded_class``: ``make test`` runs them in one process (pytest_xdist_make_scheduler).
GRADED_CLASS_MODULES = ("tests/autograder/grading/test_grading.py", "tests/autograder/grading/test_hostile_bank.py",
                        "tests/autograder/review/test_formgrader_browser.py")
KILLED_RUN_PROCESSES = "killed_run_processes.txt"
#: Grade without the jail only where this machine cannot run it and the run does not require it (CI sets
#: GEOAI_REQUIRE_JAIL=1 and installs bubblewrap, so there the grading tests run jailed or fail).
ALLOW_UNJAILED = jail_available() is not None and os.environ.get("GEOAI_REQUIRE_JAIL") != "1"
UNJAILED_ARGS = ["--allow-unjailed"] if ALLOW_UNJAILED else []
#: Facts of the real course's Week 3 inputs (fixtures/course/README.md) the tests compare with: usable polygons
#: per class, and the validation support of each class in its 300 / 75 split.
COURSE_POLYGONS_PER_CLASS = {"Agriculture": 35, "Forest": 16, "Parcels": 32, "Urban": 29, "Water": 13}
COURSE_VAL_SUPPORT = {"Agriculture": 21, "Forest": 10, "Parcels": 19, "Urban": 17, "Water": 8}
__all__ = ["ALLOW_UNJAILED", "COURSE_POLYGONS_PER_CLASS", "COURSE_VAL_SUPPORT", "FIXTURES", "HIDDEN",
           "KILLED_RUN_PROCESSES", "REPO", "STUDENTS", "TINY", "UNJAILED_ARGS", "assert_plain_json", "cli",
           "copy_course", "course_shaped_folder", "course_with_release"]


def course_shaped_folder(root: Path) -> Path:
    """A Week 3 folder laid out exactly as the course's (``geoai_ref.layout``): float32 digital numbers, 3 patches
    per usable polygon, 300 / 75 split at the patch level (the fixtures' patches), the course's real polygons (with
    their null geometry) and its real Week 3 model (``fixtures/course/week3_best_model.h5``)."""
    from geoai_ref import layout

    for rel, src in ((layout.X_TRAIN, FIXTURES / layout.X_TRAIN), (layout.Y_TRAIN, FIXTURES / layout.Y_TRAIN),
                     (layout.X_VAL, FIXTURES / layout.X_VAL), (layout.Y_VAL, FIXTURES / layout.Y_VAL),
                     (layout.POLYGONS, FIXTURES / "course" / "larger_polygons.geojson"),
                     (layout.WEEK3_MODEL, FIXTURES / "course" / "week3_best_model.h5")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root / rel)
    return root


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full-e2e", action="store_true",
                     help="also autograde the wrong-answer submissions of every phase (make test-all)")


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``make test``'s scheduling (pytest-xdist, ``--dist loadfile``): one process runs all the tests of a module,
    which share its module fixtures (a course released, solved and graded), and one process runs all the modules of
    :data:`GRADED_CLASS_MODULES`, so that the session's ``graded_class`` is built once."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ModulesAndTheGradedClass(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = super()._split_scope(nodeid)
            return "graded_class" if module in GRADED_CLASS_MODULES else module

    return ModulesAndTheGradedClass(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuses a module that uses ``graded_class`` but is not in :data:`GRADED_CLASS_MODULES` (``make test`` would
    build the class again in another process)."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if "graded_class" in item.fixturenames and module not in GRADED_CLASS_MODULES:
            raise pytest.UsageError(f"{module} uses the graded_class fixture: add it to GRADED_CLASS_MODULES in "
                                    "tests/conftest.py")


@pytest.fixture(scope="session")
def fixtures_root() -> Path:
    """The committed fixtures, with the Sentinel-2 composite generated on first use (checked against the manifest)."""
    from geoai_ref.synth.course_build import ensure_rasters

    ensure_rasters(FIXTURES)
    return FIXTURES


@pytest.fixture(scope="session")
def tiny_root() -> Path:
    return TINY


def assert_plain_json(value: object, allow_none: bool = False) -> None:
    """Fail on any numpy scalar / array hiding in a to_dict() result (and on None unless allowed)."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert type(k) is str
            assert_plain_json(v, allow_none)
    elif isinstance(value, list):
        for v in value:
            assert_plain_json(v, allow_none)
    elif not (allow_none and value is None):
        assert type(value) in (int, float, str, bool), f"{value!r} is {type(value)}"


@pytest.fixture(scope="session")
def jail() -> None:
    """Skips a test where this machine cannot run the jail, or fails it under GEOAI_REQUIRE_JAIL=1 (CI)."""
    reason = jail_available()
    if reason is not None:
        if os.environ.get("GEOAI_REQUIRE_JAIL") == "1":
            pytest.fail(f"GEOAI_REQUIRE_JAIL=1 but the jail cannot run here: {reason}")
        pytest.skip(reason)


def probed(tmp_path: Path, calls: list[tuple], **functions) -> list:
    """The stand-ins a probe hands its judge for these trusted ``functions`` (by the notebook's names, in that
    order), the functions called in this process on ``calls``: what a hidden check judges."""
    import tempfile

    from autograder.probes.run import local_stand_ins

    found = local_stand_ins(functions, calls, Path(tempfile.mkdtemp(dir=tmp_path)))
    return [found[name] for name in functions]


def assert_every_automatic_point(rubric_json: Path, phases: Iterable[str]) -> dict:
    """A student's rubric (``rubric.json`` of the reports) with every phase graded, every automatic check at full
    points, every trusted check passed and no flag; the written answers wait for a TA. Returns the rubric."""
    import json

    rubric = json.loads(Path(rubric_json).read_text())
    assert {p: r["outcome"] for p, r in rubric["phases"].items()} == {str(p): "graded" for p in phases}
    auto = [c for crit in rubric["criteria"] for c in crit["checks"] if c["status"] == "auto"]
    assert auto and [c["id"] for c in auto if c["points"] < c["max"]] == [], \
        {c["id"]: c["message"] for c in auto if c["points"] < c["max"]}
    assert rubric["flags"] == [] and all(t["passed"] for t in rubric["trusted"]), \
        [(t["id"], t["message"]) for t in rubric["trusted"] if not t["passed"]]
    assert rubric["status"] == "manual-pending"
    return rubric


@contextlib.contextmanager
def removed_when_passed(request: pytest.FixtureRequest, folder: Path) -> Iterator[Path]:
    """For a module fixture's large folder (courses, models, snapshots): remove it at the fixture's teardown
    unless a test failed meanwhile (then it stays for debugging), so the suite's disk use does not add up."""
    failed = request.session.testsfailed
    yield folder
    if request.session.testsfailed == failed:
        shutil.rmtree(folder, ignore_errors=True)


def course_with_release(root: Path, phase: str, *students: str) -> tuple[Path, Path]:
    """(submissions, course root): a course at ``root/course`` with ``phase`` generated, and its untouched release
    with the phase's data submitted by each of ``students`` (``root/submissions/<student>/<phase>``)."""
    from autograder.authoring.course import make_course, stage_data

    course = make_course(root / "course")
    release = course.generate(phase)
    for student in students:
        folder = root / "submissions" / student / phase
        shutil.copytree(release, folder)
        stage_data(phase, folder)
    return root / "submissions", course.root


def cli(*args: object, timeout: float = 900) -> subprocess.CompletedProcess:
    """`geoai-grade ARGS` from the repository, output captured."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=timeout)


def copy_course(course: Path, dest: Path) -> Path:
    """A copy of a graded course folder (gradebook, rubric store, autograded notebooks) at ``dest``; the snapshots
    (models included: hundreds of MB) are linked, not copied, and must not be changed."""
    snapshots = Path("gradebook") / "snapshots"
    shutil.copytree(course, dest, symlinks=True,
                    ignore=lambda folder, names: ["snapshots"] if Path(folder) == course / "gradebook" else [])
    if (course / snapshots).exists():
        (dest / snapshots).symlink_to(course / snapshots, target_is_directory=True)
    return dest


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """Grade the class, kill the grader after the first result, resume.

    Returns (root, course, students, the results stored when the first run was killed, the second run). The
    processes the first run had started are listed in ``root / KILLED_RUN_PROCESSES`` (pid and start time).
    """
    from autograder.authoring.course import make_course
    from autograder.demo.sample_class import build_sample_class

    root = tmp_path_factory.mktemp("grading")
    students = build_sample_class(root / "submissions", phases=("phase4a",), epochs=BUILD_EPOCHS, students=STUDENTS)
    course = make_course(root / "course")
    store_path = course.root / "gradebook" / "rubric_store.sqlite"
    grade = [sys.executable, "-m", "autograder.cli", "grade", "--submissions", str(root / "submissions"),
             "--out", str(root / "reports"), "--course", str(course.root), "--phase", "4a", "--cell-timeout", "120",
             *UNJAILED_ARGS]

    first = subprocess.Popen([*grade, "--workers", "1"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    done: list[tuple] = []
    while time.monotonic() < deadline and first.poll() is None:
        if store_path.exists():
            with sqlite3.connect(store_path) as db:
                done = db.execute("SELECT student, phase, graded_at FROM results").fetchall()
            if done:
                break
        time.sleep(0.5)
    assert first.poll() is None, f"the first run ended before it could be killed:\n{first.communicate()[0]}"
    # what the first run started (Dask worker processes, nbgrader, its kernel): none may outlive the resume
    started = [p for p in psutil.Process(first.pid).children(recursive=True) if p.is_running()]
    (root / KILLED_RUN_PROCESSES).write_text("".join(f"{p.pid} {p.create_time()}\n" for p in started))
    first.send_signal(signal.SIGKILL)  # the harshest stop: no clean-up code runs
    first.wait()
    killed_with = list(done)

    second = cli(*grade[3:], "--workers", "2")
    return root, course, students, killed_with, second
