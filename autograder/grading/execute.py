"""nbgrader's ``Execute`` step, made to survive a kernel that dies (``os._exit``, a crash, a kill).

nbgrader stops the whole ``autograde`` when the kernel dies and writes no autograded notebook, so a
student's ``os._exit(0)`` looked like a fault of the grader and every earlier cell lost its result.
:class:`ExecuteUntilKernelDies` keeps the cells that ran, gives the cell the kernel died in an error
output that says so, and marks every later code cell as not run (an error output too, so that nbgrader
scores their grade cells 0, never full marks for a cell that never ran). The notebook's metadata then
names the cell (:func:`kernel_death`), which grading turns into the ``kernel-died`` outcome.

Configured in ``nbgrader_config.py`` (``Autograde.autograde_preprocessors``); it runs in nbgrader's
process, never in the student's kernel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

#: Key of the notebook metadata that records where the kernel died.
METADATA_KEY = "geoai_kernel_died"
KERNEL_DIED = "KernelDied"
NOT_RUN = "NotRun"


@dataclass(frozen=True)
class KernelDeath:
    """Where the kernel died: the cell's index among all cells and its nbgrader grade_id, if any."""

    index: int
    grade_id: str | None

    @property
    def cell(self) -> str:
        """The cell as a person finds it: its grade_id, or its position."""
        return self.grade_id or f"cell {self.index + 1}"


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ExecuteUntilKernelDies(Execute):
    """nbgrader's ``Execute``; a dead kernel ends execution with the notebook kept (see the module docs)."""

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> tuple[NotebookNode, Any]:
        self._death: KernelDeath | None = None
        nb.metadata.pop(METADATA_KEY, None)
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> tuple[NotebookNode, Any]:
        if self._death is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error(NOT_RUN, f"not run: the kernel died in {self._death.cell} before this cell")]
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            self._death = KernelDeath(index, grade_id)
            cell.outputs.append(_error(KERNEL_DIED, "the kernel died while running this cell (os._exit, a crash, or "
                                                    "killed from outside); the cells after it did not run"))
            self.nb.metadata[METADATA_KEY] = {"index": index, "grade_id": grade_id}
            self.log.warning("the kernel died in %s; the later cells are marked as not run", self._death.cell)
            return cell, self.resources


def kernel_death(nb: NotebookNode) -> KernelDeath | None:
    """Where the kernel died while an autograded notebook ran, or None if it never died."""
    found = nb.metadata.get(METADATA_KEY)
    if not isinstance(found, dict) or not isinstance(found.get("index"), int):
        return None
    grade_id = found.get("grade_id")
    return KernelDeath(found["index"], grade_id if isinstance(grade_id, str) else None)
