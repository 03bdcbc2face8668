"""Band subsets for the ablation studies of Phases 4B and 4C, selected by band name.

The four configurations of the exercise: Sentinel-2 only (6 bands), S2 + MODIS (7),
S2 + DEM (7) and the full fusion (8). Every configuration is cut from the same fused
arrays, so splits and samples are identical across them.
"""

from __future__ import annotations

import numpy as np

from geoai_ref.bands import FUSED_BANDS, S2_BANDS, band_indices

BAND_SUBSETS: dict[str, tuple[str, ...]] = {
    "S2": S2_BANDS,
    "S2+MODIS": (*S2_BANDS, "MODIS_NDVI"),
    "S2+DEM": (*S2_BANDS, "DEM"),
    "Full": FUSED_BANDS,
}


def subset_bands(name: str) -> tuple[str, ...]:
    """The band names of configuration ``name``.

    Raises:
        KeyError: if there is no such configuration (the message lists them).
    """
    try:
        return BAND_SUBSETS[name]
    except KeyError:
        raise KeyError(f"unknown band subset {name!r}; choose one of {list(BAND_SUBSETS)}") from None


def select_bands(x: np.ndarray, bands: tuple[str, ...] | list[str], order: tuple[str, ...] = FUSED_BANDS) -> np.ndarray:
    """The channels ``bands`` (by name, in that order) of channels-last ``x`` whose channels are ``order``.

    Raises:
        ValueError: if ``x`` does not have ``len(order)`` channels.
        KeyError: if a band is not in ``order``.
    """
    if x.shape[-1] != len(order):
        raise ValueError(f"array has {x.shape[-1]} channels but the band order {list(order)} has {len(order)}")
    return x[..., band_indices(list(bands), order)]
