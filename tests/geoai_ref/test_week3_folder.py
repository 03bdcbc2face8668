"""Bring-your-own Week 3 folder: a folder shaped exactly like the course's passes; each malformation is named."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import COURSE_VAL_SUPPORT, FIXTURES, course_shaped_folder

from geoai_ref import layout
from geoai_ref.course import COURSE
from geoai_ref.week3_folder import Week3FolderError, check_week3_folder

COURSE_FILES = FIXTURES / "course"


def test_a_course_shaped_folder_passes_and_is_described(tmp_path: Path) -> None:
    folder = check_week3_folder(course_shaped_folder(tmp_path))
    assert (folder.n_train, folder.n_val) == (300, 75)
    assert folder.val_counts == COURSE_VAL_SUPPORT
    assert len(folder.polygons.polygons) == 125 and len(folder.polygons.skipped) == 1
    assert folder.model.input_shape == (None, 8, 8, 6) and folder.model.output_units == 5
    patches = np.concatenate([np.load(tmp_path / layout.X_TRAIN), np.load(tmp_path / layout.X_VAL)])
    assert folder.value_range == (patches.min(), patches.max()) and 0 <= patches.min() < patches.max() < 16000


def _problems(root: Path, course=COURSE) -> list[str]:
    with pytest.raises(Week3FolderError) as caught:
        check_week3_folder(root, course)
    assert all(p in str(caught.value) for p in caught.value.problems)
    return caught.value.problems


def test_missing_files_are_all_listed_at_once(tmp_path: Path) -> None:
    root = course_shaped_folder(tmp_path)
    (root / layout.X_VAL).unlink()
    (root / layout.WEEK3_MODEL).unlink()
    problems = _problems(root)
    assert any(p.startswith(f"{layout.X_VAL}: missing") for p in problems)
    assert any(p.startswith(f"{layout.WEEK3_MODEL}: missing") for p in problems)


def test_nan_patches_wrong_shapes_and_scale_name_the_file_and_fix(tmp_path: Path) -> None:
    root = course_shaped_folder(tmp_path)
    x = np.load(root / layout.X_TRAIN)
    x[[3, 7]] = np.nan
    np.save(root / layout.X_TRAIN, x)
    np.save(root / layout.X_VAL, np.load(root / layout.X_VAL)[:, :4])
    problems = _problems(root)
    assert f"{layout.X_TRAIN}: 2 patches hold NaN or infinite values (first: [3, 7])" in problems[0]
    assert "shape (75, 4, 8, 6), expected (n, 8, 8, 6)" in problems[1]


def test_reflectance_where_the_course_stores_digital_numbers(tmp_path: Path) -> None:
    root = course_shaped_folder(tmp_path)
    np.save(root / layout.X_VAL, np.load(root / layout.X_VAL) / 10000)
    (problem,) = _problems(root)
    assert "look like reflectance 0-1" in problem and "multiply by 10000" in problem
    # The same folder is right for a course that stores reflectance, once X_train is scaled too.
    np.save(root / layout.X_TRAIN, np.load(root / layout.X_TRAIN) / 10000)
    assert check_week3_folder(root, replace(COURSE, s2_scale=1.0)).n_val == 75


def test_labels_outside_the_class_list_and_pickled_arrays(tmp_path: Path) -> None:
    root = course_shaped_folder(tmp_path)
    y = np.load(root / layout.Y_VAL)
    y[0] = 5
    np.save(root / layout.Y_VAL, y)
    np.save(root / layout.Y_TRAIN, np.array([{"label": 1}] * 300, dtype=object), allow_pickle=True)
    problems = _problems(root)
    assert any("holds Python objects" in p for p in problems)
    assert any("labels [5] are outside 0..4 (0 Agriculture, 1 Forest, 2 Parcels, 3 Urban, 4 Water)" in p
               for p in problems)


def test_one_hot_labels_and_a_class_without_training_patches(tmp_path: Path) -> None:
    root = course_shaped_folder(tmp_path)
    y = np.load(root / layout.Y_TRAIN)
    np.save(root / layout.Y_VAL, np.eye(5)[np.load(root / layout.Y_VAL)])
    y[y == COURSE.label_of("Water")] = 0
    np.save(root / layout.Y_TRAIN, y)
    problems = _problems(root)
    assert any("one integer label per patch" in p for p in problems)
    assert any("no training patch of Water" in p for p in problems)


def test_a_model_with_the_wrong_input_shape_or_classes(tmp_path: Path) -> None:
    root = course_shaped_folder(tmp_path)
    with h5py.File(root / layout.WEEK3_MODEL, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][0]["config"]["batch_shape"] = [None, 32, 32, 6]
        f.attrs["model_config"] = json.dumps(config)
    (problem,) = _problems(root)
    assert "input shape (None, 32, 32, 6), expected (None, 8, 8, 6)" in problem
    two_classes = replace(COURSE, class_names=("Land", "Water"), class_colors=("#0a0", "#00f"),
                          class_kinds=("Agriculture", "Water"))
    shutil.copy(COURSE_FILES / "week3_best_model.h5", root / layout.WEEK3_MODEL)
    problems = _problems(root, two_classes)
    assert any("5 outputs for 2 classes (Land, Water)" in p for p in problems)
    assert any("Agriculture" in p and "not a class of the course" in p for p in problems)  # the polygons too


def test_a_corrupt_model_and_unusable_polygons(tmp_path: Path) -> None:
    root = course_shaped_folder(tmp_path)
    (root / layout.WEEK3_MODEL).write_bytes(b"not hdf5")
    (root / layout.POLYGONS).write_text("{}")
    problems = _problems(root)
    assert any(p.startswith(f"{layout.WEEK3_MODEL}: ") and "not a readable HDF5 file" in p for p in problems)
    assert any(p.startswith(f"{layout.POLYGONS}: ") and "FeatureCollection" in p for p in problems)


def test_the_command_line_lists_the_problems_and_exits_1(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = course_shaped_folder(tmp_path / "week3")
    ok = subprocess.run([sys.executable, "-m", "geoai_ref.cli", "check-week3", str(root)], capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "val: 75 patches (Agriculture 21, Forest 10, Parcels 19, Urban 17, Water 8)" in ok.stdout
    assert "125 of 126 polygons used" in ok.stdout and "feature 122 of 126 (Parcels" in ok.stdout
    (root / layout.Y_VAL).unlink()
    bad = subprocess.run([sys.executable, "-m", "geoai_ref.cli", "check-week3", str(root)], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and f"{layout.Y_VAL}: missing" in bad.stderr and "Traceback" not in bad.stderr
