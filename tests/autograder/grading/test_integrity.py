"""The integrity scan: tampering in a student's own lines is evidence (flag ``integrity``); honest code never is."""

from __future__ import annotations

import nbformat
import pytest

from autograder.authoring.notebooks import PHASES, build_notebook
from autograder.authoring.solutions import solution_notebook
from autograder.grading import integrity
from autograder.grading.intake import check_phase, snapshot
from autograder.grading.integrity import Finding, integrity_message, scan
from geoai_ref.phase import Phase

#: The given cells whose lines may legitimately do what the rules look for (the setup cell reads GEOAI_GRADING).
GIVEN_INCLUDES = ("setup_cell", "evaluation_cell")


@pytest.mark.parametrize("phase", list(Phase))
def test_every_line_of_the_worked_solutions_is_clean_even_as_the_students_own(phase, monkeypatch):
    # every line counts as the student's, except the included given cells: no rule may fire on honest code
    given = {gid: lines for gid, lines in integrity._given_lines(phase).items() if gid in GIVEN_INCLUDES}
    monkeypatch.setattr(integrity, "_given_lines", lambda _phase: given)
    assert scan(solution_notebook(phase), phase) == []


def _with(phase: Phase, grade_id: str, code: str) -> nbformat.NotebookNode:
    nb = build_notebook(PHASES[phase].source)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    cell.source += "\n" + code
    return nb


HOSTILE = {
    "from autograder.checks import phase4a as hidden\nhidden.check_normalise = lambda *a: None":
        "imports from the grader's module autograder.checks",
    "import geoai_ref.normalise": "imports the grader's module geoai_ref.normalise",
    "ref = __import__('geoai_ref')": "names the grader's module 'geoai_ref'",
    "import importlib\nchecks = importlib.import_module('autograder.checks.phase4a')":
        "names the grader's module 'autograder.checks.phase4a'",
    "y = np.load('../../../autograder/hidden_data/data/processed/y_hidden.npy')": "names the grader's files",
    "secret = os.listdir('/course/gradebook')": "names the grader's files",
    "if os.environ.get('NBGRADER_EXECUTION'):\n    pass": "reads the grading mode (NBGRADER_EXECUTION)",
    "FAST = os.getenv('GEOAI_EPOCHS') == '1'": "reads the grading mode (GEOAI_EPOCHS)",
    "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)": "installs a custom exception handler",
    "import sys\nsys.modules['autograder.checks.phase4a'] = object()": "replaces modules (sys.modules)",
    "import sys\nsys.modules.update({'autograder': None})": "replaces modules (sys.modules.update)",
    "np.testing.assert_allclose = lambda *a, **k: None": "replaces np.testing.assert_allclose",
    "def _quiet(*a, **k):\n    return None\nnp.allclose = _quiet": "replaces np.allclose",
    "class Anything:\n    def __eq__(self, other):\n        return True": "defines an __eq__ that returns True",
    "os._exit(0)": "ends the kernel's process (os._exit)",
}


@pytest.mark.parametrize("code", list(HOSTILE))
def test_each_attempt_is_found_in_the_cell_and_line_it_is_in(code):
    findings = scan(_with(Phase.A, "4a_normalise_code", code), Phase.A)
    assert findings, f"nothing found in {code!r}"
    assert all(f.cell == "4a_normalise_code" for f in findings)
    assert any(HOSTILE[code] in f.what for f in findings), findings


@pytest.mark.parametrize("code", ["x = " + "-" * 100_000 + "1", "x = '\x00'\x00", "def f(:\n    pass"])
def test_code_that_cannot_be_parsed_is_no_finding_and_no_grader_error(code):
    # nested too deep for the parser (MemoryError), a NUL byte (ValueError), a syntax error: the kernel reports them
    assert scan(_with(Phase.A, "4a_normalise_code", code), Phase.A) == []


def test_honest_look_alikes_are_not_findings():
    honest = "\n".join([
        "pd_like = {'display': 1}",
        "np.set_printoptions(precision=3)",  # a call, not a replacement
        "plt.rcParams['figure.dpi'] = 100",  # a setting, not a function
        "np.random.default_rng(0)",
        "print('graded files are under models/ and reports/')",
        "class Point:\n    def __eq__(self, other):\n        return isinstance(other, Point) and self.x == other.x",
        "if GRADING:\n    print('autograding')",  # the notebook's own variable, set by the given setup cell
    ])
    assert scan(_with(Phase.A, "4a_normalise_code", honest), Phase.A) == []


def test_only_added_lines_of_a_given_cell_count():
    # a student who adds a print to the locked setup cell does not inherit its GEOAI_GRADING read
    nb = _with(Phase.A, "setup_cell", "print('hello')")
    assert scan(nb, Phase.A) == []
    nb = _with(Phase.A, "setup_cell", "os.environ['GEOAI_GRADING'] = '0'")
    assert [f.what for f in scan(nb, Phase.A)] == ["reads the grading mode (GEOAI_GRADING)"]


def test_a_cell_the_student_added_counts_whole_and_magics_do_not_hide_it():
    nb = build_notebook(PHASES[Phase.A].source)
    nb.cells.insert(3, nbformat.v4.new_code_cell("%matplotlib inline\n!ls\nimport autograder"))
    (finding,) = scan(nb, Phase.A)
    assert finding == Finding("cell 4", 3, "imports the grader's module autograder")


def test_intake_raises_the_integrity_flag_with_the_evidence(tmp_path):
    folder = tmp_path / "submitted"
    folder.mkdir()
    nb = _with(Phase.A, "4a_collapse_code", "import autograder.checks.phase4a as hidden")
    nbformat.write(nb, folder / PHASES[Phase.A].ipynb.name)
    snap = tmp_path / "snapshot"
    snapshot(folder, snap)
    check = check_phase(snap, Phase.A)
    assert check.outcome is None
    (flag,) = [f for f in check.flags if f.id == "integrity"]
    assert "4a_collapse_code line" in flag.message and "points are not changed" in flag.message


def test_the_message_lists_at_most_six_findings():
    findings = [Finding("c", i, "x") for i in range(1, 9)]
    message = integrity_message(findings)
    assert "c line 6: x" in message and "c line 7" not in message and "and 2 more" in message
