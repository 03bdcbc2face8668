"""The kit's SimpleCNN (Phase 4C's network: per-band normalisation inside), on the Week 3 data."""


import numpy as np
import pytest

from geoai_ref import layout
from geoai_ref.models.simple_cnn import build_simple_cnn, keras, train_simple_cnn


@pytest.fixture(scope="module")
def week3(fixtures_root):
    return [np.load(fixtures_root / p) for p in (layout.X_TRAIN, layout.Y_TRAIN, layout.X_VAL, layout.Y_VAL)]


@pytest.mark.slow
def test_simplecnn_trained_on_week3_data_learns_every_class(week3):
    """A fresh, seeded SimpleCNN on the committed Week 3 data (digital numbers: its normalisation is inside):
    well above the majority class, every class predicted. (It scores about 100 %: the course's patch-level split
    puts near-copies of a polygon on both sides; docs/RESULTS.md.)"""
    result = train_simple_cnn(*week3, seed=11)
    assert result.val_accuracy > 0.8, result.val_accuracy
    predicted = np.argmax(result.model.predict(week3[2], verbose=0), axis=1)
    assert set(np.unique(predicted)) == {0, 1, 2, 3, 4}
    assert result.best_epoch <= len(result.history["loss"])


def test_build_rejects_wrong_shapes_and_nan():
    x = np.zeros((4, 8, 8, 6), dtype=np.float32)
    with pytest.raises(ValueError, match=r"must be \(n, 8, 8, 8\)"):
        build_simple_cnn(8, x)
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        build_simple_cnn(6, x)


def test_model_normalises_per_band_inside():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(0, 0.3, (20, 8, 8, 6)), rng.uniform(0, 2000, (20, 8, 8, 1))], axis=-1)
    model = build_simple_cnn(7, x.astype(np.float32))
    norm = model.get_layer("per_band_normalization")
    normalised = np.asarray(norm(x.astype(np.float32)))
    assert np.allclose(normalised.reshape(-1, 7).mean(axis=0), 0, atol=1e-3)
    assert np.allclose(normalised.reshape(-1, 7).std(axis=0), 1, atol=1e-2)


def test_the_real_course_week3_model_loads_and_classifies_scaled_digital_numbers(fixtures_root):
    """The course's own week3_best_model.h5 (Keras 3) loads here and takes patches scaled by 1/10000 outside it."""
    model = keras.models.load_model(fixtures_root / "course" / "week3_best_model.h5", compile=False)
    assert model.input_shape == (None, 8, 8, 6) and model.output_shape == (None, 5)
    digital_numbers = np.random.default_rng(0).uniform(0, 5500, size=(16, 8, 8, 6)).astype(np.float32)
    probabilities = model.predict(digital_numbers / 10000.0, verbose=0)
    assert probabilities.shape == (16, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert [layer.__class__.__name__ for layer in model.layers][:3] == ["Conv2D", "BatchNormalization", "Activation"]
