"""The course a release is built for: its classes, area, bands, scale and Week 3 sampling, in one place.

A :class:`CourseConfig` says what a course's Week 3 folder holds: the class names in label order (the
integers in ``y_train.npy`` index this list), the area of interest, the Sentinel-2 bands and the scale of
their stored values, the patch size and how many patches were cut per polygon, and the validation share of
the Week 3 split. :data:`REAL_COURSE` is the real course this kit serves ("GeoAI and Earth Vision",
``markcstone/earth-vision-portfolio``, Apache-2.0; its Week 3 files are under ``fixtures/course/``).

Another course (another class scheme, another AOI) is a JSON file of the same fields, read with
:func:`load_course_config`; :meth:`CourseConfig.to_json` writes one to start from.

:data:`COURSE` is the course every part of the kit follows in this process: :data:`REAL_COURSE` unless the
environment variable ``GEOAI_COURSE`` holds another configuration (its JSON), read once, when this module is
first imported. ``geoai-grade`` sets it from the course folder it is given (``COURSE/course_data/course.json``,
written by ``geoai-grade release --week3 FOLDER --config course.json``), so that the reference, the release's
notebooks, the hidden data and every check of that course use its classes; its subprocesses inherit it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from geoai_ref.bands import BANDS
from geoai_ref.errors import MissingInput, UsageError

#: What a class can be on the ground, as the synthetic scene and the polygon generator (``geoai_ref.synth``)
#: know them: the real course's five kinds of land cover ("Parcels": peri-urban land parcelization).
LAND_COVER_KINDS: tuple[str, ...] = ("Agriculture", "Forest", "Parcels", "Urban", "Water")


class CourseConfigError(UsageError):
    """A course configuration is malformed; the message names the field and what a valid value looks like."""


@dataclass(frozen=True)
class CourseConfig:
    """One course's Week 3 conventions (see the module docstring)."""

    name: str
    #: Class names in label order: label ``i`` in y_train / y_val is ``class_names[i]``.
    class_names: tuple[str, ...]
    #: One matplotlib colour per class, same order.
    class_colors: tuple[str, ...]
    #: The area of interest in lon/lat (CRS84): west, south, east, north.
    aoi_lonlat: tuple[float, float, float, float]
    #: The projected CRS of the course's 10 m Sentinel-2 grid.
    crs: str
    #: The Sentinel-2 bands of the Week 3 patches, in channel order.
    s2_bands: tuple[str, ...]
    #: Stored patch value = surface reflectance x ``s2_scale`` (10000: Sentinel-2 digital numbers; 1: reflectance).
    s2_scale: float
    #: Side of a Week 3 patch, in 10 m pixels.
    patch_size: int
    #: Patches cut from each usable training polygon.
    patches_per_polygon: int
    #: Share of the Week 3 patches in validation (stratified by class at the patch level).
    val_fraction: float
    #: The polygons' property that holds the class name (labels come from it, never from a numeric id).
    polygon_class_property: str = "class_name"
    #: Where the course's data come from, and under which licence: travels with every release built on it.
    attribution: str = ""
    #: What each class is on the ground, one of :data:`LAND_COVER_KINDS` per class (same order), for the
    #: synthetic scene; may be left empty when the class names are those kinds.
    class_kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("class_names", "class_colors", "aoi_lonlat", "s2_bands", "class_kinds"):  # JSON lists
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.class_kinds and all(n in LAND_COVER_KINDS for n in self.class_names):
            object.__setattr__(self, "class_kinds", self.class_names)
        _validate(self)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def label_of(self, class_name: str) -> int:
        """The label (index in :attr:`class_names`) of ``class_name``.

        Raises:
            KeyError: if the course has no such class; the message lists the valid names.
        """
        try:
            return self.class_names.index(class_name)
        except ValueError:
            raise KeyError(f"{class_name!r} is not a class of the course {self.name!r}; "
                           f"its classes are {', '.join(self.class_names)}") from None

    def kind_of(self, class_name: str) -> str:
        """What the class ``class_name`` is on the ground (one of :data:`LAND_COVER_KINDS`).

        Raises:
            KeyError: if the course has no such class.
        """
        return self.class_kinds[self.label_of(class_name)]

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def to_json(self, path: Path) -> Path:
        """Write this configuration as JSON (the format :func:`load_course_config` reads)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path


def _validate(c: CourseConfig) -> None:
    def fail(field: str, problem: str) -> None:
        raise CourseConfigError(f"course configuration {c.name!r}: {field} {problem}")

    if len(c.class_names) < 2:
        fail("class_names", f"has {len(c.class_names)} names; list at least two, in label order")
    if len(set(c.class_names)) != len(c.class_names) or not all(isinstance(n, str) and n for n in c.class_names):
        fail("class_names", f"must be distinct non-empty strings (got {list(c.class_names)})")
    if len(c.class_colors) != len(c.class_names):
        fail("class_colors", f"has {len(c.class_colors)} colours for {len(c.class_names)} classes; give one per class")
    if len(c.aoi_lonlat) != 4:
        fail("aoi_lonlat", f"has {len(c.aoi_lonlat)} numbers; give west, south, east, north in degrees")
    west, south, east, north = c.aoi_lonlat
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        fail("aoi_lonlat", f"must be west, south, east, north in degrees with west < east and south < north "
                           f"(got {list(c.aoi_lonlat)})")
    unknown = [b for b in c.s2_bands if b not in BANDS or not b.startswith("B")]
    if not c.s2_bands or unknown:
        fail("s2_bands", f"must name Sentinel-2 bands of the registry (unknown: {unknown or 'none given'}; known: "
                         f"{', '.join(b for b in BANDS if b.startswith('B'))})")
    if c.s2_scale not in (1.0, 10000.0):
        fail("s2_scale", f"is {c.s2_scale:g}; use 10000 for digital numbers (reflectance x 10000) or 1 for "
                         "reflectance 0-1")
    if c.patch_size < 1 or c.patches_per_polygon < 1:
        fail("patch_size / patches_per_polygon", "must be positive integers")
    if len(c.class_kinds) != len(c.class_names) or not set(c.class_kinds) <= set(LAND_COVER_KINDS) \
            or len(set(c.class_kinds)) != len(c.class_kinds):
        fail("class_kinds", f"must give each class a different kind of land cover, one of "
                            f"{', '.join(LAND_COVER_KINDS)}, in class order (got {list(c.class_kinds) or 'none'})")
    if not 0 < c.val_fraction < 1:
        fail("val_fraction", f"is {c.val_fraction}; give the validation share, between 0 and 1 (0.2 for 300 / 75)")


#: The real course: "GeoAI and Earth Vision" Week 3 (facts read from its files, fixtures/course/README.md).
REAL_COURSE = CourseConfig(
    name="GeoAI and Earth Vision: Los Lagos (Frutillar, Lake Llanquihue)",
    class_names=("Agriculture", "Forest", "Parcels", "Urban", "Water"),
    class_colors=("#d69e2e", "#276749", "#805ad5", "#c53030", "#2b6cb0"),
    aoi_lonlat=(-73.1119676168282, -41.17372782516651, -72.94210347717133, -41.06686956511301),
    crs="EPSG:32718",
    s2_bands=("B2", "B3", "B4", "B8", "B11", "B12"),
    s2_scale=10000.0,
    patch_size=8,
    patches_per_polygon=3,
    val_fraction=0.2,
    attribution="Training polygons, AOI and Week 3 model from the course \"GeoAI and Earth Vision\" "
    "(github.com/markcstone/earth-vision-portfolio), licensed under the Apache License 2.0.",
)


def course_from_json(text: str, where: str) -> CourseConfig:
    """A course configuration from its JSON text; ``where`` names its origin in error messages.

    Raises:
        CourseConfigError: if it is not JSON, misses or misnames a field, or a value is invalid.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CourseConfigError(f"{where} is not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise CourseConfigError(f"{where} must hold a JSON object of course fields")
    known = {f.name: f for f in fields(CourseConfig)}
    unknown = sorted(set(raw) - set(known))
    missing = sorted(n for n, f in known.items() if n not in raw and f.default is MISSING)
    if unknown or missing:
        raise CourseConfigError(f"{where}: unknown fields {unknown or 'none'}, missing fields {missing or 'none'}; "
                                f"the fields are {', '.join(known)}")
    try:
        return CourseConfig(**raw)
    except (TypeError, ValueError) as exc:  # CourseConfigError is a ValueError too: every case names the origin
        raise CourseConfigError(f"{where}: {exc}") from None


def load_course_config(path: Path) -> CourseConfig:
    """Read a course configuration written as JSON (the fields of :class:`CourseConfig`).

    Raises:
        MissingInput: if the file does not exist.
        CourseConfigError: if it is not JSON, misses or misnames a field, or a value is invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"no course configuration at {path}; write one to start from with "
                           "geoai_ref.course.REAL_COURSE.to_json(path)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CourseConfigError(f"{path} is not valid JSON ({exc})") from None
    return course_from_json(text, str(path))


#: The environment variable that holds the JSON of the course this process follows (see the module docstring).
COURSE_ENV = "GEOAI_COURSE"


def active_course() -> CourseConfig:
    """The course named by ``$GEOAI_COURSE`` (its JSON), or :data:`REAL_COURSE` when it is unset.

    Raises:
        CourseConfigError: if the variable holds a malformed configuration.
    """
    text = os.environ.get(COURSE_ENV)
    return course_from_json(text, f"${COURSE_ENV}") if text else REAL_COURSE


def course_key(course: CourseConfig) -> str:
    """A short fingerprint of a configuration (what caches of data generated for a course are named by)."""
    return hashlib.sha256(json.dumps(course.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


#: The course this process follows: :data:`REAL_COURSE` unless ``$GEOAI_COURSE`` names another.
COURSE: CourseConfig = active_course()


def to_reflectance(stored: np.ndarray, course: CourseConfig = COURSE) -> np.ndarray:
    """Stored patches (the course's units: ``stored = reflectance x course.s2_scale``) as reflectance 0-1, float32:
    what the course's Week 3 model takes, scaled outside it."""
    return (np.asarray(stored, dtype=np.float32) / np.float32(course.s2_scale)).astype(np.float32)


def to_stored(reflectance: np.ndarray, course: CourseConfig = COURSE) -> np.ndarray:
    """Reflectance 0-1 in the course's stored units (the inverse of :func:`to_reflectance`), float32."""
    return (np.asarray(reflectance, dtype=np.float32) * np.float32(course.s2_scale)).astype(np.float32)
