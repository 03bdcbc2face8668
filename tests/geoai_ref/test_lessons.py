"""The exercise's lessons, measured: the split lesson's data handling, and one fast run of both lessons."""

import json
import warnings

import numpy as np
import pytest

from geoai_ref import layout
from geoai_ref.lessons import LESSONS_FILE, in_cutting_order, run_lessons
from geoai_ref.phase4b import load_fused
from geoai_ref.recipes import PROFILES
from geoai_ref.sample_index import read_sample_index
from geoai_ref.splits import keras_validation_split


def test_in_cutting_order_puts_every_sample_back_in_id_order(fixtures_root, tmp_path):
    fused = load_fused(fixtures_root, tmp_path)
    x_all, y_all = in_cutting_order(fixtures_root, fused)
    index = read_sample_index(fixtures_root / layout.SAMPLE_INDEX)
    assert x_all.shape == (375, 8, 8, 8) and np.array_equal(y_all, index.class_id)  # sample-id order
    assert (np.diff(index.polygon_id) >= 0).all()  # cut polygon by polygon, in the file's order
    assert np.array_equal(np.sort(x_all[:, 0, 0, 0]), np.sort(np.concatenate([fused.x_train, fused.x_val])[:, 0, 0, 0]))


def test_our_keras_split_is_the_one_keras_makes():
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    x = np.arange(375)
    (train,), (val,) = train_validation_split((x,), validation_split=0.2)
    ours = keras_validation_split(375, 0.2)
    assert np.array_equal(np.asarray(train), ours[0]) and np.array_equal(np.asarray(val), ours[1])


@pytest.mark.slow
def test_lessons_run_and_record_what_they_measured(fixtures_root, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lessons = run_lessons(fixtures_root, tmp_path, PROFILES["fast"], allow_random_init=True)
    assert json.loads((tmp_path / LESSONS_FILE).read_text()) == lessons
    recipes = {row["recipe"]: row for row in lessons["recipes"]}
    assert recipes["exercise"]["frozen"].startswith("150/175 layers (85.7 %)")
    assert recipes["exercise"]["input_handling"] == "imagenet_preprocess"
    keras_split, grouped = lessons["split"]
    assert keras_split["classes_in_validation"] == ["Parcels"]  # the last polygons digitised
    assert "validation set has no samples of class Agriculture" in keras_split["split_problems"][0]
    assert len(grouped["classes_in_validation"]) == 5 and grouped["split_problems"] == []
    assert keras_split["collapse_verdict"] == "undetermined"  # one class in validation: nothing to judge
    for row in lessons["recipes"] + [grouped]:
        assert 0.0 <= row["accuracy"] <= 1.0
        assert row["collapse_verdict"] in {"healthy", "partial collapse", "collapsed"}
    assert (tmp_path / layout.X_TRAIN_FUSED).exists()
