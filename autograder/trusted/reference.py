"""The grader's own data for the trusted checks, and safe access to a submission's snapshot.

The hidden scene's labelled patches, the fixtures' Week 3 split and the reference fused patches are
loaded once per process. Labels never leave the grader: the sandbox gets inputs only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.paths import FIXTURES, HIDDEN_DATA
from geoai_ref import layout
from geoai_ref.errors import MissingInput


@dataclass(frozen=True)
class GraderData:
    """Patches and labels the trusted checks judge submissions on (bands in :data:`~geoai_ref.bands.FUSED_BANDS`
    order for the fused arrays, :data:`~geoai_ref.bands.S2_BANDS` for the Week 3 ones)."""

    x_hidden: np.ndarray  # hidden scene, 8 fused bands
    y_hidden: np.ndarray
    x_val_s2: np.ndarray  # fixtures X_val: the Week 3 patches as stored (Sentinel-2 digital numbers)
    x_train_fused: np.ndarray  # reference fused patches (the 4B pipeline on the fixtures)
    x_val_fused: np.ndarray
    y_val: np.ndarray


@functools.cache
def grader_data() -> GraderData:
    """The grader's data, loaded once per process.

    Raises:
        FileNotFoundError: if the fixtures or the hidden data are missing (run `make fixtures`).
    """
    from autograder.authoring.course import fused_reference

    fused = fused_reference()
    paths = {"x_hidden": HIDDEN_DATA / layout.X_HIDDEN_FUSED, "y_hidden": HIDDEN_DATA / layout.Y_HIDDEN,
             "x_val_s2": FIXTURES / layout.X_VAL,
             "x_train_fused": fused / layout.X_TRAIN_FUSED, "x_val_fused": fused / layout.X_VAL_FUSED,
             "y_val": FIXTURES / layout.Y_VAL}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise MissingInput(f"the grader's data is incomplete ({missing}); regenerate it with `make fixtures`")
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
