"""Week 4 transfer learning: a Keras ResNet-50 backbone adapted to N-band 8x8 patches.

The classifier takes patches in physical units; its first layer is a Normalization layer adapted
to the training set's per-band statistics (as in the SimpleCNN), then a bilinear Resizing layer
up-samples the 8x8 patches to 32x32, the smallest size the ImageNet ResNet-50 accepts.
ImageNet's backbone wants 3 channels; two adapters feed it N bands:

- ``"conv1_inflation"``: a ResNet-50 built for N channels whose ``conv1_conv`` kernel is the
  RGB kernel repeated along the input axis and scaled by 3/N (timm ``adapt_input_conv``,
  TorchGeo), all other weights copied from ImageNet;
- ``"band_reduction"``: a 1x1 Conv2D from N bands to 3 in front of the unchanged backbone.

ImageNet weights cannot be downloaded on the machines that run this kit: they are read from
``$GEOAI_RESNET50_WEIGHTS``, ``$KERAS_HOME/models`` or ``~/.keras/models``
(:func:`resolve_imagenet_weights`). Without them, ``allow_random_init=True`` trains the same
architecture from random initialisation, recorded as ``pretrained: False``.

BatchNorm and Keras 3: the Keras transfer-learning guide calls the backbone with
``training=False`` to keep BatchNorm in inference mode. Keras 3.15 overrides that flag with the
outer model's ``training`` value (``model.fit`` passes ``True``), so BatchNorm layers would
normalise with batch statistics and update their moving statistics during training. A Keras 3
BatchNormalization layer whose ``trainable`` is False always uses its moving statistics, so
``bn_inference=True`` also sets ``trainable=False`` on every BatchNorm layer of the backbone
(their scale and offset are then not trained either). To keep them so when unfreezing part of
the backbone, use :meth:`ResNetBuild.freeze` or ``freeze_backbone(..., keep_batchnorm_frozen=True)``.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from geoai_ref.classes import NUM_CLASSES
from geoai_ref.errors import MissingInput, Unavailable
from geoai_ref.freezing import FreezeReport, measure_frozen
from geoai_ref.models import keras

WEIGHTS_ENV = "GEOAI_RESNET50_WEIGHTS"
NOTOP_WEIGHTS_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
NOTOP_WEIGHTS_MD5 = "4d473c1dd8becc155b73f8504c6f6626"
ADAPTERS: tuple[str, ...] = ("conv1_inflation", "band_reduction")
MIN_RESNET_INPUT = 32
CONV1 = "conv1_conv"


class PretrainedWeightsUnavailable(Unavailable):
    """The ImageNet ResNet-50 weights file is not on this machine (it cannot be downloaded here)."""


def _how_to_get_weights() -> str:
    return (
        f"ImageNet weights cannot be downloaded here. Put the notop file {NOTOP_WEIGHTS_FILE} "
        f"(md5 {NOTOP_WEIGHTS_MD5}) in ~/.keras/models (or $KERAS_HOME/models), or set "
        f"{WEIGHTS_ENV}=/path/to/{NOTOP_WEIGHTS_FILE}; or pass allow_random_init=True "
        "(CLI flag --allow-random-init) to train from random initialisation, recorded as pretrained: false."
    )


def _weights_candidates() -> list[Path]:
    candidates = []
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        candidates.append(Path(keras_home).expanduser() / "models" / NOTOP_WEIGHTS_FILE)
    candidates.append(Path.home() / ".keras" / "models" / NOTOP_WEIGHTS_FILE)
    return candidates


def resolve_imagenet_weights() -> Path:
    """The ImageNet notop ResNet-50 weights file: ``$GEOAI_RESNET50_WEIGHTS``, else the Keras cache.

    Raises:
        PretrainedWeightsUnavailable: if ``$GEOAI_RESNET50_WEIGHTS`` names a missing file, or no
            weights file is found in ``$KERAS_HOME/models`` or ``~/.keras/models``; the message
            says how to provide one or to train from random initialisation instead.
    """
    named = os.environ.get(WEIGHTS_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise PretrainedWeightsUnavailable(f"{WEIGHTS_ENV}={named} but no such file exists. "
                                               + _how_to_get_weights())
        return path
    candidates = _weights_candidates()
    for path in candidates:
        if path.is_file():
            return path
    searched = ", ".join(str(p) for p in candidates)
    raise PretrainedWeightsUnavailable(
        f"no ResNet-50 ImageNet weights found ({WEIGHTS_ENV} is not set; searched {searched}). " + _how_to_get_weights()
    )


def inflate_conv1_kernel(kernel: np.ndarray, n_bands: int) -> np.ndarray:
    """Inflate an RGB first-convolution kernel (7, 7, 3, 64) to ``n_bands`` input channels.

    Channel k of the result is RGB channel k % 3 multiplied by 3 / n_bands (timm
    ``adapt_input_conv``, TorchGeo), so for n_bands a multiple of 3 and RGB-repeated input
    the convolution's output equals the original's.

    Raises:
        ValueError: if the kernel is not 4-D with 3 input channels (axis 2), or n_bands < 1.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise ValueError(f"expected an RGB conv kernel (kh, kw, 3, filters), got shape {kernel.shape}")
    if int(n_bands) != n_bands or n_bands < 1:
        raise ValueError(f"n_bands must be a positive integer, got {n_bands!r}")
    repeats = math.ceil(n_bands / 3)
    inflated = np.tile(kernel, (1, 1, repeats, 1))[:, :, :n_bands, :] * (3.0 / n_bands)
    return inflated.astype(kernel.dtype, copy=False)


@dataclass
class ResNetBuild:
    """A built ResNet-50 classifier and how it was built."""

    model: keras.Model
    base: keras.Model
    adapter: str
    n_bands: int
    pretrained: bool
    weights_source: str | None
    normalization: Literal["per_band", "none"]
    bn_inference: bool = True

    def freeze(self, n_layers: int | None = None, ratio: float | None = None) -> FreezeReport:
        """:func:`freeze_backbone` on ``base``, keeping BatchNorm frozen when built with ``bn_inference``.

        Raises:
            ValueError: as :func:`freeze_backbone`.
        """
        return freeze_backbone(self.base, n_layers, ratio, keep_batchnorm_frozen=self.bn_inference)


def _resnet50(channels: int, size: int) -> keras.Model:
    # Keras warns (on stderr, which fails nbgrader cells) for channels other than 1 or 3: expected here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="This model usually expects", category=UserWarning)
        return keras.applications.ResNet50(include_top=False, weights=None, input_shape=(size, size, channels))


def _load_weights(model: keras.Model, path: Path) -> None:
    try:
        model.load_weights(str(path))
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(
            f"could not load ResNet-50 weights from {path}: {err}. Use the Keras notop file "
            f"{NOTOP_WEIGHTS_FILE} (md5 {NOTOP_WEIGHTS_MD5}) or a .weights.h5 file saved from "
            "ResNet50(include_top=False)"
        ) from err


def _inflated_backbone(n_bands: int, size: int, path: Path) -> keras.Model:
    """A ResNet-50 for ``n_bands`` channels holding the RGB weights in ``path``, conv1 inflated."""
    base = _resnet50(n_bands, size)
    if n_bands == 3:
        _load_weights(base, path)
        return base
    rgb = _resnet50(3, size)
    _load_weights(rgb, path)
    target = {layer.name: layer for layer in base.layers if layer.weights}
    source = {layer.name: layer for layer in rgb.layers if layer.weights}
    if set(target) != set(source):
        raise RuntimeError(f"RGB and {n_bands}-band ResNet-50 differ in weighted layers: {set(target) ^ set(source)}")
    for name, layer in source.items():
        values = layer.get_weights()
        if name == CONV1:
            values = [inflate_conv1_kernel(values[0], n_bands), *values[1:]]
        target[name].set_weights(values)
    return base


def _resolve_weights(weights: str | Path | None, allow_random_init: bool) -> Path | None:
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "imagenet":
        try:
            return resolve_imagenet_weights()
        except PretrainedWeightsUnavailable as err:
            if not allow_random_init:
                raise
            warnings.warn(
                f"ResNet-50 backbone is RANDOMLY INITIALISED (allow_random_init=True): pretrained is False. {err}",
                UserWarning,
                stacklevel=3,
            )
            return None
    path = Path(weights).expanduser()
    if not path.is_file():
        raise MissingInput(
            f"ResNet-50 weights file {path} does not exist: pass the path of {NOTOP_WEIGHTS_FILE} "
            "(or a .weights.h5 saved from ResNet50(include_top=False)), weights='imagenet', or weights=None"
        )
    return path


def _check_x_train(x_train: np.ndarray, input_size: int, n_bands: int) -> None:
    expected = (input_size, input_size, n_bands)
    if x_train.ndim != 4 or tuple(x_train.shape[1:]) != expected:
        raise ValueError(
            f"Input shape mismatch: x_train must be (n, {input_size}, {input_size}, {n_bands}), got {x_train.shape}; "
            "build the model with n_bands equal to the patches' band count (x_train.shape[-1])"
        )
    if not np.isfinite(x_train).all():
        raise ValueError("x_train holds NaN or infinite values: run quality control before training")


#: Keras' ImageNet "caffe" preprocessing (keras.applications.resnet.preprocess_input): channels reversed, then
#: these means subtracted from the first three channels of the reversed order.
IMAGENET_CAFFE_MEANS = (103.939, 116.779, 123.68)


def imagenet_preprocessing_layer(n_bands: int) -> keras.layers.Conv2D:
    """A frozen 1x1 convolution computing ``preprocess_input`` on ``n_bands`` channels inside a model, so that a
    model trained with the exercise's recipe still takes the raw patches (built-in layers: no Lambda)."""
    kernel = np.zeros((1, 1, n_bands, n_bands), dtype=np.float32)
    for out in range(n_bands):
        kernel[0, 0, n_bands - 1 - out, out] = 1.0
    bias = np.zeros(n_bands, dtype=np.float32)
    bias[: min(3, n_bands)] = -np.asarray(IMAGENET_CAFFE_MEANS[:n_bands], dtype=np.float32)
    layer = keras.layers.Conv2D(n_bands, 1, name="imagenet_preprocess", trainable=False)
    layer.build((None, None, None, n_bands))
    layer.set_weights([kernel, bias])
    return layer


def build_resnet50(
    n_bands: int,
    x_train: np.ndarray | None,
    adapter: str = "conv1_inflation",
    weights: str | Path | None = "imagenet",
    allow_random_init: bool = False,
    normalize: bool = True,
    imagenet_preprocess: bool = False,
    input_size: int = 8,
    upsample_to: int = 32,
    dropout: float = 0.3,
    n_classes: int = NUM_CLASSES,
    bn_inference: bool = True,
    seed: int | None = None,
    input_scale: float = 1.0,
) -> ResNetBuild:
    """A ResNet-50 classifier for (input_size, input_size, n_bands) patches.

    Graph: Input -> [per-band Normalization adapted on ``x_train``, or with ``imagenet_preprocess`` the
    exercise's ``preprocess_input`` as a frozen layer (:func:`imagenet_preprocessing_layer`), after a
    ``Rescaling(input_scale)`` when ``input_scale`` is not 1 (the course scaled its digital numbers to
    reflectance, 1/10000, before preprocessing)] -> bilinear Resizing to
    ``upsample_to`` -> adapter -> ResNet-50 backbone -> GlobalAveragePooling2D -> Dropout ->
    Dense softmax. ``weights`` is "imagenet" (see :func:`resolve_imagenet_weights`), a weights
    file path, or None (random initialisation). With ``bn_inference`` the backbone's BatchNorm
    layers use their moving statistics in training too (module docstring).

    Raises:
        ValueError: for n_bands < 1, an unknown adapter, x_train None while normalize is True, both normalize
            and imagenet_preprocess,
            x_train not (n, input_size, input_size, n_bands) or holding NaN, upsample_to < 32,
            a dropout outside [0, 1), or a weights file Keras cannot load.
        PretrainedWeightsUnavailable: if weights="imagenet", the file is not on this machine
            and allow_random_init is False.
        FileNotFoundError: if ``weights`` is a path to a missing file.
    """
    if int(n_bands) != n_bands or n_bands < 1:
        raise ValueError(f"n_bands must be a positive integer, got {n_bands!r}")
    if adapter not in ADAPTERS:
        raise ValueError(f"unknown adapter {adapter!r}; choose one of: {', '.join(ADAPTERS)}")
    if upsample_to < MIN_RESNET_INPUT:
        raise ValueError(
            f"upsample_to={upsample_to} is too small: the ImageNet ResNet-50 needs inputs of at least "
            f"{MIN_RESNET_INPUT}x{MIN_RESNET_INPUT}; use upsample_to >= {MIN_RESNET_INPUT}"
        )
    if input_size < 1:
        raise ValueError(f"input_size must be >= 1, got {input_size}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    if normalize and imagenet_preprocess:
        raise ValueError("choose one input handling: normalize=True (per band) or imagenet_preprocess=True")
    if normalize and x_train is None:
        raise ValueError("normalize=True needs x_train to adapt the per-band Normalization layer: pass x_train "
                         "or normalize=False")
    if x_train is not None:
        x_train = np.asarray(x_train)
        _check_x_train(x_train, input_size, n_bands)
    path = _resolve_weights(weights, allow_random_init)

    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input((input_size, input_size, n_bands), name="patch")
    x = inputs
    if normalize:
        norm = keras.layers.Normalization(axis=-1, name="per_band_normalization")
        norm.adapt(x_train.astype(np.float32))
        x = norm(x)
    elif imagenet_preprocess:
        if input_scale != 1.0:
            x = keras.layers.Rescaling(input_scale, name="to_reflectance")(x)
        x = imagenet_preprocessing_layer(n_bands)(x)
    x = keras.layers.Resizing(upsample_to, upsample_to, interpolation="bilinear", name="upsample")(x)
    if adapter == "band_reduction":
        x = keras.layers.Conv2D(3, 1, name="band_reduction")(x)
        base = _resnet50(3, upsample_to)
        if path is not None:
            _load_weights(base, path)
    else:
        base = _inflated_backbone(n_bands, upsample_to, path) if path is not None else _resnet50(n_bands, upsample_to)
    if bn_inference:
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        x = base(x, training=False)
    else:
        x = base(x)
    x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="class_probabilities")(x)
    model = keras.Model(inputs, outputs, name=f"resnet50_{adapter}_{n_bands}band")
    return ResNetBuild(
        model=model,
        base=base,
        adapter=adapter,
        n_bands=int(n_bands),
        pretrained=path is not None,
        weights_source=str(path) if path is not None else None,
        normalization="per_band" if normalize else "imagenet_preprocess" if imagenet_preprocess else "none",
        bn_inference=bn_inference,
    )


def freeze_backbone(
    base: keras.Model,
    n_layers: int | None = None,
    ratio: float | None = None,
    *,
    keep_batchnorm_frozen: bool = False,
) -> FreezeReport:
    """Freeze the first ``n_layers`` (or ``round(ratio * len(base.layers))``) layers; unfreeze the rest.

    On a ResNet-50, ``n_layers=150`` freezes 150/175 layers (85.7 %) but 57.6 % of the parameters.
    ``keep_batchnorm_frozen`` leaves the BatchNorm layers after the cut frozen too, which keeps
    them in inference mode in Keras 3 (then 158/175 layers): what a backbone built with
    ``bn_inference=True`` needs; :meth:`ResNetBuild.freeze` passes it.

    Raises:
        ValueError: unless exactly one of n_layers and ratio is given, or if n_layers is not in
            [0, len(base.layers)] or ratio not in [0, 1].
    """
    if (n_layers is None) == (ratio is None):
        raise ValueError("give exactly one of n_layers (e.g. 150, the exercise's 'first 150 layers') or ratio")
    total = len(base.layers)
    if ratio is not None:
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"ratio must be in [0, 1], got {ratio}")
        n_layers = round(ratio * total)
    if int(n_layers) != n_layers or not 0 <= n_layers <= total:
        raise ValueError(f"n_layers must be an integer in [0, {total}] (the backbone has {total} layers), "
                         f"got {n_layers}")
    n_layers = int(n_layers)
    base.trainable = True
    for i, layer in enumerate(base.layers):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= n_layers and not (keep_batchnorm_frozen and is_bn)
    return measure_frozen(base)


def find_backbone(model: keras.Model) -> keras.Model:
    """The ResNet-50 sub-model (a nested keras.Model with a layer named 'conv1_conv') of a classifier.

    Raises:
        ValueError: if ``model`` holds no such sub-model (for instance a backbone built with
            ``input_tensor=``, whose layers sit directly in ``model``: measure that model instead).
    """
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            if any(sub.name == CONV1 for sub in layer.layers):
                return layer
            try:
                return find_backbone(layer)
            except ValueError:
                continue
    raise ValueError(
        f"no nested ResNet-50 (a sub-model with a layer named {CONV1!r}) in model {model.name!r}; "
        "build the classifier by calling a keras.applications.ResNet50 model on a tensor"
    )
