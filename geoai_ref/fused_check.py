"""The fused-array check: one function, structured findings.

Phase 4B's deliverables ``X_train_fused.npy`` and ``X_val_fused.npy`` hold the 8-band patches
(channels last, in :data:`~geoai_ref.bands.FUSED_BANDS` order, in the sample index's order).
:func:`check_fused_array` is the only judge of such an array; ``geoai-ref check``
(:mod:`geoai_ref.deliverables`), the grader's trusted checks and the notebook's hidden check all
call it and only word its findings for their reader.

In order, it looks at:

1. the file: present, a plain ``.npy`` of numbers (never unpickled), shape ``(n, 8, 8, 8)``, float;
2. the values: finite and in each band's physical range (:func:`geoai_ref.qc.check_bands`);
3. with reference patches (the reference pipeline's arrays): each channel is matched to the
   reference band it correlates with best. Channel ``i`` whose best match is another band ``j``
   with ``r >= MIN_BAND_CORRELATION`` is a **band-order** error; a channel whose best match is
   below that correlation differs from the reference whatever its position (misaligned, or not in
   the sample index's order). Both rules apply whatever ``j`` is: a channel that resembles no band
   is wrong even if it happens to be in place;
4. resampling: MODIS NDVI and the DEM resampled with nearest neighbour are piecewise constant
   (:func:`zero_difference_share`).

Nearest-resampling statistic: a MODIS NDVI pixel (231.656 m) covers about 23 x 23 pixels of the
10 m grid and an SRTM pixel (1 arc-second, about 31 x 23 m here) about 3 x 2, so with nearest
neighbour most adjacent-pixel differences inside an 8 x 8 patch are exactly 0, while bilinear
values change from pixel to pixel. The statistic is the share of exactly-zero differences
(horizontal and vertical) over the patches in which the band is not constant (a lake surface
that SRTM flattens is constant whatever the resampling; if every patch is constant the share is
1). Measured on the fixture scene (thresholds in :data:`NEAREST_ZERO_SHARE`):

==========================  ===========  =========
arrays                      MODIS_NDVI   DEM
==========================  ===========  =========
reference, bilinear         0.000        <= 0.0016
hidden scene, bilinear      0.000        0.0013
cubic / cubic spline        <= 0.0001    0.000
nearest (rasterio)          0.918        0.633 - 0.641
==========================  ===========  =========
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from geoai_ref import layout
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.qc import check_bands

PATCH_SIZE = 8
#: The fused arrays and their sample counts in the real course (its Week 3 split: 300 training and 75 validation
#: patches); the grader counts a release's from its reference arrays.
FUSED_SAMPLES: dict[Path, int] = {layout.X_TRAIN_FUSED: 300, layout.X_VAL_FUSED: 75}
#: Correlation with a reference band at or above which a channel counts as that band.
MIN_BAND_CORRELATION = 0.9
#: Share of exactly-zero adjacent-pixel differences at or above which a band counts as nearest-resampled.
NEAREST_ZERO_SHARE: dict[str, float] = {"MODIS_NDVI": 0.5, "DEM": 0.3}


class Problem(StrEnum):
    """What is wrong with a fused array. ``MISSING`` .. ``DTYPE`` stop the check; the others add up."""

    MISSING = "missing"
    UNREADABLE = "unreadable"
    SHAPE = "shape"
    DTYPE = "dtype"
    BAND_ORDER = "band-order"
    DIFFERS = "differs"
    VALUES = "values"
    NEAREST = "nearest-resampling"


#: The flag each problem raises in the grader (problems without one raise none).
FLAG_OF: dict[Problem, str] = {Problem.MISSING: "missing-deliverable", Problem.BAND_ORDER: "band-order",
                               Problem.NEAREST: "nearest-resampling"}


@dataclass(frozen=True)
class Finding:
    """One problem of a fused array; ``message`` says what is wrong and what to do (without the file name)."""

    problem: Problem
    message: str


@dataclass
class FusedArrayReport:
    """Every finding of one fused array, and the measurements behind them (JSON-plain ``evidence``)."""

    rel: Path
    findings: list[Finding] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def flags(self) -> set[str]:
        return {FLAG_OF[f.problem] for f in self.findings if f.problem in FLAG_OF}

    def messages(self, with_path: bool = True) -> list[str]:
        return [f"{self.rel}: {f.message}" if with_path else f.message for f in self.findings]

    def add(self, problem: Problem, message: str) -> FusedArrayReport:
        self.findings.append(Finding(problem, message))
        return self


def match_bands(x: np.ndarray, reference: np.ndarray) -> list[tuple[int, float]]:
    """For each channel of ``x``, the reference channel it correlates with best, and that correlation."""
    a = x.reshape(-1, x.shape[-1]).astype(np.float64)
    b = reference.reshape(-1, reference.shape[-1]).astype(np.float64)
    a = (a - a.mean(0)) / (a.std(0) + 1e-12)
    b = (b - b.mean(0)) / (b.std(0) + 1e-12)
    corr = a.T @ b / a.shape[0]
    return [(int(np.argmax(row)), float(row.max())) for row in corr]


def zero_difference_share(x: np.ndarray) -> tuple[float, int]:
    """Share of exactly-zero adjacent-pixel differences of one band (n, h, w), over its non-constant patches.

    Returns (share, number of constant patches); the share is 1.0 when every patch is constant.
    """
    v = np.asarray(x, dtype=np.float64)
    flat = v.reshape(len(v), -1)
    constant = flat.max(axis=1) == flat.min(axis=1)
    varying = v[~constant]
    if len(varying) == 0:
        return 1.0, int(constant.sum())
    diffs = np.concatenate([np.diff(varying, axis=1).reshape(len(varying), -1),
                            np.diff(varying, axis=2).reshape(len(varying), -1)], axis=1)
    return float(np.mean(diffs == 0)), int(constant.sum())


def _band_order(report: FusedArrayReport, x: np.ndarray, reference: np.ndarray) -> None:
    matches = match_bands(x, reference)
    report.evidence["band_match"] = [{"channel": i, "expected": FUSED_BANDS[i], "best_match": FUSED_BANDS[j], "r": r}
                                     for i, (j, r) in enumerate(matches)]
    for i, (j, r) in enumerate(matches):
        if j != i and r >= MIN_BAND_CORRELATION:
            report.add(Problem.BAND_ORDER, f"channel {i} looks like {FUSED_BANDS[j]} (r={r:.2f}), not "
                                           f"{FUSED_BANDS[i]}: stack the bands as {list(FUSED_BANDS)}")
        elif r < MIN_BAND_CORRELATION:
            report.add(Problem.DIFFERS, f"channel {i} ({FUSED_BANDS[i]}) differs from the reference patches (best "
                                        f"r={r:.2f}): check its alignment, and keep the patches in the sample index's "
                                        "order")


def _resampling(report: FusedArrayReport, x: np.ndarray) -> None:
    resampling = {}
    for name, threshold in NEAREST_ZERO_SHARE.items():
        share, constant = zero_difference_share(x[..., FUSED_BANDS.index(name)])
        nearest = share >= threshold
        resampling[name] = {"zero_difference_share": share, "threshold": threshold, "constant_patches": constant,
                            "nearest": nearest}
        if nearest:
            report.add(Problem.NEAREST, f"{name} is piecewise constant ({100 * share:.0f} % of adjacent-pixel "
                                        "differences are exactly 0; bilinear gives about 0 %): it was resampled with "
                                        "nearest neighbour; use Resampling.bilinear for continuous bands")
    report.evidence["resampling"] = resampling


def check_fused_array(path: Path | None, rel: Path, n: int, reference: np.ndarray | None = None) -> FusedArrayReport:
    """Judge one fused array file (``path``; None or a missing file: not submitted) named ``rel`` for the reader.

    ``n`` is the expected number of patches; ``reference`` the reference patches of the same samples
    (None: band order is not checked). Never raises for anything in the file: a malformed one is a finding.
    """
    report = FusedArrayReport(Path(rel), evidence={"expected_shape": [n, PATCH_SIZE, PATCH_SIZE, len(FUSED_BANDS)]})
    if path is None or not Path(path).is_file():
        return report.add(Problem.MISSING, f"missing: save the fused patches with np.save('{rel}', X)")
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        return report.add(Problem.UNREADABLE, f"not a readable .npy array of numbers ({exc}); save it with "
                                              f"np.save('{rel}', X.astype('float32'))")
    report.evidence.update(shape=list(mapped.shape), dtype=str(mapped.dtype))
    if mapped.shape != (n, PATCH_SIZE, PATCH_SIZE, len(FUSED_BANDS)):
        return report.add(Problem.SHAPE, f"shape {mapped.shape}, expected ({n}, {PATCH_SIZE}, {PATCH_SIZE}, "
                                         f"{len(FUSED_BANDS)}): patches x rows x cols x bands, channels last, in the "
                                         "sample index's order")
    if mapped.dtype.kind != "f":
        return report.add(Problem.DTYPE, f"dtype {mapped.dtype}; store physical values as float32 "
                                         "(X.astype('float32'))")
    x = np.array(mapped, dtype=np.float64)
    finite = bool(np.isfinite(x).all())
    report.evidence["finite"] = finite
    if finite and reference is not None and np.shape(reference) == x.shape:
        _band_order(report, x, np.asarray(reference))  # first: a swap also breaks the value ranges
    qc = check_bands(x, FUSED_BANDS)
    report.evidence["qc"] = qc.messages
    for message in qc.messages:
        report.add(Problem.VALUES, message)
    if finite:
        _resampling(report, x)
    return report
