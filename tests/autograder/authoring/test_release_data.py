"""Bring your own Week 3 folder: a release built on a course-shaped folder, and the worked solutions graded on it.

The folder is shaped exactly like the course's (:func:`conftest.course_shaped_folder`: float32 digital numbers,
300 / 75, the real polygons with their null geometry, the real Week 3 model). Its sensors are rendered with
another seed than the fixtures', so that a grader reading the fixtures instead of the release's data would judge
4B and 4C against other patches, and the real Week 3 model scores differently from the fixtures' SimpleCNN.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    FIXTURES,
    REPO,
    UNJAILED_ARGS,
    assert_every_automatic_point,
    cli,
    course_shaped_folder,
    removed_when_passed,
)

from autograder.authoring.course import PHASE_DATA, make_course
from autograder.authoring.notebooks import PHASES
from autograder.authoring.release import build_release
from autograder.authoring.release_data import (
    COURSE_DATA,
    KIT_DATA,
    SENSOR_NOTES,
    SOURCES,
    ReleaseData,
    build_release_data,
    fused_reference,
    release_data,
)
from autograder.authoring.solutions import build_solutions
from autograder.checks.common import CheckFailed
from autograder.checks.phase4a import check_week3_baseline
from autograder.trusted.reference import grader_data
from geoai_ref import layout
from geoai_ref.errors import MissingInput
from geoai_ref.phase import Phase
from geoai_ref.synth.course_scene import DEFAULT_SEED
from geoai_ref.week3_folder import Week3FolderError

STUDENT = "solution"


def test_a_course_without_its_own_data_is_released_on_the_kit_data(tmp_path: Path) -> None:
    assert release_data(tmp_path) == KIT_DATA
    (tmp_path / SOURCES).parent.mkdir()
    (tmp_path / SOURCES).write_text("{not json")
    with pytest.raises(MissingInput, match="release --week3 FOLDER"):
        release_data(tmp_path)
    graded = cli("grade", "--submissions", tmp_path, "--out", tmp_path / "reports", "--course", tmp_path,
                 *UNJAILED_ARGS)  # stops before grading anything against data it cannot read
    assert graded.returncode == 2 and "is unreadable" in graded.stderr, graded.stderr


def test_the_fused_reference_is_made_once_whole_when_two_ask_at_once(tmp_path: Path) -> None:
    """Two graders (or two test processes) needing the reference fused patches first at the same time: each gets
    the complete folder, and no staging folder is left behind."""
    data = ReleaseData(FIXTURES, FIXTURES, tmp_path / "fused", "the kit's fixtures")
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        made = list(pool.map(fused_reference, [data, data]))
    assert made == [data.fused, data.fused]
    for rel in (layout.X_TRAIN_FUSED, layout.X_VAL_FUSED):
        np.testing.assert_array_equal(np.load(data.fused / rel), np.load(fused_reference() / rel))
    assert [p.name for p in tmp_path.iterdir()] == ["fused"]


def test_a_malformed_folder_is_refused_with_every_problem_and_nothing_is_written(tmp_path: Path) -> None:
    folder = course_shaped_folder(tmp_path / "week3")
    x = np.load(folder / layout.X_VAL)
    x[4] = np.nan
    np.save(folder / layout.X_VAL, x)
    (folder / layout.WEEK3_MODEL).unlink()
    with pytest.raises(Week3FolderError) as refused:
        build_release_data(tmp_path / "course", folder)
    assert any(p.startswith(f"{layout.X_VAL}: 1 patches hold NaN") for p in refused.value.problems)
    assert any(p.startswith(f"{layout.WEEK3_MODEL}: missing") for p in refused.value.problems)
    assert not (tmp_path / "course" / COURSE_DATA).exists()

    run = cli("release", "--course", tmp_path / "course", "--week3", folder)
    assert run.returncode == 1 and "X_val.npy: 1 patches hold NaN" in run.stderr, run.stderr
    misuse = cli("release", "--course", tmp_path / "course", "--seed", "3")
    assert misuse.returncode == 2 and "--week3" in misuse.stderr


@pytest.fixture(scope="module")
def byo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A course released on its own Week 3 folder; each phase's worked solution run on that release and graded.

    Returns (root, course, the folder, the grading run).
    """
    with removed_when_passed(request, tmp_path_factory.mktemp("byo")) as root:
        folder = course_shaped_folder(root / "week3")
        course = make_course(root / "course")
        build_release_data(course.root, folder, seed=DEFAULT_SEED + 1)
        build_release(course)
        data = release_data(course.root)
        build_solutions(root / "submissions" / STUDENT, epochs=1, data=data)
        graded = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "--submissions",
                                 str(root / "submissions"), "--out", str(root / "reports"), "--course",
                                 str(course.root), "--workers", "2", "--cell-timeout", "300", *UNJAILED_ARGS],
                                cwd=REPO, capture_output=True, text=True, timeout=2400)
        yield root, course, folder, graded


@pytest.mark.slow
def test_the_release_ships_the_folder_to_4a_and_its_synthetic_sensors_to_4b_and_4c(byo) -> None:
    root, course, folder, _ = byo
    release = course.release
    for rel in (layout.X_TRAIN, layout.Y_TRAIN, layout.X_VAL, layout.Y_VAL, layout.WEEK3_MODEL):
        assert (release / Phase.A / rel).read_bytes() == (folder / rel).read_bytes(), rel
    record = json.loads((release / Phase.A / layout.WEEK3_MODEL_INFO).read_text())
    import keras  # the model's accuracy computed here, as the 4A notebook computes it: X_val / S2_SCALE, argmax

    model = keras.models.load_model(folder / layout.WEEK3_MODEL, compile=False)
    predicted = np.argmax(model.predict(np.load(folder / layout.X_VAL) / 10000.0, verbose=0), axis=1)
    assert record["val_accuracy"] == pytest.approx(np.mean(predicted == np.load(folder / layout.Y_VAL)), abs=5e-5)
    kit = json.loads((FIXTURES / layout.WEEK3_MODEL_INFO).read_text())["val_accuracy"]
    assert abs(record["val_accuracy"] - kit) > 0.05, "the test needs a Week 3 model that scores unlike the kit's"
    assert (release / Phase.B / layout.POLYGONS).read_bytes() == (folder / layout.POLYGONS).read_bytes()
    assert not np.array_equal(np.load(release / Phase.B / layout.X_VAL), np.load(folder / layout.X_VAL))
    assert not np.array_equal(np.load(release / Phase.C / layout.X_VAL_FUSED),
                              np.load(KIT_DATA.fused / layout.X_VAL_FUSED)), "the sensors should not be the kit's"
    for phase in PHASES:
        assert {p.relative_to(release / phase) for p in (release / phase).rglob("*") if p.is_file()} >= \
            set(PHASE_DATA[phase])
        notes = (release / phase / layout.DATA_NOTES).read_text()
        assert "github.com/markcstone/earth-vision-portfolio" in notes and "Apache" in notes
        assert str(folder) not in notes  # the instructor's own paths stay home
    assert "real, from the course" in (release / Phase.A / layout.DATA_NOTES).read_text()
    assert SENSOR_NOTES in (release / Phase.B / layout.DATA_NOTES).read_text()


@pytest.mark.slow
def test_the_grader_judges_on_the_release_data(byo) -> None:
    _, course, folder, _ = byo
    data = grader_data(release_data(course.root))
    assert np.array_equal(data.x_val_s2, np.load(folder / layout.X_VAL))
    assert np.array_equal(data.x_val_fused, np.load(course.release / Phase.C / layout.X_VAL_FUSED))
    assert np.array_equal(data.y_val, np.load(course.release / Phase.B / layout.Y_VAL))
    accuracy = json.loads(release_data(course.root).week3_record.read_text())["val_accuracy"]
    check_week3_baseline(accuracy, release_data(course.root).week3_record)
    with pytest.raises(CheckFailed, match="scores"):
        check_week3_baseline(accuracy)  # the fixtures' record: a grader reading it would refuse the right answer


@pytest.mark.slow
def test_the_worked_solutions_earn_every_automatic_point_on_it(byo) -> None:
    root, _, _, graded = byo
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    assert_every_automatic_point(root / "reports" / STUDENT / "rubric.json", PHASES)
