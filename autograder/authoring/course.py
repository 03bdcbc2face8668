"""The nbgrader course: what each phase ships to students, and running nbgrader on a course folder.

The course lives in the repository (``nbgrader_config.py``: source ``assignments/``, release
``release/``, everything else under ``gradebook/``). Tests and benchmarks use a throw-away
course folder instead (:func:`make_course`), with the same configuration and its own gradebook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from autograder.authoring.notebooks import PHASES, build_notebook, serialise
from autograder.authoring.release_data import KIT_DATA, ReleaseData
from autograder.paths import ASSIGNMENTS, REPO
from geoai_ref import layout
from geoai_ref.errors import MissingInput, ToolFailed
from geoai_ref.phase import Phase

#: Files each phase ships beside its notebook, relative to its data set (:mod:`autograder.authoring.release_data`)
#: and to the release; the data notes (what is real, what is synthetic, the course's attribution) travel with every
#: phase.
PHASE_DATA: dict[Phase, tuple[Path, ...]] = {
    Phase.A: (layout.DATA_NOTES, layout.X_TRAIN, layout.Y_TRAIN, layout.X_VAL, layout.Y_VAL, layout.WEEK3_MODEL,
                layout.WEEK3_MODEL_INFO),
    Phase.B: (layout.DATA_NOTES, layout.S2_COMPOSITE, layout.MODIS_NDVI, layout.SRTM_DEM, layout.POLYGONS, layout.AOI,
                layout.SAMPLE_INDEX, layout.X_TRAIN, layout.Y_TRAIN, layout.X_VAL, layout.Y_VAL),
    # Phase 4C starts from Phase 4B's fused patches; the release ships the reference ones, so a
    # student's 4C does not depend on their 4B (release 4C after 4B's deadline).
    Phase.C: (layout.DATA_NOTES, layout.X_TRAIN_FUSED, layout.X_VAL_FUSED, layout.Y_TRAIN, layout.Y_VAL),
}

#: What the released notebooks import, with the versions the kit is tested with.
REQUIREMENTS = """\
# Packages the Week 4 notebooks need (Python 3.11+). Install with: pip install -r requirements.txt
numpy>=1.26
tensorflow>=2.20
keras>=3.10
scikit-learn>=1.4
rasterio>=1.4
matplotlib>=3.8
pyyaml>=6.0
h5py>=3.10
"""


class NbgraderError(ToolFailed):
    """An nbgrader command failed; the message holds the end of its log."""


def stage_data(phase: Phase, dest: Path, data: ReleaseData = KIT_DATA) -> list[Path]:
    """Copy the files ``phase`` ships from ``data`` into ``dest`` (a release or submission folder); returns them.

    Raises:
        KeyError: for an unknown phase.
        FileNotFoundError: if a file is missing from the data (run ``make fixtures``, or build the course's data
            again with ``geoai-grade release --week3 FOLDER``).
        geoai_ref.errors.ProblemsFound: if a raster generated on first use differs from the data's manifest.
    """
    from geoai_ref.synth.course_build import ensure_rasters

    for root in {data.week3, data.sensors}:
        if (root / layout.MANIFEST).is_file():
            ensure_rasters(root)  # the fixtures' Sentinel-2 composite is generated on first use
    copied = []
    for rel in PHASE_DATA[phase]:
        src = data.shipped(phase, rel)
        if not src.is_file():
            raise MissingInput(f"{src} is missing: regenerate the fixtures with `make fixtures` (or, for a course's "
                               "own data, `geoai-grade release --week3 FOLDER`)")
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
        copied.append(target)
    return copied


def path_with_venv() -> str:
    """PATH with this interpreter's bin folder first: nbgrader runs `alembic` from PATH to set up its database."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def use_venv_tools() -> None:
    """Put this interpreter's bin folder on this process's PATH (once), for nbgrader's in-process Gradebook,
    which runs `alembic` from PATH. Call it before starting threads."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = path_with_venv()


@dataclass(frozen=True)
class Course:
    """An nbgrader course folder (``root``) with its gradebook database."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "gradebook" / "gradebook.db"

    @property
    def release(self) -> Path:
        return self.root / "release"

    def submitted(self, student: str, phase: Phase) -> Path:
        return self.root / "gradebook" / "submitted" / student / phase

    def autograded(self, student: str, phase: Phase) -> Path:
        return self.root / "gradebook" / "autograded" / student / phase

    def nbgrader(self, *args: str, env: Mapping[str, str] | None = None, timeout: float | None = None) -> str:
        """Run ``nbgrader ARGS`` on this course (from the repository, so ``nbgrader_config.py`` applies).

        Raises:
            NbgraderError: if nbgrader exits non-zero or runs past ``timeout`` seconds.
        """
        cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={self.root}",
               f"--CourseDirectory.db_url=sqlite:///{self.db}"]
        self.db.parent.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "PATH": path_with_venv(), **(env or {})})
        except subprocess.TimeoutExpired as exc:
            raise NbgraderError(f"nbgrader {' '.join(args)} ran past {timeout} s") from exc
        log = done.stdout + done.stderr
        if done.returncode != 0:
            raise NbgraderError(f"nbgrader {' '.join(args)} failed (exit {done.returncode}):\n{log[-3000:]}")
        return log

    def source_notebook(self, phase: Phase) -> Path:
        """The phase's source notebook in this course folder (what ``generate`` releases)."""
        return self.root / "assignments" / phase / PHASES[phase].ipynb.name

    def generate(self, phase: Phase) -> Path:
        """``nbgrader generate_assignment``: the student notebook of ``phase`` under ``release/``."""
        self.nbgrader("generate_assignment", phase, "--force")
        return self.release / phase

    def autograde(self, phase: Phase, student: str, env: Mapping[str, str] | None = None,
                  timeout: float | None = None) -> dict[str, tuple[float | None, float]]:
        """Autograde one submission; returns grade_id -> (score, max score).

        Raises:
            NbgraderError: if nbgrader fails or runs past ``timeout``.
        """
        self.nbgrader("autograde", phase, "--student", student, "--force",
                      env={"GEOAI_GRADING": "1", **(env or {})}, timeout=timeout)
        return self.scores(phase, student)

    def scores(self, phase: Phase, student: str) -> dict[str, tuple[float | None, float]]:
        """grade_id -> (score, max score); score None while a changed manual answer awaits a grader."""
        from nbgrader.api import Gradebook

        use_venv_tools()
        with Gradebook(f"sqlite:///{self.db}") as gb:
            submission = gb.find_submission(phase, student)
            return {g.name: (None if g.needs_manual_grade else float(g.score), float(g.max_score))
                    for nb in submission.notebooks for g in nb.grades}


def make_course(root: Path) -> Course:
    """A course folder at ``root`` whose source notebooks are built from ``assignments/``'s sources for the course
    this process follows (:data:`geoai_ref.course.COURSE`); an existing folder keeps its gradebook, its notebooks
    are rebuilt."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ASSIGNMENTS, root / "assignments", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "_autograder_outputs"))
    for phase in PHASES.values():
        if phase.source.exists():
            (root / "assignments" / phase.id / phase.ipynb.name).write_text(serialise(build_notebook(phase.source)))
    return Course(root)

