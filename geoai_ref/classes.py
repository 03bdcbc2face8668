"""The five land-cover classes of the exercise, named once, here.

Class ids are the integer labels stored in ``y_train.npy`` / ``y_val.npy`` and in the
truth raster. The order matters: the Week 3 samples are stored class-sorted in this
order, which is what makes Keras ``validation_split`` pick a one-class validation set.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LandCoverClass:
    """One land-cover class: integer id, display name and plot colour."""

    id: int
    name: str
    color: str


CLASSES: tuple[LandCoverClass, ...] = (
    LandCoverClass(0, "Water", "#2b6cb0"),
    LandCoverClass(1, "Forest", "#276749"),
    LandCoverClass(2, "Agriculture", "#d69e2e"),
    LandCoverClass(3, "Urban", "#c53030"),
    LandCoverClass(4, "Bare/Grassland", "#a0aec0"),
)

CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in CLASSES)
NUM_CLASSES: int = len(CLASSES)

#: Value used for "no class" in the truth raster (outside the scene, cloud holes).
TRUTH_NODATA: int = 255


def class_id(name: str) -> int:
    """Return the id of the class called ``name``.

    Raises:
        KeyError: if no class has that name; the message lists the valid names.
    """
    for c in CLASSES:
        if c.name == name:
            return c.id
    raise KeyError(f"unknown land-cover class {name!r}; valid names: {', '.join(CLASS_NAMES)}")
