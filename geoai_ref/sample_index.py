"""Reading the sample index (``data/processed/sample_index.csv``) written with the Week 3 dataset."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geoai_ref.errors import MissingInput, UsageError

REQUIRED_COLUMNS = ("sample_id", "polygon_id", "class_id", "row", "col", "split", "array_index")


@dataclass(frozen=True, eq=False)
class SampleIndex:
    """Columns of the sample index as arrays, one entry per sample, in file order."""

    sample_id: np.ndarray
    polygon_id: np.ndarray
    class_id: np.ndarray
    row: np.ndarray
    col: np.ndarray
    split: np.ndarray
    array_index: np.ndarray

    def __len__(self) -> int:
        return int(self.sample_id.size)

    def where(self, split: str) -> np.ndarray:
        """Positions of the samples of ``split``, ordered by their position in that split's arrays."""
        idx = np.flatnonzero(self.split == split)
        return idx[np.argsort(self.array_index[idx], kind="stable")]


def read_sample_index(path: Path) -> SampleIndex:
    """Read the CSV sample index.

    Raises:
        FileNotFoundError: if the file is missing.
        ValueError: if a required column is missing or a value is not an integer.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInput(f"{path} not found: it is written with the Week 3 dataset by `geoai-ref fixtures`")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    columns = rows[0].keys() if rows else []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UsageError(f"{path} lacks the column(s) {missing}; expected at least {list(REQUIRED_COLUMNS)}")
    try:
        ints = {c: np.array([int(r[c]) for r in rows], dtype=np.int64)
                for c in REQUIRED_COLUMNS if c != "split"}
    except ValueError as exc:
        raise UsageError(f"{path}: a value in an integer column is not an integer ({exc})") from None
    return SampleIndex(split=np.array([r["split"] for r in rows]), **ints)
