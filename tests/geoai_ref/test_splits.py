import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from geoai_ref.classes import CLASS_NAMES
from geoai_ref.splits import check_split, keras_validation_split, stratified_group_split


@st.composite
def polygon_samples(draw):
    """Label / group vectors as polygons make them: each group holds one class, 1-6 samples."""
    n_groups = draw(st.integers(5, 60))
    group_class = draw(st.lists(st.integers(0, 4), min_size=n_groups, max_size=n_groups))
    sizes = draw(st.lists(st.integers(1, 6), min_size=n_groups, max_size=n_groups))
    groups = np.repeat(np.arange(n_groups) * 7 + 3, sizes)  # arbitrary, non-contiguous ids
    y = np.repeat(group_class, sizes)
    order = np.random.default_rng(draw(st.integers(0, 1000))).permutation(y.size)
    return y[order], groups[order]


@settings(max_examples=150, deadline=None)
@given(data=polygon_samples(), seed=st.integers(0, 10_000))
def test_no_group_is_split_and_every_class_with_two_groups_reaches_both_sides(data, seed):
    y, groups = data
    assume(np.bincount(y).max() >= 5)  # fewer samples than folds in every class is a documented error
    train, val = stratified_group_split(y, groups, 0.2, seed)
    assert np.intersect1d(train, val).size == 0 and np.union1d(train, val).size == y.size
    assert not set(groups[train]) & set(groups[val])
    for c in np.unique(y):
        if np.unique(groups[y == c]).size >= 2:
            assert c in y[val] and c in y[train]
    report = check_split(y[train], y[val], groups[train], groups[val])
    single_polygon = {CLASS_NAMES[c] for c in np.unique(y) if np.unique(groups[y == c]).size < 2}
    assert report.leaked_groups == [] and set(report.classes_missing_in_val) <= single_polygon


def test_split_is_seeded():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(50), 3)
    y = np.repeat(rng.integers(0, 5, 50), 3)
    a = stratified_group_split(y, groups, 0.2, seed=4)
    b = stratified_group_split(y, groups, 0.2, seed=4)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def test_split_keeps_proportions_on_balanced_data():
    groups = np.repeat(np.arange(100), 3)
    y = np.repeat(np.arange(100) % 5, 3)
    train, val = stratified_group_split(y, groups, 0.2, seed=0)
    assert len(val) == 60
    assert check_split(y[train], y[val], groups[train], groups[val]).ok


def test_split_errors():
    with pytest.raises(ValueError, match="equal length"):
        stratified_group_split(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="val_fraction"):
        stratified_group_split(np.zeros(3), np.zeros(3), 0.9)
    with pytest.raises(ValueError, match="label more polygons"):
        stratified_group_split(np.array([0, 1, 0]), np.array([0, 1, 2]), 0.2)
    with pytest.raises(ValueError, match="too few to stratify"):
        stratified_group_split(np.array([0, 1, 0, 0, 1, 2]), np.arange(6), 0.2)


def test_keras_validation_split_takes_the_last_samples():
    train, val = keras_validation_split(375, 0.2)
    assert np.array_equal(val, np.arange(300, 375)) and np.array_equal(train, np.arange(300))
    # Keras: split_at = floor(n * (1 - v))
    assert len(keras_validation_split(10, 0.25)[1]) == 3


def test_checker_flags_a_one_class_validation_set():
    y = np.repeat(np.arange(5), 75)  # class-sorted
    train, val = keras_validation_split(y.size, 0.2)
    report = check_split(y[train], y[val])
    assert not report.ok
    assert report.classes_missing_in_val == ["Agriculture", "Forest", "Parcels", "Urban"]
    assert "validation set has no samples of class Agriculture" in report.problems[0]
    assert "stratify=y" in report.problems[0]
    assert report.val_proportions["Water"] == 1.0


def test_checker_reports_leaked_polygons_and_duplicate_patches():
    y_train, y_val = np.array([0, 1, 0, 1]), np.array([0, 1])
    g_train, g_val = np.array([1, 2, 3, 4]), np.array([3, 9])
    x_train = np.arange(4 * 8).reshape(4, 8).astype(float)
    x_val = np.stack([x_train[2], x_train[0] + 100])
    report = check_split(y_train, y_val, g_train, g_val, x_train, x_val)
    assert report.leaked_groups == [3]
    assert report.duplicate_patches == 1
    assert any("polygon(s) have samples on both sides (3)" in p for p in report.problems)
    assert any("identical to training patches" in p for p in report.problems)


def test_checker_flags_skewed_proportions():
    y_train = np.array([0] * 80 + [1] * 20)
    y_val = np.array([0] * 5 + [1] * 15)
    report = check_split(y_train, y_val)
    assert any("class Agriculture is 80 % of training but 25 % of validation" in p for p in report.problems)
