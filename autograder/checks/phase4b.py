"""Phase 4B hidden checks: alignment, stacking, patches, QC, split, band-reduction model, band selection,
and the submitted artifacts (fusion model, ablation JSON + figure, config.yaml, baseline report; the fused arrays
are judged by autograder/trusted/fused.py).

Student functions are run (in a probe) on the hidden scene (``autograder/hidden_data``: another grid and AOI) or
on random inputs and compared with :mod:`geoai_ref`, with tolerances that accept every correct method.
Artifact checks read the files the student submitted (paths relative to the notebook folder) and reuse
:mod:`geoai_ref.deliverables`; submitted models are inspected statically, never loaded.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.checks.common import CheckFailed, as_array, call, expect, fail_on
from autograder.paths import HIDDEN_DATA
from autograder.probes.facts import LayerFacts, ModelFacts, type_name
from geoai_ref import layout
from geoai_ref.ablation import BAND_SUBSETS
from geoai_ref.bands import FUSED_BANDS
from geoai_ref.classes import NUM_CLASSES

VAL_SHARE_TOLERANCE = 0.15  # |val share - requested fraction| allowed on small grouped data sets
FIXES = {
    "nearest-neighbour resampling": "use resampling=Resampling.bilinear in reproject / WarpedVRT",
    "a half-pixel shift": "use the rasters' own transforms (src.transform, s2.transform) unchanged: pixel "
                          "centres are at +0.5, do not shift the origin by half a pixel yourself",
}


def _fix_for(diagnosis: str) -> str:
    for key, fix in FIXES.items():
        if diagnosis.startswith(key):
            return fix
    return ("resample with rasterio.warp.reproject(..., resampling=Resampling.bilinear) from the source's own "
            "transform and CRS onto the Sentinel-2 transform, CRS and shape")


# --- 4b_align ---------------------------------------------------------------------------------------------

def _with_fill_block(source: Path, dest: Path) -> tuple[int, int]:
    """Copy ``source`` to ``dest`` with a 4x4 block of nodata in its middle; returns the block's top-left."""
    import rasterio

    with rasterio.open(source) as src:
        profile = src.profile
        data = src.read()
        tags = src.tags(1)
        names = src.descriptions
    r0, c0 = data.shape[1] // 2 - 2, data.shape[2] // 2 - 2
    data[:, r0:r0 + 4, c0:c0 + 4] = profile["nodata"]
    with rasterio.open(dest, "w", **profile) as dst:
        dst.write(data)
        dst.update_tags(1, **tags)
        dst.set_band_description(1, names[0] or "")
    return r0, c0


@functools.cache
def _holed_modis(data_dir: Path) -> Path:
    """The hidden MODIS raster with a 4x4 block of fill values, written once per process (removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="geoai_align_check_"))
    atexit.register(shutil.rmtree, folder, True)
    _with_fill_block(data_dir / layout.MODIS_NDVI, folder / "modis_with_fill.tif")
    return folder / "modis_with_fill.tif"


def align_calls(data_dir: Path = HIDDEN_DATA) -> list[tuple]:
    """The calls of :func:`check_align`: ``align_to_s2(source_path, s2_path)`` for the hidden MODIS and DEM, then
    for MODIS with fill values."""
    s2_path = data_dir / layout.S2_COMPOSITE
    return [("align_to_s2", (data_dir / rel, s2_path)) for rel in (layout.MODIS_NDVI, layout.SRTM_DEM)] \
        + [("align_to_s2", (_holed_modis(data_dir), s2_path))]


def check_align(align_to_s2: Callable, data_dir: Path = HIDDEN_DATA) -> None:
    """Run ``align_to_s2(source_path, s2_path)`` on the hidden MODIS and DEM rasters (:func:`align_calls`) and
    judge it with geoai_ref.alignment_check.check_resampled (tolerance-based: any correct bilinear method passes)."""
    from geoai_ref.alignment_check import check_resampled
    from geoai_ref.qc import check_bands
    from geoai_ref.rasterio_io import read_raster

    (_, (modis, s2_path)), (_, (dem, _)), (_, (holed, _)) = align_calls(data_dir)
    s2 = read_raster(s2_path)
    for name, path in (("MODIS_NDVI", modis), ("DEM", dem)):
        aligned = as_array(call(align_to_s2, path, s2_path, what=f"align_to_s2({path.name!r}, ...)"), "align_to_s2")
        expect(aligned.shape == s2.grid.shape,
               f"{name}: align_to_s2 returned shape {aligned.shape} for a Sentinel-2 raster of shape {s2.grid.shape} "
               "(another AOI than yours): take height, width, transform and CRS from the Sentinel-2 file, "
               "do not hard-code them")
        expect(aligned.dtype == np.float32, f"{name}: align_to_s2 returned {aligned.dtype}; return float32")
        expect(np.isfinite(aligned).mean() > 0.5,
               f"{name}: only {100 * np.isfinite(aligned).mean():.0f} % of the aligned pixels are finite: the source "
               "covers the whole Sentinel-2 grid; check dst_transform / dst_crs and the nodata handling")
        qc = check_bands(aligned[..., None], [name], allow_nan=True)
        expect(qc.ok, f"{name}: values not in physical units: " + " ".join(qc.messages)
               + " Convert with the band's 'scale' tag and mask src.nodata as NaN before resampling.")
        source = read_raster(path)
        report = check_resampled(aligned, s2.grid, s2.grid, source.physical(name), source.grid, name)
        if not report.passed:
            diagnosis = report.diagnosis or "neither bilinear resampling nor a known mistake"
            raise CheckFailed(f"{report.message}. Diagnosis: {diagnosis}. Fix: {_fix_for(report.diagnosis)}.")
    # nodata must be masked *before* resampling, so fill values never blend into valid pixels
    aligned = as_array(call(align_to_s2, holed, s2_path, what="align_to_s2 (MODIS with fill values)"), "align_to_s2")
    finite = aligned[np.isfinite(aligned)]
    expect(finite.size == 0 or float(finite.min()) >= -0.2,
           f"MODIS with fill values -3000: aligned values go down to {float(finite.min()):.3f} (below NDVI -0.2): "
           "the fill value leaked into the interpolation. Set stored == src.nodata to NaN (after scaling) and pass "
           "src_nodata=np.nan, dst_nodata=np.nan to reproject.")
    expect(np.isnan(aligned).any(),
           "MODIS with a block of fill values -3000: no aligned pixel is NaN; nodata must become NaN")


# --- 4b_stack ---------------------------------------------------------------------------------------------

def _stack_cases(seed: int = 7) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    """Eight named (13, 17) bands, and the two dicts :func:`check_stack` passes (other key orders)."""
    rng = np.random.default_rng(seed)
    h, w = 13, 17
    bands = {name: (rng.random((h, w)) + 10 * i).astype(np.float64) for i, name in enumerate(FUSED_BANDS)}
    orders = (list(reversed(FUSED_BANDS)), [str(n) for n in rng.permutation(FUSED_BANDS)])
    return bands, [{name: bands[name] for name in order} for order in orders]


def stack_calls() -> list[tuple]:
    """The calls of :func:`check_stack`."""
    return [("stack_fused", (given,)) for given in _stack_cases()[1]]


def check_stack(stack_fused: Callable) -> None:
    """``stack_fused(bands: dict name -> (H, W))`` must return (H, W, 8) float32 in FUSED_BANDS order,
    whatever the dict's order."""
    bands, given = _stack_cases()
    h, w = next(iter(bands.values())).shape
    for dict_in_another_order in given:
        out = as_array(call(stack_fused, dict_in_another_order, what="stack_fused"), "stack_fused")
        expect(out.shape == (h, w, len(FUSED_BANDS)),
               f"stack_fused returned shape {out.shape} for bands of shape {(h, w)}; expected {(h, w, 8)} "
               "(channels last: np.stack(..., axis=-1))")
        expect(out.dtype == np.float32, f"stack_fused returned {out.dtype}; return float32")
        for i, name in enumerate(FUSED_BANDS):
            if not np.allclose(out[..., i], bands[name].astype(np.float32)):
                found = [n for n in FUSED_BANDS if np.allclose(out[..., i], bands[n].astype(np.float32))]
                raise CheckFailed(f"channel {i} should be {name} but holds {found[0] if found else 'other values'}: "
                                  f"stack by name in the order {list(FUSED_BANDS)}, not in the dict's order")


# --- 4b_patches -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _PatchCase:
    stack: np.ndarray
    rows: np.ndarray  # interior locations first: room to diagnose an off-by-one
    cols: np.ndarray
    edge_rows: np.ndarray  # the extreme valid locations
    edge_cols: np.ndarray


def _patch_cases(seed: int = 11) -> tuple[list[_PatchCase], np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Random stacks with interior and edge locations, and a 20x20 stack with locations too close to its edge."""
    rng = np.random.default_rng(seed)
    cases = []
    for h, w, c in ((40, 50, 8), (33, 21, 3)):
        stack = rng.random((h, w, c)).astype(np.float32)
        rows, cols = rng.integers(5, h - 5, 25), rng.integers(5, w - 5, 25)
        cases.append(_PatchCase(stack, rows, cols, np.array([4, h - 4, 4]), np.array([4, w - 4, w - 4])))
    small = rng.random((20, 20, 2)).astype(np.float32)
    return cases, small, [(np.array([2]), np.array([10])), (np.array([10]), np.array([17]))]


def patches_calls() -> list[tuple]:
    """The calls of :func:`check_patches`."""
    cases, small, too_close = _patch_cases()
    calls = [("extract_patches", args) for case in cases
             for args in ((case.stack, case.rows, case.cols), (case.stack, case.edge_rows, case.edge_cols))]
    return calls + [("extract_patches", (small, rows, cols)) for rows, cols in too_close]


def check_patches(extract_patches: Callable) -> None:
    """Compare with geoai_ref.patches.extract_patches on random stacks and locations (and edge cases)."""
    from geoai_ref.patches import extract_patches as reference

    cases, small, too_close = _patch_cases()
    for case in cases:
        stack, rows, cols = case.stack, case.rows, case.cols
        h, w, c = stack.shape
        want = reference(stack, rows, cols)
        got = as_array(call(extract_patches, stack, rows, cols, what="extract_patches"), "extract_patches")
        expect(got.shape == want.shape,
               f"extract_patches returned shape {got.shape}; expected {want.shape} (N, 8, 8, bands)")
        if not np.array_equal(got, want):
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    if (dr, dc) != (0, 0) and np.array_equal(got, reference(stack, rows + dr, cols + dc)):
                        raise CheckFailed(f"patches are off by ({dr:+d} rows, {dc:+d} cols): a patch covers rows "
                                          "row-4 .. row+3 and cols col-4 .. col+3 (stack[row-4:row+4, col-4:col+4])")
            raise CheckFailed("extract_patches returns other values than stack[row-4:row+4, col-4:col+4, :] "
                              "for each (row, col)")
        got = as_array(call(extract_patches, stack, case.edge_rows, case.edge_cols,
                            what="extract_patches at the edges"), "extract_patches")
        expect(got.shape == (3, 8, 8, c) and np.array_equal(got, reference(stack, case.edge_rows, case.edge_cols)),
               f"on a {h}x{w} raster, locations (4, 4) and ({h - 4}, {w - 4}) are valid (the patch ends at the last "
               "pixel) and must give stack[row-4:row+4, col-4:col+4]")
    for rows, cols in too_close:
        try:
            extract_patches(small, rows, cols)
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001
            raise CheckFailed(f"a location too close to the edge raised {type(exc).__name__}, expected ValueError") \
                from None
        raise CheckFailed(f"(row {rows[0]}, col {cols[0]}) on a 20x20 raster is too close to the edge for an 8x8 "
                          "patch: raise ValueError instead of returning a cut or wrapped patch")


# --- 4b_qc ------------------------------------------------------------------------------------------------

def _qc_cases(data_dir: Path = HIDDEN_DATA, seed: int = 3) -> tuple[list[tuple], list[tuple[str, np.ndarray]]]:
    """Clean (patches, band names) the check passes, and (what is wrong, patches) with one bad value each."""
    x = np.load(data_dir / layout.X_HIDDEN_FUSED, allow_pickle=False).astype(np.float32)
    clean = [(x, list(FUSED_BANDS)), (x[..., [2, 7]], ["B4", "DEM"])]
    rng = np.random.default_rng(seed)
    bad_values = {"B4": 1.5, "B11": -0.1, "MODIS_NDVI": -0.5, "DEM": 9500.0}
    cases = [("NaN in " + name, name, np.nan) for name in ("B2", "MODIS_NDVI", "DEM")]
    cases += [(f"{name} = {v:g}", name, v) for name, v in bad_values.items()]
    cases.append(("raw MODIS integers (NDVI x 10000)", "MODIS_NDVI", 5000.0))
    bad = []
    for what, name, value in cases:
        patches = x.copy()
        idx = tuple(rng.integers(0, s) for s in patches.shape[:-1])
        patches[idx + (FUSED_BANDS.index(name),)] = value
        bad.append((what, patches))
    return clean, bad


def qc_calls(data_dir: Path = HIDDEN_DATA) -> list[tuple]:
    """The calls of :func:`check_qc`."""
    clean, bad = _qc_cases(data_dir)
    return [("quality_check", args) for args in clean] + [("quality_check", (x, list(FUSED_BANDS))) for _, x in bad]


def check_qc(quality_check: Callable, data_dir: Path = HIDDEN_DATA) -> None:
    """Clean hidden patches pass; NaN and out-of-range values (any band) raise ValueError."""
    clean, bad_cases = _qc_cases(data_dir)
    (x, names), (x_two, two_names) = clean
    summary = call(quality_check, x, names, what="quality_check on clean data")
    expect(summary is not None, "quality_check returned None on clean data: return a summary (e.g. a dict of "
                                "per-band min / max)")
    call(quality_check, x_two, two_names, what="quality_check on the bands B4, DEM")
    for what, bad in bad_cases:
        try:
            quality_check(bad, list(FUSED_BANDS))
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001
            raise CheckFailed(f"quality_check with {what} raised {type(exc).__name__}; raise ValueError") from None
        raise CheckFailed(f"quality_check accepted patches with {what} (one value): raise ValueError when any value "
                          "is NaN or outside its band's range (reflectance 0..1, NDVI -0.2..1, DEM -500..9000 m)")


# --- 4b_split ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _SplitCase:
    y: np.ndarray
    groups: np.ndarray
    val_fraction: float
    seed: int
    where: str

    @property
    def call(self) -> tuple:
        return "stratified_group_split", (self.y, self.groups), {"val_fraction": self.val_fraction, "seed": self.seed}


def _split_cases(sample_index: Path | None = None, n_generated: int = 25, seed: int = 2026) -> list[_SplitCase]:
    """The real sample index of the hidden scene, class-sorted (as Keras validation_split would see it), then
    ``n_generated`` generated polygon data sets (2-5 classes, 5-10 polygons each of 2-6 samples)."""
    import csv

    path = sample_index or HIDDEN_DATA / layout.SAMPLE_INDEX
    with path.open() as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["class_id"]))
    y = np.array([int(r["class_id"]) for r in rows])
    cases = [_SplitCase(y, np.array([int(r["polygon_id"]) for r in rows]), 0.2, 42,
                        f"on {len(y)} class-sorted samples of another scene")]
    rng = np.random.default_rng(seed)
    for _ in range(n_generated):
        labels: list[int] = []
        groups: list[int] = []
        for c in range(int(rng.integers(2, 6))):
            for _ in range(int(rng.integers(5, 11))):
                size = int(rng.integers(2, 7))  # polygons give several patches each
                labels += [c] * size
                groups += [len(set(groups))] * size
        fraction, split_seed = float(rng.choice([0.2, 0.25, 0.3])), int(rng.integers(0, 1001))
        y, g = np.array(labels), np.array(groups)
        cases.append(_SplitCase(y, g, fraction, split_seed, f"on {len(y)} samples, {np.unique(g).size} polygons, "
                                                            f"{np.unique(y).size} classes, val_fraction={fraction}"))
    return cases


def split_calls() -> list[tuple]:
    """The calls of :func:`check_split`: each case twice (the same seed must give the same split)."""
    return [case.call for case in _split_cases() for _ in range(2)]


def _judge_split(split: Callable, case: _SplitCase) -> tuple[np.ndarray, np.ndarray]:
    y, groups, fraction, where = case.y, case.groups, case.val_fraction, case.where
    result = call(split, y, groups, val_fraction=fraction, seed=case.seed, what="stratified_group_split")
    expect(isinstance(result, tuple | list) and len(result) == 2,
           "stratified_group_split must return two index arrays (train_idx, val_idx)")
    train, val = (as_array(r, "stratified_group_split") for r in result)
    n = len(y)
    expect(train.dtype.kind in "iu" and val.dtype.kind in "iu",
           f"{where}: return integer index arrays (np.flatnonzero(mask) turns a boolean mask into indices)")
    expect(not set(train.tolist()) & set(val.tolist()), f"{where}: some samples are on both sides")
    expect(sorted([*train.tolist(), *val.tolist()]) == list(range(n)),
           f"{where}: train_idx and val_idx together must hold every index 0..{n - 1} exactly once")
    leaked = sorted(set(groups[train].tolist()) & set(groups[val].tolist()))
    expect(not leaked, f"{where}: polygon(s) {leaked[:5]} have samples on both sides (leakage): split whole "
                       "polygons, e.g. StratifiedGroupKFold(...).split(X, y, groups)")
    for c in np.unique(y):
        if np.unique(groups[y == c]).size >= 2:
            expect(c in y[val], f"{where}: class {c} has several polygons but none in validation: stratify "
                                "(StratifiedGroupKFold) and pick a fold that holds every class")
            expect(c in y[train], f"{where}: class {c} has several polygons but none in training")
    share = len(val) / n
    expect(abs(share - fraction) <= VAL_SHARE_TOLERANCE,
           f"{where}: validation holds {100 * share:.0f} % of the samples, asked for {100 * fraction:.0f} %")
    again = call(split, y, groups, val_fraction=fraction, seed=case.seed, what="stratified_group_split")
    expect(isinstance(again, tuple | list) and len(again) == 2
           and np.array_equal(np.sort(as_array(again[1], "val_idx")), np.sort(val)),
           f"{where}: two calls with the same seed gave different splits: pass the seed as random_state")
    return train, val


def check_split(split: Callable) -> None:
    """Properties of the split on the real, class-sorted sample index (also its class proportions, as
    geoai_ref.splits.check_split judges them) and on generated polygon data sets (:func:`_split_cases`): every
    valid split passes, whatever method made it."""
    from geoai_ref.splits import check_split as reference_check

    real, *generated = _split_cases()
    train, val = _judge_split(split, real)
    report = reference_check(real.y[train], real.y[val], real.groups[train], real.groups[val])
    expect(report.ok, f"{real.where}: " + "; ".join(report.problems))
    for case in generated:
        _judge_split(split, case)


# --- 4b_band_reduction ------------------------------------------------------------------------------------

def _backbone(model: ModelFacts) -> LayerFacts | None:
    """The nested model holding ResNet-50's first convolution, if there is one."""
    return next((layer for layer in model.layers if layer.is_a("Model")
                 and any(inner.name == "conv1_conv" for inner in model.inner(layer.name))), None)


#: Band counts the fusion model is built for (not the notebook's 8), and the inputs' seed.
BAND_REDUCTION_CASES = (4, 7)


def _band_reduction_inputs(band_counts: tuple[int, ...] = BAND_REDUCTION_CASES, seed: int = 5) -> list[np.ndarray]:
    """Training patches per band count, bands on very different scales (as the fused bands are)."""
    rng = np.random.default_rng(seed)
    return [rng.random((16, 8, 8, n)).astype(np.float32) * np.linspace(1, 100, n, dtype=np.float32)
            for n in band_counts]


def band_reduction_calls() -> list[tuple]:
    """The calls of :func:`check_band_reduction`."""
    return [("build_fusion_resnet", (x.shape[-1], x)) for x in _band_reduction_inputs()]


def check_band_reduction(build: Callable) -> None:
    """Build for other band counts: input (None, 8, 8, N), output (None, NUM_CLASSES), a 1x1 Conv2D N->3 ahead of a
    nested ResNet-50, softmax rows summing to 1, no Lambda layer (judged from the probe's description of the
    model, :class:`~autograder.probes.facts.ModelFacts`)."""
    for x in _band_reduction_inputs():
        n = x.shape[-1]
        what = f"build_fusion_resnet({n}, x_train)"
        model = call(build, n, x, what=what)
        expect(isinstance(model, ModelFacts), f"{what} returned {type_name(model)}, not a keras.Model")
        expect(model.input_shape == (None, 8, 8, n),
               f"{n} bands: input shape {model.input_shape}, expected (None, 8, 8, {n}): use keras.Input((8, 8, "
               "n_bands)), not a fixed 3 or 8")
        expect(model.output_shape == (None, NUM_CLASSES),
               f"{n} bands: output shape {model.output_shape}, expected (None, {NUM_CLASSES})")
        expect(not any(layer.is_a("Lambda") for layer in model.all_layers),
               "the model has a Lambda layer: use built-in layers (Lambda layers run code when loaded)")
        base = _backbone(model)
        expect(base is not None, "no nested ResNet-50: create keras.applications.ResNet50(include_top=False, ...) "
                                 "and call it on a tensor (x = base(x))")
        base_input = base.input_shape or (None, None, None, None)
        expect(base_input[-1] == 3, f"the ResNet-50 takes {base_input[-1]} channels; the band-reduction "
                                    "design feeds it 3 (1x1 Conv2D N->3 in front)")
        spatial = base_input[1:3]
        expect(all(s is None or s >= 32 for s in spatial),
               f"the ResNet-50 input is {spatial}: up-sample the 8x8 patches to at least 32x32 (keras.layers.Resizing)")
        order = model.layers
        adapters = [i for i, layer in enumerate(order) if layer.is_a("Conv2D") and layer.kernel_size == (1, 1)
                    and layer.filters == 3 and layer.kernel_shape == (1, 1, n, 3)]
        expect(bool(adapters), f"{n} bands: no 1x1 Conv2D mapping {n} bands to 3 (keras.layers.Conv2D(3, 1)) "
                               "in the outer model")
        expect(adapters[0] < order.index(base), "the 1x1 band-reduction Conv2D must come before the ResNet-50")
        head = [layer for layer in order if layer.is_a("Dense")]
        expect(bool(head) and head[-1].units == NUM_CLASSES, f"the head needs a Dense({NUM_CLASSES}, "
                                                             "activation='softmax') layer")
        probs = model.predictions
        expect(probs is not None and probs.shape == (3, NUM_CLASSES) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
               and bool((probs >= 0).all()), "the outputs are not probabilities: end with activation='softmax'")


# --- 4b_select_bands --------------------------------------------------------------------------------------

def _select_cases(seed: int = 9) -> tuple[np.ndarray, list[list[str]], list[list[str]]]:
    """A random fused array, lists of band names in several orders, and lists naming a band that does not exist."""
    rng = np.random.default_rng(seed)
    x = rng.random((6, 8, 8, 8)).astype(np.float32)
    names_list = [["DEM", "B2"], ["MODIS_NDVI"], [str(n) for n in rng.permutation(FUSED_BANDS)],
                  ["B12", "B11", "DEM", "B3"], *map(list, BAND_SUBSETS.values())]
    return x, names_list, [["B5"], ["B2", "NDVI"]]


def select_bands_calls() -> list[tuple]:
    """The calls of :func:`check_select_bands`."""
    x, names_list, unknown = _select_cases()
    return [("select_bands", (x, names)) for names in names_list + unknown]


def check_select_bands(select_bands: Callable) -> None:
    """Random arrays and band-name orders against direct indexing; unknown names raise KeyError / ValueError."""
    x, names_list, unknown = _select_cases()
    for names in names_list:
        got = as_array(call(select_bands, x, names, what=f"select_bands(x, {names})"), "select_bands")
        want = x[..., [FUSED_BANDS.index(n) for n in names]]
        expect(got.shape == want.shape, f"select_bands(x, {names}) returned shape {got.shape}, expected {want.shape}")
        expect(np.array_equal(got, want), f"select_bands(x, {names}) returned the wrong channels: channel k must be "
                                          f"the band names[k], looked up in {list(FUSED_BANDS)}")
    for bad in unknown:
        try:
            select_bands(x, bad)
        except (KeyError, ValueError):
            continue
        except Exception as exc:  # noqa: BLE001
            raise CheckFailed(f"select_bands(x, {bad}) raised {type(exc).__name__}; raise KeyError") from None
        raise CheckFailed(f"select_bands(x, {bad}) returned an array: raise KeyError for a band that is not in "
                          f"{list(FUSED_BANDS)}")


# --- artifacts --------------------------------------------------------------------------------------------

def _ablation(root: Path):
    from geoai_ref.deliverables import DeliverablesReport, check_json
    from geoai_ref.schemas import AblationStudy, read_json

    report = DeliverablesReport()
    check_json(report, root / layout.PHASE4B_ABLATION, layout.PHASE4B_ABLATION, AblationStudy)
    fail_on(report)
    return read_json(root / layout.PHASE4B_ABLATION, AblationStudy)


def check_fusion_model(root: Path | str = ".") -> None:
    """The 8-band fusion model (static .h5 inspection) and its 'Full' result in the ablation JSON, not collapsed."""
    from geoai_ref.deliverables import DeliverablesReport, check_model

    root = Path(root)
    report = DeliverablesReport()
    check_model(report, root / layout.PHASE4B_MODEL, layout.PHASE4B_MODEL, 8)
    fail_on(report)
    study = _ablation(root)
    try:
        full = study.result("Full")
    except KeyError as exc:
        raise CheckFailed(f"{layout.PHASE4B_ABLATION}: {exc.args[0]}: record the fusion model as 'Full'") from None
    expect(len(full.bands) == 8, f"{layout.PHASE4B_ABLATION}: 'Full' has {len(full.bands)} bands, expected 8")
    collapse = full.collapse or {}
    expect(not collapse.get("collapsed", False),
           f"the fusion model collapsed: {100 * collapse.get('majority_share', 1):.0f} % of its predictions are "
           f"{collapse.get('majority_class_name', 'one class')}. Normalise per band with training statistics, keep "
           "BatchNorm frozen, freeze less of the backbone (about 60 %) and check that validation holds every class")


def check_ablation_artifacts(root: Path | str = ".") -> None:
    """The ablation JSON holds S2, S2+MODIS, S2+DEM and Full with their bands; the comparison figure is not blank."""
    from geoai_ref.deliverables import DeliverablesReport, check_figure

    root = Path(root)
    study = _ablation(root)
    expect(str(study.phase).upper() == "4B", f"{layout.PHASE4B_ABLATION}: phase is {study.phase!r}, expected '4B'")
    names = [r.name for r in study.configurations]
    missing = [n for n in BAND_SUBSETS if n not in names]
    expect(not missing, f"{layout.PHASE4B_ABLATION}: configuration(s) {missing} missing (have {names}); the "
                        f"ablation needs {list(BAND_SUBSETS)}")
    for name, bands in BAND_SUBSETS.items():
        got = list(study.result(name).bands)
        expect(sorted(got) == sorted(bands),
               f"{layout.PHASE4B_ABLATION}: {name} has bands {got}, expected {list(bands)}")
    expect(study.best_configuration in names, f"{layout.PHASE4B_ABLATION}: best_configuration "
                                              f"{study.best_configuration!r} is not one of {names}")
    report = DeliverablesReport()
    check_figure(report, root / layout.PHASE4B_SENSOR_FIGURE, layout.PHASE4B_SENSOR_FIGURE)
    fail_on(report)


CONFIG_CONCEPTS = {
    "bands": ("band",),
    "resampling": ("resampl",),
    "patch size": ("patch",),
    "split": ("split", "val_fraction", "validation"),
    "seed": ("seed",),
    "learning rate": ("learning_rate", "learning rate", "lr"),
    "batch size": ("batch",),
    "epochs": ("epoch",),
    "freeze ratio": ("freez", "frozen"),
}


def _keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [str(k).lower() for k in value] + [k for v in value.values() for k in _keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def check_config(root: Path | str = ".") -> None:
    """config.yaml: a YAML mapping naming every parameter of the pipeline (nested keys allowed)."""
    import yaml

    from geoai_ref.deliverables import DeliverablesReport, check_text

    root = Path(root)
    report = DeliverablesReport()
    check_text(report, root / layout.CONFIG, layout.CONFIG)
    fail_on(report)
    keys = _keys(yaml.safe_load((root / layout.CONFIG).read_text()))
    missing = [concept for concept, words in CONFIG_CONCEPTS.items()
               if not any(w in k if len(w) > 2 else w == k for k in keys for w in words)]
    expect(not missing, f"{layout.CONFIG} has no key for {missing}: record every parameter needed to re-run the "
                        f"pipeline ({', '.join(CONFIG_CONCEPTS)})")


def check_baseline_report(root: Path | str = ".") -> None:
    """reports/baseline_report.md: substantial, with methods, results, failures and next-steps headings."""
    from geoai_ref.deliverables import DeliverablesReport, check_text

    root = Path(root)
    report = DeliverablesReport()
    check_text(report, root / layout.BASELINE_REPORT, layout.BASELINE_REPORT)
    if report.failures and "missing section" in report.failures[0].message:
        raise CheckFailed(f"{layout.BASELINE_REPORT}: {report.failures[0].message}: use markdown headings "
                          "'## Methods', '## Results', '## Failures', '## Next steps'")
    fail_on(report)

