"""The data a course's release is built from, and that its grader compares against.

Each phase's files come from one data set:

- **Phase 4A** from the *Week 3* data set: the Week 3 patches, labels and model the students hold, with the
  model's record (its accuracy on the Week 3 validation patches, which the 4A baseline check expects);
- **Phase 4B** from the *sensors* data set: the Sentinel-2, MODIS and SRTM rasters, the polygons, the AOI, and
  the Week 3 split cut from those rasters (the 4B patch check compares against it);
- **Phase 4C** from the *fused* patches (the reference 4B pipeline run on the sensors data set, also the band-order
  reference of the fused-array check), with the sensors data set's labels.

By default all three are the kit's: :data:`KIT_DATA` (the fixtures, the course's own polygons under synthetic
sensors). ``geoai-grade release --week3 FOLDER`` builds a course's own instead (:func:`build_release_data`): 4A
on the folder's real arrays and model, 4B and 4C on synthetic sensors rendered under the folder's polygons (real
patches cannot match synthetic rasters). It lives in ``COURSE/course_data`` and :func:`release_data` finds it, so
the release and every later grading run of that course read the same files.

A course is released for one course configuration (:mod:`geoai_ref.course`): the real course's by default, or, with
``--config course.json``, another class scheme or AOI, kept as ``COURSE/course_data/course.json``; ``geoai-grade``
follows it for every command on that course folder. The hidden evaluation data (:func:`hidden_data`) is the kit's
for the real course, and for another course a hidden region generated for its classes (once, deterministically).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from autograder.paths import FIXTURES, HIDDEN_DATA, RELEASE_DATA
from geoai_ref import layout
from geoai_ref.course import COURSE, COURSE_ENV, REAL_COURSE, CourseConfig, load_course_config
from geoai_ref.errors import MissingInput
from geoai_ref.phase import Phase

#: A course's own release data, under its course folder.
COURSE_DATA = Path("course_data")
#: What :func:`build_release_data` built, and from what (JSON).
SOURCES = COURSE_DATA / "sources.json"
#: The course configuration a course's own release data was built for (JSON, :mod:`geoai_ref.course`).
COURSE_CONFIG = COURSE_DATA / "course.json"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class ReleaseData:
    """The data sets of a release (see the module docstring) and where they came from, in words."""

    week3: Path
    sensors: Path
    fused: Path
    origin: str

    @property
    def week3_record(self) -> Path:
        """The Week 3 model's record: its accuracy on the Week 3 validation patches."""
        return self.week3 / layout.WEEK3_MODEL_INFO

    def shipped(self, phase: Phase, rel: Path) -> Path:
        """Where the file ``rel`` that ``phase`` ships comes from: 4A's from the Week 3 data set, the fused patches
        from the fused ones (made on first use), everything else from the sensors data set.

        Raises:
            FileNotFoundError: if the fused patches must be made and the sensors data set lacks a source.
        """
        if rel in (layout.X_TRAIN_FUSED, layout.X_VAL_FUSED):
            return fused_reference(self) / rel
        return (self.week3 if phase is Phase.A else self.sensors) / rel


#: The kit's own data: the fixtures, and the reference fused patches made from them.
KIT_DATA = ReleaseData(FIXTURES, FIXTURES, RELEASE_DATA, "the kit's fixtures (the course's polygons, synthetic "
                       "sensors, the kit's Week 3 SimpleCNN)")


def release_data(course_root: Path) -> ReleaseData:
    """The data the release of the course at ``course_root`` is built from: its own if
    ``geoai-grade release --week3`` built one there, else :data:`KIT_DATA`.

    Raises:
        MissingInput: if the course's record is unreadable or names a folder that is gone (build it again).
    """
    record = Path(course_root) / SOURCES
    if not record.is_file():
        if COURSE != REAL_COURSE:
            raise MissingInput(f"the course {COURSE.name!r} has no release data in {Path(course_root) / COURSE_DATA} "
                               "(the kit's fixtures are the real course's): build it with `geoai-grade release --week3 "
                               "FOLDER --config course.json`")
        return KIT_DATA
    built_for = course_of(course_root)
    if built_for != COURSE:
        raise MissingInput(f"{record.parent} was built for the course {built_for.name!r}, but this process follows "
                           f"{COURSE.name!r}: run it through `geoai-grade ... --course {course_root}` (which follows "
                           f"the course folder's {COURSE_CONFIG.name}), or set ${COURSE_ENV} to that file's JSON")
    try:
        built = json.loads(record.read_text())
        data = ReleaseData(*(record.parent / built[key] for key in ("week3", "sensors", "fused")),
                           origin=f"the Week 3 folder {built['week3_folder']} (built {built['built']})")
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise MissingInput(f"{record} is unreadable ({exc}): build the course's data again with `geoai-grade "
                           "release --week3 FOLDER`, or delete the folder to use the kit's fixtures") from None
    gone = [str(p) for p in (data.week3, data.sensors) if not p.is_dir()]
    if gone:
        raise MissingInput(f"{record} names {', '.join(gone)}, which are gone: build the course's data again with "
                           "`geoai-grade release --week3 FOLDER`")
    return data


def course_of(course_root: Path) -> CourseConfig:
    """The course configuration the course folder's release data was built for (the real course when it has none,
    or was built before configurations were recorded).

    Raises:
        geoai_ref.course.CourseConfigError: if its ``course.json`` is malformed.
    """
    path = Path(course_root) / COURSE_CONFIG
    return load_course_config(path) if path.is_file() else REAL_COURSE


def _move_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` (if any) by the folder ``staging`` of a ``TemporaryDirectory``, whole, and leave an empty
    ``staging`` for the temporary directory's clean-up."""
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    staging.mkdir()


def hidden_data(progress: Progress = _quiet) -> Path:
    """The hidden evaluation data of the course this process follows (:data:`autograder.paths.HIDDEN_DATA`): the
    kit's, committed, for the real course; for another course, a hidden region generated for its classes on first
    use (deterministic; kept under ``runs/``, out of every release).

    Raises:
        ValueError: if the hidden region's polygons cannot be placed for the course's classes.
    """
    from geoai_ref.synth.course_build import build_course_hidden

    if (HIDDEN_DATA / layout.MANIFEST).is_file():
        return HIDDEN_DATA
    progress(f"generating the hidden evaluation region for the course {COURSE.name!r} (once)")
    HIDDEN_DATA.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=HIDDEN_DATA.parent, prefix=".hidden-") as tmp:
        build_course_hidden(Path(tmp), COURSE, progress=progress)
        if not (HIDDEN_DATA / layout.MANIFEST).is_file():  # another process may have finished first
            _move_into_place(Path(tmp), HIDDEN_DATA)
    return HIDDEN_DATA


def fused_reference(data: ReleaseData = KIT_DATA) -> Path:
    """The folder holding ``data``'s reference fused patches, made by the geoai_ref pipeline on first use (in a
    folder of its own, moved into place whole: processes that need it at once never read a half-written one).

    Raises:
        FileNotFoundError: if the sensors data set is missing a source.
    """
    from geoai_ref.pipeline import run_data_pipeline

    def complete() -> bool:
        return all((data.fused / p).exists() for p in (layout.X_TRAIN_FUSED, layout.X_VAL_FUSED))

    if not complete():
        data.fused.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=data.fused.parent, prefix=".fused-") as tmp:
            # quietly: the grader's checks call this while grading, whose output is a log, not a progress display
            run_data_pipeline(data.sensors, Path(tmp), show_progress=False)
            if not complete():  # another process may have finished first
                _move_into_place(Path(tmp), data.fused)
    return data.fused


def week3_record(folder: Path) -> dict:
    """The record of a course's own Week 3 model: its accuracy on the folder's validation patches, measured by the
    reference's Week 3 baseline (:func:`geoai_ref.phase4a.week3_baseline`: reflectance, scaled outside the model,
    as the course's Week 3 code and the 4A notebook feed it).

    Raises:
        OSError, ValueError: if the model cannot be loaded (check the folder with ``geoai-ref check-week3``).
    """
    from geoai_ref.experiment import load_week3
    from geoai_ref.models import keras, tf
    from geoai_ref.phase4a import week3_baseline

    data = load_week3(folder)
    return {
        "model": "the course's own Week 3 model (its Week 3 folder's " + layout.WEEK3_MODEL.as_posix() + ")",
        "input": f"{COURSE.patch_size}x{COURSE.patch_size} patches of {', '.join(COURSE.s2_bands)}, divided by "
                 f"{COURSE.s2_scale:g} outside the model (reflectance 0-1)",
        "val_accuracy": round(week3_baseline(folder, data)["val_accuracy"], 4),
        "measured": f"by geoai-grade release --week3: argmax of its predictions on {layout.X_VAL} against "
                    f"{layout.Y_VAL} ({data.y_val.size} patches)",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def _week3_notes() -> str:
    course = COURSE
    return "\n".join([
        f"# Data notes: {course.name} (this course's own Week 3 data)",
        "",
        f"- **Phase 4A (real, from the course):** the Week 3 patches and labels (`{layout.X_TRAIN}`, "
        f"`{layout.X_VAL}`, ...), stored as Sentinel-2 values x {course.s2_scale:g}, and the Week 3 model "
        f"(`{layout.WEEK3_MODEL}`), copied unchanged from the course's Week 3 folder; `{layout.WEEK3_MODEL_INFO}` "
        "records the model's accuracy on the validation patches, measured when the release was built.",
        "- **Phases 4B and 4C (synthetic sensors):** Sentinel-2, MODIS NDVI and SRTM rasters generated by the kit "
        "under this course's polygons; the Week 3 split of Phase 4B is cut from those rasters as the course cut "
        "it, so its values differ from the real patches of Phase 4A.",
        "",
        course.attribution,
        "",
    ])


#: Added to the sensors' data notes (shipped with Phases 4B and 4C).
SENSOR_NOTES = ("Phase 4A of this release uses the course's own Week 3 patches and model; the Week 3 patches in "
                "this folder are cut from the synthetic Sentinel-2 composite above, so their values differ from those.")


def build_release_data(course_root: Path, week3_folder: Path, seed: int | None = None, cloud_hole: bool = True,
                       progress: Progress = _quiet) -> ReleaseData:
    """Build the course's own release data from its Week 3 folder into ``course_root/course_data`` (replacing what
    was there only once the new one is complete) and return it. The folder follows :data:`~geoai_ref.course.COURSE`
    (its classes and scale), as the notebooks and the grader do; the configuration is recorded with the data
    (``course.json``), and for a course other than the real one its hidden region is generated (:func:`hidden_data`).

    Raises:
        geoai_ref.week3_folder.Week3FolderError: listing every problem of the folder (nothing is written).
        geoai_ref.errors.UsageError: if the synthetic cloud covers a Week 3 patch (pass ``cloud_hole=False`` or
            another seed).
        geoai_ref.patches.PatchOutOfBounds: if a polygon lies too close to the edge of the course's AOI.
    """
    from geoai_ref.synth.course_build import build_course_data
    from geoai_ref.synth.course_scene import DEFAULT_SEED
    from geoai_ref.week3_folder import check_week3_folder

    week3_folder = Path(week3_folder).resolve()
    seed = DEFAULT_SEED if seed is None else seed
    progress(f"checking the Week 3 folder {week3_folder}")
    checked = check_week3_folder(week3_folder, COURSE)
    progress(f"{checked.n_train} training and {checked.n_val} validation patches, {len(checked.polygons.polygons)} "
             "usable polygons, the Week 3 model's shapes match")
    target = Path(course_root) / COURSE_DATA
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".course_data-") as tmp:
        staging = Path(tmp)
        week3 = staging / "week3"
        for rel in (layout.X_TRAIN, layout.Y_TRAIN, layout.X_VAL, layout.Y_VAL, layout.WEEK3_MODEL):
            (week3 / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(week3_folder / rel, week3 / rel)
        progress("measuring the Week 3 model's accuracy on its validation patches")
        record = week3_record(week3_folder)
        (week3 / layout.WEEK3_MODEL_INFO).write_text(json.dumps(record, indent=1) + "\n")
        progress(f"the Week 3 model scores {record['val_accuracy']:.2%} on the {checked.n_val} validation patches")
        (week3 / layout.DATA_NOTES).write_text(_week3_notes())
        sensors = staging / "sensors"
        build_course_data(sensors, week3_folder / layout.POLYGONS, COURSE, seed, train_model=False,
                          cloud_hole=cloud_hole, notes=SENSOR_NOTES, progress=progress)
        progress("running the reference data pipeline on the sensors (the fused patches of Phase 4C)")
        fused_reference(ReleaseData(week3, sensors, staging / "fused", ""))
        COURSE.to_json(staging / COURSE_CONFIG.name)
        if COURSE != REAL_COURSE:
            hidden_data(progress)
        built = datetime.now(UTC).isoformat(timespec="seconds")
        (staging / SOURCES.name).write_text(json.dumps({
            "week3_folder": str(week3_folder), "built": built, "seed": seed,
            "cloud_hole": cloud_hole, "course": COURSE.name,
            "week3": "week3", "sensors": "sensors", "fused": "fused"}, indent=1) + "\n")
        _move_into_place(staging, target)
    return release_data(course_root)
