"""Extraction of square patches (8x8 by default, channels last) at sample locations.

A location (row, col) is the patch's centre in the even-size sense: the patch covers
rows ``row - size//2 .. row + size//2 - 1`` and the same for columns.
"""

from __future__ import annotations

import numpy as np

from geoai_ref.errors import UsageError

PATCH_SIZE = 8


class PatchOutOfBounds(UsageError):
    """A sample location too close to the edge of the raster for a whole patch."""


def extract_patches(stack: np.ndarray, rows: np.ndarray, cols: np.ndarray, size: int = PATCH_SIZE,
                    sample_ids: np.ndarray | None = None) -> np.ndarray:
    """Patches of ``stack`` (H, W, C) at (rows, cols), as an (N, size, size, C) array of the same dtype.

    Raises:
        ValueError: if ``stack`` is not 3-D or rows / cols differ in length.
        PatchOutOfBounds: if any patch would reach past the raster; the message names the
            samples and how far they are from the edge.
    """
    if stack.ndim != 3:
        raise ValueError(f"stack must be (height, width, bands), channels last; got shape {stack.shape}")
    rows = np.asarray(rows, dtype=int)
    cols = np.asarray(cols, dtype=int)
    if rows.shape != cols.shape or rows.ndim != 1:
        raise ValueError(f"rows and cols must be 1-D and of equal length, got {rows.shape} and {cols.shape}")
    ids = np.arange(rows.size) if sample_ids is None else np.asarray(sample_ids)
    half = size // 2
    h, w, _ = stack.shape
    bad = (rows - half < 0) | (cols - half < 0) | (rows + half > h) | (cols + half > w)
    if bad.any():
        listed = "; ".join(f"sample {ids[i]} at (row {rows[i]}, col {cols[i]})" for i in np.flatnonzero(bad)[:5])
        raise PatchOutOfBounds(
            f"{int(bad.sum())} sample(s) too close to the edge for a {size}x{size} patch: {listed}. "
            f"Locations need rows {half}..{h - half} and cols {half}..{w - half} on this {h}x{w} raster; "
            "drop those samples or extract from a larger raster."
        )
    offsets = np.arange(-half, size - half)
    r_idx = rows[:, None, None] + offsets[None, :, None]
    c_idx = cols[:, None, None] + offsets[None, None, :]
    return stack[r_idx, c_idx, :]
