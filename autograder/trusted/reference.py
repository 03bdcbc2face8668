"""The grader's own data for the trusted checks, and safe access to a submission's snapshot.

The hidden scene's labelled patches, the release's Week 3 validation split and its reference fused patches
(:mod:`autograder.authoring.release_data`: the fixtures, or a course's own data) are loaded once per process.
Labels never leave the grader: the sandbox gets inputs only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.authoring.release_data import KIT_DATA, ReleaseData
from autograder.paths import HIDDEN_DATA
from geoai_ref import layout
from geoai_ref.errors import MissingInput
from geoai_ref.phase import Phase


@dataclass(frozen=True)
class GraderData:
    """Patches and labels the trusted checks judge submissions on (bands in :data:`~geoai_ref.bands.FUSED_BANDS`
    order for the fused arrays, :data:`~geoai_ref.bands.S2_BANDS` for the Week 3 ones)."""

    x_hidden: np.ndarray  # hidden scene, 8 fused bands
    y_hidden: np.ndarray
    x_val_s2: np.ndarray  # Phase 4A's X_val: the Week 3 patches as stored (Sentinel-2 digital numbers)
    y_val_s2: np.ndarray
    x_train_fused: np.ndarray  # reference fused patches (the 4B pipeline on the release's sensors)
    x_val_fused: np.ndarray
    y_val: np.ndarray  # the fused patches' validation labels (Phases 4B and 4C)

    def validation(self, week3_input: bool) -> tuple[np.ndarray, np.ndarray]:
        """The release's validation patches and labels: Phase 4A's Week 3 ones, or the fused ones."""
        return (self.x_val_s2, self.y_val_s2) if week3_input else (self.x_val_fused, self.y_val)


@functools.cache
def grader_data(release: ReleaseData = KIT_DATA) -> GraderData:
    """The grader's data for a release built on ``release``, loaded once per process.

    Raises:
        FileNotFoundError: if the release's data or the hidden data are missing (run `make fixtures`, or build
            the course's data again with `geoai-grade release --week3 FOLDER`).
    """
    paths = {"x_hidden": HIDDEN_DATA / layout.X_HIDDEN_FUSED, "y_hidden": HIDDEN_DATA / layout.Y_HIDDEN,
             # what the release ships: 4A's Week 3 validation split, 4C's fused patches and their labels
             "x_val_s2": release.shipped(Phase.A, layout.X_VAL), "y_val_s2": release.shipped(Phase.A, layout.Y_VAL),
             "x_train_fused": release.shipped(Phase.C, layout.X_TRAIN_FUSED),
             "x_val_fused": release.shipped(Phase.C, layout.X_VAL_FUSED),
             "y_val": release.shipped(Phase.C, layout.Y_VAL)}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise MissingInput(f"the grader's data is incomplete ({missing}); regenerate it with `make fixtures` (or "
                           "`geoai-grade release --week3 FOLDER` for a course's own data)")
    return GraderData(**{name: np.load(path, allow_pickle=False) for name, path in paths.items()})


def inside_snapshot(snapshot: Path, rel: Path) -> Path | None:
    """``snapshot / rel`` if it exists, is no symbolic link and stays inside the snapshot; else None."""
    path = snapshot / rel
    try:
        if path.is_symlink() or not path.is_file():
            return None
        path.resolve().relative_to(snapshot.resolve())
    except (OSError, ValueError):
        return None
    return path
