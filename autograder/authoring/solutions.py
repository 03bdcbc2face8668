"""Worked solutions: the instructor notebooks, executed in a staged folder.

``geoai-grade solutions`` writes ``solutions/<phase>/<notebook>.ipynb`` (executed, with outputs)
plus the deliverables the run produced (git-ignored). :func:`solution_namespace` gives tests
the solution functions without running the training cells.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from autograder.authoring.course import stage_data
from autograder.authoring.notebook_pool import NotebookPool
from autograder.authoring.notebooks import PHASES, SETUP_GRADE_ID, build_notebook
from autograder.authoring.release_data import KIT_DATA, ReleaseData
from autograder.ipc_kernel import IpcKernelManager
from autograder.paths import SOLUTIONS
from geoai_ref.errors import ProblemsFound
from geoai_ref.phase import Phase

#: The order the solutions start in when several run at once: the longest first (4B's ablation trains four models;
#: at 5 epochs about 90 s, 4A 35 s and 4C 10 s, measured 2026-12-01).
LONGEST_FIRST = (Phase.B, Phase.A, Phase.C)
#: Solutions executed at once, each in a kernel of its own: one at a time left a third of 2 cores idle (busy 63 %;
#: two at once 89 %, building the sample class, measured 2026-12-01).
AT_ONCE = 2


class SolutionRunError(ProblemsFound):
    """A solution notebook failed or wrote to stderr; the message names the cell."""


def solution_notebook(phase: Phase) -> nbformat.NotebookNode:
    """The worked solution of ``phase``, unexecuted (the instructor notebook: solutions in)."""
    return build_notebook(PHASES[phase].source)


def problems_in_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Cells of an executed notebook that raised or wrote to stderr (nbgrader would score them 0)."""
    found = []
    for i, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {i + 1}")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"{grade_id}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                found.append(f"{grade_id}: wrote to stderr: {out.text.strip()[:300]}")
    return found


@dataclass
class ExecutedNotebook:
    notebook: nbformat.NotebookNode
    folder: Path
    seconds: float


def execute(nb: nbformat.NotebookNode, folder: Path, epochs: int | None = None, timeout: int = 1800,
            grading: bool = False) -> ExecutedNotebook:
    """Execute ``nb`` with ``folder`` as working directory; writes it there as well.

    ``epochs`` sets the notebook's epoch budget (GEOAI_EPOCHS); None keeps its default (50).

    Raises:
        SolutionRunError: if a cell raises, times out, or writes to stderr.
    """
    env = {**os.environ, "GEOAI_GRADING": "1" if grading else "0"}
    if epochs is not None:
        env["GEOAI_EPOCHS"] = str(epochs)
    start = time.perf_counter()
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", kernel_manager_class=IpcKernelManager,
                                resources={"metadata": {"path": str(folder)}})
        client.execute(env=env)  # passed on to the kernel's start: this process's environment is left alone
    except CellExecutionError as exc:
        raise SolutionRunError(f"a cell failed in {folder}: {str(exc)[:2000]}") from None
    except CellTimeoutError:
        raise SolutionRunError(f"a cell of {folder.name} ran past {timeout} s (the full-budget 4B ablation takes "
                               "about 10 minutes on 2 idle cores): run it on a quiet machine") from None
    seconds = time.perf_counter() - start
    problems = problems_in_outputs(nb)
    if problems:
        raise SolutionRunError("; ".join(problems))
    return ExecutedNotebook(nb, folder, seconds)


def run_solution(phase: Phase, folder: Path, epochs: int | None = None,
                 data: ReleaseData = KIT_DATA) -> ExecutedNotebook:
    """Stage ``phase``'s data (from ``data``) in ``folder``, execute its worked solution there and save the
    notebook.

    Raises:
        SolutionRunError: if the solution fails or writes to stderr.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stage_data(phase, folder, data)
    result = execute(solution_notebook(phase), folder, epochs=epochs)
    nbformat.write(result.notebook, folder / f"{PHASES[phase].notebook}.ipynb")
    return result


def build_solutions(out: Path = SOLUTIONS, epochs: int | None = None, phases: list[Phase] | None = None,
                    data: ReleaseData = KIT_DATA, progress: Callable[[str], None] | None = None,
                    at_once: int = AT_ONCE) -> dict[Phase, float]:
    """Execute every phase's worked solution on ``data`` under ``out/<phase>``, ``at_once`` at a time (the
    longest first); returns seconds per phase, in ``phases`` order.

    Raises:
        SolutionRunError: if a solution fails or writes to stderr (the others running are stopped, the rest never
            start).
    """
    phases = list(phases or PHASES)

    def run(phase: Phase) -> float:
        if progress:
            progress(f"executing the {phase} solution ...")
        seconds = run_solution(phase, out / phase, epochs=epochs, data=data).seconds
        if progress:
            progress(f"{phase}: {seconds:.0f} s")
        return seconds

    with NotebookPool(at_once) as pool:
        running = {phase: pool.submit(run, phase) for phase in sorted(phases, key=LONGEST_FIRST.index)}
    return {phase: running[phase].result() for phase in phases}


def solution_namespace(phase: Phase) -> dict:
    """The setup cell and every ``*_code`` solution cell of ``phase`` executed in one namespace.

    Those cells only define functions, so this is quick; tests call the solution functions from it. The setup cell
    wraps ``keras.Model``'s fit, evaluate and predict for the notebook's kernel; here Keras's own are put back after
    it, so that the other models of this process are left alone.
    """
    import keras  # here: importing TensorFlow takes seconds

    namespace: dict = {"__name__": f"solution_{phase}"}
    kept = {name: getattr(keras.Model, name) for name in ("fit", "evaluate", "predict")}
    try:
        for cell in build_notebook(PHASES[phase].source).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and (meta.get("grade_id") == SETUP_GRADE_ID or
                                             (meta.get("solution") and meta.get("grade_id", "").endswith("_code"))):
                exec(compile(cell.source, f"<{phase}:{meta['grade_id']}>", "exec"), namespace)  # noqa: S102
    finally:
        for name, method in kept.items():
            setattr(keras.Model, name, method)
    return namespace
