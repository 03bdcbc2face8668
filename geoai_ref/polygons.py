"""Read a course's training polygons (``larger_polygons.geojson``) and label them by class name.

Labels come from the polygons' class-name property, in the order of the course's class list
(:class:`geoai_ref.course.CourseConfig`), never from a numeric ``class_id`` the file may carry: the
real course's ``class_id`` numbers the classes differently from its Week 3 labels.

Features that cannot be used (a null or empty geometry, as the real course has one) are skipped and
reported by feature number and properties, so the loader neither crashes nor drops them silently.
Anything that makes the whole file unusable (not GeoJSON, a projected CRS, a class the course does not
have) raises :class:`PolygonFileError` naming every offending feature and what to fix.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasterio.warp import transform_geom

from geoai_ref.course import COURSE, CourseConfig
from geoai_ref.errors import MissingInput, UsageError

#: CRS names GeoJSON files use for lon/lat (RFC 7946 allows no other; QGIS writes the OGC URN).
LONLAT_CRS_NAMES = ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "CRS84", "EPSG:4326",
                    "urn:ogc:def:crs:EPSG::4326")
POLYGON_TYPES = ("Polygon", "MultiPolygon")


class PolygonFileError(UsageError):
    """A polygon file cannot be used; the message names the file, the features and the fix."""


@dataclass(frozen=True)
class LabelledPolygon:
    """One usable training polygon: its 1-based feature number in the file, label and lon/lat geometry."""

    feature: int
    label: int
    class_name: str
    geometry: dict[str, Any]  # GeoJSON Polygon or MultiPolygon, lon/lat
    properties: dict[str, Any]

    def geometry_in(self, crs: str) -> dict[str, Any]:
        """The geometry reprojected to ``crs`` (e.g. the course's UTM zone)."""
        return transform_geom("OGC:CRS84", crs, self.geometry)


@dataclass(frozen=True)
class SkippedFeature:
    """A feature left out, and why (in words a course author can act on)."""

    feature: int
    class_name: str | None
    reason: str


@dataclass(frozen=True)
class PolygonSet:
    """The usable polygons of a file and the features skipped."""

    path: str
    total_features: int
    polygons: tuple[LabelledPolygon, ...]
    skipped: tuple[SkippedFeature, ...]

    def counts(self, course: CourseConfig = COURSE) -> dict[str, int]:
        """Usable polygons per class, in the course's label order."""
        counted = Counter(p.class_name for p in self.polygons)
        return {name: counted.get(name, 0) for name in course.class_names}

    def summary(self, course: CourseConfig = COURSE) -> str:
        """One paragraph for a log or a release note: what is used, per class, and every skipped feature."""
        per_class = ", ".join(f"{n} {k}" for n, k in self.counts(course).items())
        lines = [f"{self.path}: {len(self.polygons)} of {self.total_features} polygons used ({per_class})"]
        lines += [f"skipped: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def _describe(number: int, total: int, properties: dict[str, Any], class_property: str) -> str:
    details = [str(properties.get(class_property))] if properties.get(class_property) else []
    for key, label in (("id", "id"), ("polygon_id", "polygon_id"), ("date_digitized", "digitised")):
        if properties.get(key) not in (None, "", "None"):
            details.append(f"{label} {properties[key]}")
    return f"feature {number} of {total}" + (f" ({', '.join(details)})" if details else "")


def _is_empty(geometry: dict[str, Any]) -> bool:
    coords = geometry.get("coordinates")
    return not coords or all(not ring for ring in coords)


def load_polygons(path: Path, course: CourseConfig = COURSE) -> PolygonSet:
    """Read training polygons from a GeoJSON FeatureCollection in lon/lat and label them by class name.

    Raises:
        MissingInput: if the file does not exist.
        PolygonFileError: if it is not a GeoJSON FeatureCollection, declares a CRS other than lon/lat, a
            feature lacks the class property or names a class the course does not have, a geometry is not a
            polygon, or no feature is usable. Every offending feature is listed.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"no polygon file at {path}; export the training polygons from QGIS as GeoJSON "
                           "(EPSG:4326) to that path")
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PolygonFileError(f"{path} is not valid GeoJSON ({exc}); re-export it from QGIS") from None
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection" \
            or not isinstance(collection.get("features"), list):
        raise PolygonFileError(f"{path} is not a GeoJSON FeatureCollection; export the polygon layer as GeoJSON")
    crs_name = ((collection.get("crs") or {}).get("properties") or {}).get("name")
    if crs_name is not None and crs_name not in LONLAT_CRS_NAMES:
        raise PolygonFileError(f"{path} declares CRS {crs_name}; polygons must be in lon/lat: re-export them "
                               "with CRS EPSG:4326")
    features = collection["features"]
    total, key = len(features), course.polygon_class_property
    polygons: list[LabelledPolygon] = []
    skipped: list[SkippedFeature] = []
    problems: list[str] = []
    for number, feature in enumerate(features, start=1):
        properties = dict((feature or {}).get("properties") or {})
        where = _describe(number, total, properties, key)
        name = properties.get(key)
        if not isinstance(name, str) or not name:
            problems.append(f"{where} has no {key!r} property: give every polygon its class name")
            continue
        if name not in course.class_names:
            problems.append(f"{where} has {key} {name!r}, which is not a class of the course "
                            f"({', '.join(course.class_names)}): rename it or fix the course's class list")
            continue
        geometry = (feature or {}).get("geometry")
        if geometry is None or _is_empty(geometry):
            kind = "null" if geometry is None else "empty"
            skipped.append(SkippedFeature(number, name, f"{where} has no geometry ({kind}); it is left out: "
                                          "redraw it in QGIS or delete the feature"))
            continue
        if geometry.get("type") not in POLYGON_TYPES:
            problems.append(f"{where} is a {geometry.get('type')}, not a polygon: digitise an area, not a point "
                            "or a line")
            continue
        polygons.append(LabelledPolygon(number, course.label_of(name), name, geometry, properties))
    if problems:
        raise PolygonFileError(f"{path} cannot be used as training polygons:\n- " + "\n- ".join(problems))
    if not polygons:
        raise PolygonFileError(f"{path} holds no usable polygon ({total} features, {len(skipped)} without "
                               "geometry); digitise the training polygons first")
    return PolygonSet(str(path), total, tuple(polygons), tuple(skipped))
