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


def _save(fig: plt.Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def training_curves(history: dict[str, list[float]], title: str, path: Path) -> Path:
    """Loss and accuracy per epoch, training vs validation."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for ax, key, label in ((axes[0], "loss", "loss (sparse categorical cross-entropy)"),
                           (axes[1], "accuracy", "accuracy")):
        for prefix, style in (("", "-o"), ("val_", "-s")):
            if prefix + key in history:
                ax.plot(epochs, history[prefix + key], style, ms=4,
                        label=("validation " if prefix else "training ") + key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[1].set_ylim(0, 1.02)
    fig.suptitle(title)
    return _save(fig, path)


def _confusion(ax: plt.Axes, matrix: np.ndarray, title: str) -> None:
    matrix = np.asarray(matrix)
    ax.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(CLASS_NAMES))
    ax.set_xticks(ticks, CLASS_NAMES, rotation=35, ha="right")
    ax.set_yticks(ticks, CLASS_NAMES)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(int(v)), ha="center", va="center", color="white" if v > threshold else "black")
    ax.set_title(title)


def confusion_matrix_figure(matrix: list[list[int]], title: str, path: Path) -> Path:
    """One confusion matrix with counts in the cells and class names on the axes."""
    fig, ax = plt.subplots(figsize=(6.5, 5.5), constrained_layout=True)
    _confusion(ax, np.asarray(matrix), title)
    return _save(fig, path)


def confusion_matrices_figure(matrices: dict[str, list[list[int]]], title: str, path: Path) -> Path:
    """Several confusion matrices side by side (Phase 4C: one per band configuration)."""
    n = len(matrices)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 5.2), constrained_layout=True, squeeze=False)
    for ax, (name, matrix) in zip(axes[0], matrices.items(), strict=True):
        _confusion(ax, np.asarray(matrix), name)
    fig.suptitle(title)
    return _save(fig, path)


def accuracy_bars(values: dict[str, float], title: str, path: Path, baseline: tuple[str, float] | None = None,
                  secondary: dict[str, float] | None = None, secondary_label: str = "macro F1") -> Path:
    """Accuracy per configuration with the value on each bar; an optional reference line and second metric."""
    fig, ax = plt.subplots(figsize=(8, 4.8), constrained_layout=True)
    names = list(values)
    x = np.arange(len(names))
    width = 0.38 if secondary else 0.6
    bars = ax.bar(x - (width / 2 if secondary else 0), [100 * values[n] for n in names], width, label="accuracy",
                  color="#2b6cb0")
    ax.bar_label(bars, fmt="%.1f %%", fontsize=9)
    if secondary:
        bars2 = ax.bar(x + width / 2, [100 * secondary[n] for n in names], width, label=secondary_label,
                       color="#dd6b20")
        ax.bar_label(bars2, fmt="%.1f", fontsize=9)
    if baseline:
        ax.axhline(100 * baseline[1], color="black", ls="--", lw=1)
        ax.text(len(names) - 0.5, 100 * baseline[1] + 1, f"{baseline[0]}: {100 * baseline[1]:.1f} %", ha="right")
    ax.axhline(100 / len(CLASS_NAMES), color="grey", ls=":", lw=1)
    ax.text(-0.45, 100 / len(CLASS_NAMES) + 1, f"chance ({100 / len(CLASS_NAMES):.0f} %)", color="grey", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 105)
    ax.set_ylabel("validation score (%)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return _save(fig, path)
