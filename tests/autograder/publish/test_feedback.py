"""nbgrader's feedback pages without hidden-test source: the preprocessor nbgrader_config.py registers."""

import runpy

import nbformat
from traitlets.utils.importstring import import_item

from autograder.authoring.notebooks import HIDDEN_BEGIN, HIDDEN_END
from autograder.paths import REPO
from autograder.publish.feedback import HideHiddenTests, student_message


def _notebook() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(f"assert f(2) == 4\n{HIDDEN_BEGIN}\nfrom autograder.checks import phase4a\n"
                                     f"phase4a.check_metrics(f)\n{HIDDEN_END}\n")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "4a_metrics", "points": 2, "solution": False,
                                 "locked": True, "schema_version": 3}
    cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed", evalue="macro_f1 is 0.2000",
                                           traceback=["Traceback (most recent call last)",
                                                      "File autograder/checks/phase4a.py:250 in check_metrics",
                                                      "CheckFailed: macro_f1 is 0.2000"])]
    return nbformat.v4.new_notebook(cells=[cell])


def test_hidden_regions_and_tracebacks_leave_the_feedback_notebook():
    nb, _ = HideHiddenTests().preprocess(_notebook(), {})
    cell = nb.cells[0]
    assert "assert f(2) == 4" in cell.source
    assert "check_metrics" not in cell.source and HIDDEN_BEGIN not in cell.source
    assert cell.outputs[0]["traceback"] == ["CheckFailed: macro_f1 is 0.2000"]


def test_nbgrader_config_registers_the_preprocessor_by_an_importable_name():
    class Config(dict):
        def __getattr__(self, name):
            return self.setdefault(name, Config())

        def __setattr__(self, name, value):
            self[name] = value

    config = Config()
    runpy.run_path(str(REPO / "nbgrader_config.py"), init_globals={"get_config": lambda: config})
    names = config["GenerateFeedback"]["preprocessors"]
    assert any(import_item(name) is HideHiddenTests for name in names), names


def test_student_messages_lose_hidden_source_and_frames():
    message = (f"CheckFailed: wrong\n{HIDDEN_BEGIN}\nsecret()\n{HIDDEN_END}\nTraceback (most recent call last)\n"
               "  File \"autograder/checks/phase4a.py\", line 3\nCheckFailed: the split leaks polygons")
    text = student_message(message)
    assert "secret" not in text and "autograder/checks" not in text and "leaks polygons" in text
