"""The Week 4 ResNet-50 builder: weights resolution, band adapters, freezing, BatchNorm mode.

ImageNet weights cannot be downloaded here, so weight transfer is checked against a seeded
random RGB ResNet-50 saved by the tests, in both Keras 3 (.weights.h5) and legacy (.h5, the
format of the ImageNet notop file) formats.
"""

import warnings

import numpy as np
import pytest

from geoai_ref.models.resnet import (
    NOTOP_WEIGHTS_FILE,
    NOTOP_WEIGHTS_MD5,
    WEIGHTS_ENV,
    FreezeReport,
    PretrainedWeightsUnavailable,
    build_resnet50,
    find_backbone,
    freeze_backbone,
    imagenet_preprocessing_layer,
    inflate_conv1_kernel,
    keras,
    measure_frozen,
    resolve_imagenet_weights,
)

SIZE = 32


def rgb_resnet50() -> keras.Model:
    return keras.applications.ResNet50(include_top=False, weights=None, input_shape=(SIZE, SIZE, 3))


def weighted_layers(model: keras.Model) -> dict:
    return {layer.name: layer for layer in model.layers if layer.weights}


def assert_same_weights(a: keras.Model, b: keras.Model) -> None:
    la, lb = weighted_layers(a), weighted_layers(b)
    assert set(la) == set(lb)
    for name, layer in la.items():
        for wa, wb in zip(layer.get_weights(), lb[name].get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb, err_msg=name)


def patches(n_bands: int, n: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    offsets = np.linspace(0.05, 0.4, n_bands, dtype=np.float32)
    return (offsets + 0.05 * rng.normal(size=(n, 8, 8, n_bands))).astype(np.float32)


@pytest.fixture
def no_weights_anywhere(monkeypatch, tmp_path):
    """HOME and KERAS_HOME point at empty folders; the env var is unset."""
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return tmp_path


@pytest.fixture(scope="module")
def rgb(tmp_path_factory):
    """A seeded RGB ResNet-50 with non-trivial BatchNorm statistics, saved as .weights.h5."""
    keras.utils.set_random_seed(3)
    model = rgb_resnet50()
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c), rng.normal(0, 0.1, c),
                               rng.uniform(0.5, 1.5, c)])
    path = tmp_path_factory.mktemp("weights") / "rgb.weights.h5"
    model.save_weights(path)
    return model, path


@pytest.fixture(scope="module")
def inflated(rgb):
    return build_resnet50(6, None, adapter="conv1_inflation", weights=rgb[1], normalize=False)


@pytest.fixture(scope="module")
def reduced(rgb):
    return build_resnet50(6, None, adapter="band_reduction", weights=rgb[1], normalize=False)


@pytest.fixture(scope="module")
def built():
    """Random-init classifiers for both adapters and 6 or 8 bands, with the warnings each build emitted."""
    out = {}
    for adapter in ("conv1_inflation", "band_reduction"):
        for n in (6, 8):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                build = build_resnet50(n, patches(n), adapter=adapter, weights=None, seed=1)
            out[adapter, n] = build, [w for w in caught if issubclass(w.category, UserWarning)]
    return out


@pytest.fixture(scope="module")
def plain_base():
    return rgb_resnet50()


# --- conv1 inflation rule ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 7, 8])
def test_inflated_kernel_repeats_rgb_and_scales_by_3_over_n(n):
    kernel = np.random.default_rng(n).normal(size=(7, 7, 3, 64)).astype(np.float32)
    out = inflate_conv1_kernel(kernel, n)
    assert out.shape == (7, 7, n, 64) and out.dtype == np.float32
    for k in range(n):
        np.testing.assert_allclose(out[:, :, k, :], kernel[:, :, k % 3, :] * 3 / n, rtol=1e-6)


def test_inflated_kernel_keeps_the_sum_over_input_channels_for_multiples_of_3():
    kernel = np.random.default_rng(0).normal(size=(7, 7, 3, 64)).astype(np.float32)
    for n in (3, 6, 9):
        np.testing.assert_allclose(inflate_conv1_kernel(kernel, n).sum(axis=2), kernel.sum(axis=2), atol=1e-5)


@pytest.mark.parametrize("shape", [(7, 7, 6, 64), (7, 7, 64), (7, 7, 1, 64)])
def test_inflation_rejects_non_rgb_kernels(shape):
    with pytest.raises(ValueError, match="RGB conv kernel"):
        inflate_conv1_kernel(np.zeros(shape, dtype=np.float32), 6)


@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_inflation_rejects_bad_band_counts(n):
    with pytest.raises(ValueError, match="n_bands"):
        inflate_conv1_kernel(np.zeros((7, 7, 3, 64), dtype=np.float32), n)


# --- weight transfer, checked exactly against a saved RGB backbone -----------------------------------------------


def test_saved_rgb_weights_load_in_keras_resnet50(rgb):
    model, path = rgb
    loaded = keras.applications.ResNet50(include_top=False, weights=str(path), input_shape=(SIZE, SIZE, 3))
    assert_same_weights(loaded, model)


def test_inflated_backbone_equals_rgb_backbone_on_band_repeated_input(rgb, inflated):
    model, path = rgb
    assert inflated.pretrained and inflated.weights_source == str(path) and inflated.adapter == "conv1_inflation"
    assert inflated.base.input_shape == (None, SIZE, SIZE, 6)
    x = np.random.default_rng(5).uniform(0, 1, size=(4, SIZE, SIZE, 3)).astype(np.float32)
    expected = np.asarray(model(x, training=False))
    got = np.asarray(inflated.base(np.concatenate([x, x], axis=-1), training=False))
    scale = float(np.abs(expected).max())
    assert scale > 0
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * scale)


def test_inflated_backbone_copies_every_other_layer_and_inflates_conv1(rgb, inflated):
    model, _ = rgb
    source, target = weighted_layers(model), weighted_layers(inflated.base)
    assert set(source) == set(target)
    for name, layer in source.items():
        expected = layer.get_weights()
        if name == "conv1_conv":
            expected = [inflate_conv1_kernel(expected[0], 6), expected[1]]
        for w_exp, w_got in zip(expected, target[name].get_weights(), strict=True):
            np.testing.assert_array_equal(w_got, w_exp, err_msg=name)


def test_band_reduction_backbone_holds_the_saved_weights(rgb, reduced):
    model, path = rgb
    assert reduced.pretrained and reduced.weights_source == str(path)
    assert reduced.base.input_shape == (None, SIZE, SIZE, 3)
    assert_same_weights(reduced.base, model)
    assert reduced.model.get_layer("band_reduction").kernel.shape == (1, 1, 6, 3)


def test_legacy_notop_file_in_keras_home_is_found_and_loaded(rgb, no_weights_anywhere):
    """The ImageNet file is a legacy Keras .h5: write one in that format where Keras caches it."""
    h5py = pytest.importorskip("h5py")
    legacy = pytest.importorskip("keras.src.legacy.saving.legacy_h5_format")
    model, _ = rgb
    target = no_weights_anywhere / "keras_home" / "models" / NOTOP_WEIGHTS_FILE
    target.parent.mkdir(parents=True)
    with h5py.File(target, "w") as f:
        legacy.save_weights_to_hdf5_group(f, model)
    build = build_resnet50(6, patches(6), adapter="conv1_inflation")  # weights="imagenet" by default
    assert build.pretrained and build.weights_source == str(target)
    for name in ("conv1_bn", "conv3_block2_2_conv", "conv5_block3_3_bn"):
        for a, b in zip(build.base.get_layer(name).get_weights(), model.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_unreadable_weights_file_says_what_file_is_expected(tmp_path):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match="could not load ResNet-50 weights"):
        build_resnet50(3, None, adapter="band_reduction", weights=bad, normalize=False)


# --- weights resolution -------------------------------------------------------------------------------------------


def test_env_var_naming_a_missing_file_is_an_error(no_weights_anywhere, monkeypatch):
    missing = no_weights_anywhere / "nowhere.h5"
    monkeypatch.setenv(WEIGHTS_ENV, str(missing))
    with pytest.raises(PretrainedWeightsUnavailable, match=WEIGHTS_ENV) as info:
        resolve_imagenet_weights()
    assert str(missing) in str(info.value)


def test_no_weights_anywhere_says_how_to_get_them_or_go_without(no_weights_anywhere):
    with pytest.raises(PretrainedWeightsUnavailable) as info:
        resolve_imagenet_weights()
    message = str(info.value)
    for needle in (WEIGHTS_ENV, "allow-random-init", "allow_random_init", NOTOP_WEIGHTS_MD5, "~/.keras/models",
                   "cannot be downloaded", "pretrained: false"):
        assert needle in message, needle
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("where", ["env", "keras_home", "home"])
def test_weights_file_is_found(no_weights_anywhere, monkeypatch, where):
    root = no_weights_anywhere
    path = {"env": root / "elsewhere" / "w.h5", "keras_home": root / "keras_home" / "models" / NOTOP_WEIGHTS_FILE,
            "home": root / "home" / ".keras" / "models" / NOTOP_WEIGHTS_FILE}[where]
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    if where == "env":
        monkeypatch.setenv(WEIGHTS_ENV, str(path))
    assert resolve_imagenet_weights() == path


def test_imagenet_without_weights_fails_unless_random_init_is_allowed(no_weights_anywhere):
    x = patches(6)
    with pytest.raises(PretrainedWeightsUnavailable, match="allow-random-init"):
        build_resnet50(6, x)
    with pytest.warns(UserWarning, match="RANDOMLY INITIALISED.*pretrained is False"):
        build = build_resnet50(6, x, adapter="band_reduction", allow_random_init=True)
    assert build.pretrained is False and build.weights_source is None


def test_weights_none_is_random_init_without_warning(built):
    for build, caught in built.values():
        assert build.pretrained is False and build.weights_source is None
        assert caught == [], [str(w.message) for w in caught]


def test_missing_weights_path_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_resnet50(6, patches(6), weights=tmp_path / "missing.weights.h5")


def test_seed_makes_builds_repeatable():
    a = build_resnet50(3, None, adapter="band_reduction", weights=None, normalize=False, seed=7)
    b = build_resnet50(3, None, adapter="band_reduction", weights=None, normalize=False, seed=7)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


# --- model input / output and validation --------------------------------------------------------------------------


@pytest.mark.parametrize("adapter", ["conv1_inflation", "band_reduction"])
@pytest.mark.parametrize("n", [6, 8])
def test_classifier_takes_8x8_patches_and_outputs_5_probabilities(built, adapter, n):
    build, _ = built[adapter, n]
    model = build.model
    assert model.input_shape == (None, 8, 8, n) and model.output_shape == (None, 5)
    assert build.n_bands == n and build.adapter == adapter and build.normalization == "per_band"
    probs = np.asarray(model(patches(n, n=4, seed=9), training=False))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert find_backbone(model) is build.base
    names = [layer.name for layer in model.layers]
    assert names[1:3] == ["per_band_normalization", "upsample"]
    assert ("band_reduction" in names) == (adapter == "band_reduction")
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers + build.base.layers)
    norm = model.get_layer("per_band_normalization")
    np.testing.assert_allclose(np.ravel(norm.mean), patches(n).mean(axis=(0, 1, 2)), atol=1e-5)


def test_saved_classifier_loads_without_custom_objects(built, tmp_path):
    build, _ = built["band_reduction", 6]
    path = tmp_path / "resnet.keras"
    build.model.save(path)
    loaded = keras.models.load_model(path, compile=False)  # safe_mode=True: would refuse a Lambda layer
    x = patches(6, n=4, seed=2)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), np.asarray(build.model(x, training=False)),
                               atol=1e-6)


def test_normalize_false_has_no_normalization_layer():
    build = build_resnet50(4, None, adapter="band_reduction", weights=None, normalize=False)
    assert build.normalization == "none"
    assert "per_band_normalization" not in [layer.name for layer in build.model.layers]
    assert build.model.input_shape == (None, 8, 8, 4)


@pytest.mark.parametrize("n_bands", [3, 6, 8])
def test_imagenet_preprocessing_layer_is_keras_preprocess_input_inside_the_model(n_bands):
    """The exercise's recipe, kept inside the saved model (so it takes raw patches) with a built-in layer."""
    from keras.applications.resnet import preprocess_input

    x = patches(n_bands, n=4, seed=3)
    layer = imagenet_preprocessing_layer(n_bands)
    assert layer.trainable is False
    np.testing.assert_allclose(np.asarray(layer(x)), preprocess_input(x.copy()), rtol=1e-6, atol=1e-4)


def test_imagenet_preprocess_build_takes_raw_patches_and_excludes_normalisation():
    build = build_resnet50(6, None, weights=None, normalize=False, imagenet_preprocess=True)
    assert build.normalization == "imagenet_preprocess"
    assert not build.model.get_layer("imagenet_preprocess").trainable
    with pytest.raises(ValueError, match="choose one input handling"):
        build_resnet50(6, patches(6), weights=None, normalize=True, imagenet_preprocess=True)


def test_imagenet_preprocess_of_digital_numbers_scales_them_to_reflectance_first():
    """The course's code divided its digital numbers by 10000 before preprocess_input: the model does the same."""
    from keras.applications.resnet import preprocess_input

    build = build_resnet50(6, None, weights=None, normalize=False, imagenet_preprocess=True, input_scale=1e-4)
    digital_numbers = 10000.0 * patches(6, n=4, seed=5)
    inner = keras.Model(build.model.input, build.model.get_layer("imagenet_preprocess").output)
    np.testing.assert_allclose(np.asarray(inner(digital_numbers)), preprocess_input(digital_numbers / 10000.0),
                               rtol=1e-5, atol=1e-3)


def test_wrong_x_train_shape_names_expected_and_actual_shapes():
    with pytest.raises(ValueError, match="Input shape mismatch") as info:
        build_resnet50(6, patches(8), weights=None)
    assert "(n, 8, 8, 6)" in str(info.value) and "(16, 8, 8, 8)" in str(info.value)
    with pytest.raises(ValueError, match="Input shape mismatch"):
        build_resnet50(6, np.zeros((16, 32, 32, 6), dtype=np.float32), weights=None)


def test_nan_in_x_train_is_rejected():
    x = patches(6)
    x[3, 2, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        build_resnet50(6, x, weights=None)


def test_unknown_adapter_lists_the_valid_ones():
    with pytest.raises(ValueError, match="conv1_inflation.*band_reduction"):
        build_resnet50(6, patches(6), adapter="pca", weights=None)


def test_upsampling_below_32_is_rejected():
    with pytest.raises(ValueError, match="at least 32"):
        build_resnet50(6, patches(6), upsample_to=16, weights=None)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="n_bands"):
        build_resnet50(0, None, normalize=False, weights=None)
    with pytest.raises(ValueError, match="x_train"):
        build_resnet50(6, None, weights=None)
    with pytest.raises(ValueError, match="dropout"):
        build_resnet50(6, patches(6), dropout=1.0, weights=None)


# --- freezing ------------------------------------------------------------------------------------------------------


def test_freezing_first_150_layers_freezes_857_percent_of_layers_but_576_percent_of_parameters(plain_base):
    report = freeze_backbone(plain_base, n_layers=150)
    assert (report.frozen_layers, report.total_layers) == (150, 175)
    assert round(report.layer_fraction, 3) == 0.857 and round(report.param_fraction, 3) == 0.576
    assert report.total_params == plain_base.count_params()
    assert report.summary == "150/175 layers (85.7 %), 13.6M/23.6M parameters (57.6 %) frozen"
    assert [layer.trainable for layer in plain_base.layers] == [False] * 150 + [True] * 25
    assert measure_frozen(plain_base) == report
    assert set(report.to_dict()) == {"frozen_layers", "total_layers", "layer_fraction", "frozen_params",
                                     "total_params", "param_fraction"}


def test_freezing_by_ratio(plain_base):
    assert freeze_backbone(plain_base, ratio=150 / 175) == freeze_backbone(plain_base, n_layers=150)
    none = freeze_backbone(plain_base, ratio=0.0)
    assert (none.frozen_layers, none.frozen_params, none.param_fraction) == (0, 0, 0.0)
    assert len(plain_base.trainable_weights) > 0
    everything = freeze_backbone(plain_base, ratio=1.0)
    assert everything.frozen_layers == 175 and everything.param_fraction == 1.0
    assert plain_base.trainable_weights == []


@pytest.mark.parametrize("kwargs", [{}, {"n_layers": 150, "ratio": 0.5}, {"n_layers": -1}, {"n_layers": 176},
                                    {"ratio": 1.5}, {"ratio": -0.1}])
def test_freezing_argument_errors(plain_base, kwargs):
    with pytest.raises(ValueError):
        freeze_backbone(plain_base, **kwargs)


def test_measure_frozen_counts_a_frozen_backbone_as_fully_frozen(plain_base):
    plain_base.trainable = False
    plain_base.layers[-1].trainable = True  # Keras trains nothing in a non-trainable model all the same
    assert plain_base.trainable_weights == []
    assert measure_frozen(plain_base).frozen_layers == 175
    report = freeze_backbone(plain_base, n_layers=150)  # re-enables the backbone itself
    assert report.frozen_layers == 150 and len(plain_base.trainable_weights) > 0


def test_measure_frozen_on_a_student_style_classifier(plain_base):
    """Hidden tests measure a student's model: find its backbone, then count frozen layers."""
    freeze_backbone(plain_base, ratio=0.0)
    inputs = keras.Input((SIZE, SIZE, 3))
    outputs = keras.layers.Dense(5)(keras.layers.GlobalAveragePooling2D()(plain_base(inputs, training=False)))
    student = keras.Model(inputs, outputs)
    for layer in find_backbone(student).layers[:100]:
        layer.trainable = False
    report = measure_frozen(find_backbone(student))
    assert isinstance(report, FreezeReport) and report.frozen_layers == 100


def test_find_backbone_rejects_models_without_a_resnet():
    inputs = keras.Input((8, 8, 6))
    model = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="conv1_conv"):
        find_backbone(model)


# --- BatchNorm mode -------------------------------------------------------------------------------------------------


def test_bn_inference_keeps_batchnorm_on_moving_statistics_even_in_training():
    x = patches(6)
    build = build_resnet50(6, x, adapter="conv1_inflation", weights=None, dropout=0.0, bn_inference=True, seed=2)
    model = build.model
    np.testing.assert_allclose(np.asarray(model(x, training=True)), np.asarray(model(x, training=False)), atol=1e-6)
    assert build.bn_inference
    report = build.freeze(n_layers=150)  # BatchNorm layers after the cut stay frozen
    assert report.frozen_layers == 158 and report == measure_frozen(build.base)
    assert not any(layer.trainable for layer in build.base.layers if isinstance(layer, keras.layers.BatchNormalization))
    np.testing.assert_allclose(np.asarray(model(x, training=True)), np.asarray(model(x, training=False)), atol=1e-6)

    base_node = next(layer for layer in model.get_config()["layers"] if layer["name"] == build.base.name)
    assert base_node["inbound_nodes"][0]["kwargs"]["training"] is False  # the Keras guide's training=False

    bn, conv = build.base.get_layer("conv5_block3_3_bn"), build.base.get_layer("conv5_block3_3_conv")
    stats, kernel = bn.moving_mean.numpy().copy(), conv.kernel.numpy().copy()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, np.arange(len(x)) % 5, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), stats)
    assert not np.array_equal(conv.kernel.numpy(), kernel)  # the unfrozen convolutions did train


def test_without_bn_inference_batchnorm_uses_batch_statistics_in_training():
    x = patches(6)
    build = build_resnet50(6, x, adapter="band_reduction", weights=None, dropout=0.0, bn_inference=False, seed=2)
    diff = np.abs(np.asarray(build.model(x, training=True)) - np.asarray(build.model(x, training=False))).max()
    assert diff > 1e-3
    assert not build.bn_inference
    assert build.freeze(n_layers=150).frozen_layers == 150
    assert freeze_backbone(build.base, n_layers=150, keep_batchnorm_frozen=True).frozen_layers == 158
