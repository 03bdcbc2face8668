"""Figures of the data pipeline (matplotlib, written to PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from geoai_ref.align import AlignedStack  # noqa: E402
from geoai_ref.classes import CLASS_NAMES, CLASSES  # noqa: E402
from geoai_ref.sample_index import SampleIndex  # noqa: E402
from geoai_ref.splits import SplitReport  # noqa: E402


def _true_colour(stack: AlignedStack) -> np.ndarray:
    rgb = np.stack([stack.band(b) for b in ("B4", "B3", "B2")], axis=-1)
    lo, hi = np.nanpercentile(rgb, 2), np.nanpercentile(rgb, 98)
    return np.nan_to_num(np.clip((rgb - lo) / (hi - lo), 0, 1), nan=1.0)


def pipeline_overview(stack: AlignedStack, modis_nearest: np.ndarray, truth: np.ndarray | None,
                      index: SampleIndex, splits: dict[str, SplitReport], path: Path) -> Path:
    """Six panels: true colour with samples, MODIS bilinear vs nearest, DEM, truth, validation class mix."""
    fig, axes = plt.subplots(2, 3, figsize=(15, 9.5), constrained_layout=True)
    ax = axes[0, 0]
    ax.imshow(_true_colour(stack))
    for split, colour in (("train", "#2b6cb0"), ("val", "#dd6b20")):
        chosen = index.where(split)
        ax.scatter(index.col[chosen], index.row[chosen], s=6, c=colour, label=f"{split} ({chosen.size})")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("Sentinel-2 true colour (B4 B3 B2), 10 m\nwith the Week 3 sample locations")
    ndvi_lo, ndvi_hi = np.nanpercentile(stack.band("MODIS_NDVI"), [2, 98])
    for ax, data, title in ((axes[0, 1], stack.band("MODIS_NDVI"), "MODIS NDVI on the 10 m grid: bilinear (right)"),
                            (axes[0, 2], modis_nearest, "MODIS NDVI on the 10 m grid: nearest (wrong: blocky)")):
        im = ax.imshow(data, cmap="YlGn", vmin=ndvi_lo, vmax=ndvi_hi)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8, label="NDVI")
    ax = axes[1, 0]
    im = ax.imshow(stack.band("DEM"), cmap="terrain")
    ax.set_title("SRTM elevation, bilinear onto the 10 m grid")
    fig.colorbar(im, ax=ax, shrink=0.8, label="metres")
    ax = axes[1, 1]
    if truth is not None:
        ax.imshow(np.where(truth == 255, np.nan, truth), cmap=ListedColormap([c.color for c in CLASSES]),
                  vmin=-0.5, vmax=len(CLASSES) - 0.5, interpolation="nearest")
        ax.legend(handles=[Patch(color=c.color, label=c.name) for c in CLASSES], loc="lower left", fontsize=8)
        ax.set_title("Land-cover truth (synthetic scene)")
    else:
        ax.set_axis_off()
        ax.set_title("no truth raster (Earth Engine data)")
    for ax in axes.flat[:5]:
        ax.set_xlabel("column (10 m pixels)")
        ax.set_ylabel("row")
    ax = axes[1, 2]
    names = list(splits)
    width = 0.8 / len(names)
    x = np.arange(len(CLASS_NAMES))
    for i, name in enumerate(names):
        shares = [100 * splits[name].val_proportions[c] for c in CLASS_NAMES]
        bars = ax.bar(x + (i - (len(names) - 1) / 2) * width, shares, width,
                      label=f"{name} ({'ok' if splits[name].ok else 'FLAGGED'})")
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks(x, CLASS_NAMES, rotation=20)
    ax.set_ylabel("share of the validation set (%)")
    ax.set_title("Validation class mix by split method")
    ax.legend(fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
