"""The course configuration: the real course as the default, another course from JSON, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from geoai_ref.course import (
    COURSE,
    COURSE_ENV,
    REAL_COURSE,
    CourseConfig,
    CourseConfigError,
    active_course,
    course_key,
    load_course_config,
    to_reflectance,
    to_stored,
)
from geoai_ref.errors import MissingInput

COURSE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "course"


def test_the_default_is_the_real_course_with_its_label_order() -> None:
    # The course's y_train / y_val use the class names in alphabetical order (fixtures/course/README.md).
    assert COURSE.class_names == ("Agriculture", "Forest", "Parcels", "Urban", "Water")
    assert [COURSE.label_of(n) for n in COURSE.class_names] == [0, 1, 2, 3, 4]
    assert COURSE.s2_bands == ("B2", "B3", "B4", "B8", "B11", "B12")
    assert (COURSE.s2_scale, COURSE.patch_size, COURSE.patches_per_polygon) == (10000.0, 8, 3)
    assert "Apache" in COURSE.attribution and "earth-vision-portfolio" in COURSE.attribution


def test_the_default_aoi_is_the_course_files_aoi() -> None:
    ring = json.loads((COURSE_DIR / "aoi.geojson").read_text())["features"][0]["geometry"]["coordinates"][0]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    assert COURSE.aoi_lonlat == pytest.approx((min(lons), min(lats), max(lons), max(lats)), abs=1e-9)


def test_label_of_an_unknown_class_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="Agriculture, Forest, Parcels, Urban, Water"):
        COURSE.label_of("Bare/Grassland")


def test_another_course_round_trips_through_json(tmp_path: Path) -> None:
    other = replace(COURSE, name="two-class test course", class_names=("Land", "Water"),
                    class_colors=("#aa7744", "#2255cc"), s2_scale=1.0, patches_per_polygon=2,
                    class_kinds=("Agriculture", "Water"))
    loaded = load_course_config(other.to_json(tmp_path / "course.json"))
    assert loaded == other
    assert loaded.label_of("Water") == 1 and loaded.num_classes == 2 and loaded.kind_of("Land") == "Agriculture"


def test_class_kinds_default_to_the_names_where_they_are_kinds() -> None:
    assert COURSE.class_kinds == COURSE.class_names
    with pytest.raises(CourseConfigError, match="class_kinds must give each class a different kind"):
        replace(COURSE, class_names=("Land", "Water"), class_colors=("#000", "#111"), class_kinds=())


@pytest.mark.parametrize(("change", "message"), [
    ({"class_names": ["Water"], "class_colors": ["#000"]}, "at least two"),
    ({"class_names": ["A", "A"], "class_colors": ["#000", "#111"]}, "distinct"),
    ({"class_colors": ["#000"]}, "one per class"),
    ({"aoi_lonlat": [-72.9, -41.1, -73.1, -41.0]}, "west < east"),
    ({"aoi_lonlat": [-72.9, -41.1]}, "has 2 numbers"),
    ({"s2_bands": ["B2", "NDVI"]}, "unknown: \\['NDVI'\\]"),
    ({"s2_scale": 255}, "10000 for digital numbers"),
    ({"val_fraction": 75}, "between 0 and 1"),
    ({"class_kinds": ["Water", "Water", "Forest", "Urban", "Parcels"]}, "a different kind"),
    ({"class_kinds": ["Bare", "Water", "Forest", "Urban", "Parcels"]}, "one of Agriculture, Forest"),
])
def test_invalid_values_name_the_field_and_the_fix(tmp_path: Path, change: dict, message: str) -> None:
    raw = {**COURSE.to_dict(), **change}
    path = tmp_path / "course.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(CourseConfigError, match=message) as caught:
        load_course_config(path)
    assert str(path) in str(caught.value)


def test_unknown_or_missing_fields_are_listed(tmp_path: Path) -> None:
    raw = COURSE.to_dict()
    del raw["patch_size"]
    raw["patch"] = 8
    (tmp_path / "c.json").write_text(json.dumps(raw))
    with pytest.raises(CourseConfigError, match=r"unknown fields \['patch'\], missing fields \['patch_size'\]"):
        load_course_config(tmp_path / "c.json")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(MissingInput, match="to_json"):
        load_course_config(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CourseConfigError, match="not valid JSON"):
        load_course_config(tmp_path / "bad.json")


def test_the_dataclass_validates_on_construction() -> None:
    with pytest.raises(CourseConfigError, match="class_colors"):
        CourseConfig(**{**COURSE.to_dict(), "class_colors": ("#000",)})


def test_stored_values_and_reflectance_convert_both_ways_in_the_courses_units() -> None:
    from dataclasses import replace

    import numpy as np

    digital_numbers = np.array([[0.0, 419.0, 5861.0]], dtype=np.float32)
    reflectance = to_reflectance(digital_numbers)
    np.testing.assert_allclose(reflectance, [[0.0, 0.0419, 0.5861]], rtol=1e-6)
    np.testing.assert_allclose(to_stored(reflectance), digital_numbers, rtol=1e-6)
    assert reflectance.dtype == to_stored(reflectance).dtype == np.float32
    as_reflectance = replace(COURSE, s2_scale=1.0)  # a course that stores reflectance: nothing to convert
    np.testing.assert_array_equal(to_stored(reflectance, as_reflectance), reflectance)


def test_the_process_follows_the_course_in_its_environment(tmp_path: Path) -> None:
    other = replace(COURSE, name="env course", class_names=("Land", "Water"), class_colors=("#aa7744", "#2255cc"),
                    class_kinds=("Agriculture", "Water"))
    code = "from geoai_ref.classes import CLASS_NAMES, NUM_CLASSES; print(list(CLASS_NAMES), NUM_CLASSES)"
    env = {k: v for k, v in os.environ.items() if k != COURSE_ENV}
    followed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**env, COURSE_ENV: json.dumps(other.to_dict())})
    assert followed.stdout.split("\n")[0] == "['Land', 'Water'] 2"
    default = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert default.stdout.startswith("['Agriculture', 'Forest', 'Parcels', 'Urban', 'Water'] 5")
    broken = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**env, COURSE_ENV: '{"name": "x"}'})
    assert broken.returncode != 0 and f"${COURSE_ENV}: unknown fields none, missing fields" in broken.stderr


def test_active_course_and_course_key(monkeypatch: pytest.MonkeyPatch) -> None:
    other = replace(COURSE, name="key course")
    monkeypatch.delenv(COURSE_ENV, raising=False)
    assert active_course() == REAL_COURSE == COURSE
    monkeypatch.setenv(COURSE_ENV, json.dumps(other.to_dict()))
    assert active_course() == other
    assert course_key(other) == course_key(replace(other)) != course_key(REAL_COURSE)
    assert len(course_key(other)) == 12
