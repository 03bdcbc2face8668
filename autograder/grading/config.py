"""How a class is graded: the one configuration object of a grading run, and its defaults.

Kept light (no nbgrader, TensorFlow or notebook imports) so that command lines can show its defaults.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.grading.limits import Limits
from autograder.rubric.store import store_path
from autograder.trusted.sandbox import SandboxLimits
from geoai_ref.phase import Phase

#: Bump when grading logic changes in a way that should regrade stored results.
GRADER_VERSION = "2"  # 2: hidden checks judged from probes, kernel-died outcome


@dataclass(frozen=True)
class GradingConfig:
    """How a class is graded. ``limits`` apply to each phase's nbgrader run (kernel included).

    ``scheduler``: the address of a running Dask cluster's scheduler (``tcp://host:8786``) to grade on; None
    starts a local cluster of ``workers`` processes for the run. ``threads``: CPU threads each job's kernel may
    use; None shares this machine's cores among the ``workers`` (give it when the cluster's workers are other
    machines). ``allow_unjailed``: grade on a machine that cannot run the jail (probes and the model sandbox then
    run unjailed, and every phase carries the ``unjailed`` flag); without it such a machine refuses to grade.
    ``share_identical``: phases of different students with the same files (and so the same fingerprint: an
    untouched release notebook, a copy) are graded once and the result is recorded for each; False grades each.
    """

    course: Path
    phases: tuple[Phase, ...] = tuple(Phase)
    workers: int = 2
    limits: Limits = Limits(seconds=1800, memory_mb=8192)
    cell_timeout: int = 300
    epochs: int = 1
    train_batches: int = 1  # batches per epoch of every model.fit in the grading run (0: all of them)
    regrade: bool = False
    trusted_limits: SandboxLimits | None = None  # the sandbox's limits; None = its defaults
    scheduler: str | None = None
    threads: int | None = None
    allow_unjailed: bool = False  # grade even where the jail cannot run (autograder/jail.py); reports say so
    # byte-identical phase submissions of different students are graded once, the result recorded for each
    share_identical: bool = True

    def __post_init__(self) -> None:
        # nbgrader runs with the repository as working folder: a relative course path would point elsewhere
        object.__setattr__(self, "course", Path(self.course).resolve())
        object.__setattr__(self, "phases", tuple(Phase.parse(p) for p in self.phases))

    @property
    def threads_per_worker(self) -> int:
        """CPU threads each worker's TensorFlow may use: ``threads``, or this machine's cores shared out, so that
        parallel kernels do not oversubscribe the machine (each would otherwise start one thread per core)."""
        if self.threads is not None:
            return max(1, self.threads)
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))

    @property
    def gradebook(self) -> Path:
        return self.course / "gradebook"

    @property
    def store_path(self) -> Path:
        return store_path(self.course)

    def salt(self, phase: Phase) -> tuple[str, ...]:
        """What besides the files decides a phase's grade (changing any of it regrades): the notebook's source, the
        budgets, and the data the release was built on (the kit's, or the record of the course's own)."""
        from autograder.authoring.notebooks import PHASES
        from autograder.authoring.release_data import SOURCES

        source = self.course / "assignments" / phase / PHASES[phase].ipynb.name
        digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.exists() else "no-source"
        record = self.course / SOURCES
        data = hashlib.sha256(record.read_bytes()).hexdigest() if record.is_file() else "kit-data"
        return (GRADER_VERSION, str(phase), digest, str(self.epochs), str(self.train_batches),
                str(self.cell_timeout), data)
