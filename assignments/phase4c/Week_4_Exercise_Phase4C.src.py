# %% [markdown]
# # Week 4, Phase 4C: SimpleCNN + multi-sensor fusion (ablation)
#
# In Phases 4A and 4B you trained a ResNet-50 on 8x8 patches upsampled to 32x32. Offline, your runs
# started from random initialisation (`WEIGHTS = None`; they record `pretrained: false`), so they say
# what a 23.5 M-parameter network does with 300 patches, not what ImageNet features would add: look
# at your own 4A / 4B metrics, and the Week 3 baseline beside them, before you draw that conclusion.
# Here you go back to the **Week 3 SimpleCNN**, trained from scratch, and ask one question:
# *does it benefit from multi-sensor fusion?* You train the same network on four band
# configurations cut from the same fused patches (same samples, same split, same seed):
#
# | configuration | bands | count |
# |---|---|---|
# | S2 | B2, B3, B4, B8, B11, B12 | 6 |
# | S2+MODIS | the six S2 bands + MODIS_NDVI | 7 |
# | S2+DEM | the six S2 bands + DEM | 7 |
# | Full | all eight fused bands | 8 |
#
# **Deliverables** (written through `output_path(...)`; submit them with the notebook):
# - `phase4c_outputs/models/*.h5`: the four trained SimpleCNNs
# - `phase4c_outputs/evaluation_results.json`: metrics per configuration
# - `figures/phase4c_confusion_matrices.png` and `figures/phase4c_accuracy_comparison.png`
# - `reports/phase4c_report.md`: the ablation narrative with conclusions and next steps
#
# Run every cell from top to bottom with the full epoch budget before you submit. The autograder
# reruns the notebook on 1 epoch (its files go to `_autograder_outputs/`) and grades the files
# **you** submitted. This phase is graded for feedback only.

# %% include="setup_cell.py"

# %% include="evaluation_cell.py"

# %% [markdown]
# ## 1. Load the fused dataset from Phase 4B
#
# The fused patches are `(n, 8, 8, 8)` arrays in physical units (reflectance, NDVI, metres), with the
# bands in the order of `FUSED_BANDS`. The split is the Week 3 split Phase 4B kept (stratified by
# class at the patch level, so some polygons have patches on both sides and the scores are optimistic),
# and every configuration is evaluated on the same 75 validation patches.

# %% nbgrader={"grade_id": "4c_load", "locked": true}
# Given code (locked): the Phase 4B fused patches and labels.
DATA = Path("data/processed")
X_train_fused = np.load(DATA / "X_train_fused.npy").astype(np.float32)
X_val_fused = np.load(DATA / "X_val_fused.npy").astype(np.float32)
y_train = np.load(DATA / "y_train.npy").astype(int)
y_val = np.load(DATA / "y_val.npy").astype(int)

print("train", X_train_fused.shape, "validation", X_val_fused.shape, "bands", FUSED_BANDS)
for split, y in (("train", y_train), ("validation", y_val)):
    counts = np.bincount(y, minlength=NUM_CLASSES)
    print(f"{split:>10}: " + ", ".join(f"{c} {n}" for c, n in zip(CLASS_NAMES, counts)))

# %% [markdown]
# ## 2. Derive the band subsets
#
# Write two functions:
#
# - `band_subsets()` returns a dict mapping each configuration name (`"S2"`, `"S2+MODIS"`,
#   `"S2+DEM"`, `"Full"`, spelled exactly so) to its **list of band names**, taken from `S2_BANDS`
#   and `FUSED_BANDS`.
# - `select_bands(X, names)` returns the channels of `X` (channels last, in `FUSED_BANDS` order)
#   named in `names`, **in the order of `names`**. Look the names up; do not rely on positions
#   such as `X[..., :7]`, which silently give the wrong band for S2+DEM. Raise `KeyError` for a
#   name that is not in `FUSED_BANDS`.

# %% nbgrader={"grade_id": "4c_subsets_code", "solution": true}
def band_subsets():
    """{configuration name: list of band names} for S2, S2+MODIS, S2+DEM and Full."""
    ### BEGIN SOLUTION
    return {
        "S2": list(S2_BANDS),
        "S2+MODIS": list(S2_BANDS) + ["MODIS_NDVI"],
        "S2+DEM": list(S2_BANDS) + ["DEM"],
        "Full": list(FUSED_BANDS),
    }
    ### END SOLUTION


def select_bands(X, names):
    """The channels of X (bands in FUSED_BANDS order, channels last) named in `names`, in that order.

    Raises:
        KeyError: if a name is not in FUSED_BANDS.
    """
    ### BEGIN SOLUTION
    unknown = [n for n in names if n not in FUSED_BANDS]
    if unknown:
        raise KeyError(f"bands {unknown} are not in FUSED_BANDS {FUSED_BANDS}")
    return X[..., [FUSED_BANDS.index(n) for n in names]]
    ### END SOLUTION

# %% nbgrader={"grade_id": "4c_subsets", "grade": true, "points": 1}
try:
    _subsets = band_subsets()
    _dem = select_bands(X_train_fused, _subsets.get("S2+DEM", []))
except NotImplementedError:
    raise AssertionError("band_subsets() or select_bands() is not implemented yet: replace "
                         "`raise NotImplementedError()` in the cell above with your code") from None
assert set(_subsets) == {"S2", "S2+MODIS", "S2+DEM", "Full"}, \
    f"band_subsets() has the keys {list(_subsets)}: use exactly 'S2', 'S2+MODIS', 'S2+DEM' and 'Full'"
assert [len(_subsets[k]) for k in ("S2", "S2+MODIS", "S2+DEM", "Full")] == [6, 7, 7, 8], \
    "the configurations must hold 6, 7, 7 and 8 bands (S2, S2+MODIS, S2+DEM, Full)"
assert "DEM" in _subsets["S2+DEM"] and "MODIS_NDVI" not in _subsets["S2+DEM"], \
    "S2+DEM is the six S2 bands plus DEM (no MODIS_NDVI)"
assert _dem.shape == (X_train_fused.shape[0], 8, 8, 7), f"select_bands(X, S2+DEM) has shape {_dem.shape}"
assert np.array_equal(_dem[..., -1], X_train_fused[..., FUSED_BANDS.index("DEM")]), \
    "the last channel of S2+DEM must be the DEM: select channels by name, not by position"
assert np.array_equal(select_bands(X_train_fused, ["DEM", "B2"])[..., 0], X_train_fused[..., 7]), \
    "select_bands must return the bands in the order requested (['DEM', 'B2'] starts with the DEM)"
print("band subsets:", {k: len(v) for k, v in _subsets.items()})

# %% [markdown]
# ## 3. The Week 3 SimpleCNN (given)
#
# The same architecture as in Week 3. Its first layer is a `Normalization` layer adapted to the
# training set's per-band mean and variance, so it takes patches in physical units and the saved
# `.h5` model is self-contained. The Week 3 hyperparameters: Adam with learning rate 1e-3,
# batch size 32, up to 50 epochs, early stopping on the validation loss (patience 10,
# keeping the best weights).

# %% nbgrader={"grade_id": "4c_simple_cnn", "locked": true}
# Given code (locked): the Week 3 SimpleCNN and its hyperparameters.
LEARNING_RATE = 1e-3
BATCH_SIZE = 32
PATIENCE = 10


def build_simple_cnn(x_train, n_classes=NUM_CLASSES, dropout=0.3):
    """A compiled SimpleCNN for x_train's band count, normalised with x_train's per-band statistics."""
    n_bands = x_train.shape[-1]
    norm = keras.layers.Normalization(axis=-1, name="per_band_normalization")
    norm.adapt(np.asarray(x_train, dtype=np.float32))
    inputs = keras.Input((8, 8, n_bands), name="patch")
    x = norm(inputs)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="class_probabilities")(x)
    model = keras.Model(inputs, outputs, name=f"simple_cnn_{n_bands}band")
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def save_h5(model, path):
    """model.save(path) without Keras' 'HDF5 is a legacy format' warning (the course asks for .h5)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
    return path


print(f"SimpleCNN: Adam lr {LEARNING_RATE}, batch {BATCH_SIZE}, early stopping patience {PATIENCE}, "
      f"up to {MAX_EPOCHS} epochs")

# %% [markdown]
# ## 4. Train one SimpleCNN per configuration, from scratch
#
# For each configuration of `band_subsets()`:
#
# 1. cut the training and validation patches with `select_bands`;
# 2. call `keras.utils.set_random_seed(SEED)` and build a fresh model with `build_simple_cnn`;
# 3. fit it with `epochs=MAX_EPOCHS`, `batch_size=BATCH_SIZE`, `validation_data=(X_val_sub, y_val)`,
#    `verbose=0` and `keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE,
#    restore_best_weights=True)`;
# 4. predict the validation set (`np.argmax(model.predict(..., verbose=0), axis=1)`);
# 5. save the model with `save_h5(model, output_path("phase4c_outputs/models/<file>.h5"))` (file names
#    without `+`: `s2.h5`, `s2_modis.h5`, `s2_dem.h5`, `full.h5`); its `Normalization` layer makes it
#    self-contained: the autograder feeds it the raw patches of its bands;
# 6. keep `model_record(name, bands, y_val, y_pred, history.history, model_path)` in a list `results`.
#
# With 50 epochs this takes a few minutes on a laptop CPU.

# %% nbgrader={"grade_id": "4c_train_run", "solution": true}
### BEGIN SOLUTION
MODEL_FILES = {"S2": "s2.h5", "S2+MODIS": "s2_modis.h5", "S2+DEM": "s2_dem.h5", "Full": "full.h5"}
results = []
predictions = {}
for name, bands in band_subsets().items():
    x_tr, x_va = select_bands(X_train_fused, bands), select_bands(X_val_fused, bands)
    keras.utils.set_random_seed(SEED)
    model = build_simple_cnn(x_tr)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True)
    history = model.fit(x_tr, y_train, validation_data=(x_va, y_val), epochs=MAX_EPOCHS,
                        batch_size=BATCH_SIZE, shuffle=True, callbacks=[stop], verbose=0)
    y_pred = np.argmax(model.predict(x_va, verbose=0), axis=1)
    path = save_h5(model, output_path(f"phase4c_outputs/models/{MODEL_FILES[name]}"))
    results.append(model_record(name, bands, y_val, y_pred, history.history, path))
    predictions[name] = y_pred
    print(f"{name:9} {len(bands)} bands: accuracy {results[-1]['accuracy']:.3f}, "
          f"macro F1 {results[-1]['macro_f1']:.3f}, {results[-1]['training']['epochs_run']} epochs")
### END SOLUTION

# %% [markdown]
# ## 5. Compare the configurations
#
# Print a table of accuracy and macro F1 per configuration, and the **per-class recall** of each
# (which classes does an added sensor help or hurt?). Then draw and save two figures:
#
# - `figures/phase4c_confusion_matrices.png`: one confusion matrix per configuration
#   (a 2x2 grid; `plot_confusion(ax, record["evaluation"]["confusion_matrix"], name)`);
# - `figures/phase4c_accuracy_comparison.png`: a bar chart of accuracy (and macro F1) per configuration.
#
# Save with `fig.savefig(output_path("figures/..."), dpi=120, bbox_inches="tight")`.

# %% nbgrader={"grade_id": "4c_compare_run", "solution": true}
### BEGIN SOLUTION
print(f"{'configuration':14} {'bands':>5} {'accuracy':>9} {'macro F1':>9}  "
      + " ".join(f"{c[:11]:>11}" for c in CLASS_NAMES))
for r in results:
    recalls = [r["evaluation"]["per_class"][c]["recall"] for c in CLASS_NAMES]
    print(f"{r['name']:14} {len(r['bands']):>5} {r['accuracy']:>9.3f} {r['macro_f1']:>9.3f}  "
          + " ".join(f"{v:>11.2f}" for v in recalls))

fig, axes = plt.subplots(2, 2, figsize=(11, 10))
for ax, r in zip(axes.ravel(), results):
    plot_confusion(ax, r["evaluation"]["confusion_matrix"], f"{r['name']} (accuracy {r['accuracy']:.2f})")
fig.suptitle("Phase 4C: SimpleCNN confusion matrices (validation)")
fig.tight_layout()
fig.savefig(output_path("figures/phase4c_confusion_matrices.png"), dpi=120, bbox_inches="tight")
plt.close(fig)

fig, ax = plt.subplots(figsize=(7, 4.5))
names = [r["name"] for r in results]
positions = np.arange(len(names))
ax.bar(positions - 0.2, [r["accuracy"] for r in results], width=0.4, label="accuracy")
ax.bar(positions + 0.2, [r["macro_f1"] for r in results], width=0.4, label="macro F1")
ax.set_xticks(positions, names)
ax.set_ylim(0, 1.15)
ax.set_ylabel("validation score")
ax.set_title("Phase 4C: SimpleCNN by band configuration")
ax.legend(loc="upper left", ncol=2)
fig.savefig(output_path("figures/phase4c_accuracy_comparison.png"), dpi=120, bbox_inches="tight")
plt.close(fig)
### END SOLUTION

# %% [markdown]
# ## 6. Failure modes
#
# Look at the confusion matrices and the `collapse` entry of each record: did a configuration
# collapse onto one class (one class in 90 % or more of the predictions)? Which classes are
# confused with which, and does adding the DEM or MODIS change that? Print what you find; you
# will use it in the report.

# %% nbgrader={"grade_id": "4c_failures_run", "solution": true}
### BEGIN SOLUTION
for r in results:
    c = r["collapse"]
    matrix = np.asarray(r["evaluation"]["confusion_matrix"])
    off = matrix - np.diag(np.diag(matrix))
    i, j = np.unravel_index(np.argmax(off), off.shape)
    worst = f"{CLASS_NAMES[i]} -> {CLASS_NAMES[j]} ({off[i, j]})" if off.max() > 0 else "none"
    never = [CLASS_NAMES[k] for k in range(NUM_CLASSES) if k not in c["predicted_classes"]]
    print(f"{r['name']:9} collapsed: {c['collapsed']} (most predicted {c['majority_class_name']}, "
          f"{100 * c['majority_share']:.0f} %); most frequent confusion {worst}; never predicted {never or 'none'}")
### END SOLUTION

# %% [markdown]
# ## 7. Write the results and the report
#
# 1. `phase4c_outputs/evaluation_results.json`: a JSON object with the keys `"phase"` (`"4C"`),
#    `"model"` (`"SimpleCNN"`), `"configurations"` (your list of `model_record(...)`),
#    `"best_configuration"` (the name with the highest accuracy), `"split"` (how the validation set
#    was formed: e.g. method and class counts) and `"notes"` (a list of strings).
# 2. `reports/phase4c_report.md`: the ablation narrative in Markdown: a results table naming every
#    configuration, a `## Conclusions` section (which sensor helped, which did not, and why you think
#    so) and a `## Next steps` section.

# %% nbgrader={"grade_id": "4c_write_run", "solution": true}
### BEGIN SOLUTION
best = max(results, key=lambda r: (r["accuracy"], r["macro_f1"]))
study = {
    "phase": "4C",
    "model": "SimpleCNN",
    "configurations": results,
    "best_configuration": best["name"],
    "split": {"method": "Phase 4B stratified split (shipped fused arrays)", "train": int(len(y_train)),
              "validation": int(len(y_val)),
              "validation_class_counts": {c: int(n) for c, n in zip(CLASS_NAMES, np.bincount(y_val, minlength=NUM_CLASSES))}},
    "notes": [f"Week 3 hyperparameters: Adam lr {LEARNING_RATE}, batch {BATCH_SIZE}, up to {MAX_EPOCHS} epochs, "
              f"early stopping on val_loss (patience {PATIENCE}), seed {SEED}"],
}
with open(output_path("phase4c_outputs/evaluation_results.json"), "w") as f:
    json.dump(study, f, indent=1)

by_name = {r["name"]: r for r in results}
s2 = by_name["S2"]["accuracy"]
gain = {n: 100 * (by_name[n]["accuracy"] - s2) for n in ("S2+MODIS", "S2+DEM", "Full")}
rows = "\n".join(f"| {r['name']} | {len(r['bands'])} | {100 * r['accuracy']:.1f} % | {r['macro_f1']:.3f} | "
                 f"{'yes' if r['collapse']['collapsed'] else 'no'} |" for r in results)
report = f"""# Phase 4C: SimpleCNN + multi-sensor fusion (ablation)

The Week 3 SimpleCNN was trained from scratch on each band configuration (Adam, lr {LEARNING_RATE},
batch {BATCH_SIZE}, up to {MAX_EPOCHS} epochs, early stopping on the validation loss), with the same
Phase 4B stratified split ({len(y_train)} training, {len(y_val)} validation patches) and seed {SEED}.

| configuration | bands | validation accuracy | macro F1 | collapsed |
|---|---|---|---|---|
{rows}

Best configuration: **{best['name']}**.

## Conclusions
- Against Sentinel-2 alone: S2+MODIS {gain['S2+MODIS']:+.1f} points, S2+DEM {gain['S2+DEM']:+.1f} points,
  Full {gain['Full']:+.1f} points.
- {'The DEM helped more than MODIS' if gain['S2+DEM'] > gain['S2+MODIS'] else 'MODIS helped at least as much as the DEM'}:
  250 m MODIS upsampled to 10 m holds one to four distinct values per 8x8 patch, while the 30 m DEM
  holds about nine posts and separates valley agriculture and water from forested slopes.
- Full fusion {'beat' if gain['Full'] > max(gain['S2+DEM'], gain['S2+MODIS']) else 'did not beat'} the best single
  added sensor: with 300 training patches, every extra band is another input the network must learn to use.
- A validation set of {len(y_val)} patches means one patch is {100 / len(y_val):.1f} points: differences of a few
  points are within the noise of a single seed.

## Next steps
- Repeat each configuration with several seeds and report the mean and spread.
- Collect more labelled patches (500-1000) before drawing conclusions about the 8-band input.
- Try late fusion (a separate branch for the DEM) and larger patches for the coarse sensors.
"""
output_path("reports/phase4c_report.md").write_text(report)
print(report)
### END SOLUTION

# %% [markdown]
# ## 8. Check your deliverables
#
# These cells check the files you will submit (in this folder, not `_autograder_outputs/`).
# Run the notebook with the full epoch budget first.

# %% nbgrader={"grade_id": "4c_results", "grade": true, "points": 1}
_results_file = Path("phase4c_outputs/evaluation_results.json")
assert _results_file.is_file(), \
    "phase4c_outputs/evaluation_results.json is missing: run sections 4-7 with the full epoch budget and submit it"
_study = json.loads(_results_file.read_text())
assert {"phase", "model", "configurations", "best_configuration", "split"} <= set(_study), \
    f"evaluation_results.json has the keys {sorted(_study)}; it needs phase, model, configurations, " \
    "best_configuration, split (and notes)"
assert sorted(c["name"] for c in _study["configurations"]) == sorted(["S2", "S2+MODIS", "S2+DEM", "Full"]), \
    "'configurations' must hold one model_record(...) per configuration: S2, S2+MODIS, S2+DEM, Full"
assert len(list(Path("phase4c_outputs/models").glob("*.h5"))) >= 4, \
    "save the four trained models as phase4c_outputs/models/*.h5 (s2.h5, s2_modis.h5, s2_dem.h5, full.h5)"
# each saved model, fed the raw validation patches of its bands, must score what the results file reports
_files = {"S2": "s2.h5", "S2+MODIS": "s2_modis.h5", "S2+DEM": "s2_dem.h5", "Full": "full.h5"}
for _record in _study["configurations"]:
    check_saved_model(f"phase4c_outputs/models/{_files[_record['name']]}",
                      X_val_fused[..., [FUSED_BANDS.index(b) for b in _record["bands"]]], y_val, _record["accuracy"])
print("results file and models found; each model reproduces its reported accuracy on the raw patches")

# %% nbgrader={"grade_id": "4c_figures", "grade": true, "points": 1}
for _figure in ("figures/phase4c_confusion_matrices.png", "figures/phase4c_accuracy_comparison.png"):
    assert Path(_figure).is_file(), f"{_figure} is missing: draw it in section 5 and save it with fig.savefig"
print("figures found")

# %% nbgrader={"grade_id": "4c_report", "grade": true, "points": 1}
_report_file = Path("reports/phase4c_report.md")
assert _report_file.is_file(), "reports/phase4c_report.md is missing: write it in section 7"
_report = _report_file.read_text()
assert "conclusion" in _report.lower() and "next step" in _report.lower(), \
    "the report needs a '## Conclusions' and a '## Next steps' section"
print(f"report found ({len(_report)} characters)")

# %% [markdown]
# ## 9. Reflection
#
# In a few sentences: which sensor helped the SimpleCNN and which did not, and why do you think so
# (think about the native resolution of each sensor and the 8x8 patch size)? Did the full fusion
# beat the best single added sensor, and what does that say about the number of training samples?
# How much would you trust a difference of a few points on 75 validation patches, and what would
# you do next?

# %% [markdown] nbgrader={"grade_id": "4c_reflection", "grade": true, "solution": true, "points": 1}
# On this split the ablation cannot tell the sensors apart, and the reason is the split. In the worked
# solution (50 epochs, seed 42) S2 alone, S2+MODIS and Full reached 100 % and S2+DEM 98.7 % (one patch; the
# exercise's original run: 48, 53, 69 and 44 %). The Week 3 split was made patch by patch, so most polygons
# have patches on both sides, and each validation patch overlaps a training patch of the same polygon by
# most of its pixels: the network recognises near-copies, whatever bands it gets. What each sensor could add
# follows from its resolution: the SRTM DEM (30 m) gives about nine independent elevation posts per 8x8
# patch of 10 m pixels; MODIS NDVI (250 m) is one to four values per patch after upsampling, a coarse
# greenness signal that the S2 red and NIR bands already carry at 10 m, and over the course's small
# polygons a MODIS pixel mixes several land covers. With 300 training patches each extra band is one more
# input to weigh, so a full fusion need not beat the best single added sensor. With 75 validation patches
# one patch is 1.3 points, so differences of a patch or two mean nothing. Next I would rerun the four
# configurations on a polygon-grouped split (Phase 4B's `stratified_group_split`) with several seeds and
# report mean and spread, collect more samples (500-1000) for the 8-band input, and try late fusion of the
# DEM.
