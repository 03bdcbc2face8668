"""Check a course's own Week 3 folder before a release is built on it ("bring your own Week 3").

An instructor's Week 3 folder is laid out as the course's repository lays it out (:mod:`geoai_ref.layout`):
``data/processed/{X,y}_{train,val}.npy``, ``data/labels/larger_polygons.geojson`` and
``models/week3/best_model.h5``. :func:`check_week3_folder` reads every file the way the release will (arrays
without pickle, the model statically from its HDF5 config, never executed) and either returns what it found
or raises :class:`Week3FolderError` listing every problem with the file it is in and the fix, so one run
shows everything to repair.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geoai_ref import layout
from geoai_ref.course import COURSE, CourseConfig
from geoai_ref.deliverables import ModelSummary, inspect_h5_model
from geoai_ref.errors import KitError, ProblemsFound
from geoai_ref.polygons import PolygonSet, load_polygons

#: Stored Sentinel-2 values above this many times the scale are not surface reflectance (clouds saturate ~1.5).
MAX_REFLECTANCE = 1.6


class Week3FolderError(ProblemsFound):
    """A Week 3 folder cannot be used; ``problems`` holds one line per problem (file, what is wrong, the fix)."""

    def __init__(self, root: Path, problems: list[str]) -> None:
        super().__init__(f"the Week 3 folder {root} cannot be used ({len(problems)} problem"
                         f"{'s' if len(problems) != 1 else ''}):\n- " + "\n- ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Week3Folder:
    """A checked Week 3 folder: how many patches per split and class, the polygons, the model's shapes."""

    root: Path
    train_counts: dict[str, int]
    val_counts: dict[str, int]
    value_range: tuple[float, float]
    polygons: PolygonSet
    model: ModelSummary

    @property
    def n_train(self) -> int:
        return sum(self.train_counts.values())

    @property
    def n_val(self) -> int:
        return sum(self.val_counts.values())


def _load_array(root: Path, rel: Path, problems: list[str]) -> np.ndarray | None:
    path = root / rel
    if not path.is_file():
        problems.append(f"{rel}: missing; copy it from the course's Week 3 outputs (np.save of the array)")
        return None
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        problems.append(f"{rel}: holds Python objects, not numbers ({exc}); save a numeric array with np.save")
    except (OSError, EOFError) as exc:
        problems.append(f"{rel}: not a readable .npy file ({exc}); save it again with np.save")
    return None


def _check_patches(rel: Path, x: np.ndarray, course: CourseConfig, problems: list[str]) -> None:
    p, bands = course.patch_size, len(course.s2_bands)
    if x.ndim != 4 or x.shape[1:] != (p, p, bands):
        problems.append(f"{rel}: shape {x.shape}, expected (n, {p}, {p}, {bands}): {p}x{p} patches of the bands "
                        f"{', '.join(course.s2_bands)}, channels last")
        return
    if not np.issubdtype(x.dtype, np.floating):
        problems.append(f"{rel}: dtype {x.dtype}; store the patches as float32 (x.astype('float32'))")
        return
    bad = np.flatnonzero(~np.isfinite(x).all(axis=(1, 2, 3)))
    if bad.size:
        problems.append(f"{rel}: {bad.size} patches hold NaN or infinite values (first: {bad[:5].tolist()}); "
                        "drop them and their labels, or re-extract them away from nodata")
        return
    lo, hi = float(x.min()), float(x.max())
    units = "digital numbers (reflectance x 10000)" if course.s2_scale != 1 else "reflectance 0-1"
    if lo < 0 or hi > MAX_REFLECTANCE * course.s2_scale:
        problems.append(f"{rel}: values {lo:g}..{hi:g} are not Sentinel-2 {units}; check the export's scale")
    elif course.s2_scale != 1 and hi <= MAX_REFLECTANCE:
        problems.append(f"{rel}: values {lo:g}..{hi:g} look like reflectance 0-1, but the course stores {units}: "
                        "multiply by 10000, or set s2_scale to 1 in the course configuration")
    elif course.s2_scale == 1 and hi > MAX_REFLECTANCE:
        problems.append(f"{rel}: values up to {hi:g} look like digital numbers, but the course stores reflectance "
                        "0-1: divide by 10000, or set s2_scale to 10000 in the course configuration")


def _check_labels(rel: Path, y: np.ndarray, n: int | None, course: CourseConfig, problems: list[str]) -> bool:
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        problems.append(f"{rel}: shape {y.shape} dtype {y.dtype}; store one integer label per patch "
                        "(np.array(labels, dtype='int64')), not one-hot rows or floats")
        return False
    if n is not None and y.size != n:
        problems.append(f"{rel}: {y.size} labels for {n} patches; keep patches and labels together")
        return False
    outside = [int(v) for v in np.unique(y) if not 0 <= v < course.num_classes]
    if outside:
        problems.append(f"{rel}: labels {outside} are outside 0..{course.num_classes - 1} "
                        f"({', '.join(f'{i} {n}' for i, n in enumerate(course.class_names))}); "
                        "fix the labels or the course's class list")
        return False
    return True


def _counts(y: np.ndarray, course: CourseConfig) -> dict[str, int]:
    return {name: int((y == i).sum()) for i, name in enumerate(course.class_names)}


def check_week3_folder(root: Path, course: CourseConfig = COURSE) -> Week3Folder:
    """Check a Week 3 folder against ``course`` and describe it.

    Raises:
        Week3FolderError: listing every problem found (missing files, wrong shapes or dtypes, NaN patches,
            values at the wrong scale, labels outside the class list, a class missing from training, unusable
            polygons, a model whose input or output does not match the patches and classes).
    """
    root = Path(root)
    problems: list[str] = []
    counts: dict[str, dict[str, int]] = {}
    value_range = (np.inf, -np.inf)
    for split, x_rel, y_rel in (("train", layout.X_TRAIN, layout.Y_TRAIN), ("val", layout.X_VAL, layout.Y_VAL)):
        x, y = _load_array(root, x_rel, problems), _load_array(root, y_rel, problems)
        if x is not None:
            before = len(problems)
            _check_patches(x_rel, x, course, problems)
            if len(problems) == before:
                value_range = (min(value_range[0], float(x.min())), max(value_range[1], float(x.max())))
        if y is not None and _check_labels(y_rel, y, None if x is None else len(x), course, problems):
            counts[split] = _counts(y, course)
    absent = [name for name, k in counts.get("train", {}).items() if k == 0]
    if absent:
        problems.append(f"{layout.Y_TRAIN}: no training patch of {', '.join(absent)}; every class needs training "
                        "examples (digitise polygons of it, or drop the class from the course)")
    polygons = None
    try:
        polygons = load_polygons(root / layout.POLYGONS, course)
    except KitError as exc:
        problems.append(f"{layout.POLYGONS}: {exc}")
    model = None
    if not (root / layout.WEEK3_MODEL).is_file():
        problems.append(f"{layout.WEEK3_MODEL}: missing; copy the course's Week 3 model (model.save('...h5'))")
    else:
        try:
            model = inspect_h5_model(root / layout.WEEK3_MODEL)
        except ValueError as exc:
            problems.append(f"{layout.WEEK3_MODEL}: {exc}")
    if model is not None:
        p, bands = course.patch_size, len(course.s2_bands)
        if tuple(model.input_shape[1:]) != (p, p, bands):
            problems.append(f"{layout.WEEK3_MODEL}: input shape {model.input_shape}, expected (None, {p}, {p}, "
                            f"{bands}); give the Week 3 model trained on these patches")
        if model.output_units != course.num_classes:
            problems.append(f"{layout.WEEK3_MODEL}: {model.output_units} outputs for {course.num_classes} classes "
                            f"({', '.join(course.class_names)}); give the model trained on this class list")
    if problems:
        raise Week3FolderError(root, problems)
    assert polygons is not None and model is not None  # every path that leaves them None added a problem
    return Week3Folder(root, counts["train"], counts["val"], value_range, polygons, model)
