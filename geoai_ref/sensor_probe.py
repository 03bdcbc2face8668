"""How much each sensor alone tells the classes apart: 1-nearest-neighbour on per-patch band means.

A deliberately simple probe, run on the fused 8-band patches (S2 B2 B3 B4 B8 B11 B12, MODIS NDVI, DEM):
each patch becomes the mean of each band, features are standardised on the training patches, and a
1-nearest-neighbour classifier scores the validation patches. It shows what each sensor carries at the
patches' scale, before any network: if MODIS + DEM scored as well as Sentinel-2, the fusion lesson would be
an artefact of the data. Run it on the Week 3 split (patch level, polygons leak across it) and on a grouped
split (:func:`geoai_ref.splits.stratified_group_split`) to see how much of a score the leak makes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from geoai_ref.bands import FUSED_BANDS

#: Feature sets: which fused bands' per-patch means each one uses.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "S2": FUSED_BANDS[:6],
    "MODIS": ("MODIS_NDVI",),
    "DEM": ("DEM",),
    "MODIS+DEM": ("MODIS_NDVI", "DEM"),
    "S2+MODIS+DEM": FUSED_BANDS,
}


@dataclass(frozen=True)
class ProbeResult:
    """1-NN validation accuracy per feature set, and the majority-class share as the floor to compare with."""

    accuracy: dict[str, float]
    majority_share: float
    n_train: int
    n_val: int

    def to_dict(self) -> dict:
        return {"accuracy": {k: round(v, 4) for k, v in self.accuracy.items()},
                "majority_share": round(self.majority_share, 4), "n_train": self.n_train, "n_val": self.n_val}


def per_patch_means(x: np.ndarray) -> np.ndarray:
    """(n, bands) mean of each band over each patch of an (n, h, w, bands) array.

    Raises:
        ValueError: if ``x`` is not 4-D or holds NaN.
    """
    if x.ndim != 4:
        raise ValueError(f"expected patches (n, height, width, bands), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("the patches hold NaN or infinite values: run quality control first")
    return x.mean(axis=(1, 2))


def probe_sensors(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                  band_names: tuple[str, ...] = FUSED_BANDS) -> ProbeResult:
    """Score each feature set of :data:`FEATURE_SETS` with 1-NN on standardised per-patch means.

    Raises:
        ValueError: if the patches' band count differs from ``band_names``, or they hold NaN.
    """
    if x_train.shape[-1] != len(band_names) or x_val.shape[-1] != len(band_names):
        raise ValueError(f"the patches have {x_train.shape[-1]} / {x_val.shape[-1]} bands; expected "
                         f"{len(band_names)} ({', '.join(band_names)})")
    f_train, f_val = per_patch_means(x_train), per_patch_means(x_val)
    accuracy = {}
    for name, bands in FEATURE_SETS.items():
        idx = [band_names.index(b) for b in bands]
        scaler = StandardScaler().fit(f_train[:, idx])
        knn = KNeighborsClassifier(n_neighbors=1).fit(scaler.transform(f_train[:, idx]), y_train)
        accuracy[name] = float(np.mean(knn.predict(scaler.transform(f_val[:, idx])) == y_val))
    majority = float(np.bincount(y_val).max() / y_val.size)
    return ProbeResult(accuracy, majority, int(y_train.size), int(y_val.size))
