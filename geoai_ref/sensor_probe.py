"""How much each sensor alone tells the classes apart: 1-nearest-neighbour on per-patch band means.

A deliberately simple probe, run on the fused 8-band patches (S2 B2 B3 B4 B8 B11 B12, MODIS NDVI, DEM):
each patch becomes the mean of each band, features are standardised on the training patches, and a
1-nearest-neighbour classifier scores the validation patches. It shows what each sensor carries at the
patches' scale, before any network: if MODIS + DEM scored as well as Sentinel-2, the fusion lesson would be
an artefact of the data. Run it on the Week 3 split (patch level, polygons leak across it) and with whole
polygons held out (:func:`probe_grouped`) to see how much of a score the leak makes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold
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


def probe_grouped(x: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int = 5, seed: int = 0,
                  band_names: tuple[str, ...] = FUSED_BANDS) -> ProbeResult:
    """The probe with whole groups (polygons) held out: ``folds``-fold ``StratifiedGroupKFold``, each sample
    predicted once from the folds that do not hold its polygon; accuracy pooled over all samples (``n_val``)
    and ``n_train`` the mean training size. Less noisy than one grouped split of a few dozen polygons.

    Raises:
        ValueError: as :func:`probe_sensors`, or if there are fewer groups than folds.
    """
    with warnings.catch_warnings():  # small classes are expected: some folds hold none of them
        warnings.simplefilter("ignore", UserWarning)
        splits = list(StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y, groups))
    correct = {name: 0.0 for name in FEATURE_SETS}
    for train, val in splits:
        fold = probe_sensors(x[train], y[train], x[val], y[val], band_names)
        for name, accuracy in fold.accuracy.items():
            correct[name] += accuracy * val.size
    return ProbeResult({name: c / y.size for name, c in correct.items()}, float(np.bincount(y).max() / y.size),
                       int(round(np.mean([train.size for train, _ in splits]))), int(y.size))


def probe_folder(root: Path, seed: int = 0) -> dict[str, ProbeResult]:
    """Probe a data folder (rasters and sample index, e.g. ``geoai-ref course-data`` output or the fixtures).

    The sources are fused onto the Sentinel-2 grid as the reference pipeline does, and every sample's 8-band
    patch is cut; the probe runs on the folder's Week 3 split (``"week3"``, when the folder has one) and with
    whole polygons held out (``"grouped"``, :func:`probe_grouped` with ``seed``).

    Raises:
        MissingInput: if a raster or the sample index is missing.
    """
    from geoai_ref import layout
    from geoai_ref.align import fuse, load_sources
    from geoai_ref.patches import extract_patches
    from geoai_ref.sample_index import read_sample_index

    index = read_sample_index(Path(root) / layout.SAMPLE_INDEX)
    stack = fuse(load_sources(Path(root)))
    x = extract_patches(stack.data, index.row, index.col, sample_ids=index.sample_id).astype(np.float32)
    y = index.class_id
    train, val = index.where("train"), index.where("val")
    results = {"grouped": probe_grouped(x, y, index.polygon_id, seed=seed, band_names=stack.band_names)}
    if train.size and val.size:  # a folder without a Week 3 split (the hidden region) has only the grouped probe
        results = {"week3": probe_sensors(x[train], y[train], x[val], y[val], stack.band_names), **results}
    return results
