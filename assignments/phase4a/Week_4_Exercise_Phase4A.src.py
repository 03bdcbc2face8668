# %% [markdown]
# # Week 4 · Phase 4A: Transfer learning with a single sensor
#
# You will fine-tune a **ResNet-50** on the Week 3 Sentinel-2 patches (8×8 pixels, 6 bands) of Los
# Lagos, Chile (the course's polygons around Frutillar, Lake Llanquihue), and compare it with the Week 3
# SimpleCNN on the same validation patches (the course's own run scored 86.67 %). The data are described in
# `DATA_NOTES.md`: the polygons are the course's, the sensors are synthetic.
#
# Work through the sections in order. Each task is a small function: replace
# `raise NotImplementedError()` with your code, then run the test cell below it. The tests say
# what to fix. Hidden tests run the same functions on data you have not seen, so solve the task,
# not the visible test.
#
# **Budget.** On a laptop CPU one ResNet-50 epoch on 300 patches takes a few seconds; the full
# run (up to 50 epochs with early stopping) takes a few minutes. When you submit, keep the files
# the notebook writes (`models/`, `reports/`, `figures/`): they are graded. The autograder reruns
# the notebook with a 1-epoch budget to check that it runs, without overwriting your files.
#
# **ImageNet weights.** The exercise starts from ImageNet weights. This notebook works offline,
# where they cannot be downloaded, so `WEIGHTS = None` trains from random initialisation and your
# metrics record `pretrained: false`. With internet access set `WEIGHTS = "imagenet"`: your
# `build_transfer_model` must then load them (Task 3).

# %% include="setup_cell.py"

# %% [markdown]
# ## 1. Setup and configuration
#
# Load the Week 3 dataset and check it before anything else. The patches are stored as Week 3 stored
# them: float32 Sentinel-2 **digital numbers** (surface reflectance × `S2_SCALE`, which the setup cell states:
# 10000 in the course). Label `i` is the class `CLASS_NAMES[i]` (the setup cell lists them; the course's are
# `0 Agriculture, 1 Forest, 2 Parcels, 3 Urban, 4 Water`).

# %% nbgrader={"grade_id": "4a_load_data"}
X_train = np.load("data/processed/X_train.npy")
y_train = np.load("data/processed/y_train.npy")
X_val = np.load("data/processed/X_val.npy")
y_val = np.load("data/processed/y_val.npy")

for name, x, y in (("train", X_train, y_train), ("val", X_val, y_val)):
    counts = np.bincount(y, minlength=NUM_CLASSES)
    print(f"{name}: {x.shape} {x.dtype}, digital numbers {np.nanmin(x):.0f}..{np.nanmax(x):.0f}, "
          f"NaN: {int(np.isnan(x).sum())}, per class: {dict(zip(CLASS_NAMES, counts.tolist()))}")

assert X_train.shape[1:] == (8, 8, 6) and X_val.shape[1:] == (8, 8, 6), "expected 8x8 patches with 6 bands"
assert not np.isnan(X_train).any() and not np.isnan(X_val).any(), "NaN in the patches: redo the Week 3 QC"
assert set(np.unique(y_val)) == set(range(NUM_CLASSES)), "the validation set must hold every class"

# A simple experiment log: one entry per decision, written to reports/experiment_log.md at the end.
experiment_log = []


def log_experiment(decision, hypothesis, result="", next_step=""):
    experiment_log.append({"decision": decision, "hypothesis": hypothesis, "result": result,
                           "next_step": next_step})


log_experiment(f"Use the Week 3 split ({len(y_train)} train / {len(y_val)} val, stratified by class at the patch "
               "level)",
               "the same split makes the comparison with the SimpleCNN apples-to-apples")

# %% [markdown]
# ### Task 1 · Normalise per band
#
# ImageNet models come with `keras.applications.resnet.preprocess_input`, made for RGB photos in
# 0–255: it **reverses the channel order** and subtracts ImageNet means from three channels. On
# 6-band reflectance that scrambles the bands and is a known cause of model collapse.
#
# Write `normalise_per_band(x_train, x_other)`: standardise each band (last axis) with the mean
# and standard deviation **of the training set**, and apply the same statistics to `x_other`
# (validation data must never influence them). Return both as `float32`; do not modify the inputs.

# %% nbgrader={"grade_id": "4a_normalise_code", "solution": true}
def normalise_per_band(x_train, x_other):
    """(x_train, x_other) standardised per band with x_train's mean and std, as float32."""
    ### BEGIN SOLUTION
    axes = tuple(range(x_train.ndim - 1))
    mean = x_train.mean(axis=axes, dtype=np.float64)
    std = x_train.std(axis=axes, dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    return ((x_train - mean) / std).astype(np.float32), ((x_other - mean) / std).astype(np.float32)
    ### END SOLUTION


# %% nbgrader={"grade_id": "4a_normalise", "grade": true, "points": 3}
Xn_train, Xn_val = normalise_per_band(X_train, X_val)
assert Xn_train.shape == X_train.shape and Xn_val.shape == X_val.shape, "keep the shapes of the inputs"
assert Xn_train.dtype == np.float32, f"return float32, not {Xn_train.dtype}"
band_means = Xn_train.mean(axis=(0, 1, 2))
band_stds = Xn_train.std(axis=(0, 1, 2))
assert np.allclose(band_means, 0, atol=1e-3), f"each training band should have mean 0, got {band_means.round(3)}"
assert np.allclose(band_stds, 1, atol=1e-3), (f"each training band should have std 1, got {band_stds.round(3)}: "
                                             "compute the statistics per band (axis=(0, 1, 2))")
assert not np.allclose(Xn_val.mean(axis=(0, 1, 2)), 0, atol=1e-4), \
    "the validation set looks standardised with its own statistics: use the training set's mean and std"

# %% [markdown]
# ## 2. Load the pretrained model
#
# `keras.applications.ResNet50(include_top=False)` is the convolutional backbone without its
# 1000-class ImageNet head. Let us inspect it at the input size we will use (32×32: the 8×8
# patches are upsampled, because ResNet-50 downsamples by 32).

# %% nbgrader={"grade_id": "4a_inspect"}
WEIGHTS = None  # "imagenet" when you are online; offline the weights cannot be downloaded
INPUT_SIZE = 32

inspect_backbone = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(INPUT_SIZE, INPUT_SIZE, 3))
kinds = {}
for layer in inspect_backbone.layers:
    kinds[type(layer).__name__] = kinds.get(type(layer).__name__, 0) + 1
print(f"ResNet-50 backbone: {len(inspect_backbone.layers)} layers, {inspect_backbone.count_params():,} parameters")
print("layer types:", kinds)
print("first layers:", [layer.name for layer in inspect_backbone.layers[:6]])
print("conv1 kernel:", inspect_backbone.get_layer("conv1_conv").kernel.shape, "(height, width, input bands, filters)")
print("the exercise's 'first 150 layers' are", f"{150 / len(inspect_backbone.layers):.1%} of them")
del inspect_backbone

# %% [markdown]
# ## 3. Modify the architecture
#
# ### Task 2 · Inflate the first convolution to N bands
#
# ImageNet weights expect 3 input bands. To keep them for a 6-band input, rebuild the first
# convolution (`conv1_conv`, kernel `(7, 7, 3, 64)`) with N input bands: **repeat the RGB kernels
# over the bands** (band k takes RGB kernel `k % 3`) and **scale by 3 / N** (as timm and TorchGeo
# do), so that an image with the same value in every band gives the same response as before
# (exactly so when N is a multiple of 3). For N = 3 the kernel is unchanged.
#
# Write `inflate_conv1_kernel(kernel_rgb, n_bands)` returning the `(7, 7, n_bands, 64)` kernel.

# %% nbgrader={"grade_id": "4a_inflate_conv1_code", "solution": true}
def inflate_conv1_kernel(kernel_rgb, n_bands):
    """The (kh, kw, 3, filters) kernel inflated to (kh, kw, n_bands, filters), scaled by 3 / n_bands."""
    ### BEGIN SOLUTION
    kernel_rgb = np.asarray(kernel_rgb)
    repeats = -(-n_bands // 3)
    return np.tile(kernel_rgb, (1, 1, repeats, 1))[:, :, :n_bands, :] * (3.0 / n_bands)
    ### END SOLUTION


# %% nbgrader={"grade_id": "4a_inflate_conv1", "grade": true, "points": 3}
_kernel = np.random.default_rng(0).normal(size=(7, 7, 3, 64)).astype(np.float32)
_inflated = inflate_conv1_kernel(_kernel, 6)
assert np.shape(_inflated) == (7, 7, 6, 64), f"expected shape (7, 7, 6, 64), got {np.shape(_inflated)}"
assert np.allclose(np.sum(_inflated, axis=2), np.sum(_kernel, axis=2), atol=1e-4), \
    "summed over the bands, the inflated kernel must equal the RGB kernel's sum: scale by 3 / n_bands"
assert np.allclose(inflate_conv1_kernel(_kernel, 3), _kernel), "for 3 bands return the kernel unchanged"

# %% [markdown]
# ### Task 3 · Build the transfer model
#
# Write `build_transfer_model(n_bands, n_classes=5, input_size=32, weights=None)` returning a
# `keras.Model` that
#
# 1. takes patches of shape `(8, 8, n_bands)` (input layer replaced for N bands),
# 2. upsamples them to `input_size × input_size` (`keras.layers.Resizing` or `UpSampling2D`),
# 3. runs a ResNet-50 backbone **without** its ImageNet head (`include_top=False`) built for
#    `n_bands` input bands: call the backbone model on a tensor, so it stays one nested model
#    whose layers you can freeze (Section 4),
# 4. ends in a new head: global average pooling, dropout, and a `Dense(n_classes, softmax)`.
#
# With `weights="imagenet"`, load the ImageNet backbone for 3 bands and copy its weights into
# yours, inflating `conv1_conv`'s kernel with Task 2 (either adapter is accepted by the tests: a
# 1×1 convolution mapping N bands to 3 in front of an RGB backbone is the other common choice).

# %% nbgrader={"grade_id": "4a_build_model_code", "solution": true}
def build_transfer_model(n_bands, n_classes=NUM_CLASSES, input_size=32, weights=None):
    """ResNet-50 classifier for (8, 8, n_bands) patches with a new n_classes softmax head."""
    ### BEGIN SOLUTION
    backbone = keras.applications.ResNet50(include_top=False, weights=None,
                                           input_shape=(input_size, input_size, n_bands))
    if weights is not None:
        rgb = keras.applications.ResNet50(include_top=False, weights=weights,
                                          input_shape=(input_size, input_size, 3))
        for target, source in zip(backbone.layers, rgb.layers):
            values = source.get_weights()
            if target.name == "conv1_conv":
                values[0] = inflate_conv1_kernel(values[0], n_bands)
            target.set_weights(values)
    inputs = keras.Input((8, 8, n_bands), name="patch")
    x = keras.layers.Resizing(input_size, input_size, interpolation="bilinear", name="upsample")(inputs)
    x = backbone(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(0.3, name="dropout")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="land_cover")(x)
    return keras.Model(inputs, outputs, name=f"resnet50_{n_bands}band")
    ### END SOLUTION


# %% nbgrader={"grade_id": "4a_build_model", "grade": true, "points": 5}
model = build_transfer_model(6, NUM_CLASSES, INPUT_SIZE, WEIGHTS)
assert isinstance(model, keras.Model), "return a keras.Model"
assert tuple(model.input_shape) == (None, 8, 8, 6), \
    f"the input must be (None, 8, 8, 6) for 6-band patches, got {model.input_shape}"
assert tuple(model.output_shape) == (None, NUM_CLASSES), \
    f"the head must output {NUM_CLASSES} class probabilities, got {model.output_shape}"
_probs = model.predict(Xn_val[:4], verbose=0)
assert np.allclose(_probs.sum(axis=1), 1, atol=1e-4), "end with a softmax: each row must sum to 1"
assert model.count_params() > 20_000_000, "that is not a ResNet-50 backbone (about 23.5 M parameters)"
for layer in model.layers:
    print(f"{layer.name:24} {type(layer).__name__:24} {str(layer.output.shape):20} {layer.count_params():>12,}")

# %% [markdown]
# ## 4. Configure training
#
# ### Task 4 · Freeze by ratio, and measure it
#
# The exercise froze "the first 150 layers": 150 of ResNet-50's 175 layers, 86 %. With that much
# frozen, the model collapsed onto one class. Freeze by a **ratio** instead, and measure what you froze.
#
# - `freeze_by_ratio(backbone, ratio)`: make the first `round(ratio * len(backbone.layers))`
#   layers non-trainable and the others trainable. Keep `backbone.trainable` True. Keras 3 runs a
#   BatchNormalization layer in inference mode only when it is frozen, which is what small batches
#   need: you may keep **BatchNormalization** layers frozen after the cut too.
# - `frozen_fraction(backbone)`: the share (0–1) of the backbone's layers that are not trainable.
#
# The backbone is the nested ResNet-50 inside your model (the sub-model with a `conv1_conv` layer).

# %% nbgrader={"grade_id": "4a_freeze_code", "solution": true}
def freeze_by_ratio(backbone, ratio):
    """Freeze the first round(ratio * n_layers) layers of ``backbone``; BatchNorm may stay frozen."""
    ### BEGIN SOLUTION
    cut = round(ratio * len(backbone.layers))
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= cut and not isinstance(layer, keras.layers.BatchNormalization)
    ### END SOLUTION


def frozen_fraction(backbone):
    """Share of the backbone's layers that are not trainable (0-1)."""
    ### BEGIN SOLUTION
    return sum(not layer.trainable for layer in backbone.layers) / len(backbone.layers)
    ### END SOLUTION


def get_backbone(model):
    """The nested ResNet-50 of a classifier built by build_transfer_model."""
    ### BEGIN SOLUTION
    return next(layer for layer in model.layers if isinstance(layer, keras.Model))
    ### END SOLUTION


# %% nbgrader={"grade_id": "4a_freeze", "grade": true, "points": 5}
FREEZE_RATIO = 0.6  # below the exercise's 86 %, which collapsed
backbone = get_backbone(model)
freeze_by_ratio(backbone, FREEZE_RATIO)
fraction = frozen_fraction(backbone)
cut = round(FREEZE_RATIO * len(backbone.layers))
print(f"frozen: {fraction:.1%} of {len(backbone.layers)} layers (cut after layer {cut})")
assert backbone.trainable, "keep backbone.trainable True and freeze layer by layer"
assert all(not layer.trainable for layer in backbone.layers[:cut]), f"the first {cut} layers must be frozen"
assert any(layer.trainable for layer in backbone.layers[cut:]), "the layers after the cut must be trainable"
assert FREEZE_RATIO <= 0.8, "freeze at most 80 % of the backbone: the exercise's 86 % collapsed"
# BatchNormalization layers after the cut may stay frozen: they count as frozen too.
_bn_after_cut = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in backbone.layers[cut:])
assert cut / len(backbone.layers) - 0.01 <= fraction <= (cut + _bn_after_cut) / len(backbone.layers) + 0.01, \
    f"frozen_fraction says {fraction:.2f}: count the layers with trainable False, divided by all layers"

# %% [markdown]
# ### Task 5 · Callbacks
#
# Write `make_callbacks(checkpoint_path)` returning a list with
#
# - `EarlyStopping` on the validation loss, restoring the best weights,
# - `ReduceLROnPlateau` on the validation loss, with a **smaller patience** than early stopping
#   (otherwise training stops before the learning rate is ever lowered),
# - `ModelCheckpoint` keeping the best epoch only (`save_best_only=True`) and writing its weights
#   only (`save_weights_only=True`: a `.weights.h5` file, no optimizer state) to `checkpoint_path`.

# %% nbgrader={"grade_id": "4a_callbacks_code", "solution": true}
def make_callbacks(checkpoint_path):
    """[EarlyStopping, ReduceLROnPlateau, ModelCheckpoint] monitoring the validation loss."""
    ### BEGIN SOLUTION
    return [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=5, min_lr=1e-6),
        keras.callbacks.ModelCheckpoint(str(checkpoint_path), monitor="val_loss", save_best_only=True,
                                        save_weights_only=True),
    ]
    ### END SOLUTION


# %% nbgrader={"grade_id": "4a_callbacks", "grade": true, "points": 2}
_callbacks = make_callbacks("checkpoint.weights.h5")
_types = [type(c).__name__ for c in _callbacks]
for needed in ("EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint"):
    assert needed in _types, f"make_callbacks must include a keras.callbacks.{needed}; got {_types}"

# %% [markdown]
# ## 5. Train the model
#
# Train with Adam at a low learning rate (1e-4), batch 32, for up to `MAX_EPOCHS` epochs (50 by
# default), on the per-band normalised patches. Then plot the training curves and save the
# model. Every file goes through `output_path(...)`.
#
# **The saved model must be self-contained**: it takes the patches exactly as the release ships
# them (`X_val` as loaded, digital numbers) and carries its own preprocessing. Your network was
# trained on normalised patches, so put the same normalisation in front of it: a
# `keras.layers.Normalization(axis=-1)` layer adapted on `X_train` (`norm.adapt(X_train)`), then
# your model, e.g. `keras.Sequential([keras.Input(X_train.shape[1:]), norm, model])`. Store it in
# `saved_model`. Any preprocessing works if it is inside the saved model and built from layers
# Keras can load (no `Lambda` layers). The autograder feeds your saved model the raw validation
# and hidden patches, and a test below checks that it reproduces the accuracy you report.

# %% nbgrader={"grade_id": "4a_train_run", "solution": true}
import tempfile

LEARNING_RATE = 1e-4
BATCH_SIZE = 32
# The checkpoint holds the weights of the whole network (about 95 MB for ResNet-50's 23.5 M parameters):
# keep it out of the submission folder, in a temporary folder removed after training.
checkpoint_folder = tempfile.TemporaryDirectory(prefix="phase4a_checkpoint_")
checkpoint = Path(checkpoint_folder.name) / "phase4a_best.weights.h5"
### BEGIN SOLUTION
keras.utils.set_random_seed(SEED)
model = build_transfer_model(6, NUM_CLASSES, INPUT_SIZE, WEIGHTS)
backbone = get_backbone(model)
freeze_by_ratio(backbone, FREEZE_RATIO)
model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
fit = model.fit(Xn_train, y_train, validation_data=(Xn_val, y_val), epochs=MAX_EPOCHS, batch_size=BATCH_SIZE,
                shuffle=True, callbacks=make_callbacks(checkpoint), verbose=0)
history = {k: [float(v) for v in vs] for k, vs in fit.history.items()}
# the model to submit takes raw patches: the training set's per-band normalisation goes inside it
norm = keras.layers.Normalization(axis=-1, name="per_band_normalization")
norm.adapt(X_train)
saved_model = keras.Sequential([keras.Input(X_train.shape[1:]), norm, model], name="phase4a_transfer_model")
### END SOLUTION
print(f"trained {len(history['loss'])} epoch(s); best val_loss {min(history['val_loss']):.3f}")
checkpoint_folder.cleanup()

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
for key in ("loss", "val_loss"):
    ax_loss.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=key)
for key in ("accuracy", "val_accuracy"):
    ax_acc.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=key)
ax_loss.set(xlabel="epoch", ylabel="loss", title="Phase 4A loss")
ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Phase 4A accuracy", ylim=(0, 1))
ax_loss.legend()
ax_acc.legend()
fig.tight_layout()
fig.savefig(output_path("figures/phase4a_training_curves.png"), dpi=100)
plt.show()

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Keras 3 calls .h5 "legacy"; the exercise asks for .h5
    saved_model.save(output_path("models/week4/phase4a_transfer_model.h5"), include_optimizer=False)

# %% [markdown]
# ## 6. Evaluate and compare
#
# ### Task 6 · Metrics
#
# Write `evaluate_predictions(y_true, y_pred)` with scikit-learn, returning a dict with
# `accuracy`, `macro_precision`, `macro_recall`, `macro_f1` (macro averages over the `NUM_CLASSES`
# classes, 0 for a class never predicted: `zero_division=0`), `per_class` (class name →
# `{"precision", "recall", "f1", "support"}`) and `confusion_matrix` (`NUM_CLASSES`×`NUM_CLASSES` list of
# lists, rows = true class, columns = predicted class, over every label even when a class is absent).

# %% nbgrader={"grade_id": "4a_metrics_code", "solution": true}
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def evaluate_predictions(y_true, y_pred):
    """Accuracy, macro precision / recall / F1, per-class scores and the 5x5 confusion matrix."""
    ### BEGIN SOLUTION
    labels = list(range(NUM_CLASSES))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                                     zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(np.mean(precision)),
        "macro_recall": float(np.mean(recall)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(CLASS_NAMES, precision, recall, f1, support)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    ### END SOLUTION


# %% nbgrader={"grade_id": "4a_metrics", "grade": true, "points": 2}
_last = NUM_CLASSES - 1  # every class once, right, and the last class once more, predicted as class 0
_m = evaluate_predictions(np.array([*range(NUM_CLASSES), _last]), np.array([*range(NUM_CLASSES), 0]))
for key in ("accuracy", "macro_precision", "macro_recall", "macro_f1", "per_class", "confusion_matrix"):
    assert key in _m, f"evaluate_predictions must return the key {key!r}"
assert abs(_m["accuracy"] - NUM_CLASSES / (NUM_CLASSES + 1)) < 1e-9, \
    f"accuracy should be {NUM_CLASSES}/{NUM_CLASSES + 1}, got {_m['accuracy']}"
assert np.shape(_m["confusion_matrix"]) == (NUM_CLASSES, NUM_CLASSES), \
    f"the confusion matrix must be {NUM_CLASSES}x{NUM_CLASSES} (labels 0..{_last})"
assert _m["confusion_matrix"][_last][0] == 1, "rows are the true class, columns the predicted class"

# %% [markdown]
# ### Task 7 · Detect model collapse
#
# In the exercise the ResNet-50 predicted one class (Agriculture) for every validation patch and
# scored 13.33 % (10 of 75): exactly that class's share of the validation set. Accuracy alone hid the
# problem.
#
# Write `detect_collapse(y_pred, threshold=0.9)` returning a dict with `collapsed` (True when one
# class makes up at least `threshold` of the predictions), `majority_class` (its id),
# `majority_share` (0–1) and `predicted_classes` (sorted list of the class ids predicted at least once).

# %% nbgrader={"grade_id": "4a_collapse_code", "solution": true}
def detect_collapse(y_pred, threshold=0.9):
    """Collapse signals of a prediction vector: collapsed, majority_class, majority_share, predicted_classes."""
    ### BEGIN SOLUTION
    counts = np.bincount(np.asarray(y_pred, dtype=int), minlength=NUM_CLASSES)
    majority = int(np.argmax(counts))
    share = float(counts[majority] / counts.sum())
    return {"collapsed": share >= threshold, "majority_class": majority, "majority_share": share,
            "predicted_classes": [int(c) for c in np.flatnonzero(counts)]}
    ### END SOLUTION


# %% nbgrader={"grade_id": "4a_collapse", "grade": true, "points": 4}
_c = detect_collapse(np.full(75, 1))
assert _c["collapsed"] is True or _c["collapsed"] == True, "75 x the same class is a collapse"  # noqa: E712
assert _c["majority_class"] == 1 and abs(_c["majority_share"] - 1.0) < 1e-9, "majority class 1, share 1.0"
assert not detect_collapse(np.arange(75) % NUM_CLASSES)["collapsed"], "every class equally often is not a collapse"

# %% [markdown]
# Now evaluate the trained model on the validation set, draw its confusion matrix and look at a
# few predictions.

# %% nbgrader={"grade_id": "4a_evaluate_run", "solution": true}
### BEGIN SOLUTION
y_pred = np.argmax(model.predict(Xn_val, verbose=0), axis=1)
evaluation = evaluate_predictions(y_val, y_pred)
collapse = detect_collapse(y_pred)
### END SOLUTION
print(f"Phase 4A accuracy {evaluation['accuracy']:.2%}, macro F1 {evaluation['macro_f1']:.3f}")
print(f"collapse: {collapse}")

fig, ax = plt.subplots(figsize=(5.5, 5))
matrix = np.asarray(evaluation["confusion_matrix"])
ax.imshow(matrix, cmap="Blues")
ax.set_xticks(range(NUM_CLASSES), CLASS_NAMES, rotation=45, ha="right")
ax.set_yticks(range(NUM_CLASSES), CLASS_NAMES)
ax.set(xlabel="predicted", ylabel="true", title=f"Phase 4A confusion matrix (accuracy {evaluation['accuracy']:.1%})")
for (i, j), n in np.ndenumerate(matrix):
    ax.text(j, i, str(n), ha="center", va="center", color="white" if n > matrix.max() / 2 else "black")
fig.tight_layout()
fig.savefig(output_path("figures/phase4a_confusion_matrix.png"), dpi=100)
plt.show()

fig, axes = plt.subplots(1, 8, figsize=(14, 2.4))
for ax, i in zip(axes, np.linspace(0, len(X_val) - 1, 8).astype(int)):
    rgb = np.clip(X_val[i][..., [2, 1, 0]] / (0.3 * S2_SCALE), 0, 1)  # B4, B3, B2 as true colour
    ax.imshow(rgb)
    ax.set_title(f"{CLASS_NAMES[y_val[i]]}\n-> {CLASS_NAMES[y_pred[i]]}", fontsize=8,
                 color="green" if y_val[i] == y_pred[i] else "red")
    ax.axis("off")
plt.show()

# %% [markdown]
# ### The Week 3 baseline on the same validation set
#
# Load the Week 3 SimpleCNN (`models/week3/best_model.h5`) and compute its accuracy on the **same** 75
# validation patches. Feed it what Week 3 fed it: the course's SimpleCNN takes reflectance, scaled **outside**
# the model (`X_val / S2_SCALE`). Store the accuracy in `week3_accuracy` (a fraction 0–1).

# %% nbgrader={"grade_id": "4a_week3_run", "solution": true}
### BEGIN SOLUTION
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    week3_model = keras.models.load_model("models/week3/best_model.h5", compile=False)
week3_pred = np.argmax(week3_model.predict(X_val / S2_SCALE, verbose=0), axis=1)
week3_accuracy = float(np.mean(week3_pred == y_val))
### END SOLUTION
print(f"Week 3 SimpleCNN: {week3_accuracy:.2%}  |  Phase 4A ResNet-50: {evaluation['accuracy']:.2%}")

# %% nbgrader={"grade_id": "4a_week3_baseline", "grade": true, "points": 3}
assert 0.0 <= week3_accuracy <= 1.0, "week3_accuracy is a fraction between 0 and 1, not a percentage"

# %% [markdown]
# ## 7. Document results
#
# Write the metrics file, the comparison report and the experiment log. The layout of
# `reports/phase4a_metrics.json` is fixed (the autograder reads it); the given function
# `phase4a_metrics` builds it from your results.

# %% nbgrader={"grade_id": "4a_metrics_layout"}
def phase4a_metrics(evaluation, collapse, history, week3_accuracy, frozen, pretrained):
    """The layout of reports/phase4a_metrics.json."""
    losses = history.get("val_loss", [])
    return {
        "phase": "4A",
        "model": "ResNet50",
        "recipe": {"input_size": INPUT_SIZE, "normalisation": "per band, training statistics",
                   "freeze_ratio": FREEZE_RATIO, "learning_rate": LEARNING_RATE, "batch_size": BATCH_SIZE,
                   "max_epochs": MAX_EPOCHS},
        "pretrained": bool(pretrained),
        "weights_source": WEIGHTS,
        "freeze": {"layer_fraction": float(frozen)},
        "result": {
            "name": "S2", "bands": S2_BANDS, "accuracy": evaluation["accuracy"], "macro_f1": evaluation["macro_f1"],
            "evaluation": evaluation, "collapse": collapse,
            "training": {"epochs_run": len(losses), "best_epoch": int(np.argmin(losses)) + 1 if losses else None,
                         "history": history},
            "model_path": "models/week4/phase4a_transfer_model.h5",
        },
        "week3_baseline": {"val_accuracy": float(week3_accuracy), "source": "models/week3/best_model.h5"},
        "split": {"method": "Week 3 split: stratified by class at the patch level",
                  "val_counts": dict(zip(CLASS_NAMES, np.bincount(y_val, minlength=NUM_CLASSES).tolist()))},
    }


# %% nbgrader={"grade_id": "4a_document_run", "solution": true}
### BEGIN SOLUTION
metrics = phase4a_metrics(evaluation, collapse, history, week3_accuracy, frozen_fraction(backbone),
                          pretrained=WEIGHTS is not None)
output_path("reports/phase4a_metrics.json").write_text(json.dumps(metrics, indent=1))

verdict = "collapsed onto one class" if collapse["collapsed"] else "did not collapse"
difference = evaluation["accuracy"] - week3_accuracy
comparison = f"""# Phase 4A: ResNet-50 transfer learning vs the Week 3 SimpleCNN

## Setup
Same data and split for both models: {len(y_train)} training and {len(y_val)} validation patches
(8x8, 6 Sentinel-2 bands), split stratified by class at the patch level (as Week 3 made it).
ResNet-50 {'with ImageNet weights' if WEIGHTS else
'from random initialisation (ImageNet weights unavailable offline)'}, conv1 inflated to 6 bands, patches
upsampled to {INPUT_SIZE}x{INPUT_SIZE}, per-band normalisation, {FREEZE_RATIO:.0%} of the layers frozen,
Adam {LEARNING_RATE:g}, {len(history['loss'])} epoch(s).

## Results
| model | validation accuracy | macro F1 |
|---|---|---|
| Week 3 SimpleCNN | {week3_accuracy:.2%} | - |
| Phase 4A ResNet-50 | {evaluation['accuracy']:.2%} | {evaluation['macro_f1']:.3f} |

The ResNet-50 is {abs(difference) * 100:.2f} points {'above' if difference >= 0 else 'below'} the baseline
and {verdict} (largest class share {collapse['majority_share']:.0%}).

## Interpretation
Transfer learning brings ImageNet features learnt on RGB photos; on 8x8 multispectral patches upsampled
to 32x32 they fit poorly, and freezing too much of the network (the exercise's 86 %) leaves too little
to adapt. Per-band normalisation and a moderate freeze ratio keep training stable.

## Next steps
Try less freezing (50-70 %), larger native patches (32x32), more labelled samples, or train from scratch.
"""
output_path("reports/phase4a_comparison.md").write_text(comparison)

log_experiment(f"ResNet-50, {FREEZE_RATIO:.0%} frozen, lr {LEARNING_RATE:g}",
               "a moderate freeze ratio and per-band normalisation avoid the exercise's collapse",
               f"accuracy {evaluation['accuracy']:.2%} vs Week 3 {week3_accuracy:.2%}; {verdict}",
               "compare with less freezing and with the fused 8-band input (Phase 4B)")
lines = ["# Experiment log (Phase 4A)", ""]
for i, entry in enumerate(experiment_log, 1):
    lines += [f"## {i}. {entry['decision']}", f"- hypothesis: {entry['hypothesis']}",
              f"- result: {entry['result'] or 'pending'}", f"- next step: {entry['next_step'] or '-'}", ""]
output_path("reports/experiment_log.md").write_text("\n".join(lines))
### END SOLUTION
print(json.dumps({k: metrics[k] for k in ("phase", "model", "pretrained", "freeze")}, indent=1))

# %% [markdown]
# ## Checks of your submitted files
#
# These tests read the files in this folder, as you will submit them: run the whole notebook with
# the full budget before submitting.

# %% nbgrader={"grade_id": "4a_stability", "grade": true, "points": 3}
assert Path("reports/phase4a_metrics.json").exists(), \
    "reports/phase4a_metrics.json is missing: run the notebook top to bottom, then submit the files it writes"
_submitted = json.loads(Path("reports/phase4a_metrics.json").read_text())
print("submitted collapse signals:", _submitted["result"]["collapse"])

# %% nbgrader={"grade_id": "4a_comparison_report", "grade": true, "points": 3}
assert Path("reports/phase4a_comparison.md").exists(), \
    "reports/phase4a_comparison.md is missing: run Section 7 and submit the report"

# %% nbgrader={"grade_id": "4a_artifacts", "grade": true, "points": 4}
for _path in ("models/week4/phase4a_transfer_model.h5", "reports/phase4a_metrics.json",
              "figures/phase4a_training_curves.png", "figures/phase4a_confusion_matrix.png",
              "reports/phase4a_comparison.md"):
    assert Path(_path).exists(), f"{_path} is missing: run the notebook with the full budget and submit it"
# the submitted model, fed the raw validation patches, must score what the metrics file reports
check_saved_model("models/week4/phase4a_transfer_model.h5", X_val, y_val,
                  json.loads(Path("reports/phase4a_metrics.json").read_text())["result"]["accuracy"])

# %% [markdown]
# ## Reflection
#
# Answer in the cells below (a TA grades them). Use your own numbers.
#
# **Performance and stability.** Did training stay stable, or did the model collapse? What in your
# curves, confusion matrix and collapse signals shows it?

# %% [markdown] nbgrader={"grade_id": "4a_analysis", "grade": true, "solution": true, "points": 3}
# Training was stable: the validation loss fell for the first epochs and early stopping kept the best
# epoch; the confusion matrix has a strong diagonal and all five classes are predicted (the largest class
# share is 27 %, well below 90 %). In the exercise, the same network with its recipe (86 % of the layers
# frozen, `preprocess_input` on the raw patches) predicted a single class and scored that class's
# prevalence, 13.33 %: a collapse that the accuracy alone does not reveal but the prediction distribution does.

# %% [markdown]
# **Comparison with Week 3.** Did transfer learning beat the SimpleCNN? Why, or why not? What
# evidence do you have for or against ImageNet features transferring to multispectral data?

# %% [markdown] nbgrader={"grade_id": "4a_comparison_answer", "grade": true, "solution": true, "points": 4}
# On the same 75 validation patches the ResNet-50 scored 85.3 % and the Week 3 SimpleCNN 37.3 %. That is
# not evidence for ImageNet transfer: offline my ResNet-50 started from random weights (`pretrained: false`).
# The gap comes from training: the Week 3 model's training accuracy rose to about 90 % while its validation
# accuracy stayed at 23-37 %, the signature of BatchNorm's moving statistics lagging behind, and its early
# stopping ended training at epoch 13; my ResNet-50 kept BatchNorm frozen after the cut and normalised each
# band. Both scores are flattered by the Week 3 split, which was made patch by patch: near-copies of most
# validation patches are in training. Whether ImageNet features transfer would need the weights: they were
# learnt on RGB photos at 224x224, our inputs are six bands at 8x8 upsampled to 32x32, and bands 4-6 have no
# ImageNet counterpart. Next: the same run with ImageNet weights, on a polygon-grouped split.

# %% [markdown]
# **Technical reflection.** Which design choices mattered most (freeze ratio, normalisation, patch
# size)? What would you try next?

# %% [markdown] nbgrader={"grade_id": "4a_reflection", "grade": true, "solution": true, "points": 3}
# The freeze ratio and the input normalisation mattered most: freezing above 80 % leaves too little
# capacity to adapt, and ImageNet's `preprocess_input` scrambles multispectral bands. Next I would try
# 50-70 % frozen with a lower learning rate for the backbone, 32x32 native patches, and more samples.
