"""The course's Week 3 SimpleCNN: the same network as the course's own model, fed scaled digital numbers."""

import json

import numpy as np
import pytest

from geoai_ref import layout
from geoai_ref.course import COURSE, to_reflectance
from geoai_ref.models.week3_cnn import build_week3_cnn, keras, train_week3_cnn


@pytest.fixture(scope="module")
def course_model(fixtures_root):
    return keras.models.load_model(fixtures_root / "course" / "week3_best_model.h5", compile=False)


def _signature(model):
    """Layer kinds with the settings that define the architecture (filters, kernel, units, rate, activation)."""
    keys = ("filters", "kernel_size", "padding", "pool_size", "units", "rate", "activation")
    return [(type(layer).__name__, {k: layer.get_config()[k] for k in keys if k in layer.get_config()})
            for layer in model.layers]


def test_committed_model_scores_what_its_record_says(fixtures_root):
    """The fixtures' Week 3 model: the course's network, fed reflectance (digital numbers / 10000) from outside."""
    model = keras.models.load_model(fixtures_root / layout.WEEK3_MODEL, compile=False)
    assert _signature(model) == _signature(build_week3_cnn())
    x_val, y_val = np.load(fixtures_root / layout.X_VAL), np.load(fixtures_root / layout.Y_VAL)
    accuracy = float(np.mean(np.argmax(model.predict(to_reflectance(x_val), verbose=0), axis=1) == y_val))
    record = json.loads((fixtures_root / layout.WEEK3_MODEL_INFO).read_text())
    assert accuracy == pytest.approx(record["val_accuracy"], abs=1e-3)


def test_the_architecture_is_the_course_models(course_model):
    model = build_week3_cnn()
    assert _signature(model) == _signature(course_model)
    assert model.count_params() == course_model.count_params()
    assert model.input_shape == course_model.input_shape == (None, 8, 8, 6)


def test_training_scales_digital_numbers_outside_the_model():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(COURSE.num_classes), 8)
    x = rng.uniform(0, 3000, size=(y.size, 8, 8, 6)).astype(np.float32)
    x[..., 3] += 1000.0 * y[:, None, None]  # B8 tells the classes apart
    result = train_week3_cnn(x, y, x, y, seed=1, max_epochs=3)
    assert len(result.history["loss"]) == 3 and 0.0 <= result.val_accuracy <= 1.0
    assert result.model.layers[0].__class__.__name__ == "Conv2D"  # no scaling layer inside: the course's input
    np.testing.assert_allclose(to_reflectance(x)[0], x[0] / 10000.0, rtol=1e-6)
    with pytest.raises(ValueError, match="NaN"):
        train_week3_cnn(np.full_like(x, np.nan), y, x, y, seed=1, max_epochs=1)
    with pytest.raises(ValueError, match=r"x_val must be \(n, 8, 8, 6\)"):
        train_week3_cnn(x, y, x[..., :4], y, seed=1, max_epochs=1)
