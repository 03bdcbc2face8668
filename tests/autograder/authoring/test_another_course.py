"""Another course end to end: a second, small course configuration (two classes under other names) released from its
own Week 3 folder, its worked solutions executed on that release, and graded with every automatic point.

The course differs from the real one where a part that restated the real course would show it: two classes instead
of five, named differently ("Bosque", "Agua": labels 0 and 1, where the real course's Forest and Water are 1 and 4),
over a smaller AOI.
Every step runs through ``geoai-grade`` in its own process, as an instructor runs it: the command reads the course
folder's ``course_data/course.json`` and follows that course.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
import rasterio
from conftest import UNJAILED_ARGS, assert_every_automatic_point, cli, course_shaped_folder, removed_when_passed
from rasterio.warp import transform_bounds

from autograder.authoring.notebooks import PHASES, setup_source
from autograder.authoring.release_data import COURSE_CONFIG
from autograder.paths import REPO
from geoai_ref import layout
from geoai_ref.course import REAL_COURSE, course_key, load_course_config
from geoai_ref.phase import Phase

STUDENT = "solution"
#: The real course's classes the small course keeps, and their names there.
RENAMED = {"Forest": "Bosque", "Water": "Agua"}
#: Two classes, and a smaller AOI: the box around those classes' polygons (the real course's is about 14 x 12 km).
SMALL_COURSE = dataclasses.replace(
    REAL_COURSE, name="Bosque y agua (a second, small course for the tests)", class_names=tuple(RENAMED.values()),
    class_colors=("#276749", "#2b6cb0"), class_kinds=tuple(RENAMED), aoi_lonlat=(-73.10, -41.155, -73.00, -41.09))


def small_course_folder(root: Path) -> Path:
    """A Week 3 folder of :data:`SMALL_COURSE`, shaped as the course's: the course-shaped folder's Forest and Water
    patches relabelled 0 and 1, their polygons renamed, and an (untrained) Week 3 CNN with two outputs."""
    from geoai_ref.models.week3_cnn import build_week3_cnn

    course_shaped_folder(root)
    relabel = {REAL_COURSE.label_of(old): SMALL_COURSE.label_of(new) for old, new in RENAMED.items()}
    for x_rel, y_rel in ((layout.X_TRAIN, layout.Y_TRAIN), (layout.X_VAL, layout.Y_VAL)):
        x, y = np.load(root / x_rel), np.load(root / y_rel)
        kept = np.isin(y, list(relabel))
        np.save(root / x_rel, x[kept])
        np.save(root / y_rel, np.array([relabel[int(v)] for v in y[kept]], dtype=y.dtype))
    polygons = json.loads((root / layout.POLYGONS).read_text())
    polygons["features"] = [f for f in polygons["features"] if f["properties"]["class_name"] in RENAMED]
    for feature in polygons["features"]:
        feature["properties"]["class_name"] = RENAMED[feature["properties"]["class_name"]]
    (root / layout.POLYGONS).write_text(json.dumps(polygons))
    build_week3_cnn(SMALL_COURSE).save(root / layout.WEEK3_MODEL)
    return root


@pytest.fixture(scope="module")
def small(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The small course released, its worked solutions run on the release and graded. Returns (root, the course
    folder, {step: completed process})."""
    with removed_when_passed(request, tmp_path_factory.mktemp("small_course")) as root:
        folder = small_course_folder(root / "week3")
        config = SMALL_COURSE.to_json(root / "course.json")
        course = root / "course"
        steps = {"release": cli("release", "--course", course, "--week3", folder, "--config", config, timeout=1800)}
        if steps["release"].returncode == 0:
            steps["solutions"] = cli("solutions", "--course", course, "--out", root / "submissions" / STUDENT,
                                     "--epochs", "1", timeout=1800)
        if steps.get("solutions") and steps["solutions"].returncode == 0:
            steps["grade"] = cli("grade", "--submissions", root / "submissions", "--out", root / "reports",
                                 "--course", course, "--workers", "2", "--cell-timeout", "300", *UNJAILED_ARGS,
                                 timeout=2400)
        yield root, course, steps


def _ran(steps: dict, name: str) -> None:
    for step, run in steps.items():
        assert run.returncode == 0, f"{step}: exit {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"
    assert name in steps


@pytest.mark.slow
def test_the_release_follows_the_small_course(small) -> None:
    root, course, steps = small
    _ran(steps, "release")
    assert load_course_config(course / COURSE_CONFIG) == SMALL_COURSE
    for phase in PHASES:
        setup = setup_source(nbformat.read(course / "release" / phase / f"{PHASES[phase].notebook}.ipynb", 4))
        assert 'CLASS_NAMES = ["Bosque", "Agua"]' in setup and "Parcels" not in setup, setup
    assert set(np.unique(np.load(course / "release" / Phase.B / layout.Y_VAL))) == {0, 1}
    with rasterio.open(course / "release" / Phase.B / layout.S2_COMPOSITE) as s2:  # rendered over its own AOI
        west, south, east, north = transform_bounds(s2.crs, "OGC:CRS84", *s2.bounds)
    assert (west, south, east, north) == pytest.approx(SMALL_COURSE.aoi_lonlat, abs=0.005)  # a UTM grid around it
    hidden = REPO / "runs" / "hidden_data" / course_key(SMALL_COURSE)  # generated for the course, never released
    assert set(np.unique(np.load(hidden / layout.Y_HIDDEN))) == {0, 1}


@pytest.mark.slow
def test_its_worked_solutions_earn_every_automatic_point(small) -> None:
    root, _, steps = small
    _ran(steps, "grade")
    assert_every_automatic_point(root / "reports" / STUDENT / "rubric.json", PHASES)
    metrics = json.loads((root / "submissions" / STUDENT / Phase.A / layout.PHASE4A_METRICS).read_text())
    assert set(metrics["result"]["evaluation"]["per_class"]) == set(SMALL_COURSE.class_names)


def test_a_command_follows_the_course_of_its_course_folder(tmp_path: Path) -> None:
    (tmp_path / COURSE_CONFIG).parent.mkdir()
    SMALL_COURSE.to_json(tmp_path / COURSE_CONFIG)
    graded = cli("grade", "--submissions", tmp_path, "--out", tmp_path / "reports", "--course", tmp_path,
                 *UNJAILED_ARGS)  # the course folder has a configuration but no data built for it
    assert graded.returncode == 2 and "Bosque y agua" in graded.stderr and "no release data" in graded.stderr, \
        graded.stderr
    (tmp_path / COURSE_CONFIG).write_text('{"name": "x"}')
    broken = cli("grade", "--submissions", tmp_path, "--out", tmp_path / "reports", "--course", tmp_path)
    assert broken.returncode == 2 and "missing fields" in broken.stderr, broken.stderr
