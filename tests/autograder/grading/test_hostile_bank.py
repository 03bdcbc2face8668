"""The hostile bank: submissions written to cheat, to break the grader or to escape it, graded in ONE batch in the jail.

Each submission has a named expected outcome; none earns a point (or passes a check) its honest counterpart does
not; the batch finishes; and no canary file is ever created outside a submission, whoever tries to write it: the
notebook's kernel, a probe process or the model sandbox. Phase 4C carries most attacks (its notebook runs in
seconds); the issue's forgery (a wrong collapse detector, and the same detector with code that replaces the
grader's check) is graded on copies of the graded class's correct 4A submission and must score exactly as the
honest wrong one. File attacks (pickled ``.npy`` payloads, Lambda layers, forged metrics) are judged without the
kernel and are in tests/autograder/trusted/.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import HIDDEN, REPO, UNJAILED_ARGS, cli, course_with_release, removed_when_passed

from autograder.authoring.notebooks import PHASES
from autograder.authoring.solutions import solution_notebook
from geoai_ref.phase import Phase

CANARY = "geoai_canary_escaped.txt"


@dataclass(frozen=True)
class Hostile:
    """A submission of the bank: what it attempts and the outcome (and flags) it must get."""

    student: str
    phase: str
    attack: str
    outcome: str
    flags: tuple[str, ...] = ()


BANK = (
    Hostile("honest_4c", "phase4c", "nothing: the honest counterpart of the 4C attacks", "graded"),
    Hostile("snooper", "phase4c", "lists and reads the grader's files and the hidden labels, imports the grader and "
            "the reference, patches the hidden check, writes canaries outside its folder, opens the network, "
            "swallows every exception (set_custom_exc), disables numpy's asserts, returns always-equal objects, "
            "branches on the grading mode, follows symbolic links out of its folder, deletes one grade cell and "
            "edits another", "graded", ("integrity",)),
    Hostile("exits", "phase4c", "os._exit(0) in a task cell", "kernel-died"),
    Hostile("loops", "phase4c", "an endless loop in a task cell", "graded", ("cell-timeout",)),
    Hostile("hogs_memory", "phase4c", "allocates memory without end", "memory"),
    Hostile("forks", "phase4c", "a fork bomb", "memory"),
    Hostile("broken_json", "phase4c", "a notebook that is not valid JSON", "invalid-notebook"),
    Hostile("wrong_collapse", "phase4a", "a collapse detector that passes the visible test but is wrong", "graded"),
    Hostile("wrong_collapse_patched", "phase4a", "the same detector, plus code replacing the grader's collapse "
            "check and swallowing every exception", "graded", ("integrity",)),
)


def _targets(root: Path) -> list[str]:
    """Where the attacks try to leave a canary: the batch's folder, the repository, the grader's temp folder."""
    return [str(root / CANARY), str(REPO / CANARY), f"/tmp/{CANARY}", f"../{CANARY}", f"../../{CANARY}"]


def _snoop(root: Path) -> str:
    labels = str(next(HIDDEN.rglob("y_*.npy")))
    return f'''

# --- hostile: look around, escape, patch, swallow -------------------------------------------------------------
import os as _os, pathlib as _pathlib, socket as _socket
_report = {{}}
for _target in {_targets(root)!r}:
    try:
        _pathlib.Path(_target).write_text("escaped")
        _report[_target] = "written"
    except Exception as _error:
        _report[_target] = type(_error).__name__
_report["listing"] = sorted(str(p) for p in _pathlib.Path("/").glob("*/*/autograder"))
_report["hidden labels"] = _os.path.exists({labels!r})
_report["symlinked labels"] = _os.path.exists("leaked_labels.npy")
for _module in ("autograder.checks.phase4c", "geoai_ref"):
    try:
        _imported = __import__(_module, fromlist=["_"])
        _imported.check_subsets = lambda *args, **kwargs: None
        _report[_module] = "imported"
    except ImportError:
        _report[_module] = "ImportError"
try:
    _socket.create_connection(("1.1.1.1", 53), timeout=2)
    _report["network"] = "open"
except OSError as _error:
    _report["network"] = type(_error).__name__
if _os.environ.get("GEOAI_GRADING") == "1":
    _report["grading mode"] = "seen"


class _Anything:
    def __eq__(self, other):
        return True


np.testing.assert_allclose = lambda *args, **kwargs: None
if "get_ipython" in globals():
    get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)
print("HOSTILE REPORT", json.dumps(_report, sort_keys=True))
'''


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _write(nb: nbformat.NotebookNode, folder: Path, phase: str) -> None:
    nbformat.write(nb, folder / PHASES[Phase.parse(phase)].ipynb.name)


def _build_4c(root: Path, submissions: Path) -> None:
    folder = {h.student: submissions / h.student / "phase4c" for h in BANK if h.phase == "phase4c"}
    _write(solution_notebook(Phase.C), folder["honest_4c"], "phase4c")

    nb = solution_notebook(Phase.C)
    _cell(nb, "4c_subsets_code").source += _snoop(root)
    nb.cells.remove(_cell(nb, "4c_figures"))
    _cell(nb, "4c_report").source = "pass"
    _write(nb, folder["snooper"], "phase4c")
    (folder["snooper"] / "leaked_labels.npy").symlink_to(next(HIDDEN.rglob("y_*.npy")))
    (folder["snooper"] / "leaked_repository").symlink_to(REPO, target_is_directory=True)

    for student, prefix in (("exits", "import os\nos._exit(0)\n"),
                            ("hogs_memory", "_hog = []\nwhile True:\n    _hog.append(np.ones(2**27))\n"),
                            ("forks", "import os, time\nwhile True:\n    if os.fork() == 0:\n"
                                      "        time.sleep(60)\n        os._exit(0)\n")):
        nb = solution_notebook(Phase.C)
        _cell(nb, "4c_train_run").source = prefix + _cell(nb, "4c_train_run").source
        _write(nb, folder[student], "phase4c")

    nb = solution_notebook(Phase.C)
    _cell(nb, "4c_compare_run").source = "while True:\n    pass\n" + _cell(nb, "4c_compare_run").source
    _write(nb, folder["loops"], "phase4c")
    (folder["broken_json"] / PHASES[Phase.C].ipynb.name).write_text('{"cells": [{"cell_type": "code", "sou')


WRONG_DETECTOR = '''def detect_collapse(y_pred, threshold=0.9):
    """Collapsed only when a single class is predicted: passes the visible test, not the hidden check."""
    counts = np.bincount(np.asarray(y_pred, dtype=int), minlength=NUM_CLASSES)
    majority = int(np.argmax(counts))
    return {"collapsed": int((counts > 0).sum()) == 1, "majority_class": majority,
            "majority_share": float(counts[majority] / counts.sum()),
            "predicted_classes": [int(c) for c in np.flatnonzero(counts)]}
'''
PATCH = '''

try:  # the issue's forgery: replace the grader's check, swallow every error
    import autograder.checks.phase4a as _hidden
    _hidden.check_collapse = lambda detect_collapse: None
except ImportError:
    pass
if "get_ipython" in globals():
    get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)
'''


def _build_4a(correct: Path, submissions: Path) -> None:
    for student, extra in (("wrong_collapse", ""), ("wrong_collapse_patched", PATCH)):
        folder = submissions / student / "phase4a"
        shutil.copytree(correct, folder)
        path = folder / PHASES[Phase.A].ipynb.name
        nb = nbformat.read(path, as_version=4)
        _cell(nb, "4a_collapse_code").source = WRONG_DETECTOR + extra
        nbformat.write(nb, path)


@pytest.fixture(scope="module")
def bank(request, jail, graded_class, tmp_path_factory):
    """The bank graded in one batch: (root, {student: rubric.json}, the grading command's result)."""
    with removed_when_passed(request, tmp_path_factory.mktemp("hostile")) as root:
        yield _grade_bank(root, graded_class)


def _grade_bank(root: Path, graded_class: tuple) -> tuple[Path, dict, object]:
    students_4c = [h.student for h in BANK if h.phase == "phase4c"]
    submissions, course = course_with_release(root, "phase4c", *students_4c)
    _build_4c(root, submissions)
    class_root = graded_class[0]
    _build_4a(class_root / "submissions" / "ada_correct" / "phase4a", submissions)
    run = cli("grade", "--submissions", submissions, "--course", course, "--out", root / "reports",
              "--phase", "4a,4c", "--workers", "2", "--cell-timeout", "90", "--timeout", "600", "--memory-mb", "3072",
              *UNJAILED_ARGS, timeout=2400)
    reports = {h.student: json.loads((root / "reports" / h.student / "rubric.json").read_text()) for h in BANK
               if (root / "reports" / h.student / "rubric.json").exists()}
    return root, reports, run


def _phase(report: dict, phase: str) -> dict:
    return report["phases"][phase]


def _checks(report: dict, phase: str) -> dict[str, dict]:
    prefix = Phase.parse(phase).label.lower()
    return {c["id"]: c for crit in report["criteria"] for c in crit["checks"] if c["id"].startswith(prefix)}


@pytest.mark.slow
def test_the_batch_finishes_with_every_named_outcome(bank):
    root, reports, run = bank
    # exit 1: some phases could not be graded (the kernel died, memory, an invalid notebook), all recorded
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert set(reports) == {h.student for h in BANK}
    for hostile in BANK:
        phase = _phase(reports[hostile.student], hostile.phase)
        assert phase["outcome"] == hostile.outcome, (hostile.student, phase["outcome"], phase.get("message"))
        flags = {f["id"] for f in reports[hostile.student]["flags"]}
        assert set(hostile.flags) <= flags, (hostile.student, flags)
    assert any("4c_compare_run" in f["message"] for f in reports["loops"]["flags"] if f["id"] == "cell-timeout")
    died = reports["exits"]
    assert "4c_train_run" in _phase(died, "phase4c")["message"]
    assert _checks(died, "phase4c")["4c_subsets"]["passed"], "the cells before the kernel died keep their results"


@pytest.mark.slow
def test_no_canary_exists_outside_a_submission(bank):
    root, _, _ = bank
    for target in _targets(root)[:3]:
        assert not Path(target).exists(), f"an attack escaped the jail: {target}"
    found = [p for p in root.rglob(CANARY) if "submissions" not in p.relative_to(root).parts[:1]]
    assert not found, found


@pytest.mark.slow
def test_the_snooper_found_nothing_and_earned_nothing_the_honest_submission_did_not(bank):
    root, reports, _ = bank
    autograded = root / "course" / "gradebook" / "autograded" / "snooper" / "phase4c" / PHASES[Phase.C].ipynb.name
    text = "".join(o.get("text", "") for c in nbformat.read(autograded, as_version=4).cells
                   for o in c.get("outputs", []))
    report = json.loads(text.split("HOSTILE REPORT ", 1)[1].splitlines()[0])
    assert report["autograder.checks.phase4c"] == "ImportError" and report["geoai_ref"] == "ImportError"
    assert report["hidden labels"] is False and report["symlinked labels"] is False and report["listing"] == []
    assert report["network"] != "open"
    honest, snooper = _checks(reports["honest_4c"], "phase4c"), _checks(reports["snooper"], "phase4c")
    for check_id, check in snooper.items():
        assert check["passed"] == honest[check_id]["passed"], (check_id, check, honest[check_id])
    integrity = next(f for f in reports["snooper"]["flags"] if f["id"] == "integrity")
    assert "4c_subsets_code" in integrity["message"]


@pytest.mark.slow
def test_the_patched_forgery_scores_exactly_as_the_honest_wrong_answer(bank, graded_class):
    root, reports, _ = bank
    correct = json.loads((graded_class[0] / "reports" / "ada_correct" / "rubric.json").read_text())
    wrong, patched, right = (_checks(r, "phase4a") for r in (reports["wrong_collapse"],
                                                               reports["wrong_collapse_patched"], correct))
    assert {k: c["points"] for k, c in patched.items()} == {k: c["points"] for k, c in wrong.items()}
    assert wrong["4a_collapse"]["points"] == 0 and right["4a_collapse"]["points"] == 4
    assert {k: c["points"] for k, c in wrong.items() if k != "4a_collapse"} == \
        {k: c["points"] for k, c in right.items() if k != "4a_collapse"}
    assert "integrity" not in {f["id"] for f in reports["wrong_collapse"]["flags"]}
