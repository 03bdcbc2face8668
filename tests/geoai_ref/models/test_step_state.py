"""``build_step_state``: the training step traced once instead of twice, the same weights."""

import numpy as np
import pytest

from geoai_ref.models import build_step_state, keras


def _fit(prebuilt: bool) -> tuple[int, list[np.ndarray]]:
    """(how many times Keras traced the training step, the weights after two epochs) of a small seeded model."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4, 4, 2)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    traced = []
    step = model.train_step
    model.train_step = lambda data: traced.append(data) or step(data)  # runs in Python only while tracing
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 4, 4, 2)).astype("float32"), rng.integers(0, 3, 40)
    if prebuilt:
        build_step_state(model, x, y)
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    return len(traced), model.get_weights()


def test_the_training_step_is_traced_once_and_trains_the_same_weights() -> None:
    plain_traces, plain_weights = _fit(prebuilt=False)
    traces, weights = _fit(prebuilt=True)
    assert plain_traces == 2, "Keras now traces the step once by itself: build_step_state is no longer needed"
    assert traces == 1
    assert all(np.array_equal(a, b) for a, b in zip(weights, plain_weights, strict=True))


def test_data_that_does_not_fit_the_model_is_refused_as_fit_would() -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError):
        build_step_state(model, np.zeros((2, 5), "float32"), np.zeros(2, "int64"))
