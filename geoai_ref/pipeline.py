"""The data pipeline end to end: sources -> aligned 8-band stack -> QC -> patches -> split checks.

This is what Phase 4B asks students to build, run by the reference on a data folder
(the fixtures or an Earth Engine download). It writes, under ``out``:

- ``aligned/fused_stack.tif``          the 8-band stack on the Sentinel-2 grid (float32, NaN nodata)
- ``data/processed/X_train_fused.npy`` and ``X_val_fused.npy`` (the exercise's deliverables)
- ``reports/data_pipeline.json``       QC, alignment and split findings
- ``figures/data_pipeline_overview.png``
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from rasterio.enums import Resampling
from tqdm import tqdm

from geoai_ref import layout
from geoai_ref.align import AlignedStack, fuse, load_sources, resample_band
from geoai_ref.alignment_check import AlignmentReport, check_resampled
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.course import to_reflectance
from geoai_ref.patches import extract_patches
from geoai_ref.qc import check_bands
from geoai_ref.rasterio_io import Raster, read_raster, write_raster
from geoai_ref.sample_index import SampleIndex, read_sample_index
from geoai_ref.splits import SplitReport, check_split, keras_validation_split, stratified_group_split

FUSED_STACK = Path("aligned/fused_stack.tif")
REPORT = Path("reports/data_pipeline.json")
FIGURE = Path("figures/data_pipeline_overview.png")


@dataclass
class PipelineResult:
    out: Path
    files: list[Path]
    report: dict


def check_alignment(stack: AlignedStack, modis: Raster, dem: Raster) -> list[AlignmentReport]:
    """Alignment reports for the two resampled bands of a fused stack."""
    return [check_resampled(stack.band(name), stack.grid, stack.grid, src.physical(name), src.grid, name)
            for name, src in (("MODIS_NDVI", modis), ("DEM", dem))]


def fused_patches(stack: AlignedStack, index: SampleIndex, split: str) -> np.ndarray:
    """8-band patches of one split, in that split's array order.

    Raises:
        PatchOutOfBounds: if a location is too close to the edge.
        QualityError: if a patch holds NaN or values out of range.
    """
    chosen = index.where(split)
    x = extract_patches(stack.data, index.row[chosen], index.col[chosen], sample_ids=index.sample_id[chosen])
    check_bands(x, FUSED_BANDS).raise_if_failed()
    return x.astype(np.float32)


def split_reports(index: SampleIndex, seed: int = 0) -> dict[str, SplitReport]:
    """The Week 3 split, Keras ``validation_split=0.2`` on the class-sorted samples, and the reference split."""
    y, groups = index.class_id, index.polygon_id
    week3_train, week3_val = index.where("train"), index.where("val")
    keras_train, keras_val = keras_validation_split(len(index), 0.2)
    ref_train, ref_val = stratified_group_split(y, groups, 0.2, seed)
    return {
        name: check_split(y[tr], y[va], groups[tr], groups[va])
        for name, (tr, va) in {"week3": (week3_train, week3_val), "keras_validation_split": (keras_train, keras_val),
                               "stratified_group_split": (ref_train, ref_val)}.items()
    }


def run_data_pipeline(data_root: Path, out: Path, progress: Callable[[str], None] | None = None,
                      show_progress: bool = True) -> PipelineResult:
    """Run the pipeline on ``data_root`` and write its outputs under ``out``.

    Raises:
        FileNotFoundError: if a source file or the sample index is missing.
        QualityError: if extracted patches hold NaN or out-of-range values.
    """
    data_root, out = Path(data_root), Path(out)
    steps = ["read sources", "align onto the S2 grid", "check alignment", "quality control", "extract patches",
             "check splits", "write report and figure"]
    bar = tqdm(steps, desc="data pipeline", unit="step", disable=not show_progress)
    files: list[Path] = []

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        if progress:
            progress(name)

    step(steps[0])
    sources = load_sources(data_root)
    index = read_sample_index(data_root / layout.SAMPLE_INDEX)
    bar.update()
    step(steps[1])
    stack = fuse(sources)
    files.append(write_raster(out / FUSED_STACK,
                              Raster(np.moveaxis(stack.data, -1, 0), stack.grid, stack.band_names, np.nan)))
    bar.update()
    step(steps[2])
    alignment = check_alignment(stack, sources.modis, sources.dem)
    bar.update()
    step(steps[3])
    qc_scene = check_bands(stack.data, FUSED_BANDS, allow_nan=True)
    nodata_px = int(np.isnan(stack.data).any(axis=-1).sum())
    bar.update()
    step(steps[4])
    consistency = {}
    for split, path in (("train", layout.X_TRAIN_FUSED), ("val", layout.X_VAL_FUSED)):
        x = fused_patches(stack, index, split)
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        np.save(out / path, x)
        files.append(out / path)
        week3_path = data_root / (layout.X_TRAIN if split == "train" else layout.X_VAL)
        if week3_path.exists():
            week3 = to_reflectance(np.load(week3_path))  # Week 3 stores digital numbers
            same = week3.shape == x[..., :6].shape and bool(np.allclose(week3, x[..., :6], rtol=1e-6, atol=0))
            consistency[split] = {"shape": list(x.shape), "s2_bands_equal_week3": same}
    bar.update()
    step(steps[5])
    splits = split_reports(index)
    bar.update()
    step(steps[6])
    report = {
        "data_root": str(data_root),
        "grid": stack.grid.describe(),
        "band_order": list(FUSED_BANDS),
        "alignment": [{**asdict(a), "message": a.message} for a in alignment],
        "quality_control": {"ok": qc_scene.ok, "findings": qc_scene.messages, "nodata_pixels": nodata_px},
        "patches": consistency,
        "splits": {name: {**asdict(r), "ok": r.ok} for name, r in splits.items()},
    }
    (out / REPORT).parent.mkdir(parents=True, exist_ok=True)
    (out / REPORT).write_text(json.dumps(report, indent=1, default=float) + "\n")
    files.append(out / REPORT)
    from geoai_ref.plots import pipeline_overview

    truth_path = data_root / layout.LANDCOVER_TRUTH
    truth = read_raster(truth_path).data[0] if truth_path.exists() else None
    modis_nearest = resample_band(sources.modis, "MODIS_NDVI", stack.grid, Resampling.nearest)
    files.append(pipeline_overview(stack, modis_nearest, truth, index, splits, out / FIGURE))
    bar.update()
    bar.close()
    return PipelineResult(out=out, files=files, report=report)

