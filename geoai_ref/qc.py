"""Quality control of band arrays: NaN / nodata and per-band value ranges.

Every finding names the band and the problem, and where the values give it away, the
likely cause (reflectance still scaled by 10000, raw MODIS integers, unmasked fill).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geoai_ref.bands import band
from geoai_ref.errors import ProblemsFound


class QualityError(ProblemsFound, ValueError):
    """An array failed quality control; ``report`` holds every finding."""

    def __init__(self, report: QCReport) -> None:
        super().__init__("quality control failed:\n- " + "\n- ".join(report.messages))
        self.report = report


@dataclass(frozen=True)
class Finding:
    band: str
    problem: str  # "nan", "range", "constant"
    count: int
    message: str


@dataclass
class QCReport:
    """Findings of :func:`check_bands`; ``ok`` when there are none."""

    findings: list[Finding] = field(default_factory=list)
    n_values: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def messages(self) -> list[str]:
        return [f.message for f in self.findings]

    def raise_if_failed(self) -> None:
        """Raises: QualityError listing every finding, if there is any."""
        if not self.ok:
            raise QualityError(self)


def _cause(name: str, vmin: float, vmax: float) -> str:
    if name.startswith("B") and vmax > 100:
        return " It looks like stored Sentinel-2 values: multiply by 0.0001 for reflectance."
    if name == "MODIS_NDVI" and (vmax > 100 or vmin < -100):
        if vmin <= -3000:
            return " It looks like raw MOD13Q1 integers with fill -3000: mask -3000, then multiply by 0.0001."
        return " It looks like raw MOD13Q1 integers: multiply by 0.0001."
    if vmin <= -32768:
        return " -32768 is the SRTM nodata value: mask it before use."
    if name == "DEM" and vmax <= 1.0:
        return " Elevations of at most 1 m look normalised: keep the DEM in metres for QC and normalise per band later."
    return ""


def check_bands(data: np.ndarray, band_names: tuple[str, ...] | list[str], allow_nan: bool = False) -> QCReport:
    """Check an array whose last axis is bands (a stack or a batch of patches).

    Args:
        data: (..., bands) values in physical units.
        band_names: names from the band registry, one per channel.
        allow_nan: count NaN as acceptable nodata (for whole scenes with cloud holes).

    Raises:
        ValueError: if the number of channels differs from the number of band names.
        KeyError: if a band name is not in the registry.
    """
    data = np.asarray(data)
    if data.shape[-1] != len(band_names):
        raise ValueError(
            f"array has {data.shape[-1]} bands on its last axis but {len(band_names)} band names were given "
            f"({list(band_names)}); arrays must be channels-last"
        )
    report = QCReport(n_values=int(np.prod(data.shape[:-1])))
    for i, name in enumerate(band_names):
        spec = band(name)
        values = data[..., i].astype(np.float64)
        n = values.size
        nan = ~np.isfinite(values)
        if nan.any() and not allow_nan:
            report.findings.append(Finding(name, "nan", int(nan.sum()),
                f"band {name}: {int(nan.sum())} of {n} values ({100 * nan.mean():.2f} %) are NaN or nodata; "
                "drop or re-extract the affected patches (cloud holes, edges of a source raster)."))
        finite = values[~nan]
        if finite.size == 0:
            report.findings.append(Finding(name, "nan", n, f"band {name}: no valid values at all"))
            continue
        lo, hi = spec.valid_range
        out = (finite < lo) | (finite > hi)
        if out.any():
            vmin, vmax = float(finite.min()), float(finite.max())
            report.findings.append(Finding(name, "range", int(out.sum()),
                f"band {name}: {int(out.sum())} of {n} values outside the valid range {lo:g}..{hi:g} {spec.unit} "
                f"(found {vmin:g}..{vmax:g}).{_cause(name, vmin, vmax)}"))
        if finite.size > 1 and float(finite.max()) == float(finite.min()):
            report.findings.append(Finding(name, "constant", n,
                f"band {name}: every value is {float(finite.min()):g}; the band carries no information "
                "(an empty download or a failed resampling?)"))
    return report
