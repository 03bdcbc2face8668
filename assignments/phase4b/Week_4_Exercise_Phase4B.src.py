# %% [markdown]
# # Week 4, Phase 4B: Multi-Sensor Fusion
#
# In Phase 4A you adapted a ResNet-50 to 6-band Sentinel-2 patches. Here you add two more sensors:
# **MODIS NDVI** (MOD13Q1, 231.656 m pixels, sinusoidal projection) and **SRTM elevation** (1 arc-second,
# EPSG:4326). You will
#
# 1. align both onto the Sentinel-2 10 m grid (UTM 18S) and verify the alignment,
# 2. stack the 8 bands `[B2, B3, B4, B8, B11, B12, MODIS_NDVI, DEM]`, cut 8x8 patches at the Week 3 sample
#    locations, check their quality and save the fused dataset,
# 3. split by polygon with stratification, and build a ResNet-50 with a 1x1 band-reduction adapter,
# 4. run the ablation S2 / S2+MODIS / S2+DEM / Full and analyse which sensor helps,
# 5. document the baseline pipeline (`config.yaml`, `reports/baseline_report.md`).
#
# Your folder holds `rasters/s2_l2a_composite.tif`, `rasters/modis_ndvi.tif` (the austral-summer 2019 MODIS NDVI
# composite, already made with Earth Engine), `rasters/srtm_dem.tif`, `data/processed/sample_index.csv` and the
# Week 3 arrays `data/processed/{X,y}_{train,val}.npy`.
#
# **How this notebook is graded.** Write your code where it says `YOUR CODE HERE` (functions in the task cells,
# the pipeline in the work cells). The cells after each task test it: visible asserts here, more tests on
# data you have not seen when it is graded. Run the whole notebook with the full epoch budget before you
# submit: the files it writes (fused arrays, model, ablation JSON, figure, config, report) are graded as
# submitted. When the notebook is autograded it runs again with 1 epoch and writes into `_autograder_outputs/`,
# so your submitted files are never overwritten. Use `verbose=0` in `fit` / `predict`: a graded cell that writes
# to stderr scores 0.

# %% include="setup_cell.py"

# %% nbgrader={"grade_id": "4b_test_helper"}
# Given (locked): the test cells call your functions through this, so an unwritten task says so plainly.
def run_task(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(f"{fn.__name__} is not implemented yet: replace `raise NotImplementedError()` "
                             "with your code, run its cell, then this test again") from None

# %% [markdown]
# ## 1. Multi-sensor data preparation
#
# The three sources live on three different grids:
#
# | source | CRS | pixel | stored as | physical value |
# |---|---|---|---|---|
# | Sentinel-2 L2A | EPSG:32718 (UTM 18S) | 10 m | uint16, nodata 0 | reflectance = stored x 1e-4 |
# | MODIS MOD13Q1 NDVI | MODIS sinusoidal | 231.656 m | int16, fill -3000 | NDVI = stored x 1e-4 |
# | SRTM GL1 | EPSG:4326 | 1 arc-second (~30 m) | int16, nodata -32768 | metres |
#
# Every GeoTIFF stores its scale factor in the band tag `scale` (`src.tags(1)["scale"]`) and its nodata value in
# `src.nodata`. Convert to physical units and turn nodata into NaN **before** resampling; otherwise the fill
# value -3000 is interpolated into its neighbours.
#
# Resampling onto the Sentinel-2 grid means: for every 10 m pixel centre, interpolate the source at that point.
# Continuous bands (NDVI, elevation) need **bilinear** interpolation; nearest-neighbour leaves 231 m blocks.
# Let rasterio do the geometry (`rasterio.warp.reproject` with the source's and the Sentinel-2 file's own
# `transform` and `crs`, or a `WarpedVRT`): shifting origins by hand is how half-pixel shifts happen.

# %% nbgrader={"grade_id": "4b_align_code", "solution": true}
import rasterio
from rasterio.enums import Resampling
from rasterio.warp import reproject


def align_to_s2(source_path, s2_path):
    """Band 1 of the GeoTIFF ``source_path`` resampled onto the grid of the Sentinel-2 GeoTIFF ``s2_path``.

    Returns a (height, width) float32 array on the Sentinel-2 grid (its CRS, transform and shape), in physical
    units (stored value x the band's ``scale`` tag), NaN where there is no data. Bilinear resampling.
    """
    ### BEGIN SOLUTION
    with rasterio.open(s2_path) as s2:
        dst_crs, dst_transform, shape = s2.crs, s2.transform, (s2.height, s2.width)
    with rasterio.open(source_path) as src:
        stored = src.read(1)
        scale = float(src.tags(1).get("scale", 1.0))
        values = stored.astype(np.float32) * np.float32(scale)
        if src.nodata is not None:
            values[stored == src.nodata] = np.nan
        out = np.full(shape, np.nan, dtype=np.float32)
        reproject(values, out, src_transform=src.transform, src_crs=src.crs, src_nodata=np.nan,
                  dst_transform=dst_transform, dst_crs=dst_crs, dst_nodata=np.nan,
                  resampling=Resampling.bilinear)
    return out
    ### END SOLUTION


# %% nbgrader={"grade_id": "4b_align", "grade": true, "points": 5}
_modis = run_task(align_to_s2, "rasters/modis_ndvi.tif", "rasters/s2_l2a_composite.tif")
with rasterio.open("rasters/s2_l2a_composite.tif") as _s2:
    _shape = (_s2.height, _s2.width)
assert isinstance(_modis, np.ndarray) and _modis.shape == _shape, \
    f"align_to_s2 must return an array of the Sentinel-2 shape {_shape}; take height, width, transform, CRS from s2_path"
assert _modis.dtype == np.float32, f"return float32, not {_modis.dtype}"
assert np.isfinite(_modis).mean() > 0.9, "most aligned MODIS pixels are NaN: check dst_transform / dst_crs"
assert np.nanmax(_modis) <= 1.0 and np.nanmin(_modis) >= -0.2, \
    f"MODIS NDVI ranges {np.nanmin(_modis):g}..{np.nanmax(_modis):g}: multiply by the 'scale' tag and mask nodata"
_same = np.mean(_modis[:, 1:] == _modis[:, :-1])
assert _same < 0.5, (f"{100 * _same:.0f} % of neighbouring pixels are equal: blocks of 231 m mean nearest-neighbour "
                     "resampling; use resampling=Resampling.bilinear")
_dem = align_to_s2("rasters/srtm_dem.tif", "rasters/s2_l2a_composite.tif")
assert _dem.shape == _shape and -500 <= np.nanmin(_dem) and np.nanmax(_dem) <= 9000, "DEM: wrong shape or not metres"
print("visible alignment tests passed")

# %% [markdown]
# **Work cell.** Read the Sentinel-2 composite as reflectance (`(H, W, 6)` float32, nodata -> NaN), align MODIS
# NDVI and the DEM with `align_to_s2`, and show the alignment: MODIS and DEM next to a Sentinel-2 band, with a
# zoom where the 231 m MODIS pixels should look smooth (bilinear), not blocky. Keep `s2`, `modis_ndvi` and `dem`
# for the next sections.

# %% nbgrader={"grade_id": "4b_align_run", "solution": true}
### BEGIN SOLUTION
with rasterio.open("rasters/s2_l2a_composite.tif") as src:
    stored = src.read()
    s2 = stored.astype(np.float32) * np.float32(float(src.tags(1).get("scale", 1e-4)))
    s2[stored == src.nodata] = np.nan
    s2 = np.moveaxis(s2, 0, -1)  # (H, W, 6), channels last
modis_ndvi = align_to_s2("rasters/modis_ndvi.tif", "rasters/s2_l2a_composite.tif")
dem = align_to_s2("rasters/srtm_dem.tif", "rasters/s2_l2a_composite.tif")
print(f"S2 {s2.shape}, MODIS NDVI {modis_ndvi.shape} ({np.nanmin(modis_ndvi):.2f}..{np.nanmax(modis_ndvi):.2f}), "
      f"DEM {dem.shape} ({np.nanmin(dem):.0f}..{np.nanmax(dem):.0f} m)")

fig, axes = plt.subplots(1, 4, figsize=(16, 4), constrained_layout=True)
for ax, (title, image, cmap) in zip(axes, [("Sentinel-2 B8 (NIR)", s2[..., 3], "gray"),
                                           ("MODIS NDVI on the 10 m grid", modis_ndvi, "YlGn"),
                                           ("SRTM DEM on the 10 m grid (m)", dem, "terrain"),
                                           ("zoom: MODIS NDVI, 60x60 px", modis_ndvi[:60, :60], "YlGn")]):
    im = ax.imshow(image, cmap=cmap)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8)
plt.show()
### END SOLUTION

# %% [markdown]
# ## 2. Fused dataset creation
#
# ### 2.1 Stack the bands
# The fused stack is channels-last, in exactly this order: `FUSED_BANDS = [B2, B3, B4, B8, B11, B12, MODIS_NDVI,
# DEM]`. Phase 4C and the ablation select bands by position, so a swapped order silently trains on the wrong data.
#
# Write `stack_fused(bands)`: `bands` is a dict band name -> `(H, W)` array, in *any* order; return the
# `(H, W, 8)` float32 stack in `FUSED_BANDS` order.

# %% nbgrader={"grade_id": "4b_stack_code", "solution": true}
def stack_fused(bands):
    """The (H, W, 8) float32 stack of the dict ``bands`` (name -> (H, W) array), channels in FUSED_BANDS order."""
    ### BEGIN SOLUTION
    return np.stack([np.asarray(bands[name], dtype=np.float32) for name in FUSED_BANDS], axis=-1)
    ### END SOLUTION


# %% nbgrader={"grade_id": "4b_stack", "grade": true, "points": 3}
_bands = {name: np.full((3, 4), i, dtype=np.float64) for i, name in enumerate(FUSED_BANDS)}
_stack = run_task(stack_fused, dict(reversed(list(_bands.items()))))
assert np.shape(_stack) == (3, 4, 8), f"stack_fused returned shape {np.shape(_stack)}; expected (H, W, 8), channels last"
assert _stack.dtype == np.float32, f"return float32, not {_stack.dtype}"
assert list(_stack[0, 0]) == list(range(8)), \
    f"channels hold {list(_stack[0, 0])}: stack by name in FUSED_BANDS order, not in the dict's order"
print("visible stack tests passed")

# %% [markdown]
# ### 2.2 Extract patches
# Each sample of `data/processed/sample_index.csv` has a location `(row, col)` on the Sentinel-2 grid. An 8x8
# patch has no single centre pixel, so the convention (the one Week 3 used) is: the patch covers rows
# `row - 4 .. row + 3` and columns `col - 4 .. col + 3`, i.e. `stack[row-4:row+4, col-4:col+4, :]`.
#
# Write `extract_patches(stack, rows, cols, size=8)` returning `(N, size, size, C)` with the stack's dtype; raise
# `ValueError` if a patch would reach past the edge of the raster (NumPy would silently cut or wrap it).

# %% nbgrader={"grade_id": "4b_patches_code", "solution": true}
def extract_patches(stack, rows, cols, size=8):
    """Patches stack[row - size//2 : row + size//2, col - size//2 : col + size//2, :] as (N, size, size, C).

    Raises:
        ValueError: if a patch would reach past the raster.
    """
    ### BEGIN SOLUTION
    rows, cols = np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)
    half = size // 2
    h, w = stack.shape[:2]
    if ((rows - half < 0) | (cols - half < 0) | (rows + half > h) | (cols + half > w)).any():
        raise ValueError(f"some locations are closer than {half} pixels to the edge of the {h}x{w} raster")
    offsets = np.arange(-half, size - half)
    return stack[rows[:, None, None] + offsets[None, :, None], cols[:, None, None] + offsets[None, None, :], :]
    ### END SOLUTION


# %% nbgrader={"grade_id": "4b_patches", "grade": true, "points": 3}
import csv

_grid = np.arange(20 * 20 * 2, dtype=np.float32).reshape(20, 20, 2)
_p = run_task(extract_patches, _grid, np.array([10, 4]), np.array([6, 16]))
assert np.shape(_p) == (2, 8, 8, 2), f"extract_patches returned shape {np.shape(_p)}; expected (N, 8, 8, C)"
assert np.array_equal(_p[0], _grid[6:14, 2:10]), "patch at (10, 6) must be stack[6:14, 2:10]: rows row-4..row+3"
# The Sentinel-2 bands of your patches must reproduce Week 3's X_train exactly (both in digital numbers here)
with rasterio.open("rasters/s2_l2a_composite.tif") as _src:
    _s2 = np.moveaxis(_src.read().astype(np.float32), 0, -1)
_train = [r for r in csv.DictReader(open("data/processed/sample_index.csv")) if r["split"] == "train"]
_train.sort(key=lambda r: int(r["array_index"]))
_x = extract_patches(_s2, [int(r["row"]) for r in _train], [int(r["col"]) for r in _train])
assert np.allclose(_x, np.load("data/processed/X_train.npy"), atol=1e-6), \
    "Sentinel-2 patches at the training locations differ from Week 3's X_train: check the centring convention"
print("visible patch tests passed")

# %% [markdown]
# ### 2.3 Quality control
# Before training, every value must be finite and physically plausible. Use these ranges (inclusive):
# reflectance bands B2...B12 `0..1`, `MODIS_NDVI` `-0.2..1`, `DEM` `-500..9000` m. Typical failures: values
# above 1 (reflectance still x 10000), NDVI in thousands (MODIS scale not applied), -3000 or -32768 (fill values
# not masked), NaN (cloud holes, edges of a source).
#
# Write `quality_check(x, band_names)`: `x` has bands on its last axis, named by `band_names`. Raise `ValueError`
# (saying which band and what is wrong) if any value is NaN or out of range; otherwise return a summary, e.g. a
# dict band -> `{"min": ..., "max": ...}`.

# %% nbgrader={"grade_id": "4b_qc_code", "solution": true}
VALID_RANGES = {"B2": (0.0, 1.0), "B3": (0.0, 1.0), "B4": (0.0, 1.0), "B8": (0.0, 1.0), "B11": (0.0, 1.0),
                "B12": (0.0, 1.0), "MODIS_NDVI": (-0.2, 1.0), "DEM": (-500.0, 9000.0)}


def quality_check(x, band_names):
    """Per-band summary of ``x`` (..., bands); raises ValueError on NaN or values outside VALID_RANGES."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    if x.shape[-1] != len(band_names):
        raise ValueError(f"x has {x.shape[-1]} bands but {len(band_names)} names were given")
    summary, problems = {}, []
    for i, name in enumerate(band_names):
        values = x[..., i]
        lo, hi = VALID_RANGES[name]
        n_nan = int((~np.isfinite(values)).sum())
        if n_nan:
            problems.append(f"{name}: {n_nan} NaN / infinite values")
            continue
        vmin, vmax = float(values.min()), float(values.max())
        if vmin < lo or vmax > hi:
            problems.append(f"{name}: values {vmin:g}..{vmax:g} outside {lo:g}..{hi:g}")
        summary[name] = {"min": vmin, "max": vmax, "mean": float(values.mean())}
    if problems:
        raise ValueError("quality control failed: " + "; ".join(problems))
    return summary
    ### END SOLUTION


# %% nbgrader={"grade_id": "4b_qc", "grade": true, "points": 2}
_ok = np.full((2, 8, 8, 8), 0.5, dtype=np.float32)
assert run_task(quality_check, _ok, FUSED_BANDS) is not None, "return a summary (e.g. per-band min / max) when the data are clean"
for _band, _value in [("B4", np.nan), ("B8", 3500.0), ("MODIS_NDVI", -0.3), ("DEM", -32768.0)]:
    _bad = _ok.copy()
    _bad[0, 0, 0, FUSED_BANDS.index(_band)] = _value
    try:
        quality_check(_bad, FUSED_BANDS)
    except ValueError:
        continue
    raise AssertionError(f"quality_check accepted {_band} = {_value}: raise ValueError")
print("visible QC tests passed")

# %% [markdown]
# **Work cell.** Stack the 8 bands, extract the training and validation patches at the locations of
# `sample_index.csv` (train rows in `array_index` order, so they match `y_train`; the same for val), run
# `quality_check` on both, and save them with `np.save(output_path("data/processed/X_train_fused.npy"), ...)` and
# `X_val_fused.npy`. Keep `X_train_fused`, `X_val_fused`, `y_train`, `y_val` for training.

# %% nbgrader={"grade_id": "4b_fused_run", "solution": true}
### BEGIN SOLUTION
fused = stack_fused({**{name: s2[..., i] for i, name in enumerate(S2_BANDS)}, "MODIS_NDVI": modis_ndvi, "DEM": dem})
with open("data/processed/sample_index.csv") as f:
    samples = list(csv.DictReader(f))


def patches_of(split):
    rows = sorted((r for r in samples if r["split"] == split), key=lambda r: int(r["array_index"]))
    return extract_patches(fused, [int(r["row"]) for r in rows], [int(r["col"]) for r in rows])


X_train_fused, X_val_fused = patches_of("train"), patches_of("val")
y_train, y_val = np.load("data/processed/y_train.npy"), np.load("data/processed/y_val.npy")
for name, x in (("train", X_train_fused), ("val", X_val_fused)):
    summary = quality_check(x, FUSED_BANDS)
    print(name, x.shape, {b: f"{s['min']:.2f}..{s['max']:.2f}" for b, s in summary.items()})
assert np.allclose(X_train_fused[..., :6], np.load("data/processed/X_train.npy") / S2_SCALE)  # Week 3 stored DN
np.save(output_path("data/processed/X_train_fused.npy"), X_train_fused)
np.save(output_path("data/processed/X_val_fused.npy"), X_val_fused)
### END SOLUTION

# %% nbgrader={"grade_id": "4b_fused_arrays", "grade": true, "points": 2}
# Checks the files you SUBMITTED (written by the cell above when you ran it yourself).
for _rel, _n in (("data/processed/X_train_fused.npy", len(np.load("data/processed/y_train.npy"))),
                 ("data/processed/X_val_fused.npy", len(np.load("data/processed/y_val.npy")))):
    assert Path(_rel).exists(), f"{_rel} is missing: run the cell above (it saves with np.save(output_path(...)))"
    assert np.load(_rel).shape == (_n, 8, 8, 8), f"{_rel} must be ({_n}, 8, 8, 8), channels last"
print("fused arrays present")

# %% [markdown]
# ## 3. Train the fusion model
#
# ### 3.1 A split that keeps every class in validation
# The exercise's first fusion run scored **0 % validation accuracy**: `model.fit(..., validation_split=0.2)`
# takes the *last* 20 % of the arrays, before shuffling. Week 3 cut its samples polygon by polygon, in the order
# the polygons were digitised (class after class), so validation held a single class the model had never seen in
# training. The cell below shows it.
#
# Patches from one polygon are near-copies (Week 3 cut three overlapping 8x8 patches per polygon, at its centroid
# and jittered by up to 10 m); putting some in training and some in validation inflates accuracy.
# So split **whole polygons** and **stratify by class**: scikit-learn's `StratifiedGroupKFold` does both.
# Write `stratified_group_split(y, groups, val_fraction=0.2, seed=42)` returning integer index arrays
# `(train_idx, val_idx)` such that: no polygon is on both sides; every class with at least two polygons is on both
# sides; validation holds about `val_fraction` of the samples; the same seed gives the same split. (A single
# `StratifiedGroupKFold` fold can miss a small class: check, and pick another fold if needed.)

# %% nbgrader={"grade_id": "4b_split_code", "solution": true}
from sklearn.model_selection import StratifiedGroupKFold


def stratified_group_split(y, groups, val_fraction=0.2, seed=42):
    """(train_idx, val_idx): whole groups per side, every class with >= 2 groups on both sides, seeded."""
    ### BEGIN SOLUTION
    y, groups = np.asarray(y), np.asarray(groups)
    n_splits = max(2, min(round(1 / val_fraction), np.bincount(np.unique(y, return_inverse=True)[1]).max()))
    splittable = [c for c in np.unique(y) if np.unique(groups[y == c]).size >= 2]
    candidates = []
    for attempt in range(20):
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed + attempt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for train, val in splitter.split(np.zeros(len(y)), y, groups):
                covered = all(c in y[val] and c in y[train] for c in splittable)
                candidates.append((not covered, abs(len(val) / len(y) - val_fraction), attempt, train, val))
        if any(not c[0] for c in candidates):
            break
    _, _, _, train, val = min(candidates, key=lambda c: c[:3])
    in_val = np.isin(np.arange(len(y)), val)
    for c in splittable:  # last resort: move the smallest polygon of a missing class across
        for side in (True, False):
            if not (in_val == side)[y == c].any():
                donors = np.unique(groups[(y == c) & (in_val != side)])
                in_val[groups == min(donors, key=lambda g: np.sum(groups == g))] = side
    return np.flatnonzero(~in_val), np.flatnonzero(in_val)
    ### END SOLUTION


# %% nbgrader={"grade_id": "4b_split", "grade": true, "points": 4}
_y = np.repeat([0, 1, 2, 3, 4], 20)
_g = np.repeat(np.arange(25), 4)
_tr, _va = run_task(stratified_group_split, _y, _g, val_fraction=0.2, seed=42)
assert len(set(_tr) | set(_va)) == 100 and not set(_tr) & set(_va), "every sample must be on exactly one side"
assert set(_y[_va]) == {0, 1, 2, 3, 4}, f"validation holds classes {sorted(set(_y[_va]))}: stratify by class"
assert not set(_g[_tr]) & set(_g[_va]), "a polygon is on both sides: pass groups to StratifiedGroupKFold"
print("visible split tests passed")

# %% [markdown]
# **Work cell.** Show what Keras `validation_split=0.2` takes from the 375 Week 3 samples in the order Week 3 cut
# them (`sample_id` order), then split the same samples with `stratified_group_split` (groups = `polygon_id`), and
# print the class counts of both validation sets and of Week 3's own split (the `split` column), with the number of
# polygons each puts on **both** sides. Week 3's split is stratified by class but made patch by patch, so it leaks
# polygons: that is what you hold, and the ablation below keeps it (its patches match `y_train` / `y_val`, and its
# scores are comparable with Phase 4A), but read its accuracies as optimistic.

# %% nbgrader={"grade_id": "4b_split_run", "solution": true}
### BEGIN SOLUTION
ordered = sorted(samples, key=lambda r: int(r["sample_id"]))  # the order Week 3 cut them
y_all = np.array([int(r["class_id"]) for r in ordered])
polygons = np.array([int(r["polygon_id"]) for r in ordered])
split_at = int(np.floor(len(y_all) * (1 - 0.2)))  # what keras' validation_split=0.2 keeps for validation
print("Keras validation_split=0.2 -> validation classes:",
      {CLASS_NAMES[c]: int(n) for c, n in zip(*np.unique(y_all[split_at:], return_counts=True))})
train_idx, val_idx = stratified_group_split(y_all, polygons, val_fraction=0.2, seed=SEED)
print("stratified_group_split    -> validation classes:",
      {CLASS_NAMES[c]: int(n) for c, n in zip(*np.unique(y_all[val_idx], return_counts=True))},
      f"({len(val_idx)} samples, shared polygons: {len(set(polygons[train_idx]) & set(polygons[val_idx]))})")
week3_train = np.array([r["split"] == "train" for r in ordered])
print("Week 3 split              -> validation classes:",
      {CLASS_NAMES[c]: int(n) for c, n in zip(*np.unique(y_val, return_counts=True))},
      f"(shared polygons: {len(set(polygons[week3_train]) & set(polygons[~week3_train]))}: the patch-level leak)")
### END SOLUTION

# %% [markdown]
# ### 3.2 ResNet-50 with a band-reduction adapter
# ImageNet's ResNet-50 takes 3 channels; we have N (6, 7 or 8). The simplest adapter is a learnable **1x1
# convolution N -> 3** in front of the unchanged backbone: each output channel is a learned mix of the input
# bands. The graph:
#
# `Input (8, 8, N)` -> per-band `Normalization` (mean / variance of the **training** patches: reflectance, NDVI
# and metres have very different scales; ImageNet's `preprocess_input` is for RGB photos, not for these) ->
# `Resizing(32, 32, "bilinear")` (ResNet-50 needs at least 32x32) -> `Conv2D(3, 1)` -> `keras.applications.ResNet50
# (include_top=False, weights=weights, input_shape=(32, 32, 3))` called as a nested model -> `GlobalAveragePooling2D`
# -> `Dropout` -> `Dense(NUM_CLASSES, softmax)`.
#
# `weights="imagenet"` would load pretrained weights, but they cannot be downloaded on the grading machines, so the
# default here is `weights=None` (random initialisation; record `pretrained: false`). Keep the parameter.
#
# Freezing: freeze the first `freeze_ratio` (60 %) of the backbone's layers, and keep **every BatchNormalization
# layer frozen** (`trainable = False`): in Keras 3 that is what keeps BatchNorm in inference mode, so its moving
# statistics are not wrecked by small batches. Pass `training=False` when calling the backbone.
#
# Write `build_fusion_resnet(n_bands, x_train, weights=None, freeze_ratio=0.6)` returning the (uncompiled)
# `keras.Model`; `x_train` (n, 8, 8, n_bands) adapts the Normalization layer. No `Lambda` layers.

# %% nbgrader={"grade_id": "4b_band_reduction_code", "solution": true}
def build_fusion_resnet(n_bands, x_train, weights=None, freeze_ratio=0.6):
    """ResNet-50 classifier for (8, 8, n_bands) patches with a 1x1 Conv2D band-reduction adapter n_bands -> 3."""
    ### BEGIN SOLUTION
    inputs = keras.Input((8, 8, n_bands), name="patch")
    norm = keras.layers.Normalization(axis=-1, name="per_band_normalization")
    norm.adapt(np.asarray(x_train, dtype=np.float32))
    x = norm(inputs)
    x = keras.layers.Resizing(32, 32, interpolation="bilinear", name="upsample")(x)
    x = keras.layers.Conv2D(3, 1, name="band_reduction")(x)
    base = keras.applications.ResNet50(include_top=False, weights=weights, input_shape=(32, 32, 3))
    cut = round(freeze_ratio * len(base.layers))
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= cut and not isinstance(layer, keras.layers.BatchNormalization)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="class_probabilities")(x)
    return keras.Model(inputs, outputs, name=f"resnet50_band_reduction_{n_bands}band")
    ### END SOLUTION


# %% nbgrader={"grade_id": "4b_band_reduction", "grade": true, "points": 4}
_m = run_task(build_fusion_resnet, 8, np.random.default_rng(0).random((16, 8, 8, 8)).astype(np.float32))
assert tuple(_m.input_shape) == (None, 8, 8, 8), f"input shape {_m.input_shape}: use keras.Input((8, 8, n_bands))"
assert tuple(_m.output_shape) == (None, NUM_CLASSES), \
    f"output shape {_m.output_shape}: end with Dense(NUM_CLASSES, activation='softmax')"
assert any(isinstance(_l, keras.layers.Conv2D) and tuple(_l.kernel_size) == (1, 1) and _l.filters == 3
           for _l in _m.layers), "add the band-reduction adapter keras.layers.Conv2D(3, 1) before the ResNet-50"
assert any(isinstance(_l, keras.Model) for _l in _m.layers), "call keras.applications.ResNet50(...) as a nested model"
print("visible model tests passed")
del _m

# %% [markdown]
# ## 4. Ablation study
# To see what each sensor adds, train the same model, split and seed on four band subsets: **S2** (6 bands),
# **S2+MODIS** (7), **S2+DEM** (7) and **Full** (8). All four are cut from the same fused arrays by band name.
#
# Write `select_bands(x, names, order=FUSED_BANDS)`: the channels `names` (in that order) of the channels-last
# array `x`, whose channels are `order`. Raise `KeyError` for a name that is not in `order`.

# %% nbgrader={"grade_id": "4b_select_bands_code", "solution": true}
def select_bands(x, names, order=FUSED_BANDS):
    """x[..., channels of ``names``] where x's channels are ``order``; KeyError for an unknown name."""
    ### BEGIN SOLUTION
    order = list(order)
    missing = [n for n in names if n not in order]
    if missing:
        raise KeyError(f"bands {missing} are not in {order}")
    return np.asarray(x)[..., [order.index(n) for n in names]]
    ### END SOLUTION


# %% nbgrader={"grade_id": "4b_select_bands", "grade": true, "points": 3}
_x = np.arange(8, dtype=np.float32).reshape(1, 1, 1, 8) * np.ones((2, 8, 8, 1), dtype=np.float32)
assert run_task(select_bands, _x, ["DEM", "B2"]).shape == (2, 8, 8, 2), "select_bands must keep (N, 8, 8) and return len(names) channels"
assert list(select_bands(_x, ["DEM", "B2"])[0, 0, 0]) == [7, 0], "channels must follow the order of `names`"
try:
    select_bands(_x, ["NDVI"])
    raise AssertionError("select_bands(x, ['NDVI']) must raise KeyError (the band is called MODIS_NDVI)")
except KeyError:
    pass
print("visible select_bands tests passed")

# %% [markdown]
# The evaluation helpers from Phase 4A (given, locked): `evaluate`, `collapse_summary`, `model_record` (one entry
# of the ablation JSON) and `plot_confusion`.

# %% include="evaluation_cell.py"

# %% [markdown]
# **Work cell: the ablation.** For each configuration S2, S2+MODIS, S2+DEM, Full:
# `build_fusion_resnet` on its bands, compile with Adam (learning rate 1e-4) and sparse categorical cross-entropy,
# train on the Week 3 split for at most `MAX_EPOCHS` epochs with `EarlyStopping(restore_best_weights=True)` and
# `ReduceLROnPlateau`, `verbose=0`; predict the validation set and build its entry with `model_record`. Save the
# Full model as `models/week4/phase4b_fusion_model.h5` through `output_path`: it must be self-contained (its
# per-band `Normalization` inside, so it takes the fused patches as they are; the autograder feeds it raw patches
# and a test below checks it reproduces your reported accuracy). Then write
# `reports/phase4b_ablation_study.json` (`{"phase": "4B", "model": ..., "configurations": [...],
# "best_configuration": ..., "split": {...}, "pretrained": false, "notes": [...]}`) and the figure
# `figures/phase4b_sensor_comparison.png` (accuracy and macro F1 per configuration).

# %% nbgrader={"grade_id": "4b_ablation_run", "solution": true}
### BEGIN SOLUTION
import time

SUBSETS = {"S2": S2_BANDS, "S2+MODIS": S2_BANDS + ["MODIS_NDVI"], "S2+DEM": S2_BANDS + ["DEM"], "Full": FUSED_BANDS}
LEARNING_RATE, BATCH_SIZE, FREEZE_RATIO, PATIENCE = 1e-4, 32, 0.6, 10
records, seconds = [], {}
for name, bands in SUBSETS.items():
    start = time.perf_counter()
    keras.utils.set_random_seed(SEED)
    xtr, xva = select_bands(X_train_fused, bands), select_bands(X_val_fused, bands)
    model = build_fusion_resnet(len(bands), xtr, weights=None, freeze_ratio=FREEZE_RATIO)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    callbacks = [keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True),
                 keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=5)]
    history = model.fit(xtr, y_train, validation_data=(xva, y_val), epochs=MAX_EPOCHS, batch_size=BATCH_SIZE,
                        callbacks=callbacks, verbose=0)
    y_pred = np.argmax(np.asarray(model(xva, training=False)), axis=1)  # one small batch: faster than predict
    path = None
    if name == "Full":
        path = output_path("models/week4/phase4b_fusion_model.h5")
        model.save(path, include_optimizer=False)
    records.append(model_record(name, bands, y_val, y_pred, history.history, model_path=path))
    seconds[name] = time.perf_counter() - start
    print(f"{name:9} {len(bands)} bands: accuracy {records[-1]['accuracy']:.3f}, macro F1 {records[-1]['macro_f1']:.3f}, "
          f"collapsed {records[-1]['collapse']['collapsed']} ({seconds[name]:.0f} s)")
    keras.backend.clear_session()

best = max(records, key=lambda r: (r["accuracy"], r["macro_f1"]))
ablation = {
    "phase": "4B",
    "model": "ResNet50 (1x1 band-reduction adapter, per-band normalisation, 60 % frozen, BatchNorm frozen)",
    "configurations": records,
    "best_configuration": best["name"],
    "split": {"method": "Week 3 split: stratified by class at the patch level (polygons on both sides)",
              "train_class_counts": np.bincount(y_train, minlength=NUM_CLASSES).tolist(),
              "val_class_counts": np.bincount(y_val, minlength=NUM_CLASSES).tolist()},
    "pretrained": False,
    "notes": ["Full is the fusion model saved as models/week4/phase4b_fusion_model.h5",
              f"trained for at most {MAX_EPOCHS} epochs from random initialisation (no ImageNet weights offline)"],
}
output_path("reports/phase4b_ablation_study.json").write_text(json.dumps(ablation, indent=1))

fig, ax = plt.subplots(figsize=(8, 4.8), constrained_layout=True)
names = [r["name"] for r in records]
positions = np.arange(len(names))
bars = ax.bar(positions - 0.2, [100 * r["accuracy"] for r in records], 0.4, label="accuracy")
ax.bar_label(bars, fmt="%.1f")
bars = ax.bar(positions + 0.2, [100 * r["macro_f1"] for r in records], 0.4, label="macro F1")
ax.bar_label(bars, fmt="%.1f")
ax.axhline(20, color="grey", ls=":", label="chance (20 %)")
ax.set_xticks(positions, names)
ax.set_ylim(0, 105)
ax.set_ylabel("validation score (%)")
ax.set_title("Phase 4B: ResNet-50 sensor ablation")
ax.legend()
fig.savefig(output_path("figures/phase4b_sensor_comparison.png"), dpi=100)
plt.show()
### END SOLUTION

# %% nbgrader={"grade_id": "4b_fusion_model", "grade": true, "points": 3}
# Checks the files you SUBMITTED.
assert Path("models/week4/phase4b_fusion_model.h5").exists(), \
    "models/week4/phase4b_fusion_model.h5 is missing: save the Full model with model.save(output_path(...))"
assert Path("reports/phase4b_ablation_study.json").exists(), "reports/phase4b_ablation_study.json is missing"
# the saved Full model, fed the raw fused validation patches, must score what the ablation JSON reports for Full
_full = next((c for c in json.loads(Path("reports/phase4b_ablation_study.json").read_text())["configurations"]
              if c["name"] == "Full"), None)
assert _full is not None, "reports/phase4b_ablation_study.json has no 'Full' configuration"
check_saved_model("models/week4/phase4b_fusion_model.h5", np.load("data/processed/X_val_fused.npy"), y_val,
                  _full["accuracy"])
print("fusion model present, and it reproduces the reported Full accuracy on the raw patches")

# %% nbgrader={"grade_id": "4b_ablation_artifacts", "grade": true, "points": 4}
# Checks the files you SUBMITTED.
assert Path("reports/phase4b_ablation_study.json").exists(), "reports/phase4b_ablation_study.json is missing"
_study = json.loads(Path("reports/phase4b_ablation_study.json").read_text())
_names = [c["name"] for c in _study["configurations"]]
assert sorted(_names) == sorted(["S2", "S2+MODIS", "S2+DEM", "Full"]), \
    f"the ablation JSON holds {_names}; it needs S2, S2+MODIS, S2+DEM and Full (one model_record each)"
assert Path("figures/phase4b_sensor_comparison.png").exists(), "figures/phase4b_sensor_comparison.png is missing"
print("ablation artifacts present")

# %% [markdown]
# ## 5. Analysis and interpretation
# Look at the ablation (accuracy, macro F1, per-class recall, confusion matrices, collapse) before you answer.
#
# Answer in the cells below (a TA grades them). Use your own numbers.
#
# **Did the 8-band fusion model work?** Describe its outcome (accuracy, macro F1, which classes it confuses or
# never predicts, any collapse) and explain it: consider the number of samples per band, the 8x8 -> 32x32
# upsampling, random initialisation vs ImageNet weights, freezing, and how you made sure the validation set was
# sound.

# %% [markdown] nbgrader={"grade_id": "4b_analysis", "grade": true, "solution": true, "points": 4}
# *Model answer.* In the worked solution (3 epochs per configuration) the Full model reached 60.0 % (macro F1
# 0.65), above Sentinel-2 alone (45.3 %), and did not collapse: every class is predicted, but Agriculture and
# Parcels are often confused (recall 0.43 and 0.37): a parcelised lot mixes the same grass, trees, roofs and
# soil as the farmland around it. The exercise's 0 % was a data problem, not a model one: Keras
# `validation_split` took the last 20 % of the samples in the order Week 3 cut them (polygon by polygon, as
# digitised), so validation held only Parcels, as the split cell shows. The Week 3 split I kept is stratified
# but made patch by patch: 58 polygons have patches on both sides, so these accuracies are optimistic;
# `stratified_group_split` shares no polygon. What remains is a capacity/data mismatch: 300 patches are few for
# a 23 M-parameter ResNet-50 with 8 inputs (500-1000 samples are advised), the 8x8 patches upsampled to 32x32
# carry no new spatial detail, and without ImageNet weights the frozen 60 % of the backbone is random, so only
# the last blocks, the adapter and the head learn. Per-band normalisation (not `preprocess_input`) and frozen
# BatchNorm are what keep the model from collapsing onto one class.

# %% [markdown]
# **Which sensor contributes most, and why?** Compare S2+MODIS and S2+DEM with S2 alone and explain the
# difference from the sensors' native resolutions and what each measures.

# %% [markdown] nbgrader={"grade_id": "4b_ablation_answer", "grade": true, "solution": true, "points": 3}
# *Model answer.* In my run S2+MODIS (57.3 %) beat S2+DEM (49.3 %) and S2 alone (45.3 %), and Full was best
# (60.0 %); after 3 epochs and on 75 patches (1.3 points each) those differences are a few patches, near the
# noise of one seed. The sensors' resolutions say what each can add. The DEM (30 m native) varies within and
# between 8x8 patches: it is independent information that Sentinel-2 cannot see (the lake at 51 m, the land
# rising inland). MODIS NDVI (231 m) is nearly constant over an 80 m patch after bilinear upsampling, and over
# the course's small polygons (most are smaller than one MODIS pixel) it mixes several land covers: it repeats
# what B4 and B8 say at 10 m, blurred. What a coarse band does carry is *place*: neighbouring patches share its
# value, and on a patch-level split, where near-copies of a validation patch are in training, place helps;
# on a polygon-grouped split much of that advantage would go. With only 300 samples every extra band also
# raises the risk of overfitting, so the ranking should be checked with several seeds on a grouped split.

# %% [markdown]
# ## 6. Baseline pipeline documentation
# **Work cell.** Write `config.yaml` (with `yaml.safe_dump`) holding every parameter needed to re-run this
# pipeline: bands, resampling, patch size, split (method, validation fraction), seed, learning rate, batch size,
# epochs, freeze ratio, and write `reports/baseline_report.md` with the sections `## Methods`, `## Results` (the
# ablation table), `## Failures` and `## Next steps`. Both through `output_path`.

# %% nbgrader={"grade_id": "4b_docs_run", "solution": true}
### BEGIN SOLUTION
import yaml

config = {
    "data": {"sentinel2": "rasters/s2_l2a_composite.tif", "modis_ndvi": "rasters/modis_ndvi.tif",
             "dem": "rasters/srtm_dem.tif", "sample_index": "data/processed/sample_index.csv",
             "composite_period": "2018-12-01/2019-03-01"},
    "bands": list(FUSED_BANDS),
    "alignment": {"target_grid": "Sentinel-2 10 m, EPSG:32718", "resampling": "bilinear",
                  "nodata": "NaN before resampling"},
    "qc_ranges": {name: list(r) for name, r in VALID_RANGES.items()},
    "patch_size": 8,
    "split": {"method": "Week 3 split, stratified by class at the patch level", "val_fraction": 0.2},
    "seed": SEED,
    "model": {"architecture": "ResNet50", "adapter": "1x1 Conv2D band reduction to 3 bands", "weights": None,
              "normalisation": "per-band, training statistics", "upsample_to": 32, "freeze_ratio": FREEZE_RATIO,
              "batchnorm_frozen": True, "dropout": 0.3},
    "training": {"optimizer": "adam", "learning_rate": LEARNING_RATE, "batch_size": BATCH_SIZE, "epochs": MAX_EPOCHS,
                 "early_stopping_patience": PATIENCE, "reduce_lr_patience": 5},
    "ablation": {name: list(bands) for name, bands in SUBSETS.items()},
}
output_path("config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

rows = "\n".join(f"| {r['name']} | {len(r['bands'])} | {100 * r['accuracy']:.1f} % | {r['macro_f1']:.3f} | "
                 f"{'yes' if r['collapse']['collapsed'] else 'no'} |" for r in records)
failures = [f"- {r['name']}: collapsed onto {r['collapse']['majority_class_name']}" for r in records
            if r["collapse"]["collapsed"]]
failures += [f"- {r['name']}: never predicts {', '.join(n for n, s in r['evaluation']['per_class'].items() if s['recall'] == 0)}"
             for r in records if any(s["recall"] == 0 for s in r["evaluation"]["per_class"].values())]
report = f"""# Baseline pipeline report (Phase 4B)

## Methods
- Sentinel-2 L2A (B2 B3 B4 B8 B11 B12), MODIS MOD13Q1 NDVI (231 m) and SRTM elevation (30 m), aligned onto the
  Sentinel-2 10 m grid with bilinear resampling (physical units, nodata as NaN), stacked as {list(FUSED_BANDS)}.
- Quality control: no NaN, reflectance 0-1, NDVI -0.2-1, DEM -500-9000 m.
- 8x8 patches at the Week 3 sample locations; Week 3 split (stratified by class at the patch level: some polygons
  have patches on both sides, so validation scores are optimistic).
- ResNet-50 (random initialisation) behind per-band normalisation, 8->32 bilinear upsampling and a 1x1 Conv2D
  band reduction; 60 % of the backbone and all BatchNorm layers frozen; Adam 1e-4, batch 32, up to {MAX_EPOCHS}
  epochs with early stopping. Parameters: `config.yaml`.

## Results
| configuration | bands | validation accuracy | macro F1 | collapsed |
|---|---|---|---|---|
{rows}

Best configuration: **{best['name']}**.

## Failures
{chr(10).join(failures) if failures else '- No configuration collapsed or missed a class entirely.'}
- The exercise's original 0 % came from Keras validation_split on samples in digitising order (one class in
  validation).

## Next steps
- More labelled samples (500-1000 for 8 bands) before judging fusion.
- ImageNet weights, or a smaller network trained from scratch (Phase 4C's SimpleCNN).
- Late fusion of a DEM branch instead of stacking all bands at the input; larger native patches.
"""
output_path("reports/baseline_report.md").write_text(report)
print(report)
### END SOLUTION

# %% nbgrader={"grade_id": "4b_config", "grade": true, "points": 3}
# Checks the file you SUBMITTED.
import yaml

assert Path("config.yaml").exists(), "config.yaml is missing: write it with yaml.safe_dump(config) in the cell above"
assert isinstance(yaml.safe_load(Path("config.yaml").read_text()), dict), "config.yaml must be a mapping (name: value)"
print("config.yaml present")

# %% nbgrader={"grade_id": "4b_baseline_report", "grade": true, "points": 3}
# Checks the file you SUBMITTED.
assert Path("reports/baseline_report.md").exists(), "reports/baseline_report.md is missing"
print("baseline report present")
