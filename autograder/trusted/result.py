"""The outcome of one trusted check, and the flags trusted checks raise."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: The flags a trusted check may raise, and what each means (dashboard legend, tests).
FLAGS: dict[str, str] = {
    "collapse": "a submitted model predicts (nearly) one class for everything on the hidden or validation patches",
    "metrics-mismatch": "reported accuracy or macro F1 differs from the grader's re-evaluation of the submitted model",
    "band-order": "fused array channels are not stacked in the required order B2, B3, B4, B8, B11, B12, MODIS_NDVI, "
                  "DEM",
    "nearest-resampling": "MODIS NDVI or SRTM DEM were resampled onto the 10 m grid with nearest neighbour, not "
                          "bilinear",
    "missing-deliverable": "a required file of the phase was not submitted",
    "model-unloadable": "a submitted model could not be loaded or run on the grader's patches",
}


@dataclass
class TrustedResult:
    """The outcome of one trusted check; ``evidence`` is JSON-plain (see :func:`plain`)."""

    id: str
    phase: str
    passed: bool
    message: str
    evidence: dict = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-able dictionary (numpy scalars and arrays converted)."""
        return plain({"id": self.id, "phase": str(self.phase), "passed": self.passed, "message": self.message,
                      "evidence": self.evidence, "flags": list(self.flags)})

    @classmethod
    def from_dict(cls, data: dict) -> TrustedResult:
        return cls(str(data["id"]), str(data.get("phase", "")), bool(data.get("passed")),
                   str(data.get("message") or ""), dict(data.get("evidence") or {}), list(data.get("flags") or []))


def plain(value: Any) -> Any:
    """``value`` with numpy scalars / arrays, tuples and paths turned into JSON-plain Python values
    (non-finite floats become None)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, int):
        return value
    return str(value)  # str subclasses (a Phase) become plain str too
