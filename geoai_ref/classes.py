"""The land-cover classes of the exercise, as the kit's defaults use them: the course's (:data:`COURSE`).

Class ids are the integer labels stored in ``y_train.npy`` / ``y_val.npy`` and in the truth raster: the
index of the class's name in :attr:`geoai_ref.course.CourseConfig.class_names` (the real course:
``Agriculture, Forest, Parcels, Urban, Water``, alphabetical). This module only names them for the code that
plots and reports; the order, names and colours are the course configuration's.
"""

from __future__ import annotations

from dataclasses import dataclass

from geoai_ref.course import COURSE


@dataclass(frozen=True)
class LandCoverClass:
    """One land-cover class: integer id, display name and plot colour."""

    id: int
    name: str
    color: str


CLASSES: tuple[LandCoverClass, ...] = tuple(
    LandCoverClass(i, name, color) for i, (name, color) in enumerate(zip(COURSE.class_names, COURSE.class_colors,
                                                                        strict=True)))

CLASS_NAMES: tuple[str, ...] = COURSE.class_names
NUM_CLASSES: int = COURSE.num_classes

#: Value used for "no class" in the truth raster (outside the scene, cloud holes).
TRUTH_NODATA: int = 255


def class_id(name: str) -> int:
    """Return the id of the class called ``name``.

    Raises:
        KeyError: if no class has that name; the message lists the valid names.
    """
    return COURSE.label_of(name)
