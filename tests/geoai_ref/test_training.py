import numpy as np
import pytest

from geoai_ref.models import keras
from geoai_ref.models.simple_cnn import build_simple_cnn, set_deterministic
from geoai_ref.recipes import PROFILES
from geoai_ref.training import TrainConfig, check_training_data, predict_labels, train


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 12)
    x = rng.normal(size=(60, 8, 8, 3)).astype(np.float32) + y[:, None, None, None]
    return x[::2], y[::2], x[1::2], y[1::2]


def config(**kw) -> TrainConfig:
    return TrainConfig(**{"learning_rate": 1e-3, "max_epochs": 3, "patience": 2, "reduce_lr_patience": 1,
                          "seed": 3, **kw})


def fresh_model(x):
    set_deterministic(3)
    return build_simple_cnn(3, x)


def test_train_records_history_and_saves_the_best_epoch(toy, tmp_path):
    x_train, y_train, x_val, y_val = toy
    model = fresh_model(x_train)
    outcome = train(model, x_train, y_train, x_val, y_val, config(), checkpoint=tmp_path / "m.h5")
    assert outcome.epochs_run == len(outcome.history["loss"]) <= 3
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(outcome.history)
    assert len(outcome.seconds_per_epoch) == outcome.epochs_run
    saved = keras.models.load_model(tmp_path / "m.h5", compile=False)
    # EarlyStopping restores the best epoch, which is what ModelCheckpoint saved
    assert np.array_equal(predict_labels(saved, x_val), predict_labels(model, x_val))
    best = outcome.history["val_accuracy"][outcome.best_epoch - 1]
    assert np.mean(predict_labels(model, x_val) == y_val) == pytest.approx(best, abs=1e-6)


def test_training_is_deterministic(toy):
    x_train, y_train, x_val, y_val = toy
    a = train(fresh_model(x_train), x_train, y_train, x_val, y_val, config())
    b = train(fresh_model(x_train), x_train, y_train, x_val, y_val, config())
    assert a.history == b.history


def test_from_profile():
    c = TrainConfig.from_profile(PROFILES["full"], 1e-4, seed=1)
    assert (c.max_epochs, c.patience, c.batch_size, c.learning_rate) == (50, 10, 32, 1e-4)


def test_bad_training_data_messages(toy):
    x_train, y_train, x_val, y_val = toy
    with pytest.raises(ValueError, match="30 patches but 29 labels"):
        check_training_data(x_train, y_train[:-1], x_val, y_val, 5)
    bad = x_train.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="training patches hold NaN"):
        check_training_data(bad, y_train, x_val, y_val, 5)
    with pytest.raises(ValueError, match=r"labels \[7\] are outside 0..4"):
        check_training_data(x_train, np.where(y_train == 4, 7, y_train), x_val, y_val, 5)
    with pytest.raises(ValueError, match="validation patches"):
        check_training_data(x_train, y_train, x_val[..., :2], y_val, 5)
    with pytest.raises(ValueError, match=r"training labels hold a single class \(\[2\]\)"):
        check_training_data(x_train, np.full_like(y_train, 2), x_val, y_val, 5)
    check_training_data(x_train, y_train, x_val, np.full_like(y_val, 4), 5)  # one-class validation: allowed
    with pytest.raises(ValueError, match="validation set is empty"):
        check_training_data(x_train, y_train, x_val[:0], y_val[:0], 5)


def test_resnet_training_is_deterministic_on_cpu():
    """Same seed, same data: the same ResNet-50 history, epoch for epoch (seeded, op determinism on)."""
    from geoai_ref.models.resnet import build_resnet50

    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(5), 8)
    x = (rng.normal(size=(40, 8, 8, 6)) + y[:, None, None, None]).astype(np.float32)

    def history() -> dict:
        build = build_resnet50(6, x, weights=None, seed=5)
        build.freeze(ratio=0.6)
        return train(build.model, x, y, x[::2], y[::2], config(max_epochs=2, batch_size=16)).history

    assert history() == history()
