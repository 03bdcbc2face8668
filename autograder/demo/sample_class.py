"""The sample class: one correct submission and one submission per typical fault, built from the solutions.

``build_sample_class(out)`` executes the worked solutions once (small epoch budget, cached under
``runs/sample_class_cache``), then derives each faulty student by editing a solution cell the way a
student would and, where the fault changes the files a notebook writes, re-running the notebook (or
the part of it that writes those files); two notebooks run at once. The result is an nbgrader ``submitted/`` tree:
``OUT/<student>/<phase>/``. :data:`STUDENTS` says what each student did wrong and where the grade must
show it; the tests assert exactly that.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
from nbclient import NotebookClient

from autograder.authoring.notebook_pool import NotebookPool
from autograder.authoring.notebooks import PHASES, serialise
from autograder.authoring.solutions import AT_ONCE, LONGEST_FIRST, run_solution, solution_notebook
from autograder.demo.defaults import SAMPLE_EPOCHS
from autograder.grading.results import Outcome
from autograder.ipc_kernel import IpcKernelManager
from autograder.paths import SAMPLE_CLASS_CACHE
from geoai_ref.phase import Phase


@dataclass(frozen=True)
class SampleStudent:
    """A sample student: the fault, the phase it is in, and what the grade must show."""

    id: str
    fault: str
    phase: Phase | None  # None: the correct submission
    lost_checks: tuple[str, ...]  # rubric checks that must score 0
    flags: tuple[str, ...]  # flag ids that must be raised
    outcome: Outcome = Outcome.GRADED  # the outcome of the faulty phase


STUDENTS: tuple[SampleStudent, ...] = (
    SampleStudent("ada_correct", "none: the worked solution", None, (), ()),
    SampleStudent("ben_collapsed", "trained with the exercise's recipe (ImageNet preprocess_input, inside the saved "
                  "model; 150 layers frozen, BatchNorm training): the model collapses", Phase.A, ("4a_stability",),
                  ("collapse",)),
    SampleStudent("cai_unstratified", "a Keras-style split (the last 20 % of the samples): validation holds one "
                  "class", Phase.B, ("4b_split",), ("unstratified-split",)),
    SampleStudent("dan_nearest", "MODIS and SRTM resampled with nearest neighbour", Phase.B,
                  ("4b_align", "4b_fused_arrays"), ("misaligned", "nearest-resampling")),
    SampleStudent("eve_band_order", "B4 (red) and B8 (near infrared) stacked in each other's place (and the "
                  "notebook's consistency assert deleted)", Phase.B,
                  ("4b_stack", "4b_fused_arrays"), ("band-order",)),
    SampleStudent("fay_missing_figure", "the confusion-matrix figure was not submitted", Phase.A,
                  ("4a_artifacts",), ("missing-deliverable",)),
    SampleStudent("gus_inflated_metrics", "phase4a_metrics.json edited to claim 99 % accuracy", Phase.A,
                  ("4a_artifacts",), ("metrics-mismatch",)),
    SampleStudent("hal_endless_loop", "a cell that never finishes (the Week 3 baseline cell)", Phase.A,
                  ("4a_week3_baseline",), ("cell-timeout",)),
    SampleStudent("ivy_invalid_json", "the notebook file is truncated (invalid JSON)", Phase.A,
                  ("4a_normalise", "4a_build_model", "4a_freeze", "4a_collapse"), ("invalid-notebook",),
                  outcome=Outcome.INVALID_NOTEBOOK),
)


class SampleClassError(RuntimeError):
    """An edit no longer matches the solution notebook (the notebook changed); the message says which."""


def edit_cell(nb: nbformat.NotebookNode, grade_id: str, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` exactly once in the cell ``grade_id``.

    Raises:
        SampleClassError: if the cell is missing or ``old`` does not occur exactly once.
    """
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    if len(cells) != 1 or cells[0].source.count(old) != 1:
        raise SampleClassError(f"cannot edit {grade_id}: {old[:60]!r} is not in it exactly once; update "
                               "autograder/demo/sample_class.py to the current notebook")
    cells[0].source = cells[0].source.replace(old, new)


def _notebook(folder: Path, phase: Phase) -> Path:
    return folder / PHASES[phase].ipynb.name


def solution_stamp(phase: Phase) -> str:
    """A digest of ``phase``'s worked solution: what a cached run of it was made from."""
    return hashlib.sha256(serialise(solution_notebook(phase)).encode()).hexdigest()[:16]


def correct_submission(phase: Phase, epochs: int, progress: Callable[[str], None]) -> Path:
    """The executed worked solution of ``phase`` with its deliverables (cached per epoch budget, and run again
    when the solution changed since; a process that needs it while another makes it waits for that one)."""
    folder = SAMPLE_CLASS_CACHE / f"epochs{epochs}" / phase
    done = folder / ".complete"
    stamp = solution_stamp(phase)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{phase}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists() or done.read_text().strip() != stamp:
            if folder.exists():
                shutil.rmtree(folder)
            progress(f"executing the {phase} solution ({epochs} epochs) for the sample class ...")
            run_solution(phase, folder, epochs=epochs)
            done.write_text(f"{stamp}\n")
    return folder


def _copy(src: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".complete", "_autograder_outputs",
                                                             ".ipynb_checkpoints", "*.weights.h5"))
    return dest


def _rerun(folder: Path, phase: Phase, epochs: int, until: str | None = None) -> None:
    """Execute the edited notebook in ``folder`` (up to and including cell ``until``) so its files follow.

    Errors are allowed: a faulty student's visible tests fail, and the student submits anyway.
    """
    path = _notebook(folder, phase)
    nb = nbformat.read(path, as_version=4)
    if until is not None:
        ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
        nb.cells = nb.cells[: ids.index(until) + 1]
    env = {**os.environ, "GEOAI_GRADING": "0", "GEOAI_EPOCHS": str(epochs)}
    client = NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                            kernel_manager_class=IpcKernelManager, resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)
    if until is None:
        nbformat.write(nb, path)


# --- the faults ------------------------------------------------------------------------------------------

def _collapsed(folder: Path, epochs: int) -> None:
    nb = nbformat.read(_notebook(folder, Phase.A), as_version=4)
    edit_cell(nb, "4a_train_run", "freeze_by_ratio(backbone, FREEZE_RATIO)\n",
              "# the exercise's recipe: ImageNet preprocessing and the first 150 layers frozen\n"
              "Xn_train = keras.applications.resnet.preprocess_input(X_train.copy())\n"
              "Xn_val = keras.applications.resnet.preprocess_input(X_val.copy())\n"
              "for i, layer in enumerate(backbone.layers):\n"
              "    layer.trainable = i >= 150\n")
    # the saved model keeps that preprocessing inside (so it takes the raw patches): a fixed 1x1 convolution that
    # reverses the channels and subtracts the ImageNet means, as preprocess_input does
    edit_cell(nb, "4a_train_run", "norm = keras.layers.Normalization(axis=-1, name=\"per_band_normalization\")\n"
                                  "norm.adapt(X_train)\n",
              "norm = keras.layers.Conv2D(6, 1, trainable=False, name=\"imagenet_preprocess\")\n"
              "norm.build((None, 8, 8, 6))\n"
              "norm.set_weights([np.eye(6, dtype=\"float32\")[::-1][None, None],\n"
              "                  -np.array([103.939, 116.779, 123.68, 0, 0, 0], dtype=\"float32\")])\n")
    nbformat.write(nb, _notebook(folder, Phase.A))
    _rerun(folder, Phase.A, epochs)


def _unstratified(folder: Path, epochs: int) -> None:
    nb = nbformat.read(_notebook(folder, Phase.B), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "4b_split_code")
    start, end = cell.source.index("### BEGIN SOLUTION"), cell.source.index("### END SOLUTION")
    cell.source = (cell.source[:start] + "### BEGIN SOLUTION\n"
                   "    # like Keras validation_split: the last val_fraction of the samples\n"
                   "    n_val = int(round(len(y) * val_fraction))\n"
                   "    index = np.arange(len(y))\n"
                   "    return index[:-n_val], index[-n_val:]\n    " + cell.source[end:])
    nbformat.write(nb, _notebook(folder, Phase.B))


def _rerun_fused(folder: Path, epochs: int) -> None:
    """Re-run 4B up to the cell that saves the fused arrays, and make sure the edit changed them.

    Raises:
        SampleClassError: if the arrays came out unchanged (the edited notebook failed before saving them).
    """
    arrays = [folder / "data" / "processed" / name for name in ("X_train_fused.npy", "X_val_fused.npy")]
    before = [np.load(a) for a in arrays]
    _rerun(folder, Phase.B, epochs, until="4b_fused_run")
    if all(np.array_equal(b, np.load(a)) for a, b in zip(arrays, before, strict=True)):
        raise SampleClassError(f"{folder}: the edited 4B notebook did not rewrite the fused arrays (a cell before "
                               "np.save failed); update autograder/demo/sample_class.py to the current notebook")


def _nearest(folder: Path, epochs: int) -> None:
    nb = nbformat.read(_notebook(folder, Phase.B), as_version=4)
    edit_cell(nb, "4b_align_code", "resampling=Resampling.bilinear)", "resampling=Resampling.nearest)")
    nbformat.write(nb, _notebook(folder, Phase.B))
    _rerun_fused(folder, epochs)


def _band_order(folder: Path, epochs: int) -> None:
    nb = nbformat.read(_notebook(folder, Phase.B), as_version=4)
    edit_cell(nb, "4b_stack_code", "for name in FUSED_BANDS]",
              "for name in [\"B2\", \"B3\", \"B8\", \"B4\", \"B11\", \"B12\", \"MODIS_NDVI\", \"DEM\"]]")
    # the work cell's consistency check would stop the save; this student deleted it
    edit_cell(nb, "4b_fused_run",
              "assert np.allclose(X_train_fused[..., :6], np.load(\"data/processed/X_train.npy\") / S2_SCALE)  "
              "# Week 3 stored DN\n", "")
    nbformat.write(nb, _notebook(folder, Phase.B))
    _rerun_fused(folder, epochs)


def _missing_figure(folder: Path, epochs: int) -> None:
    (folder / "figures" / "phase4a_confusion_matrix.png").unlink()


def _inflated(folder: Path, epochs: int) -> None:
    path = folder / "reports" / "phase4a_metrics.json"
    metrics = json.loads(path.read_text())
    metrics["result"]["accuracy"] = 0.99
    metrics["result"]["macro_f1"] = 0.99
    metrics["result"]["evaluation"]["accuracy"] = 0.99
    path.write_text(json.dumps(metrics, indent=1))


def _endless(folder: Path, epochs: int) -> None:
    nb = nbformat.read(_notebook(folder, Phase.A), as_version=4)
    edit_cell(nb, "4a_week3_run", "### BEGIN SOLUTION\n",
              "### BEGIN SOLUTION\nimport time\n\nwhile True:  # wait until the Week 3 model is ready (it never is)\n"
              "    time.sleep(1)\n")
    nbformat.write(nb, _notebook(folder, Phase.A))


def _invalid(folder: Path, epochs: int) -> None:
    path = _notebook(folder, Phase.A)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # a notebook cut off while saving


FAULTS: dict[str, Callable[[Path, int], None]] = {
    "ben_collapsed": _collapsed, "cai_unstratified": _unstratified, "dan_nearest": _nearest,
    "eve_band_order": _band_order, "fay_missing_figure": _missing_figure, "gus_inflated_metrics": _inflated,
    "hal_endless_loop": _endless, "ivy_invalid_json": _invalid,
}


def _kept(marker: Path | None, folder: Path, stamp: str) -> bool:
    """Whether a student phase built before from the same solution (``marker`` holds its stamp) can stay."""
    return marker is not None and marker.exists() and marker.read_text().strip() == stamp and folder.is_dir()


def build_sample_class(out: Path, phases: tuple[Phase, ...] = tuple(Phase), epochs: int = SAMPLE_EPOCHS,
                       students: tuple[str, ...] | None = None, progress: Callable[[str], None] = lambda m: None,
                       marker_dir: Path | None = None, at_once: int = AT_ONCE) -> list[SampleStudent]:
    """Write the sample class's submissions under ``out/<student>/<phase>``; returns the students built.

    Students whose fault lies in a phase outside ``phases`` are left out (``students`` picks by id). With
    ``marker_dir``, a student phase built before with the same epoch budget from the same solution is kept as it
    is (so a second run grades nothing again). ``at_once`` notebooks run at a time (each in a kernel of its own):
    the solutions, longest first, then each phase's students as soon as its solution is ready.

    Raises:
        autograder.authoring.solutions.SolutionRunError: if a solution (or a faulty student's re-run) fails (the
            first failure; the notebooks running are stopped, the rest never start).
        SampleClassError: if an edit no longer matches the notebooks.
    """
    chosen = [s for s in STUDENTS if (s.phase is None or s.phase in phases)
              and (students is None or s.id in students)]
    out.mkdir(parents=True, exist_ok=True)

    def build(student: SampleStudent, phase: Phase, correct: Path, stamp: str) -> None:
        marker = marker_dir / f"{student.id}.{phase}.epochs{epochs}" if marker_dir is not None else None
        if _kept(marker, out / student.id / phase, stamp):
            return
        folder = _copy(correct, out / student.id / phase)
        if student.phase == phase:
            progress(f"sample student {student.id}: {student.fault}")
            FAULTS[student.id](folder, epochs)
        if marker is not None:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"{stamp}\n")

    with NotebookPool(at_once) as pool:
        solutions = {pool.submit(correct_submission, phase, epochs, progress): phase
                     for phase in sorted(phases, key=LONGEST_FIRST.index)}
        for solution in as_completed(solutions):
            phase, correct = solutions[solution], solution.result()
            stamp = solution_stamp(phase)
            for student in sorted(chosen, key=lambda s: s.phase != phase):  # faulty first: their re-runs are long
                pool.submit(build, student, phase, correct, stamp)
    return chosen
