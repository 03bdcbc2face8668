"""Student feedback: nbgrader's feedback HTML without hidden-test source, plus the rubric feedback.

nbgrader's own feedback shows the autograded notebook, which holds the hidden tests (restored by
autograde) and the tracebacks of failed hidden checks, whose frames quote the checks' source. The
:class:`HideHiddenTests` preprocessor (registered in ``nbgrader_config.py`` for ``generate_feedback``)
removes both: hidden-test regions leave the cell sources, and an error keeps only its name and message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from autograder.authoring.course import Course, NbgraderError
from autograder.authoring.notebooks import PHASES


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test regions and reduce every error output to ``Name: message``."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        nb, resources = ClearHiddenTests(enforce_metadata=False).preprocess(nb, resources)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return nb, resources


def nbgrader_feedback(course: Course, phases: list[str],
                      progress: Callable[[str], None] = lambda m: None) -> dict[str, dict[str, Path]]:
    """Run ``nbgrader generate_feedback`` once per phase for every autograded student;
    returns student -> phase -> feedback HTML.

    A failure is reported through ``progress``; the pages nbgrader did write are kept. Students whose phase
    was never autograded (an invalid notebook, say) simply have no page for it.
    """
    pages: dict[str, dict[str, Path]] = {}
    for phase in phases:
        if not any((course.root / "gradebook" / "autograded").glob(f"*/{phase}")):
            continue
        try:
            course.nbgrader("generate_feedback", phase, "--force")
        except NbgraderError as exc:  # nbgrader goes on past a broken notebook: keep the pages it wrote
            progress(f"{phase}: nbgrader feedback failed for some students ({str(exc).splitlines()[0]})")
        for page in sorted((course.root / "gradebook" / "feedback").glob(f"*/{phase}/{PHASES[phase].notebook}.html")):
            pages.setdefault(page.parent.parent.name, {})[phase] = page
    return pages
